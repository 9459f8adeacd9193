package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	stdmaps "maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/bench/catalog"
)

// LoadConfig is one load scenario.
type LoadConfig struct {
	// Name names the results files (bench/results/<name>.json, .md, .svg).
	Name string
	// Binary is the hookwire executable to run.
	Binary string
	// Duration of the measured load.
	Duration time.Duration
	// Warmup is load at the same rate before the measured window, which
	// nothing is recorded of: the sessions are made (100k of them in the
	// first moments would otherwise be a cold start inside the figures),
	// the heap and the connections settle. The ceiling gets the same.
	Warmup time.Duration
	// Producers send concurrently over their own keep-alive connections.
	// Closed loop needs enough of them to keep the server busy while some
	// wait for their group commit, or it measures the round trip, not the
	// maximum: with 16, the engine left a tenth of the machine idle (the
	// ceiling 7 %) and reached 557k events/s where 64 reached 656k, in
	// alternating runs; 64 leave it as idle as the ceiling, whose rate
	// they do not change (bench/README.md).
	Producers int
	// BatchSize is events per request.
	BatchSize int
	// Sessions is how many sessions the events are spread over.
	Sessions int
	// Streams is the number of streams.
	Streams int
	// Catalog is what the streams watch besides their signal: "mixed" (the
	// standard: five kinds of condition — eq on a property, RE2 and
	// contains on the URL, gt, ends_with on the user — each used by a
	// fifth of the streams with that stream's own value; the RE2 patterns
	// share the site's URL prefix) or "keyed" (each stream watches its own
	// button, page or SKU with eq or in).
	Catalog string
	// FilterStreams of the streams (the first ones) fire on their signal
	// through an uploaded Wasm filter (bench/filters/signal.wat, built with
	// wat2wasm, scoped to custom events) instead of a declarative trigger.
	FilterStreams int
	// MatchEvery: one session in MatchEvery fires one stream.
	MatchEvery int
	// StatefulStreams of the streams (the first ones) also carry a filter
	// that keeps a count in the session's state on every click
	// (bench/filters/count.wat, never matching in a run): what a filter
	// that keeps state on a common event costs.
	StatefulStreams int
	// EventIDs gives every event a producer id (unique in the run), as a
	// producer that retries safely sends: the server then looks each up
	// among the ids it remembers and remembers it (CONTRACT §2's dedupe).
	EventIDs bool
	// NDJSON sends each batch as NDJSON (one event per line) instead of a
	// JSON array.
	NDJSON bool
	// Rate, when positive, runs open loop at this many events per second
	// (latency is measured from each batch's scheduled time, so a server
	// that falls behind cannot hide it); zero runs closed loop (each
	// producer sends its next batch when the last is answered).
	Rate float64
	// HalfOfMaximum, with Rate zero, first finds the maximum with a
	// closed-loop run of the same scenario (its own server, no ceilings,
	// at most 20 s), then runs open loop at half of it: the latency target
	// ("p99 at half the maximum rate") in one command.
	HalfOfMaximum bool `json:",omitempty"`
	// Durability is the server's --durability.
	Durability string
	// Ceilings also measures the parse-only ingest endpoint and the
	// receiver's own maximum, for ratios. The endpoint is measured before
	// and after the load and, in closed loop, between the stretches it is
	// cut into: the machine's speed moves within minutes.
	Ceilings bool
	// OutDir receives the results files; empty writes none.
	OutDir string
	// CPUProfile, when set, is where the server's CPU profile of the
	// measured load is written (the server runs with --pprof).
	CPUProfile string `json:",omitempty"`
	// HeapProfile, when set, is where the server's heap profile is written
	// after the load has drained.
	HeapProfile string `json:",omitempty"`
	// Trace, when set, is where an execution trace of the server's first
	// five seconds of measured load is written (go tool trace: scheduler
	// delays, GC, syscalls behind a latency tail).
	Trace string `json:",omitempty"`
	// ServerArgs are extra flags for `hookwire serve`, after the harness's own.
	ServerArgs []string `json:",omitempty"`
	// ServerEnv are extra environment variables for the server (GOGC=400).
	ServerEnv []string `json:",omitempty"`
	// Logf receives progress lines; nil is silent.
	Logf func(format string, args ...any) `json:"-"`
}

// DefaultLoadConfig is the standard scenario of `make bench`.
func DefaultLoadConfig() LoadConfig {
	return LoadConfig{Name: "standard", Binary: "bin/hookwire", Duration: 30 * time.Second, Warmup: 5 * time.Second, Producers: 64,
		BatchSize: 100, Sessions: 100_000, Streams: 10, Catalog: "mixed", FilterStreams: 2, MatchEvery: 20, Durability: "sync", Ceilings: true,
		OutDir: "bench/results"}
}

// Latency summarises event-to-webhook latencies.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// LoadReport is what a scenario measured.
type LoadReport struct {
	Config          LoadConfig `json:"config"`
	Mode            string     `json:"mode"`
	AcceptedPerSec  float64    `json:"accepted_events_per_sec"`
	EvaluatedPerSec float64    `json:"evaluated_events_per_sec"`
	WebhooksPerSec  float64    `json:"webhooks_per_sec"`
	Rejected429     int64      `json:"rejected_429"`
	Latency         Latency    `json:"latency"`
	// AcceptLatency is from each batch's send (its schedule, open loop) to
	// its 202: what producers wait for durable acceptance.
	AcceptLatency Latency `json:"accept_latency"`
	// ServerIngest… are the same seen by the server (arrival to answer,
	// from its histogram over the measured window and its drain), to tell
	// its share from the network's and the generator's.
	ServerIngestP50MS float64 `json:"server_ingest_p50_ms"`
	ServerIngestP99MS float64 `json:"server_ingest_p99_ms"`
	ExpectedWebhooks  int     `json:"expected_webhooks"`
	Lost              int     `json:"lost"`
	Duplicated        int     `json:"duplicated"`
	PeakRSSBytes      int64   `json:"server_peak_rss_bytes"`
	CPUSeconds        float64 `json:"server_cpu_seconds"`
	Goroutines        float64 `json:"server_goroutines"`
	MaxGCPauseMS      float64 `json:"server_max_gc_pause_ms"`
	// LiveSessions at the end, and the server's heap growth since before
	// the load divided by them (after a collection; it includes the
	// store's memtables and caches, so it is an upper bound).
	LiveSessions        float64 `json:"server_live_sessions"`
	HeapPerSessionBytes float64 `json:"server_heap_per_live_session_bytes"`
	// CPUMicrosPerEvent is the server's CPU time during the load per
	// accepted event, and CeilingCPUMicrosPerEvent the parse-only
	// endpoint's: the machine's noise moves them far less than rates.
	CPUMicrosPerEvent        float64 `json:"server_cpu_us_per_event"`
	CeilingCPUMicrosPerEvent float64 `json:"ceiling_cpu_us_per_event,omitempty"`
	// HarnessCPUMicrosPerEvent is this process's (the producers' and the
	// receiver's) during the load.
	HarnessCPUMicrosPerEvent float64 `json:"harness_cpu_us_per_event"`
	// CeilingPerSec is the mean of CeilingRunsPerSec, the parse-only
	// endpoint measured before the load, between its stretches and after.
	CeilingPerSec     float64   `json:"ingest_ceiling_events_per_sec,omitempty"`
	CeilingRunsPerSec []float64 `json:"ingest_ceiling_runs_events_per_sec,omitempty"`
	// StretchesPerSec is the accepted rate in each stretch of the measured
	// load; stretch i ran between ceiling runs i and i+1.
	StretchesPerSec []float64 `json:"accepted_events_per_sec_by_stretch,omitempty"`
	// MaximumPerSec is the closed-loop maximum a HalfOfMaximum run
	// measured before its open loop.
	MaximumPerSec     float64 `json:"measured_maximum_events_per_sec,omitempty"`
	ReceiverMaxPerSec float64 `json:"receiver_max_per_sec,omitempty"`
	// LatencyByTenth is the event → webhook latency of the webhooks whose
	// event was sent in each tenth of the run: a warm-up, or a stall at
	// one moment, shows here and not in the whole run's percentiles.
	LatencyByTenth []Latency `json:"latency_by_tenth_of_run"`
	// HarnessStallMSByTenth is how late the harness's own millisecond
	// timer woke at worst in each tenth (0: never over 5 ms). A latency
	// stall with one here stopped the machine, not just the engine.
	HarnessStallMSByTenth []float64 `json:"harness_longest_late_wakeup_ms_by_tenth_of_run"`
	// The server's waits on the disk (the measured window and its drain):
	// the event log's sync, which each accepted request waits for, and the
	// session commit each webhook waits for; and how many of each took
	// over 25 ms in each tenth of the measured run, to lay beside
	// LatencyByTenth.
	EventLogSyncMS     Quantiles `json:"event_log_sync_ms"`
	SessionCommitMS    Quantiles `json:"session_commit_ms"`
	SlowSyncsByTenth   []int     `json:"event_log_syncs_over_25ms_by_tenth_of_run"`
	SlowCommitsByTenth []int     `json:"session_commits_over_25ms_by_tenth_of_run"`
	// TailStages and MiddleStages split the latency of the slowest
	// hundredth of the webhooks and of as many around the median by where
	// the harness's and the server's records say the time went.
	TailStages   Stages `json:"slowest_hundredth_stages"`
	MiddleStages Stages `json:"median_stages"`
	latencies    []float64
}

// Quantiles is a server histogram's median and 99th percentile.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// byTenth summarises the samples sent in each tenth of [start, start+d).
func byTenth(samples []latencySample, start time.Time, d time.Duration) []Latency {
	tenths := make([][]float64, 10)
	for _, s := range samples {
		i := min(max(int(10*s.sent.Sub(start)/d), 0), 9)
		tenths[i] = append(tenths[i], s.ms)
	}
	out := make([]Latency, 10)
	for i, ms := range tenths {
		out[i] = summarise(ms)
	}
	return out
}

// RunLoad runs one scenario against a fresh hookwire process and a
// receiver that verifies every signature.
func RunLoad(ctx context.Context, cfg LoadConfig) (*LoadReport, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	switch cfg.Catalog {
	case "":
		cfg.Catalog = "mixed"
	case "mixed", "keyed":
	default:
		return nil, fmt.Errorf("bench: catalog %q: want mixed or keyed", cfg.Catalog)
	}
	var maximum float64
	if cfg.HalfOfMaximum && cfg.Rate <= 0 {
		first := cfg
		first.HalfOfMaximum, first.Ceilings, first.OutDir = false, false, ""
		first.CPUProfile, first.HeapProfile, first.Trace = "", "", ""
		first.Duration = min(cfg.Duration, 20*time.Second)
		logf("finding the maximum: closed loop for %s", first.Duration)
		closed, err := RunLoad(ctx, first)
		if err != nil {
			return nil, fmt.Errorf("bench: finding the maximum: %w", err)
		}
		maximum = closed.AcceptedPerSec
		cfg.Rate = maximum / 2
		logf("maximum %.0f events/s: open loop at %.0f", maximum, cfg.Rate)
	}
	rep := &LoadReport{Config: cfg, Mode: "closed-loop", MaximumPerSec: maximum}
	switch {
	case maximum > 0:
		rep.Mode = fmt.Sprintf("open-loop %.0f events/s (half of the %.0f closed loop measured just before)", cfg.Rate, maximum)
	case cfg.Rate > 0:
		rep.Mode = fmt.Sprintf("open-loop %.0f events/s", cfg.Rate)
	}
	dir, cleanup, err := mkTemp("")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	logFile, err := os.Create(filepath.Join(dir, "hookwire.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()

	recv, err := startLoadReceiver()
	if err != nil {
		return nil, err
	}
	defer recv.close()
	// The ceiling is measured before the load, between its stretches and
	// after it, so that each stretch has a ceiling taken moments before
	// and after: the machine's speed moves by a third within minutes, more
	// than the figure it is compared with.
	var ceiling *serverProcess
	var ceilingCPU []float64
	measureCeilingNow := func(warmup time.Duration) error {
		perSec, cpu, err := measureCeiling(ctx, cfg, ceiling, warmup)
		if err != nil {
			return fmt.Errorf("bench: ceiling: %w", err)
		}
		rep.CeilingRunsPerSec, ceilingCPU = append(rep.CeilingRunsPerSec, perSec), append(ceilingCPU, cpu)
		logf("ceiling: parse-only ingest %.0f events/s", perSec)
		return nil
	}
	if cfg.Ceilings {
		if ceiling, err = startCeiling(ctx, cfg, logFile); err != nil {
			return nil, err
		}
		defer ceiling.kill()
		if err := measureCeilingNow(cfg.Warmup); err != nil {
			return nil, err
		}
		rep.ReceiverMaxPerSec = recv.maximum(3 * time.Second)
		logf("receiver maximum %.0f requests/s", rep.ReceiverMaxPerSec)
	}

	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	srv := &serverProcess{binary: cfg.Binary, addr: addr, log: logFile, args: []string{
		"--dev", "--data", filepath.Join(dir, "data"), "--log-level", "warn", "--durability", cfg.Durability,
		"--max-streams", strconv.Itoa(max(cfg.Streams, 10)),
	}}
	// The profiling listener (loopback) also lets the harness force a
	// collection before it reads the heap.
	pprofAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	srv.args = append(srv.args, "--pprof", pprofAddr)
	srv.args = append(srv.args, cfg.ServerArgs...)
	srv.env = cfg.ServerEnv
	if err := srv.start(ctx); err != nil {
		return nil, err
	}
	defer srv.kill()
	gen := newWorkload(cfg)
	for _, f := range []struct {
		name string
		wat  []byte
		used bool
	}{{benchFilterName, signalWAT, cfg.FilterStreams > 0}, {countFilterName, countWAT, cfg.StatefulStreams > 0}} {
		if !f.used {
			continue
		}
		module, err := compileFilter(dir, f.name, f.wat)
		if err != nil {
			return nil, err
		}
		if err := uploadFilter(srv.base(), f.name, module); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Streams {
		id, err := createStream(srv.base(), benchStream(i, cfg, recv.url))
		if err != nil {
			return nil, err
		}
		gen.ids = append(gen.ids, id)
	}
	heapBefore, err := collectedHeap(srv.base(), pprofAddr)
	if err != nil {
		return nil, err
	}

	// Closed loop with ceilings cuts the measured load into stretches with
	// a ceiling measurement between each two, the producers paused (open
	// loop runs on a schedule, which a pause would turn into a burst).
	stretches := 1
	if cfg.Ceilings && cfg.Rate <= 0 {
		stretches = loadStretches
	}
	stretch := cfg.Duration / time.Duration(stretches)
	warmStart := time.Now()
	start := warmStart.Add(cfg.Warmup)
	gen.measureFrom = start
	gate := newLoadGate()
	producers := startProducers(ctx, srv.base(), gen, cfg, warmStart, gate)
	defer producers.wg.Wait()
	defer gate.stop()
	if cfg.Warmup > 0 {
		logf("warming up for %s", cfg.Warmup)
		time.Sleep(time.Until(start))
	}
	// The server's histograms are read from here to the end of the drain:
	// the warm-up (100k sessions made) is not the steady state either.
	windowStart, err := scrapeHistograms(srv.base(), serverHistograms...)
	if err != nil {
		return nil, err
	}
	// Once a second, as the progress line: each scrape costs the server
	// a little CPU, and a tenth of a run is three seconds.
	stopWatchingDisk := watchDisk(srv.base(), time.Second)
	stalls := startStallProbe()
	profiled := make(chan error, 2)
	if cfg.CPUProfile != "" {
		go func() { profiled <- fetchCPUProfile(pprofAddr, stretch-min(2*time.Second, stretch/5), cfg.CPUProfile) }()
	} else {
		profiled <- nil
	}
	if cfg.Trace != "" {
		seconds := max(1, min(5, int(stretch.Seconds())-2))
		go func() { profiled <- fetchProfile(pprofAddr, fmt.Sprintf("trace?seconds=%d", seconds), cfg.Trace) }()
	} else {
		profiled <- nil
	}
	var measured time.Duration
	var evaluated, serverCPU, harnessCPU float64
	for i := range stretches {
		if i > 0 {
			if err := measureCeilingNow(time.Second); err != nil { // warm already; its connections are new
				return nil, err
			}
			gate.resume()
		}
		began := time.Now()
		gen.clock.start(began)
		acceptedBefore := producers.accepted.Load()
		evaluatedBefore, _ := scrape(srv.base(), "hookwire_events_evaluated_total")
		_, cpuBefore := processFigures(srv.cmd.Process.Pid)
		_, harnessBefore := processFigures(os.Getpid())
		if err := waitShowingProgress(began.Add(stretch), producers.errs, func() {
			el := (measured + time.Since(began)).Seconds()
			inFlight, _ := scrape(srv.base(), "hookwire_events_in_flight")
			logf("%4.0fs  accepted %8.0f events/s  awaiting evaluation %7.0f  webhooks %6d  rejected(429) %d",
				el, float64(producers.accepted.Load())/el, inFlight, recv.count(), producers.rejected.Load())
		}); err != nil {
			return nil, err
		}
		gate.pause() // the batches under way are answered, and counted
		gen.clock.stop(time.Now())
		took := time.Since(began)
		measured += took
		rep.StretchesPerSec = append(rep.StretchesPerSec, float64(producers.accepted.Load()-acceptedBefore)/took.Seconds())
		evaluatedAfter, _ := scrape(srv.base(), "hookwire_events_evaluated_total")
		_, cpuAfter := processFigures(srv.cmd.Process.Pid)
		_, harnessAfter := processFigures(os.Getpid())
		evaluated += evaluatedAfter - evaluatedBefore
		serverCPU += cpuAfter - cpuBefore
		harnessCPU += harnessAfter - harnessBefore
	}
	measuredUntil := time.Now()
	diskSamples := stopWatchingDisk()
	stallSamples := stalls.stop()
	gate.stop()
	if err := producers.stoppedOn(); err != nil {
		return nil, err
	}
	for range 2 {
		if err := <-profiled; err != nil {
			return nil, err
		}
	}
	accepted := float64(producers.accepted.Load())
	if accepted > 0 {
		rep.CPUMicrosPerEvent = 1e6 * serverCPU / accepted
		rep.HarnessCPUMicrosPerEvent = 1e6 * harnessCPU / accepted
	}
	webhooksInWindow := recv.count()
	rep.AcceptedPerSec = accepted / measured.Seconds()
	rep.EvaluatedPerSec = evaluated / measured.Seconds()
	rep.WebhooksPerSec = float64(webhooksInWindow) / measured.Seconds()
	rep.Rejected429 = producers.rejected.Load()
	if cfg.Ceilings {
		// At once, while the engine is idle: the drain below can take a
		// while, and the machine's speed moves meanwhile.
		if err := measureCeilingNow(time.Second); err != nil {
			return nil, err
		}
		var sum, cpu float64
		for i, c := range rep.CeilingRunsPerSec {
			sum, cpu = sum+c, cpu+ceilingCPU[i]
		}
		rep.CeilingPerSec = sum / float64(len(rep.CeilingRunsPerSec))
		rep.CeilingCPUMicrosPerEvent = cpu / float64(len(ceilingCPU))
	}

	// Drain: every expected webhook that was sent must arrive. Accepted
	// events may still wait for evaluation (a server slower than its
	// producers builds a backlog in its log): wait while it shrinks, and
	// give up a minute after the last progress.
	sent := gen.sentSignals()
	progressAt, last := time.Now(), -1.0
	for recv.countOf(sent) < len(sent) && time.Since(progressAt) < time.Minute {
		inFlight, _ := scrape(srv.base(), "hookwire_events_in_flight")
		if arrived := float64(recv.countOf(sent)); inFlight+arrived != last {
			progressAt, last = time.Now(), inFlight+arrived
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	rep.Goroutines, _ = scrape(srv.base(), "go_goroutines")
	if after, err := scrapeHistograms(srv.base(), serverHistograms...); err == nil {
		ingest := after[ingestRequestMetric].since(windowStart[ingestRequestMetric]).quantilesMS()
		rep.ServerIngestP50MS, rep.ServerIngestP99MS = ingest.P50, ingest.P99
		rep.EventLogSyncMS = after[eventLogSyncMetric].since(windowStart[eventLogSyncMetric]).quantilesMS()
		rep.SessionCommitMS = after[sessionCommitMetric].since(windowStart[sessionCommitMetric]).quantilesMS()
	}
	rep.LiveSessions, _ = scrape(srv.base(), "hookwire_live_sessions")
	if heapAfter, err := collectedHeap(srv.base(), pprofAddr); err == nil && rep.LiveSessions > 0 {
		rep.HeapPerSessionBytes = (heapAfter - heapBefore) / rep.LiveSessions
	}
	if cfg.HeapProfile != "" {
		if err := fetchProfile(pprofAddr, "heap", cfg.HeapProfile); err != nil {
			return nil, err
		}
	}
	rep.MaxGCPauseMS, _ = scrapeQuantile(srv.base(), "go_gc_duration_seconds", "1")
	rep.MaxGCPauseMS *= 1000
	rep.PeakRSSBytes, rep.CPUSeconds = processFigures(srv.cmd.Process.Pid)
	rep.ExpectedWebhooks = len(sent)
	var samples []latencySample
	rep.Lost, rep.Duplicated, samples = recv.reconcile(sent)
	for _, s := range samples {
		rep.latencies = append(rep.latencies, s.ms)
	}
	rep.LatencyByTenth = byTenth(samples, start, measuredUntil.Sub(start))
	rep.HarnessStallMSByTenth = longestStallByTenth(stallSamples, start, measuredUntil.Sub(start))
	// A server without the disk histograms (an older build under
	// --binary) gets no disk row rather than one of zeros.
	if _, timed := windowStart[eventLogSyncMetric]; timed {
		rep.SlowSyncsByTenth = slowByTenth(diskSamples, slowSyncs, start, measuredUntil.Sub(start))
		rep.SlowCommitsByTenth = slowByTenth(diskSamples, slowCommits, start, measuredUntil.Sub(start))
	}
	for _, p := range recv.missing(sent, 5) {
		logf("lost: %s", explainLost(srv.base(), p))
	}
	if rep.TailStages, rep.MiddleStages, err = tailStages(srv.base(), samples, gen.postedSignals()); err != nil {
		return nil, err
	}
	rep.Latency = summarise(rep.latencies)
	rep.AcceptLatency = summarise(gen.acceptLatencies())
	if err := srv.stop(); err != nil {
		return nil, err
	}
	if cfg.OutDir != "" {
		if err := rep.write(cfg.OutDir); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// explainLost says what the server knows of a webhook that did not
// arrive: whether the session fired the stream, and the delivery's state.
func explainLost(base string, p pair) string {
	var sess struct {
		Events int `json:"events"`
		Fired  []struct {
			StreamID  string `json:"stream_id"`
			WebhookID string `json:"webhook_id"`
		} `json:"fired"`
	}
	if err := getJSON(base+"/v1/sessions/"+p.session, &sess); err != nil {
		return fmt.Sprintf("session %s, stream %s: %v", p.session, p.stream, err)
	}
	for _, f := range sess.Fired {
		if f.StreamID != p.stream {
			continue
		}
		var d struct {
			Status   string `json:"status"`
			Attempts []struct {
				Status int    `json:"status"`
				Error  string `json:"error"`
			} `json:"attempts"`
		}
		if err := getJSON(base+"/v1/deliveries/"+f.WebhookID, &d); err != nil {
			return fmt.Sprintf("session %s fired stream %s (%s): %v", p.session, p.stream, f.WebhookID, err)
		}
		return fmt.Sprintf("session %s fired stream %s: delivery %s is %s after %d attempts %+v",
			p.session, p.stream, f.WebhookID, d.Status, len(d.Attempts), d.Attempts)
	}
	explained := fmt.Sprintf("session %s (%d events evaluated) did not fire stream %s", p.session, sess.Events, p.stream)
	var stream struct {
		Faults struct {
			Count     int    `json:"count"`
			LastError string `json:"last_error"`
		} `json:"faults"`
	}
	if err := getJSON(base+"/v1/streams/"+p.stream, &stream); err == nil && stream.Faults.Count > 0 {
		explained += fmt.Sprintf(" (the stream's triggers faulted %d times, last: %s)", stream.Faults.Count, stream.Faults.LastError)
	}
	return explained
}

func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// benchStream is stream i of cfg's catalog: each fires on its own custom
// signal event (through the uploaded filter for the first FilterStreams),
// and carries a second declarative trigger that events of its type are
// evaluated against and never match; the first StatefulStreams carry a
// third, the counting filter on every click, with a count no session
// reaches.
func benchStream(i int, cfg LoadConfig, url string) map[string]any {
	signal := map[string]any{"event": "custom", "where": []any{
		map[string]any{"field": "name", "op": "eq", "value": fmt.Sprintf("signal-%d", i)}}}
	if i < cfg.FilterStreams {
		signal = map[string]any{"filter": benchFilterName, "event": "custom", "config": fmt.Sprintf("signal-%d", i)}
	}
	c := catalog.Mixed(i)
	if cfg.Catalog == "keyed" {
		c = catalog.Keyed(i)
	}
	extra := map[string]any{"event": c.Event, "where": []any{map[string]any{"field": c.Field, "op": c.Op, "value": c.Value}}}
	triggers := []any{signal, extra}
	if i < cfg.StatefulStreams {
		triggers = append(triggers, map[string]any{"filter": countFilterName, "event": "click", "config": 1_000_000_000 - 1})
	}
	return map[string]any{"name": fmt.Sprintf("bench stream %d", i), "triggers": triggers,
		"destination": map[string]any{"url": url, "secret": crashSecret}}
}

// workload hands producers their events: each producer owns the sessions
// p, p+P, p+2P, …, cycles through them, and gives every MatchEvery-th
// session one signal event for one of the streams, spread over the
// measured window (signalAt).
type workload struct {
	cfg LoadConfig
	// clock is how long the load has run in the measured window; each
	// matching session signals at its first event after its signalAt.
	clock loadClock
	// signalled[s]: session s has sent its signal. Each element is
	// written by the producer that owns the session, and only by it.
	signalled []bool
	// stride scatters the signal times over the matching sessions
	// (signalAt), coprime with their number.
	stride  int
	mu      sync.Mutex
	signals map[pair]time.Time // (stream id, session) → when its signal was sent
	// posted is when each signal's request actually went out; open loop,
	// signals counts from the schedule, which a late harness misses.
	posted  map[pair]time.Time
	accepts []float64 // ms from each batch's send to its 202
	ids     []string  // stream ids by index; none for the ceiling run
	// measureFrom is when the measured window begins: batches sent
	// before it (the warm-up) carry no signal and are not counted.
	measureFrom time.Time
}

func (w *workload) acceptLatencies() []float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.accepts)
}

func newWorkload(cfg LoadConfig) *workload {
	w := &workload{cfg: cfg, signals: map[pair]time.Time{}, posted: map[pair]time.Time{}}
	if cfg.MatchEvery > 0 {
		w.signalled = make([]bool, cfg.Sessions)
		matching := w.matchingSessions()
		w.stride = max(1, int(0.618*float64(matching)))
		for gcd(w.stride, matching) != 1 {
			w.stride++
		}
	}
	return w
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// signalAt is when, in load time within the measured window (the pauses
// for ceiling measurements left out), matching session j sends its
// signal: the matching sessions' times spread evenly over the first nine
// tenths of the window (the last is for stragglers), so that webhooks
// leave throughout it (a burst of them at its start would be a stretch
// unlike the rest, and the latency of its other tenths unmeasured). The
// times go to the sessions scattered (j·stride mod matching), so that the
// ones due within a round through the sessions are spread through all of
// them, and so through the round, not a run of neighbours sent at once.
// Being times, not rounds, they hold whatever rate the load runs at.
func (w *workload) signalAt(j int) time.Duration {
	matching := w.matchingSessions()
	slot := j * w.stride % matching
	return time.Duration((float64(slot) + 0.5) / float64(matching) * 0.9 * float64(w.cfg.Duration))
}

// matchingSessions is how many sessions send a signal: 0, MatchEvery,
// 2·MatchEvery, … below Sessions.
func (w *workload) matchingSessions() int {
	return (w.cfg.Sessions + w.cfg.MatchEvery - 1) / w.cfg.MatchEvery
}

func (w *workload) postedSignals() map[pair]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return stdmaps.Clone(w.posted)
}

func (w *workload) sentSignals() map[pair]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return stdmaps.Clone(w.signals)
}

var eventMix = []string{"navigate", "navigate", "navigate", "click", "click", "click", "click", "click", "change", "rage_click"}

// appendEvent writes one ~300-byte event for session s, its n-th, the
// inWindow-th within the measured window (-1: before it).
func (w *workload) appendEvent(buf []byte, s, n, inWindow int) (out []byte, signal int) {
	signal = -1
	typ := eventMix[(s+n)%len(eventMix)]
	name := ""
	// A matching session sends its signal as one of its events after its
	// first in the window, at its time (signalAt), so that matches spread
	// over the whole run instead of arriving in one burst while the
	// sessions are new.
	if s%w.cfg.MatchEvery == 0 && inWindow >= 1 && !w.signalled[s] &&
		w.clock.elapsed(time.Now()) >= w.signalAt(s/w.cfg.MatchEvery) {
		w.signalled[s] = true
		signal = (s / w.cfg.MatchEvery) % w.cfg.Streams
		typ, name = "custom", fmt.Sprintf("signal-%d", signal)
	}
	buf = append(buf, '{')
	if w.cfg.EventIDs {
		buf = append(buf, `"id":"ev-`...)
		buf = strconv.AppendInt(buf, int64(s), 10)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(n), 10)
		buf = append(buf, `",`...)
	}
	buf = append(buf, `"session_id":"bench-`...)
	buf = strconv.AppendInt(buf, int64(s), 10)
	buf = append(buf, `","type":"`...)
	buf = append(buf, typ...)
	buf = append(buf, '"')
	if name != "" {
		buf = append(buf, `,"name":"`...)
		buf = append(buf, name...)
		buf = append(buf, '"')
	}
	buf = append(buf, `,"url":"https://shop.example/products/`...)
	buf = strconv.AppendInt(buf, int64(n%97), 10)
	buf = append(buf, `?ref=campaign-autumn&utm_source=newsletter","properties":{"target_text":"Add to cart","price":19.99,"sku":"SKU-`...)
	buf = strconv.AppendInt(buf, int64(s%10000), 10)
	buf = append(buf, `","position":`...)
	buf = strconv.AppendInt(buf, int64(n), 10)
	buf = append(buf, `},"user":{"uid":"user-`...)
	buf = strconv.AppendInt(buf, int64(s), 10)
	buf = append(buf, `","email":"user`...)
	buf = strconv.AppendInt(buf, int64(s), 10)
	buf = append(buf, `@example.com"}}`...)
	return buf, signal
}

// openLoopInFlight is how many batches one producer may have in flight in
// open loop: a slow answer must not hold back the next scheduled send, or
// the generator itself would be the bottleneck it measures.
const openLoopInFlight = 8

// produceLoad is producer p: it sends its batches over keep-alive
// connections (fasthttp's client: the generator shares the machine's two
// cores with the server, so it must be cheap) while gate lets it, until
// gate stops. Closed loop sends the next batch when the last is answered;
// open loop sends on schedule from start, up to openLoopInFlight at once.
func produceLoad(ctx context.Context, base string, w *workload, p int, cfg LoadConfig, start time.Time, gate *loadGate,
	accepted, rejected *atomic.Int64) error {
	// measuredFrom is next when the measured window began (-1: warming
	// up): a session's events are counted from there for its signal.
	measuredFrom := -1
	inFlight := 1
	if cfg.Rate > 0 {
		inFlight = openLoopInFlight
	}
	client := &fasthttp.HostClient{Addr: strings.TrimPrefix(base, "http://"), MaxConns: inFlight,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	url := base + "/v1/events"
	owned := (cfg.Sessions - p + cfg.Producers - 1) / cfg.Producers
	next := 0 // position in the producer's cycle over its sessions
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(cfg.BatchSize*cfg.Producers) / cfg.Rate)
	}
	// Producers send in turn, spread over the interval: all at once, they
	// made the rate a burst of every producer's batch per interval, whose
	// last batch waited for the rest (with 64 producers at 340k events/s,
	// a 6,400-event burst every 19 ms: 202 p50 11 ms instead of 4).
	scheduled := start.Add(interval * time.Duration(p) / time.Duration(cfg.Producers))
	var sending sync.WaitGroup
	var failed atomic.Pointer[error]
	defer sending.Wait()
	send := func(b *batch) {
		defer func() { batches.Put(b); gate.leave(); sending.Done() }()
		if err := w.send(client, url, b, accepted, rejected); err != nil {
			err = fmt.Errorf("producer %d: %w", p, err)
			failed.CompareAndSwap(nil, &err)
		}
	}
	// Open loop, the batches go to senders that live as long as the
	// producer: a goroutine per request grew its stack for the HTTP client
	// every time (7 % of the harness's CPU at 288,000 events/s). The
	// channel is unbuffered, so a batch waits for a free sender: no more
	// than inFlight at once.
	var senders chan *batch
	if inFlight > 1 {
		senders = make(chan *batch)
		defer close(senders)
		for range inFlight {
			go func() {
				for b := range senders {
					send(b)
				}
			}()
		}
	}
	for failed.Load() == nil && gate.enter() {
		if ctx.Err() != nil {
			gate.leave()
			return ctx.Err()
		}
		if interval > 0 {
			if d := time.Until(scheduled); d > 0 {
				time.Sleep(d)
			}
		}
		b := batches.Get().(*batch)
		open, separator, end := byte('['), byte(','), byte(']')
		if cfg.NDJSON {
			open, separator, end = '\n', '\n', '\n'
		}
		b.body, b.signals = append(b.body[:0], open), b.signals[:0]
		for i := range cfg.BatchSize {
			if i > 0 {
				b.body = append(b.body, separator)
			}
			if measuredFrom < 0 && !time.Now().Before(w.measureFrom) {
				measuredFrom = next
			}
			session := p + (next%owned)*cfg.Producers
			nth := next / owned
			inWindow := -1 // the session's event count within the measured window
			if measuredFrom >= 0 {
				inWindow = nth - measuredFrom/owned
				if next%owned < measuredFrom%owned {
					inWindow-- // it had one more event before the window began
				}
			}
			next++
			var sig int
			b.body, sig = w.appendEvent(b.body, session, nth, inWindow)
			if sig >= 0 {
				b.signals = append(b.signals, pair{stream: strconv.Itoa(sig), session: fmt.Sprintf("bench-%d", session)})
			}
		}
		b.body = append(b.body, end)
		b.sendAt = time.Now()
		if interval > 0 {
			b.sendAt = scheduled // open loop: latency counts from the schedule
			scheduled = scheduled.Add(interval)
		}
		sending.Add(1)
		if senders != nil {
			senders <- b
		} else {
			go send(b)
			sending.Wait()
		}
	}
	sending.Wait()
	if err := failed.Load(); err != nil {
		return *err
	}
	return nil
}

// batches are reused: the generator shares the cores with the server, and
// its own collections would show as the server's latency.
var batches = sync.Pool{New: func() any { return new(batch) }}

// batch is one request: its body, when it was (to be) sent, and the
// signals it carries as (stream index, session).
type batch struct {
	body    []byte
	sendAt  time.Time
	signals []pair
}

// send posts a batch until it is accepted (429 is retried), then records
// its acceptance latency and signals.
func (w *workload) send(client *fasthttp.HostClient, url string, b *batch, accepted, rejected *atomic.Int64) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	if w.cfg.NDJSON {
		req.Header.SetContentType("application/x-ndjson")
	}
	req.SetBodyRaw(b.body)
	var posted time.Time
	for {
		posted = time.Now()
		if err := client.Do(req, resp); err != nil {
			return err
		}
		if resp.StatusCode() == fasthttp.StatusTooManyRequests {
			rejected.Add(1)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		var res struct{ Accepted int64 }
		if resp.StatusCode() != fasthttp.StatusAccepted || json.Unmarshal(resp.Body(), &res) != nil {
			return fmt.Errorf("answer %d %s", resp.StatusCode(), resp.Body())
		}
		if !b.sendAt.Before(w.measureFrom) {
			accepted.Add(res.Accepted)
		}
		break
	}
	if b.sendAt.Before(w.measureFrom) {
		return nil // warming up: nothing is recorded
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.accepts = append(w.accepts, ms(time.Since(b.sendAt)))
	if len(w.ids) > 0 {
		for _, s := range b.signals {
			i, _ := strconv.Atoi(s.stream)
			w.signals[pair{w.ids[i], s.session}] = b.sendAt
			w.posted[pair{w.ids[i], s.session}] = posted
		}
	}
	return nil
}

// loadStretches is how many stretches a closed-loop run with ceilings
// cuts its measured load into, with a ceiling measurement between each two.
const loadStretches = 3

// waitShowingProgress waits until until, calling progress every second;
// it returns early with the error of a producer that failed.
func waitShowingProgress(until time.Time, errs <-chan error, progress func()) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.NewTimer(time.Until(until))
	defer end.Stop()
	for {
		select {
		case err := <-errs:
			return err
		case <-tick.C:
			progress()
		case <-end.C:
			return nil
		}
	}
}

// startCeiling starts `hookwire ceiling`, the parse-only ingest endpoint,
// in the same runtime environment as the server's (GOMAXPROCS, GOGC): the
// ceiling is measured under the conditions the engine runs in.
func startCeiling(ctx context.Context, cfg LoadConfig, log io.Writer) (*serverProcess, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	p := &serverProcess{binary: cfg.Binary, addr: addr, log: log, command: []string{"ceiling", "--listen", addr}, env: cfg.ServerEnv}
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// ceilingWindow is how long each measurement of the ceiling lasts: as
// long as a stretch of the load, at most 5 s, at least 1 s.
func ceilingWindow(cfg LoadConfig) time.Duration {
	return min(5*time.Second, max(time.Second, cfg.Duration/loadStretches))
}

// measureCeiling runs the same producers against the ceiling endpoint,
// closed loop, for warmup and then a ceilingWindow: its events per
// second, and its CPU time per event in microseconds.
func measureCeiling(ctx context.Context, cfg LoadConfig, p *serverProcess, warmup time.Duration) (perSec, cpuMicrosPerEvent float64, err error) {
	c := cfg
	c.Rate, c.Duration, c.Warmup = 0, ceilingWindow(cfg), warmup
	gen := newWorkload(c)
	warmStart := time.Now()
	start := warmStart.Add(c.Warmup)
	gen.measureFrom = start
	gate := newLoadGate()
	producers := startProducers(ctx, p.base(), gen, c, warmStart, gate)
	time.Sleep(time.Until(start))
	_, cpuBefore := processFigures(p.cmd.Process.Pid)
	time.Sleep(time.Until(start.Add(c.Duration)))
	gate.stop()
	producers.wg.Wait()
	if err := producers.stoppedOn(); err != nil {
		return 0, 0, err
	}
	accepted := float64(producers.accepted.Load())
	perSec = accepted / time.Since(start).Seconds()
	if _, cpuAfter := processFigures(p.cmd.Process.Pid); accepted > 0 {
		cpuMicrosPerEvent = 1e6 * (cpuAfter - cpuBefore) / accepted
	}
	return perSec, cpuMicrosPerEvent, nil
}

// producerGroup is cfg.Producers producers sending a workload while
// their gate lets them, and what they counted.
type producerGroup struct {
	accepted, rejected atomic.Int64
	errs               chan error // a producer's error, when one stopped on it
	wg                 sync.WaitGroup
}

func startProducers(ctx context.Context, base string, gen *workload, cfg LoadConfig, warmStart time.Time, gate *loadGate) *producerGroup {
	g := &producerGroup{errs: make(chan error, cfg.Producers)}
	for p := range cfg.Producers {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := produceLoad(ctx, base, gen, p, cfg, warmStart, gate, &g.accepted, &g.rejected); err != nil {
				g.errs <- err
			}
		}()
	}
	return g
}

// stoppedOn is the error a producer stopped on, if one did.
func (g *producerGroup) stoppedOn() error {
	select {
	case err := <-g.errs:
		return err
	default:
		return nil
	}
}

// collectedHeap has the server run a collection (through its profiling
// listener), then reads its live heap.
func collectedHeap(base, pprofAddr string) (float64, error) {
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		return 0, fmt.Errorf("forcing a collection: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return scrape(base, "go_memstats_heap_alloc_bytes")
}

// fetchCPUProfile records the server's CPU for d into path.
func fetchCPUProfile(addr string, d time.Duration, path string) error {
	return fetchProfile(addr, fmt.Sprintf("profile?seconds=%d", max(1, int(d.Seconds()))), path)
}

// fetchProfile writes one of the server's /debug/pprof/ profiles to path.
func fetchProfile(addr, profile, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s", addr, profile))
	if err != nil {
		return fmt.Errorf("profile %s: %w", profile, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: answer %s", profile, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("profile %s: %w", profile, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profile %s: %w", profile, err)
	}
	return f.Close()
}

func summarise(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	slices.Sort(ms)
	at := func(q float64) float64 { return ms[min(len(ms)-1, int(q*float64(len(ms))))] }
	return Latency{Count: len(ms), P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: ms[len(ms)-1]}
}

// processFigures reads a process's peak resident memory and CPU time.
func processFigures(pid int) (peakRSS int64, cpuSeconds float64) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if bytes.HasPrefix(line, []byte("VmHWM:")) {
				var kb int64
				fmt.Sscanf(string(line[len("VmHWM:"):]), "%d", &kb)
				peakRSS = kb << 10
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the parenthesised command: utime is 14th, stime 15th.
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			fields := bytes.Fields(b[i+1:])
			if len(fields) > 13 {
				u, _ := strconv.ParseFloat(string(fields[11]), 64)
				s, _ := strconv.ParseFloat(string(fields[12]), 64)
				cpuSeconds = (u + s) / 100
			}
		}
	}
	return peakRSS, cpuSeconds
}
