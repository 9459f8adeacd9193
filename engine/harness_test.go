package engine_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine"
)

// server is a real hookwire engine on a loopback port with its own Badger
// directory.
type server struct {
	t      *testing.T
	cfg    engine.Config
	base   string
	client *http.Client
	cancel context.CancelFunc
	done   chan error
}

// startServer runs an engine on dir; tweak adjusts the test defaults.
func startServer(t *testing.T, dir string, tweak func(*engine.Config)) *server {
	t.Helper()
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.Dev = true
	cfg.RetrySchedule = []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
	cfg.DeliveryTimeout = 2 * time.Second
	cfg.BreakerCooldown = 200 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: t, cfg: cfg, base: "http://" + e.Addr(), client: http.DefaultClient, cancel: cancel, done: make(chan error, 1)}
	if cfg.TLSCert != "" {
		s.base, s.client = "https://"+e.Addr(), trustingClient(t, cfg.TLSCert)
	}
	go func() { s.done <- e.Run(ctx) }()
	t.Cleanup(s.stop)
	waitFor(t, 10*time.Second, "server ready", func() bool {
		resp, err := s.client.Get(s.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return s
}

// stop shuts the engine down gracefully (idempotent).
func (s *server) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("engine.Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		s.t.Fatal("engine did not stop within 30s")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitFor polls cond until it holds or the deadline passes (nats-server's
// checkFor): tests wait for conditions, never for fixed sleeps.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// call makes an API request and decodes the JSON answer into out (if not
// nil). It returns the status.
func (s *server) call(method, path string, body any, out any) int {
	s.t.Helper()
	status, raw := s.raw(method, path, "application/json", body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return status
}

func (s *server) raw(method, path, contentType string, body any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if s.cfg.AdminKey != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.AdminKey)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

type streamResp struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Enabled       bool   `json:"enabled"`
	SignalVersion int    `json:"signal_version"`
	Destination   struct {
		URL       string `json:"url"`
		Secret    string `json:"secret"`
		SecretSet bool   `json:"secret_set"`
	} `json:"destination"`
	DisabledReason string `json:"disabled_reason"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Path    string `json:"path"`
		Index   *int   `json:"index"`
	} `json:"error"`
}

func (s *server) createStream(def map[string]any) streamResp {
	s.t.Helper()
	var out streamResp
	if status := s.call("POST", "/v1/streams", def, &out); status != 201 {
		s.t.Fatalf("create stream: status %d", status)
	}
	return out
}

func (s *server) sendEvents(events ...map[string]any) {
	s.t.Helper()
	var out struct{ Accepted, Duplicates int }
	if status := s.call("POST", "/v1/events", events, &out); status != 202 {
		s.t.Fatalf("send events: status %d", status)
	}
}

type delivery struct {
	ID        string `json:"id"`
	StreamID  string `json:"stream_id"`
	SessionID string `json:"session_id"`
	URL       string `json:"url"`
	Status    string `json:"status"`
	Attempts  []struct {
		Status    int    `json:"status"`
		Error     string `json:"error"`
		LatencyMS int64  `json:"latency_ms"`
	} `json:"attempts"`
}

func (s *server) delivery(id string) delivery {
	s.t.Helper()
	var d delivery
	if status := s.call("GET", "/v1/deliveries/"+id, nil, &d); status != 200 {
		s.t.Fatalf("get delivery %s: status %d", id, status)
	}
	return d
}

// hook is one webhook as a receiver saw it.
type hook struct {
	header http.Header
	body   []byte
	at     time.Time
}

func (h hook) id() string { return h.header.Get("webhook-id") }

func (h hook) payload(t *testing.T) map[string]any {
	var p map[string]any
	if err := json.Unmarshal(h.body, &p); err != nil {
		t.Fatalf("webhook body is not JSON: %v: %s", err, h.body)
	}
	return p
}

// receiver is a real HTTP server on loopback that records every webhook and
// answers with the statuses it is told to, in turn (then 200).
type receiver struct {
	mu       sync.Mutex
	hooks    []hook
	statuses []int
	delay    time.Duration
	// retryAfter is sent with 429 and 503 answers.
	retryAfter string
	server     *http.Server
	listener   net.Listener
	URL        string
}

func newReceiver(t testing.TB, statuses ...int) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startReceiver(t, ln, statuses...)
}

func startReceiver(t testing.TB, ln net.Listener, statuses ...int) *receiver {
	r := &receiver{statuses: statuses, listener: ln, URL: "http://" + ln.Addr().String() + "/hook"}
	r.server = &http.Server{Handler: r}
	go r.server.Serve(ln)
	t.Cleanup(func() { r.server.Close() })
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.hooks = append(r.hooks, hook{header: req.Header.Clone(), body: body, at: time.Now()})
	status := 200
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	delay, retryAfter := r.delay, r.retryAfter
	r.mu.Unlock()
	time.Sleep(delay)
	if retryAfter != "" && (status == 429 || status == 503) {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
}

func (r *receiver) received() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hook(nil), r.hooks...)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.hooks)
}

// verifyFullstory checks the Fullstory-Signature header with the contract's
// formula, written out independently of hookwire's signing package.
func verifyFullstory(t *testing.T, h hook, secret, org string) {
	t.Helper()
	header := h.header.Get("Fullstory-Signature")
	ts := h.header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(fmt.Sprintf("%s:%s:%s", h.body, org, ts)))
	want := fmt.Sprintf("o:%s,t:%s,v:%s", org, ts, base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	if header != want {
		t.Fatalf("Fullstory-Signature %q, want %q", header, want)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func newRequest(method, url, body string) (*http.Request, error) {
	return http.NewRequest(method, url, strings.NewReader(body))
}

func httpDo(req *http.Request) (*http.Response, error) { return http.DefaultClient.Do(req) }

// trustingClient is an HTTP client that trusts the certificate in certFile.
func trustingClient(t *testing.T, certFile string) *http.Client {
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}
