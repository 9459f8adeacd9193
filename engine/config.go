package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/store"
)

// Config is the whole engine's configuration: cmd/hookwire binds flags to it.
type Config struct {
	Listen                   string
	DataDir                  string
	AdminKey                 string
	Dev                      bool
	AllowPrivateDestinations bool
	MaxStreams               int
	SessionIdle              time.Duration
	SessionMax               time.Duration
	RetrySchedule            []time.Duration
	DeliveryTimeout          time.Duration
	BreakerFailures          int
	BreakerCooldown          time.Duration
	OrgID                    string
	TLSCert                  string
	TLSKey                   string

	// MaxSegments bounds the segments: each is evaluated against every
	// event of its types, as a stream is.
	MaxSegments int
	// MaxFilters bounds the uploaded filters: each keeps its compiled code
	// in memory (and its module in the store).
	MaxFilters int
	// MaxLiveSessions bounds the session actors in memory (0: half the
	// machine's or cgroup's memory at 2 KiB each, about twice what one
	// takes). Past it the least recently active are passivated early, to
	// come back from the store with their next event: a producer sending
	// ever new session ids cannot exhaust memory.
	MaxLiveSessions int

	// Durability is "sync" (accepted events and fired markers are synced to
	// disk before the reply) or "batch" (left to the OS: faster, and a
	// machine crash, not a process crash, can lose the last moments).
	Durability string
	// EventLogSegmentBytes is the size at which the event log starts a new
	// segment file (retired segments are reused; small values exercise
	// that in tests).
	EventLogSegmentBytes int64
	// Retention is how long a session's fired markers outlive its last
	// event, and how long producer event ids are remembered for dedupe.
	Retention time.Duration
	// DeliveryRetention is how long a finished delivery stays listed.
	DeliveryRetention   time.Duration
	MaxBodyBytes        int
	MaxEventsPerRequest int
	// MaxInFlightEvents bounds accepted events awaiting evaluation, and
	// MaxInFlightBytes the bodies of the requests they came in: past
	// either, ingest answers 429.
	MaxInFlightEvents int64
	MaxInFlightBytes  int64
	// MaxEvaluationLag, when set, also answers 429 while the oldest
	// accepted event not yet evaluated has waited longer: for those who
	// would rather producers held their events than webhooks came late.
	// 0: no bound (the default).
	MaxEvaluationLag time.Duration
	// EndpointConcurrency bounds concurrent attempts per destination. A
	// burst of webhooks to one endpoint drains at EndpointConcurrency per
	// round trip: at 16, a saturated machine's few-millisecond round trips
	// to a loopback receiver made 5,000 webhooks arrive ~1 s late (64:
	// 79 ms p50), and a receiver 100 ms away would get 160 per second.
	// A receiver that cannot keep up slows its answers, which holds the
	// attempts to this bound; failures go to retries and the breaker.
	EndpointConcurrency int
	// MaxConnections bounds the client connections served at once; past
	// it a connection is answered 503 and closed. 0: derived from the
	// open-file limit (connectionLimit), so that a flood of connections
	// cannot take the descriptors the store needs.
	MaxConnections int
	// MaxOutboundConnections bounds the delivery attempts in flight to all
	// receivers together (each endpoint keeps one whatever the others
	// hold), and past it idle connections to them are closed. 0: derived
	// from the open-file limit, so that receivers that hang cannot take
	// the descriptors the store needs.
	MaxOutboundConnections int
	// DiskReserveBytes is kept free in DataDir beyond what Badger's
	// memory-mapped writes need; below that events and changes are refused
	// (507) instead of risking a write the kernel cannot back (SIGBUS).
	DiskReserveBytes int64
	// IngestRate limits each API key's events per second (0: unlimited);
	// IngestBurst is the burst (at least MaxEventsPerRequest).
	IngestRate  float64
	IngestBurst int
	// FilterTimeout bounds one call into an uploaded filter.
	FilterTimeout time.Duration
	// FilterMemoryBytes caps an uploaded filter instance's memory.
	FilterMemoryBytes int64
	// FilterMemoryTotal caps the memory of all uploaded filters' instances
	// together (0: a quarter of the machine's memory, or of the cgroup's
	// limit); past it a new instance fails as its own filter's fault.
	FilterMemoryTotal int64
	// PublicURL is hookwire's base URL as receivers should see it, for the
	// links in system events; default http(s)://<listen>.
	PublicURL string
	// AlertInterval is how often segment alerts are checked.
	AlertInterval time.Duration
	// PprofListen, when set, serves net/http/pprof on this address (keep it
	// on loopback: profiles reveal internals).
	PprofListen string
	// ShutdownTimeout bounds the wait for in-flight requests at shutdown.
	ShutdownTimeout time.Duration

	Version string
	Logger  *slog.Logger
	// Resolver looks destination hosts up (nil: the system resolver). Tests
	// substitute one to make a host change address between checks.
	Resolver netguard.Resolver
}

// DefaultConfig returns CONTRACT §1's defaults.
func DefaultConfig() Config {
	return Config{
		Listen:               "127.0.0.1:7070",
		DataDir:              "./hookwire-data",
		MaxStreams:           10,
		MaxSegments:          1000,
		MaxFilters:           100,
		SessionIdle:          30 * time.Minute,
		SessionMax:           24 * time.Hour,
		RetrySchedule:        []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour},
		DeliveryTimeout:      15 * time.Second,
		BreakerFailures:      5,
		BreakerCooldown:      30 * time.Second,
		OrgID:                "hookwire",
		Durability:           "sync",
		EventLogSegmentBytes: store.DefaultEventLogSegmentBytes,
		Retention:            48 * time.Hour,
		DeliveryRetention:    30 * 24 * time.Hour,
		MaxBodyBytes:         10 << 20,
		DiskReserveBytes:     store.DefaultDiskReserve,
		MaxEventsPerRequest:  10000,
		MaxInFlightEvents:    1 << 20,
		MaxInFlightBytes:     1 << 30,
		EndpointConcurrency:  64,
		ShutdownTimeout:      30 * time.Second,
		FilterTimeout:        10 * time.Millisecond,
		FilterMemoryBytes:    64 << 20,
		Version:              "dev",
	}
}

// Validate reports the first setting the engine cannot run with, naming
// the flag.
func (c *Config) Validate() error {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("--listen %q: want host:port, e.g. 127.0.0.1:7070", c.Listen)
	}
	switch {
	case c.DataDir == "":
		return errors.New("--data: a directory is required")
	case c.Dev && !isLoopbackHost(host):
		return fmt.Errorf("--dev turns authentication off, so it is refused on --listen %s: "+
			"use a loopback address such as 127.0.0.1:7070", c.Listen)
	case !c.Dev && c.AdminKey == "":
		return errors.New("refusing to start without authentication: pass --admin-key (or set HOOKWIRE_ADMIN_KEY), " +
			"or --dev on a loopback address for local development")
	case c.MaxLiveSessions < 0:
		return errors.New("--max-live-sessions must not be negative (0: from the machine's memory)")
	case c.MaxSegments < 1:
		return errors.New("--max-segments must be at least 1")
	case c.MaxFilters < 1:
		return errors.New("--max-filters must be at least 1")
	case c.MaxStreams < 1:
		return errors.New("--max-streams must be at least 1")
	case c.SessionIdle <= 0:
		return errors.New("--session-idle must be positive")
	case c.SessionMax <= 0:
		return errors.New("--session-max must be positive")
	case len(c.RetrySchedule) == 0:
		return errors.New("--retry-schedule needs at least one delay")
	case c.DeliveryTimeout <= 0:
		return errors.New("--delivery-timeout must be positive")
	case c.BreakerFailures < 1:
		return errors.New("--breaker-failures must be at least 1")
	case c.BreakerCooldown <= 0:
		return errors.New("--breaker-cooldown must be positive")
	case !validOrgID(c.OrgID):
		return fmt.Errorf("--org-id %q: want 1 to %d printable ASCII characters, no ',' or ':' and no space at either end (it sits inside the Fullstory-Signature header), e.g. o-1A2B3C-na1", c.OrgID, maxOrgIDLength)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case c.Durability != "sync" && c.Durability != "batch":
		return fmt.Errorf("--durability %q: use sync or batch", c.Durability)
	case c.EventLogSegmentBytes < store.MinEventLogSegmentBytes:
		return fmt.Errorf("--event-log-segment-bytes %d: want at least %d", c.EventLogSegmentBytes, store.MinEventLogSegmentBytes)
	case c.Retention < 48*time.Hour:
		return errors.New("--retention must be at least 48h (CONTRACT §5.2)")
	case c.DeliveryRetention < time.Hour:
		return errors.New("--delivery-retention must be at least 1h")
	case c.MaxBodyBytes < 1024:
		return errors.New("--max-body-bytes must be at least 1024")
	case c.MaxEventsPerRequest < 1:
		return errors.New("--max-events-per-request must be at least 1")
	case c.IngestRate < 0 || c.IngestBurst < 0:
		return errors.New("--ingest-rate and --ingest-burst must not be negative")
	case c.FilterTimeout <= 0:
		return errors.New("--filter-timeout must be positive")
	case c.FilterMemoryBytes < 1<<16 || c.FilterMemoryBytes > 4<<30:
		return errors.New("--filter-memory must be between 64KiB and 4GiB")
	case c.MaxInFlightEvents < int64(c.MaxEventsPerRequest):
		return fmt.Errorf("--max-in-flight-events (%d) must be at least --max-events-per-request (%d): "+
			"a full request would never be accepted", c.MaxInFlightEvents, c.MaxEventsPerRequest)
	case c.MaxInFlightBytes < int64(c.MaxBodyBytes):
		return fmt.Errorf("--max-in-flight-bytes (%d) must be at least --max-body-bytes (%d): "+
			"a request of the largest size would never be accepted", c.MaxInFlightBytes, c.MaxBodyBytes)
	case c.EndpointConcurrency < 1:
		return errors.New("--endpoint-concurrency must be at least 1")
	case c.FilterMemoryTotal < 0:
		return errors.New("--filter-memory-total must not be negative (0: a quarter of the machine's memory)")
	case c.FilterMemoryTotal > 0 && c.FilterMemoryTotal < c.FilterMemoryBytes:
		return fmt.Errorf("--filter-memory-total (%d) must be at least --filter-memory (%d): "+
			"a filter using its whole cap would never run", c.FilterMemoryTotal, c.FilterMemoryBytes)
	case c.DiskReserveBytes < 0:
		return errors.New("--disk-reserve-bytes must not be negative")
	case c.MaxConnections < 0:
		return errors.New("--max-connections must not be negative (0: derived from the open-file limit)")
	case c.MaxOutboundConnections < 0:
		return errors.New("--max-outbound-connections must not be negative (0: derived from the open-file limit)")
	case c.MaxEvaluationLag < 0 || (c.MaxEvaluationLag > 0 && c.MaxEvaluationLag < 10*time.Millisecond):
		return errors.New("--max-evaluation-lag must be 0 (no bound) or at least 10ms: " +
			"a bound below one sync of the event log would refuse requests in the normal course")
	}
	if c.Dev {
		c.AllowPrivateDestinations = true
	}
	clients, receivers := connectionLimits()
	if c.MaxConnections == 0 {
		c.MaxConnections = clients
	}
	if c.MaxOutboundConnections == 0 {
		c.MaxOutboundConnections = receivers
	}
	if c.MaxLiveSessions == 0 {
		c.MaxLiveSessions = int(max(memoryLimit()/2/(2<<10), 10_000))
	}
	if c.FilterMemoryTotal == 0 {
		c.FilterMemoryTotal = max(memoryLimit()/4, c.FilterMemoryBytes)
	}
	if c.AlertInterval <= 0 {
		c.AlertInterval = time.Second
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// maxOrgIDLength bounds --org-id, which goes into every webhook's headers.
const maxOrgIDLength = 128

// validOrgID: --org-id sits in a header between "o:" and ",t:", so a comma
// or colon would move the fields receivers parse, and a control character
// (a newline) would end the header; a space at either end and non-ASCII
// bytes are what receivers trim or re-encode before they compute the
// signature.
func validOrgID(id string) bool {
	if id == "" || len(id) > maxOrgIDLength || id[0] == ' ' || id[len(id)-1] == ' ' {
		return false
	}
	for i := range len(id) {
		if b := id[i]; b < ' ' || b >= 0x7f || b == ',' || b == ':' {
			return false
		}
	}
	return true
}
