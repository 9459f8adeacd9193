package engine_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/hookwire/hookwire/engine"
)

// TestLimits hits every limit that is not covered by the invalid-input
// table and reads the error.
func TestLimits(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	nested := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	bigValue := `{"blob":"` + strings.Repeat("x", 70<<10) + `"}`
	triggers := make([]any, 33)
	for i := range triggers {
		triggers[i] = map[string]any{"event": "click"}
	}
	tooMany := checkoutFriction(recv.URL)
	tooMany["triggers"] = triggers
	complex := checkoutFriction(recv.URL)
	complex["triggers"] = []any{map[string]any{"event": "click", "where": []any{
		map[string]any{"field": "url", "op": "matches", "value": "[a-q][^u-z]{13}x"}}}}
	longPattern := checkoutFriction(recv.URL)
	longPattern["triggers"] = []any{map[string]any{"event": "click", "where": []any{
		map[string]any{"field": "url", "op": "matches", "value": strings.Repeat("a", 1025)}}}}
	padded := `{"name":"padded","description":"` + strings.Repeat(" ", 300<<10) + `"}`
	tests := []struct {
		name, path, body string
		status           int
		mentions         string
	}{
		{"properties nested too deep", "/v1/events", `{"session_id":"s","type":"click","properties":` + nested + `}`, 400, "nested 40 levels deep"},
		{"user properties nested too deep", "/v1/events", `{"session_id":"s","type":"click","user":{"properties":` + nested + `}}`, 400, "user.properties"},
		{"properties too large", "/v1/events", `{"session_id":"s","type":"click","properties":` + bigValue + `}`, 400, "over the limit of 65536"},
		{"name too long", "/v1/events", `{"session_id":"s","type":"custom","name":"` + strings.Repeat("n", 257) + `"}`, 400, "at most 256"},
		{"url too long", "/v1/events", `{"session_id":"s","type":"click","url":"` + strings.Repeat("u", 8193) + `"}`, 400, "at most 8192"},
		{"too many triggers", "/v1/streams", jsonOf(tooMany), 400, "at most 32 triggers"},
		{"regex too complex", "/v1/streams", jsonOf(complex), 400, "too complex"},
		{"pattern too long", "/v1/streams", jsonOf(longPattern), 400, "over the limit of 1024"},
		{"stream definition too large", "/v1/streams", padded, 413, "stream definition"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.t = t
			status, raw := srv.raw("POST", tc.path, "application/json", tc.body)
			if status != tc.status || !strings.Contains(string(raw), tc.mentions) {
				t.Fatalf("%d %.300s; want %d mentioning %q", status, raw, tc.status, tc.mentions)
			}
		})
	}
}

// TestIngestRateLimit: a key over its events per second gets 429 with
// Retry-After, and its events are not kept.
func TestIngestRateLimit(t *testing.T) {
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.Dev, c.AdminKey = false, "admin-key-rate-test"
		c.IngestRate, c.MaxEventsPerRequest = 20, 100
	})
	batch := func(session string, n int) string {
		var evs []string
		for i := range n {
			evs = append(evs, fmt.Sprintf(`{"session_id":"%s","type":"click","id":"%d"}`, session, i))
		}
		return "[" + strings.Join(evs, ",") + "]"
	}
	if status, raw := srv.raw("POST", "/v1/events", "application/json", batch("a", 100)); status != 202 {
		t.Fatalf("the first burst: %d %s", status, raw)
	}
	status, raw := srv.raw("POST", "/v1/events", "application/json", batch("b", 60))
	if status != 429 || !strings.Contains(string(raw), "rate_limited") || !strings.Contains(string(raw), "20 events per second") {
		t.Fatalf("over the rate: %d %s", status, raw)
	}
	retry := retryAfterOf(t, srv, batch("b", 60))
	if retry < 1 || retry > 4 {
		t.Fatalf("Retry-After %d s for 60 events at 20/s", retry)
	}
	if code := srv.call("GET", "/v1/sessions/b", nil, nil); code != 404 {
		t.Fatalf("a refused request's session exists (%d)", code)
	}
	// A Fullstory batch import over the rate is refused the same way,
	// before its job is stored.
	status, raw = srv.raw("POST", "/v2/events/batch", "application/json",
		`{"requests":[`+strings.TrimSuffix(strings.Repeat(`{"name":"n","session":{"id":"c"}},`, 60), ",")+`]}`)
	if status != 429 || !strings.Contains(string(raw), "rate_limited") || strings.Contains(string(raw), "job") {
		t.Fatalf("a batch import over the rate: %d %s", status, raw)
	}
	if code := srv.call("GET", "/v1/sessions/c", nil, nil); code != 404 {
		t.Fatalf("a refused batch import's session exists (%d)", code)
	}
}

func retryAfterOf(t *testing.T, srv *server, body string) int {
	req, _ := newRequest("POST", srv.base+"/v1/events", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+srv.cfg.AdminKey)
	resp, err := httpDo(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != 429 || err != nil {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	return n
}
