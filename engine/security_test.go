package engine_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
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
