package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hookwire/hookwire/engine"
)

func serve(args []string) error {
	cfg := engine.DefaultConfig()
	cfg.Version = version
	fs, proc := serveFlags(&cfg)
	if err := parseWithEnv(fs, args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	logger, err := newLogger(proc.logFormat, proc.logLevel)
	if err != nil {
		return err
	}
	if proc.gcHeadroomMiB < 0 {
		return fmt.Errorf("--gc-headroom-mib %d: want 0 (off) or more", proc.gcHeadroomMiB)
	}
	if proc.extraProcs < 0 || proc.extraProcs > 64 {
		return fmt.Errorf("--extra-procs %d: want 0 to 64", proc.extraProcs)
	}
	addSpareProcs(proc.extraProcs)
	cfg.Logger = logger
	e, err := engine.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, set := os.LookupEnv("GOGC"); proc.gcHeadroomMiB > 0 && !set {
		go keepGCHeadroom(ctx, uint64(proc.gcHeadroomMiB)<<20, logger)
	}
	return e.Run(ctx)
}

// processSettings are the serve flags about the process rather than the
// engine.
type processSettings struct {
	logFormat, logLevel string
	gcHeadroomMiB       int
	extraProcs          int
}

// serveFlags binds every serve flag to cfg, or for the process's own
// settings (the logger, the collector's pacing) to the returned struct.
func serveFlags(cfg *engine.Config) (fs *flag.FlagSet, proc *processSettings) {
	proc = &processSettings{}
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "one listener for the whole HTTP API")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "Badger directory; created if missing")
	fs.StringVar(&cfg.AdminKey, "admin-key", "", "bootstrap API key with role admin")
	fs.BoolVar(&cfg.Dev, "dev", false, "no auth, private destinations allowed; loopback --listen only")
	fs.BoolVar(&cfg.AllowPrivateDestinations, "allow-private-destinations", false, "permit webhook URLs on loopback/private networks")
	fs.IntVar(&cfg.MaxStreams, "max-streams", cfg.MaxStreams, "stream limit")
	fs.IntVar(&cfg.MaxLiveSessions, "max-live-sessions", 0, "session actors kept in memory; past it the least recently active are passivated early, to come back from the store with their next event (0: half the machine's or cgroup's memory at 2 KiB each)")
	fs.IntVar(&cfg.MaxSegments, "max-segments", cfg.MaxSegments, "segment limit (each is evaluated against every event of its types, as a stream is)")
	fs.IntVar(&cfg.MaxFilters, "max-filters", cfg.MaxFilters, "uploaded filter limit (each keeps its compiled code in memory)")
	fs.DurationVar(&cfg.SessionIdle, "session-idle", cfg.SessionIdle, "a session ends after this long without events")
	fs.DurationVar(&cfg.SessionMax, "session-max", cfg.SessionMax, "a session ends after this long regardless")
	fs.Var(scheduleFlag{&cfg.RetrySchedule}, "retry-schedule", "delay before each attempt, comma-separated (±20% jitter)")
	fs.DurationVar(&cfg.DeliveryTimeout, "delivery-timeout", cfg.DeliveryTimeout, "timeout of one delivery attempt")
	fs.IntVar(&cfg.BreakerFailures, "breaker-failures", cfg.BreakerFailures, "consecutive failures that open an endpoint's breaker")
	fs.DurationVar(&cfg.BreakerCooldown, "breaker-cooldown", cfg.BreakerCooldown, "how long a breaker stays open before a trial")
	fs.StringVar(&cfg.OrgID, "org-id", cfg.OrgID, "the o: part of Fullstory-Signature (printable ASCII, no , or :)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM key for --tls-cert")
	fs.StringVar(&cfg.Durability, "durability", cfg.Durability, "sync: fsync accepted events before 202; batch: leave it to the OS")
	fs.Int64Var(&cfg.EventLogSegmentBytes, "event-log-segment-bytes", cfg.EventLogSegmentBytes, "size of one event log segment file (retired ones are reused)")
	fs.DurationVar(&cfg.Retention, "retention", cfg.Retention, "how long fired markers and event ids outlive a session's last event (≥48h)")
	fs.DurationVar(&cfg.DeliveryRetention, "delivery-retention", cfg.DeliveryRetention, "how long a succeeded or failed delivery stays listed")
	fs.IntVar(&cfg.EndpointConcurrency, "endpoint-concurrency", cfg.EndpointConcurrency, "concurrent attempts per destination")
	fs.IntVar(&cfg.MaxConnections, "max-connections", 0, "client connections served at once, past which one is answered 503 and closed (0: the open-file limit less a quarter, at most 4096 kept back)")
	fs.IntVar(&cfg.MaxOutboundConnections, "max-outbound-connections", 0, "delivery attempts in flight to all receivers together; each endpoint keeps one (0: half of what --max-connections keeps back)")
	fs.IntVar(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest accepted request body")
	fs.Int64Var(&cfg.DiskReserveBytes, "disk-reserve-bytes", cfg.DiskReserveBytes, "free space kept in --data beyond what the store's memory-mapped files need; below it events and changes are refused (507)")
	fs.IntVar(&cfg.MaxEventsPerRequest, "max-events-per-request", cfg.MaxEventsPerRequest, "largest accepted batch")
	fs.Int64Var(&cfg.MaxInFlightEvents, "max-in-flight-events", cfg.MaxInFlightEvents, "accepted events awaiting evaluation past which ingest answers 429")
	fs.Int64Var(&cfg.MaxInFlightBytes, "max-in-flight-bytes", cfg.MaxInFlightBytes, "request body bytes awaiting evaluation past which ingest answers 429")
	fs.DurationVar(&cfg.MaxEvaluationLag, "max-evaluation-lag", 0, "how long the oldest accepted event may wait for evaluation before ingest answers 429 (0: no bound)")
	fs.Float64Var(&cfg.IngestRate, "ingest-rate", 0, "events per second each API key may send (0: no limit)")
	fs.IntVar(&cfg.IngestBurst, "ingest-burst", 0, "burst of --ingest-rate, in events (default: --max-events-per-request)")
	fs.DurationVar(&cfg.FilterTimeout, "filter-timeout", cfg.FilterTimeout, "time budget of one call into an uploaded filter")
	fs.Int64Var(&cfg.FilterMemoryBytes, "filter-memory", cfg.FilterMemoryBytes, "memory cap of one uploaded filter instance, in bytes")
	fs.Int64Var(&cfg.FilterMemoryTotal, "filter-memory-total", 0, "memory cap of all uploaded filters' instances together, in bytes; past it a new instance is its filter's fault (0: a quarter of the machine's or cgroup's memory)")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "hookwire's base URL for links in system webhooks (default http(s)://<listen>)")
	fs.StringVar(&cfg.PprofListen, "pprof", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060")
	fs.String("config", "", "YAML file of settings: keys are these flags' names (flags and HOOKWIRE_* win)")
	fs.StringVar(&proc.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&proc.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&proc.gcHeadroomMiB, "gc-headroom-mib", 512,
		"let the heap grow at least this many MiB past the live heap between collections (0, or GOGC set: Go's own pacing)")
	fs.IntVar(&proc.extraProcs, "extra-procs", defaultExtraProcs,
		"run Go with this many Ps beyond the CPUs, so that a P held by a blocking system call (the group commit's fdatasync) leaves no core idle (GOMAXPROCS set: as given)")
	return fs, proc
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}
