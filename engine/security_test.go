package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine"
)

// lockedBuffer collects the server's log lines from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// postHeader dials the server and writes a POST's header declaring an
// n-byte body (n < 0: a chunked one, its length unsaid), as a raw client
// would, so that a test decides what of the body to send and when to read.
func postHeader(t *testing.T, s *server, key, path string, n int, timeout time.Duration) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(timeout))
	auth := ""
	if key != "" {
		auth = "Authorization: Bearer " + key + "\r\n"
	}
	length := fmt.Sprintf("Content-Length: %d", n)
	if n < 0 {
		length = "Transfer-Encoding: chunked"
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: hookwire\r\nContent-Type: application/json\r\n%s%s\r\n\r\n", path, auth, length)
	return conn
}

// readAnswer reads an HTTP answer from conn: its status and body.
func readAnswer(conn net.Conn) (int, string, error) {
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// declareBody sends a POST whose header declares a body of n bytes, sends
// none of it, and reads the answer: one comes only if the server refuses
// the request from its header alone.
func declareBody(t *testing.T, s *server, key, path string, n int) (int, string) {
	t.Helper()
	status, body, err := readAnswer(postHeader(t, s, key, path, n, 5*time.Second))
	if err != nil {
		t.Fatalf("POST %s declaring %d bytes: no answer before the body (%v)", path, n, err)
	}
	return status, body
}

// as makes a request with a given key ("" for none) and returns the status
// and body.
func (s *server) as(key, method, path string, body any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// TestRolesAndKeys: each role is allowed and refused exactly as CONTRACT §2
// says, keys are shown once, revocation is immediate, and no response or
// log line carries a secret or a full key.
func TestRolesAndKeys(t *testing.T) {
	const admin = "bootstrap-admin-key-0123456789"
	logs := &lockedBuffer{}
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.Dev, c.AdminKey, c.AllowPrivateDestinations = false, admin, true
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	newKey := func(role string) string {
		status, raw := srv.as(admin, "POST", "/v1/keys", map[string]string{"name": role + " key", "role": role})
		var k struct{ ID, Key, Role string }
		json.Unmarshal(raw, &k)
		if status != 201 || !strings.HasPrefix(k.Key, "hwk_") || k.Role != role {
			t.Fatalf("create %s key: %d %s", role, status, raw)
		}
		return k.Key
	}
	architect, ingest := newKey("architect"), newKey("ingest")
	secondAdmin := newKey("admin")

	streamDef := checkoutFriction(recv.URL)
	event := map[string]any{"session_id": "s", "type": "rage_click", "url": "/cart"}
	tests := []struct {
		method, path string
		body         any
		// want status per caller: none, wrong key, ingest, architect, admin
		want [5]int
	}{
		{"POST", "/v1/events", event, [5]int{401, 401, 202, 403, 202}},
		{"GET", "/v1/streams", nil, [5]int{401, 401, 403, 200, 200}},
		{"POST", "/v1/streams/st_nope/test", nil, [5]int{401, 401, 403, 404, 404}},
		{"GET", "/v1/deliveries", nil, [5]int{401, 401, 403, 200, 200}},
		{"GET", "/v1/endpoints", nil, [5]int{401, 401, 403, 200, 200}},
		{"GET", "/v1/filters", nil, [5]int{401, 401, 403, 200, 200}},
		{"GET", "/v1/sessions/nobody", nil, [5]int{401, 401, 403, 404, 404}},
		{"GET", "/v1/keys", nil, [5]int{401, 401, 403, 403, 200}},
		{"POST", "/v1/keys", map[string]string{"name": "x", "role": "ingest"}, [5]int{401, 401, 403, 403, 201}},
		{"DELETE", "/v1/keys/key_nope", nil, [5]int{401, 401, 403, 403, 404}},
		{"GET", "/healthz", nil, [5]int{200, 200, 200, 200, 200}},
	}
	callers := []string{"", "hwk_wrongwrongwrongwrongwrongwrongwrongwr", ingest, architect, secondAdmin}
	for _, tc := range tests {
		for i, key := range callers {
			status, raw := srv.as(key, tc.method, tc.path, tc.body)
			if status != tc.want[i] {
				t.Errorf("%s %s as caller %d: %d %s, want %d", tc.method, tc.path, i, status, raw, tc.want[i])
			}
		}
	}
	// Without a key the server knows, a body is read only to 1 MiB: a
	// request declaring more is answered 401 at once, before any of its
	// body is sent, like any request without one. With a key, a body over
	// what any route takes is answered 413 at once, naming the limit.
	for _, tc := range []struct {
		key, path string
		declared  int
		status    int
		mentions  string
	}{
		{"", "/v1/streams", 2 << 20, 401, "unauthorized"},
		{"", "/v1/events", 2 << 20, 401, "unauthorized"},
		{"hwk_wrongwrongwrongwrongwrongwrongwrongwr", "/v1/filters/f/eval", 2 << 20, 401, "unauthorized"},
		{ingest, "/v1/events", 40 << 20, 413, "10485760"},
	} {
		status, body := declareBody(t, srv, tc.key, tc.path, tc.declared)
		if status != tc.status || !strings.Contains(body, tc.mentions) {
			t.Errorf("POST %s declaring %d bytes with key %.8q: %d %.200s, want %d mentioning %q before the body",
				tc.path, tc.declared, tc.key, status, body, tc.status, tc.mentions)
		}
	}
	// A keyless batch of a thousand events is still read and answered 401.
	batch := make([]any, 1000)
	for i := range batch {
		batch[i] = map[string]any{"session_id": fmt.Sprintf("s-%d", i), "type": "click", "url": strings.Repeat("u", 200)}
	}
	if status, raw := srv.as("", "POST", "/v1/events", batch); status != 401 {
		t.Errorf("a keyless batch of 1000 events: %d %.200s, want 401", status, raw)
	}

	// The architect configures streams; the key list shows no key.
	if status, raw := srv.as(architect, "POST", "/v1/streams", streamDef); status != 201 {
		t.Fatalf("architect creates a stream: %d %s", status, raw)
	}
	if status, _ := srv.as(ingest, "POST", "/v1/events", map[string]any{"session_id": "t", "type": "rage_click", "url": "/cart"}); status != 202 {
		t.Fatalf("ingest after the stream: %d", status)
	}
	_, list := srv.as(admin, "GET", "/v1/keys", nil)
	var keys struct {
		Keys []struct{ ID, Role, Prefix string }
	}
	json.Unmarshal(list, &keys)
	if len(keys.Keys) != 4 {
		t.Fatalf("keys = %s", list)
	}
	// Revocation is immediate.
	for _, k := range keys.Keys {
		if k.Role == "ingest" && strings.HasPrefix(ingest, k.Prefix) {
			if status, _ := srv.as(admin, "DELETE", "/v1/keys/"+k.ID, nil); status != 204 {
				t.Fatalf("revoke: %d", status)
			}
		}
	}
	if status, _ := srv.as(ingest, "POST", "/v1/events", event); status != 401 {
		t.Fatalf("a revoked key: %d, want 401", status)
	}
	if status, raw := srv.as(admin, "POST", "/v1/keys", map[string]string{"name": "x", "role": "root"}); status != 400 ||
		!strings.Contains(string(raw), "role") {
		t.Fatalf("an unknown role: %d %s", status, raw)
	}

	waitFor(t, 5*time.Second, "the webhook", func() bool { return recv.count() >= 1 })
	// Nothing secret leaks: not the admin key, not a full API key, not the
	// stream's secret, in any answer read above or any log line.
	_, streams := srv.as(admin, "GET", "/v1/streams", nil)
	srv.stop()
	for _, secret := range []string{admin, architect, ingest, secondAdmin, testSecret} {
		for where, text := range map[string]string{"logs": logs.String(), "key list": string(list), "stream list": string(streams)} {
			if strings.Contains(text, secret) {
				t.Fatalf("%s contain the secret %q", where, secret[:8])
			}
		}
	}
	if !strings.Contains(logs.String(), "hookwire listening") {
		t.Fatal("the log capture saw nothing: the check above proves nothing")
	}
}

// TestCapabilityURLsStayOutOfMetricsAndLogs: a webhook URL that carries its
// token (in the path, as Slack's and Discord's do, or in the query) is
// shown whole only to the API's architects; /metrics and the log name it
// by scheme, host and a hash, which GET /v1/endpoints maps back to it.
func TestCapabilityURLsStayOutOfMetricsAndLogs(t *testing.T) {
	const pathToken, queryToken = "xoxb-path-token-4d1f", "query-token-93ac"
	logs := &lockedBuffer{}
	recv := newReceiver(t, 500, 500)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.RetrySchedule = []time.Duration{0, 10 * time.Millisecond}
		c.BreakerFailures = 1
		c.BreakerCooldown = 5 * time.Millisecond
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	capability := recv.URL + "/T024BE7LD/B0XYZ/" + pathToken + "?key=" + queryToken
	def := checkoutFriction(capability)
	srv.createStream(def)
	// Listed before any traffic, with the label its metrics will have.
	before := srv.endpointLabel(capability)
	srv.sendEvents(map[string]any{"session_id": "s", "type": "rage_click", "url": "/cart"})
	waitFor(t, 10*time.Second, "the delivery to fail twice", func() bool {
		var list struct{ Deliveries []delivery }
		srv.call("GET", "/v1/deliveries?status=failed", nil, &list)
		return len(list.Deliveries) == 1
	})

	var endpoints struct {
		Endpoints []struct{ URL, Label string }
	}
	srv.call("GET", "/v1/endpoints", nil, &endpoints)
	if len(endpoints.Endpoints) != 1 || endpoints.Endpoints[0].URL != capability {
		t.Fatalf("endpoints %+v, want the one capability URL, whole, to the architect", endpoints.Endpoints)
	}
	label := endpoints.Endpoints[0].Label
	if label == "" || label != before || strings.Contains(label, pathToken) || strings.Contains(label, queryToken) {
		t.Fatalf("label %q (%q before any traffic): want one without the tokens, the same throughout", label, before)
	}
	_, metrics := srv.raw("GET", "/metrics", "", nil)
	srv.stop()
	if !strings.Contains(string(metrics), `hookwire_delivery_attempt_seconds_count{endpoint="`+label+`"} 2`) {
		t.Fatalf("/metrics has no attempt latency under the label %q:\n%s", label, metrics)
	}
	if !strings.Contains(logs.String(), `"delivery failed"`) || !strings.Contains(logs.String(), label) {
		t.Fatal("the log has no failed delivery under the label: the check below proves nothing")
	}
	for where, text := range map[string]string{"/metrics": string(metrics), "the log": logs.String()} {
		for _, token := range []string{pathToken, queryToken} {
			if strings.Contains(text, token) {
				t.Errorf("%s shows the URL's token %q", where, token)
			}
		}
	}
}

// switchingResolver answers from a table the test can change, standing in
// for DNS that changes between a stream's creation and its delivery.
type switchingResolver struct {
	mu    sync.Mutex
	hosts map[string]string
}

func (r *switchingResolver) set(host, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hosts[host] = addr
}

func (r *switchingResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.hosts[host]
	if !ok {
		return nil, fmt.Errorf("no such host %s", host)
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

// TestDestinationGuard: internal destinations are refused at create time
// (addresses and names that resolve to them) and again at send time, when
// a name that was public at creation now points inside.
func TestDestinationGuard(t *testing.T) {
	recv := newReceiver(t)
	port := recv.listener.Addr().(*net.TCPAddr).Port
	resolver := &switchingResolver{hosts: map[string]string{
		"hooks.example.test":    "203.0.113.10", // public (documentation range)
		"inside.example.test":   "127.0.0.1",
		"metadata.example.test": "169.254.169.254",
	}}
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.Dev, c.AdminKey, c.AllowPrivateDestinations, c.Resolver = false, "admin-key-for-guard-test", false, resolver
	})
	for _, url := range []string{
		"http://127.0.0.1:" + fmt.Sprint(port) + "/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
		"http://[::1]/hook", "http://inside.example.test/hook", "http://metadata.example.test/hook", "http://0.0.0.0/",
	} {
		var e apiError
		if status := srv.call("POST", "/v1/streams", checkoutFriction(url), &e); status != 400 ||
			!strings.Contains(e.Error.Message, "internal address") || !strings.Contains(e.Error.Message, "destination.url") {
			t.Fatalf("%s: %d %+v, want 400 naming destination.url and the internal address", url, status, e)
		}
	}
	public := fmt.Sprintf("http://hooks.example.test:%d/hook", port)
	srv.createStream(checkoutFriction(public))
	resolver.set("hooks.example.test", "127.0.0.1") // DNS changes after the check
	srv.sendEvents(map[string]any{"session_id": "s", "type": "rage_click", "url": "/cart"})
	var list struct{ Deliveries []delivery }
	waitFor(t, 5*time.Second, "a refused attempt", func() bool {
		srv.call("GET", "/v1/deliveries", nil, &list)
		return len(list.Deliveries) == 1 && len(list.Deliveries[0].Attempts) > 0
	})
	if a := list.Deliveries[0].Attempts[0]; !strings.Contains(a.Error, "refused") || !strings.Contains(a.Error, "internal address") {
		t.Fatalf("attempt = %+v, want a refusal naming the internal address", a)
	}
	if recv.count() != 0 {
		t.Fatalf("the internal receiver got %d requests", recv.count())
	}
}

// TestRedirectToInternalIsNotFollowed: a destination answering 302 to an
// internal address is a failed attempt; the redirect target hears nothing.
func TestRedirectToInternalIsNotFollowed(t *testing.T) {
	target := newReceiver(t)
	redirector := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go redirector.Serve(ln)
	t.Cleanup(func() { redirector.Close() })
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.RetrySchedule = []time.Duration{0} })
	srv.createStream(checkoutFriction("http://" + ln.Addr().String() + "/hook"))
	srv.sendEvents(map[string]any{"session_id": "s", "type": "rage_click", "url": "/cart"})
	var list struct{ Deliveries []delivery }
	waitFor(t, 5*time.Second, "the failed delivery", func() bool {
		srv.call("GET", "/v1/deliveries?status=failed", nil, &list)
		return len(list.Deliveries) == 1
	})
	if a := list.Deliveries[0].Attempts[0]; a.Status != 302 {
		t.Fatalf("attempt = %+v, want the 302 recorded as a failure", a)
	}
	if target.count() != 0 {
		t.Fatal("hookwire followed the redirect")
	}
}

// sendWholeBody writes a request with an n-byte body, all of it, before
// reading the answer, as Python's urllib and requests do.
func sendWholeBody(t *testing.T, s *server, key, path string, n int) (int, string, error) {
	t.Helper()
	conn := postHeader(t, s, key, path, n, 20*time.Second)
	chunk := bytes.Repeat([]byte(" "), 64<<10)
	for sent := 0; sent < n; sent += len(chunk) {
		if _, err := conn.Write(chunk[:min(len(chunk), n-sent)]); err != nil {
			return 0, "", fmt.Errorf("writing the body, %d of %d bytes sent: %w", sent, n, err)
		}
	}
	status, body, err := readAnswer(conn)
	if err != nil {
		return 0, "", fmt.Errorf("reading the answer after the body: %w", err)
	}
	return status, body, nil
}

// sendChunkedBody writes a request whose body, body itself padded with
// spaces to at least n bytes, comes in 64 KiB chunks, all of them, before
// reading the answer.
func sendChunkedBody(t *testing.T, s *server, key, path, body string, n int) (int, string, error) {
	t.Helper()
	conn := postHeader(t, s, key, path, -1, 20*time.Second)
	w := bufio.NewWriter(conn)
	whole := body + strings.Repeat(" ", max(0, n-len(body)))
	for rest := whole; len(rest) > 0; {
		chunk := rest[:min(len(rest), 64<<10)]
		rest = rest[len(chunk):]
		if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
			return 0, "", fmt.Errorf("writing the body, %d of %d bytes left: %w", len(rest), len(whole), err)
		}
	}
	if _, err := w.WriteString("0\r\n\r\n"); err != nil {
		return 0, "", fmt.Errorf("writing the last chunk: %w", err)
	}
	if err := w.Flush(); err != nil {
		return 0, "", fmt.Errorf("writing the body: %w", err)
	}
	status, answer, err := readAnswer(conn)
	if err != nil {
		return 0, "", fmt.Errorf("reading the answer after the body: %w", err)
	}
	return status, answer, nil
}

// TestChunkedBodiesAreAnsweredByTheirHeader: a body sent in chunks is
// found over a limit only as it is read, after fasthttp has cleared the
// request; the answer is still the one its header calls for: 401 without
// a key the server knows, 413 naming --max-body-bytes on an ingest route.
// A chunked batch within the limits is taken like any other.
func TestChunkedBodiesAreAnsweredByTheirHeader(t *testing.T) {
	const admin = "bootstrap-admin-key-0123456789"
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.Dev, c.AdminKey, c.MaxBodyBytes = false, admin, 1<<20
	})
	event := `[{"session_id":"chunked","type":"click"}]`
	for _, tc := range []struct {
		name, key, path string
		size            int
		status          int
		mentions        string
	}{
		{"a batch", admin, "/v1/events", 0, 202, `"accepted":1`},
		{"over --max-body-bytes", admin, "/v1/events", 2 << 20, 413, "limit of 1048576"},
		{"over what is read", admin, "/v1/events", 40 << 20, 413, "limit of 1048576"},
		{"over what is read, not ingest", admin, "/v1/streams", 40 << 20, 413, "limit of 33554432"},
		{"keyless", "", "/v1/events", 2 << 20, 401, "unauthorized"},
		{"an unknown key", "hwk_wrongwrongwrongwrongwrongwrongwrongwr", "/v1/events", 2 << 20, 401, "unauthorized"},
		{"keyless, no such route", "", "/v1/nowhere", 40 << 20, 413, "limit of 33554432"},
	} {
		status, body, err := sendChunkedBody(t, srv, tc.key, tc.path, event, tc.size)
		if err != nil || status != tc.status || !strings.Contains(body, tc.mentions) {
			t.Errorf("%s: POST %s with a chunked %d-byte body, key %.8q: %d %.200s (%v), want %d mentioning %q",
				tc.name, tc.path, tc.size, tc.key, status, body, err, tc.status, tc.mentions)
		}
	}
}

// TestEarlyAnswerReachesAClientThatWritesFirst: a request refused before
// its body is read (over every limit; keyless and over 1 MiB) closes its
// connection, but a client that sends its whole body before it reads
// still gets the answer, not a reset.
func TestEarlyAnswerReachesAClientThatWritesFirst(t *testing.T) {
	const admin = "bootstrap-admin-key-0123456789"
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.Dev, c.AdminKey = false, admin })
	for _, tc := range []struct {
		key, path string
		size      int
		status    int
		mentions  string
	}{
		{admin, "/v1/events", 40 << 20, 413, "10485760"},
		{"", "/v1/events", 16 << 20, 401, "unauthorized"},
	} {
		status, body, err := sendWholeBody(t, srv, tc.key, tc.path, tc.size)
		if err != nil || status != tc.status || !strings.Contains(body, tc.mentions) {
			t.Errorf("POST %s with a %d-byte body, key %.8q: %d %.200s (%v), want %d mentioning %q",
				tc.path, tc.size, tc.key, status, body, err, tc.status, tc.mentions)
		}
	}
}

// TestUnreadableRequestsAreAnsweredPlainly: a request fasthttp cannot read
// gets a JSON error that says what is wrong — 431 for headers over the
// limit — and does not quote the request back (it may carry a key).
func TestUnreadableRequestsAreAnsweredPlainly(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	req, err := http.NewRequest("GET", srv.base+"/v1/sessions/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer a-key-not-to-echo")
	req.Header.Set("X-Padding", strings.Repeat("p", 20<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 431 || !strings.Contains(string(body), `"headers_too_large"`) || strings.Contains(string(body), "a-key-not-to-echo") {
		t.Fatalf("headers over the limit: %d %s, want 431 headers_too_large without the request in it", resp.StatusCode, body)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GARBAGE-not-to-echo\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	answer, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(answer.Body)
	if answer.StatusCode != 400 || !strings.Contains(string(body), `"bad_request"`) || strings.Contains(string(body), "not-to-echo") {
		t.Fatalf("a request line that is not HTTP: %d %s, want 400 bad_request without the request in it", answer.StatusCode, body)
	}
}

// TestConnectionsOverTheBoundAreTurnedAway: past --max-connections open at
// once, a new connection is answered 503 in the API's error format and
// closed; once some close, new ones are served.
func TestConnectionsOverTheBoundAreTurnedAway(t *testing.T) {
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxConnections = 3 })
	addr := strings.TrimPrefix(srv.base, "http://")
	// healthz asks on a connection of its own: its status (0 if it got no
	// answer), body and headers.
	var body []byte
	var header http.Header
	healthz := func() int {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(srv.base + "/healthz")
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		header = resp.Header
		return resp.StatusCode
	}
	waitFor(t, 5*time.Second, "the harness's own connections to close", func() bool { return healthz() == 200 })
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for len(idle) < 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	waitFor(t, 5*time.Second, "a connection over the bound to be turned away", func() bool { return healthz() == 503 })
	if !strings.Contains(string(body), `"code":"service_unavailable"`) || header.Get("Retry-After") == "" {
		t.Fatalf("over the bound: %s (Retry-After %q), want the API's 503 with Retry-After", body, header.Get("Retry-After"))
	}
	for _, c := range idle {
		c.Close()
	}
	idle = nil
	waitFor(t, 5*time.Second, "new connections to be served once the idle ones closed", func() bool { return healthz() == 200 })
	// Counted where operators look.
	m := srv.scrape()
	if refused := value(m, "hookwire_http_connections_refused_total", nil); refused < 1 {
		t.Errorf("hookwire_http_connections_refused_total = %v, want the refused connections counted", refused)
	}
	if open := value(m, "hookwire_http_connections_open", nil); open < 1 || open > 3 {
		t.Errorf("hookwire_http_connections_open = %v, want the scrape's own among at most 3", open)
	}
}
