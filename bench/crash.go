package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwire/hookwire/engine/signing"
)

// CrashConfig configures RunCrash.
type CrashConfig struct {
	// Binary is the hookwire executable to run.
	Binary string
	// Kills is how many times the server is killed with SIGKILL.
	Kills int
	// Producers send concurrently, each owning a share of the sessions.
	Producers int
	// Sessions and EventsPerSession size the workload.
	Sessions         int
	EventsPerSession int
	// MinUptime and MaxUptime bound the random time between a restart and
	// the next kill.
	MinUptime, MaxUptime time.Duration
	// FailureRate is the share of webhook requests the receiver answers
	// with 500, so that kills also land between retries.
	FailureRate float64
	// ReceiverDelay is the longest the receiver takes to answer (uniform),
	// so that kills also land while attempts are in flight.
	ReceiverDelay time.Duration
	// DataDir is kept when set; otherwise a temporary directory is used.
	DataDir string
	// Seed makes the workload reproducible.
	Seed uint64
	// Logf receives progress lines; nil is silent.
	Logf func(format string, args ...any)
}

// DefaultCrashConfig is `make crash-test`.
func DefaultCrashConfig() CrashConfig {
	return CrashConfig{Binary: "bin/hookwire", Kills: 20, Producers: 4, Sessions: 1200, EventsPerSession: 8,
		MinUptime: 250 * time.Millisecond, MaxUptime: 900 * time.Millisecond, FailureRate: 0.1,
		ReceiverDelay: 40 * time.Millisecond, Seed: 1}
}

// CrashReport is what the crash test found, checked against the producers'
// record of what got a 202.
type CrashReport struct {
	Kills            int
	Requests         int64 // requests answered 202
	Retried          int64 // requests sent again after a failure or 429/503
	EventsAccepted   int64 // sum of "accepted" over 202s
	Duplicates       int64 // sum of "duplicates" (retries of requests that had landed)
	ExpectedWebhooks int   // (session, stream) pairs whose matching events were accepted
	Delivered        int   // distinct webhook-ids received for expected pairs
	Redeliveries     int   // receipts beyond the first of a webhook-id (allowed: at least once)
	Lost             int   // expected pairs with no webhook
	DoubleFired      int   // pairs with more than one webhook-id, unexpected pairs, or a later event than the first match
	BadSignatures    int
	Elapsed          time.Duration
}

// OK reports a clean run.
func (r CrashReport) OK() bool {
	return r.Lost == 0 && r.DoubleFired == 0 && r.BadSignatures == 0 && r.Delivered == r.ExpectedWebhooks
}

func (r CrashReport) String() string {
	return fmt.Sprintf("crash-test: kills=%d accepted_events=%d requests=%d retried=%d duplicates=%d "+
		"expected_webhooks=%d delivered=%d redeliveries=%d lost=%d double_fired=%d bad_signatures=%d elapsed=%s",
		r.Kills, r.EventsAccepted, r.Requests, r.Retried, r.Duplicates, r.ExpectedWebhooks, r.Delivered,
		r.Redeliveries, r.Lost, r.DoubleFired, r.BadSignatures, r.Elapsed.Round(time.Millisecond))
}

const crashSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// pair is a (stream, session) that must fire exactly once.
type pair struct{ stream, session string }

// RunCrash runs the crash test: a real hookwire process under load from
// several producers is killed with SIGKILL cfg.Kills times at random
// moments (during group commits and during deliveries, since both run all
// the time) and restarted; at the end every accepted matching event must
// have produced exactly one webhook, for the session's first match.
func RunCrash(ctx context.Context, cfg CrashConfig) (CrashReport, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	start := time.Now()
	var report CrashReport
	dir, cleanup, err := mkTemp(cfg.DataDir)
	if err != nil {
		return report, err
	}
	defer cleanup()
	logFile, err := os.Create(filepath.Join(dir, "hookwire.log"))
	if err != nil {
		return report, err
	}
	defer logFile.Close()

	recv, err := startCrashReceiver(cfg)
	if err != nil {
		return report, err
	}
	defer recv.close()

	addr, err := freeLoopbackAddr()
	if err != nil {
		return report, err
	}
	srv := &serverProcess{binary: cfg.Binary, addr: addr, log: logFile, args: []string{
		"--dev", "--data", filepath.Join(dir, "data"), "--log-level", "warn",
		"--retry-schedule", "0s,50ms,100ms,200ms,400ms,500ms,500ms,1s,1s,1s,2s,2s,2s,2s,2s,2s,2s,2s",
		"--breaker-cooldown", "300ms", "--delivery-timeout", "2s",
		// Small segments, so that the kills land while retired segments
		// are being reused.
		"--event-log-segment-bytes", "65536",
	}}
	if err := srv.start(ctx); err != nil {
		return report, err
	}
	defer srv.kill()

	rage, err := createStream(srv.base(), map[string]any{"name": "Rage on cart",
		"triggers":    []any{map[string]any{"event": "rage_click", "where": []any{map[string]any{"field": "url", "op": "contains", "value": "/cart"}}}},
		"destination": map[string]any{"url": recv.url, "secret": crashSecret}})
	if err != nil {
		return report, err
	}
	checkout, err := createStream(srv.base(), map[string]any{"name": "Checkout error",
		"triggers": []any{
			map[string]any{"event": "custom", "where": []any{map[string]any{"field": "name", "op": "eq", "value": "Checkout Error"}}},
			map[string]any{"event": "error_click", "where": []any{map[string]any{"field": "properties.step", "op": "gte", "value": 3}}},
		},
		"destination": map[string]any{"url": recv.url, "secret": crashSecret}})
	if err != nil {
		return report, err
	}

	sessions, expected := plan(cfg, rage, checkout)
	report.ExpectedWebhooks = len(expected)
	logf("crash-test: %d sessions, %d events, %d expected webhooks, %d kills", cfg.Sessions,
		cfg.Sessions*cfg.EventsPerSession, len(expected), cfg.Kills)

	// Producers pace themselves to keep sending through the kill period.
	avgUp := (cfg.MinUptime + cfg.MaxUptime) / 2
	period := time.Duration(cfg.Kills) * (avgUp + 150*time.Millisecond)
	var wg sync.WaitGroup
	produceErr := make(chan error, cfg.Producers)
	for p := range cfg.Producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := produce(ctx, srv, sessions, p, cfg, period, &report); err != nil {
				produceErr <- err
			}
		}()
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	for k := range cfg.Kills {
		up := cfg.MinUptime + time.Duration(rng.Int64N(int64(cfg.MaxUptime-cfg.MinUptime)+1))
		select {
		case <-ctx.Done():
			return report, ctx.Err()
		case <-time.After(up):
		}
		srv.kill()
		report.Kills++
		if err := srv.start(ctx); err != nil {
			return report, fmt.Errorf("restart after kill %d: %w", k+1, err)
		}
		logf("crash-test: kill %d/%d done, %d events accepted so far, %d webhooks seen", k+1, cfg.Kills,
			atomic.LoadInt64(&report.EventsAccepted), recv.distinct())
	}
	wg.Wait()
	select {
	case err := <-produceErr:
		return report, err
	default:
	}

	// Everything accepted must now reach the receiver.
	deadline := time.Now().Add(90 * time.Second)
	for recv.countExpected(expected) < len(expected) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // room for a wrong extra webhook to show
	if err := srv.stop(); err != nil {
		return report, err
	}
	recv.check(expected, &report)
	report.Elapsed = time.Since(start)
	return report, nil
}

// plan builds every session's events and the first matching event of each
// (session, stream).
func plan(cfg CrashConfig, rage, checkout string) ([][]map[string]any, map[pair]string) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	sessions := make([][]map[string]any, cfg.Sessions)
	expected := map[pair]string{}
	for s := range cfg.Sessions {
		sid := fmt.Sprintf("crash-%d-%05d", cfg.Seed, s)
		for i := range cfg.EventsPerSession {
			id := fmt.Sprintf("%s-%02d", sid, i)
			ev := map[string]any{"id": id, "session_id": sid}
			var fires string
			switch rng.IntN(10) {
			case 0:
				ev["type"], ev["url"], fires = "rage_click", "https://shop.example/cart", rage
			case 1:
				ev["type"], ev["name"], fires = "custom", "Checkout Error", checkout
			case 2:
				ev["type"], ev["properties"], fires = "error_click", map[string]any{"step": 4}, checkout
			case 3:
				ev["type"], ev["properties"] = "error_click", map[string]any{"step": 1}
			case 4:
				ev["type"], ev["url"] = "rage_click", "https://shop.example/help"
			default:
				ev["type"], ev["url"] = "click", "https://shop.example/cart"
			}
			if fires != "" {
				if _, seen := expected[pair{fires, sid}]; !seen {
					expected[pair{fires, sid}] = id
				}
			}
			sessions[s] = append(sessions[s], ev)
		}
	}
	return sessions, expected
}

// produce sends producer p's sessions (every cfg.Producers-th), their events
// interleaved in batches but in order per session, retrying each batch
// until it gets a 202 (the same event ids make retries safe).
func produce(ctx context.Context, srv *serverProcess, sessions [][]map[string]any, p int, cfg CrashConfig,
	period time.Duration, report *CrashReport) error {
	var queue []map[string]any
	for step := range cfg.EventsPerSession {
		for s := p; s < len(sessions); s += cfg.Producers {
			queue = append(queue, sessions[s][step])
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(p)+100))
	batches := 0
	for rest := queue; len(rest) > 0; batches++ {
		n := min(len(rest), 5+rng.IntN(40))
		rest = rest[n:]
	}
	pace := period / time.Duration(max(batches, 1))
	client := &http.Client{Timeout: 10 * time.Second}
	for len(queue) > 0 {
		n := min(len(queue), 5+rng.IntN(40))
		body, _ := json.Marshal(queue[:n])
		for attempt := 0; ; attempt++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if attempt > 0 {
				atomic.AddInt64(&report.Retried, 1)
				time.Sleep(20 * time.Millisecond)
			}
			resp, err := client.Post(srv.base()+"/v1/events", "application/json", bytes.NewReader(body))
			if err != nil {
				continue // killed or restarting
			}
			var res struct{ Accepted, Duplicates int64 }
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 429 || resp.StatusCode == 503 {
				continue
			}
			if resp.StatusCode != 202 || json.Unmarshal(raw, &res) != nil {
				return fmt.Errorf("producer %d: unexpected answer %d %s", p, resp.StatusCode, raw)
			}
			atomic.AddInt64(&report.Requests, 1)
			atomic.AddInt64(&report.EventsAccepted, res.Accepted)
			atomic.AddInt64(&report.Duplicates, res.Duplicates)
			break
		}
		queue = queue[n:]
		time.Sleep(pace)
	}
	return nil
}

func createStream(base string, def map[string]any) (string, error) {
	body, _ := json.Marshal(def)
	resp, err := http.Post(base+"/v1/streams", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || json.Unmarshal(raw, &out) != nil {
		return "", fmt.Errorf("create stream: %d %s", resp.StatusCode, raw)
	}
	return out.ID, nil
}

// crashReceiver verifies and records every webhook; it fails a share of
// them on purpose.
type crashReceiver struct {
	server *http.Server
	url    string
	rate   float64
	delay  time.Duration

	mu       sync.Mutex
	rng      *rand.Rand
	byID     map[string]receipt
	badSigs  int
	receipts int
}

type receipt struct {
	stream, session, event string
	body                   string
	count                  int
}

func startCrashReceiver(cfg CrashConfig) (*crashReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &crashReceiver{url: "http://" + ln.Addr().String() + "/hook", rate: cfg.FailureRate, delay: cfg.ReceiverDelay,
		rng: rand.New(rand.NewPCG(cfg.Seed, 3)), byID: map[string]receipt{}}
	r.server = &http.Server{Handler: r}
	go r.server.Serve(ln)
	return r, nil
}

func (r *crashReceiver) close() { r.server.Close() }

func (r *crashReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	r.mu.Lock()
	fail := r.rng.Float64() < r.rate
	delay := time.Duration(r.rng.Int64N(int64(r.delay) + 1))
	r.mu.Unlock()
	time.Sleep(delay)
	if fail {
		w.WriteHeader(500)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := signing.Verify(crashSecret, req.Header.Get, body, 5*time.Minute, time.Now()); err != nil {
		r.badSigs++
		w.WriteHeader(400)
		return
	}
	var p struct {
		StreamID string `json:"stream_id"`
		Session  struct{ ID string }
		Event    struct{ ID string }
	}
	if err := json.Unmarshal(body, &p); err != nil {
		r.badSigs++
		w.WriteHeader(400)
		return
	}
	id := req.Header.Get(signing.HeaderID)
	rc := r.byID[id]
	if rc.count > 0 && rc.body != string(body) {
		// The same webhook-id must always carry the same message.
		r.badSigs++
	}
	rc.stream, rc.session, rc.event, rc.body = p.StreamID, p.Session.ID, p.Event.ID, string(body)
	rc.count++
	r.byID[id] = rc
	r.receipts++
	w.WriteHeader(200)
}

func (r *crashReceiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

func (r *crashReceiver) countExpected(expected map[pair]string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[pair]bool{}
	for _, rc := range r.byID {
		if _, ok := expected[pair{rc.stream, rc.session}]; ok {
			seen[pair{rc.stream, rc.session}] = true
		}
	}
	return len(seen)
}

func (r *crashReceiver) check(expected map[pair]string, report *CrashReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := map[pair]int{}
	for _, rc := range r.byID {
		k := pair{rc.stream, rc.session}
		ids[k]++
		report.Redeliveries += rc.count - 1
		want, ok := expected[k]
		if !ok || rc.event != want {
			report.DoubleFired++
		}
	}
	for k := range expected {
		switch n := ids[k]; {
		case n == 0:
			report.Lost++
		case n > 1:
			report.DoubleFired += n - 1
			report.Delivered++
		default:
			report.Delivered++
		}
	}
	report.BadSignatures = r.badSigs
}

// ErrCrashTestFailed is returned by callers that want a failing exit.
var ErrCrashTestFailed = errors.New("bench: crash test found lost or double-fired webhooks")
