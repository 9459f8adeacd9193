package engine_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine"
)

// TestInvalidInputIsRejectedAndChangesNothing sends every kind of bad input
// the contract names and checks the status, the error code, that the
// message names the problem, and (after the table) that nothing changed.
func TestInvalidInputIsRejectedAndChangesNothing(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.MaxBodyBytes = 64 << 10
		c.MaxEventsPerRequest = 50
	})
	existing := srv.createStream(checkoutFriction(recv.URL))
	match := `{"session_id":"s-ok","type":"rage_click","url":"/cart"}`
	stream := func(mutate func(m map[string]any)) map[string]any {
		m := checkoutFriction(recv.URL)
		m["name"] = "Another"
		mutate(m)
		return m
	}
	where := func(field, op string, value any) map[string]any {
		return stream(func(m map[string]any) {
			m["triggers"] = []any{map[string]any{"event": "click", "where": []any{
				map[string]any{"field": field, "op": op, "value": value}}}}
		})
	}
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        any
		status      int
		code        string
		mentions    string
		index       int // -1: no index expected
	}{
		{"events: not JSON", "POST", "/v1/events", "application/json", `{"session_id":`, 400, "invalid_event", "malformed JSON", 0},
		{"events: empty body", "POST", "/v1/events", "application/json", ``, 400, "invalid_event", "empty", -1},
		{"events: empty array", "POST", "/v1/events", "application/json", `[]`, 400, "invalid_event", "no events", -1},
		{"events: scalar", "POST", "/v1/events", "application/json", `42`, 400, "invalid_event", "event object", -1},
		{"events: missing session_id", "POST", "/v1/events", "application/json", `{"type":"click"}`, 400, "invalid_event", "session_id", 0},
		{"events: session_id too long", "POST", "/v1/events", "application/json",
			`{"type":"click","session_id":"` + strings.Repeat("x", 257) + `"}`, 400, "invalid_event", "session_id", 0},
		{"events: session_id empty", "POST", "/v1/events", "application/json", `{"type":"click","session_id":""}`, 400, "invalid_event", "session_id", 0},
		{"events: session_id a number", "POST", "/v1/events", "application/json", `{"type":"click","session_id":7}`, 400, "invalid_event", "session_id", 0},
		{"events: missing type", "POST", "/v1/events", "application/json", `{"session_id":"s"}`, 400, "invalid_event", "type", 0},
		{"events: bad type", "POST", "/v1/events", "application/json", `{"session_id":"s","type":"Rage Click"}`, 400, "invalid_event", "type", 0},
		{"events: custom without name", "POST", "/v1/events", "application/json", `{"session_id":"s","type":"custom"}`, 400, "invalid_event", "name", 0},
		{"events: bad timestamp", "POST", "/v1/events", "application/json", `{"session_id":"s","type":"click","timestamp":"yesterday"}`, 400, "invalid_event", "timestamp", 0},
		{"events: negative timestamp", "POST", "/v1/events", "application/json", `{"session_id":"s","type":"click","timestamp":-5}`, 400, "invalid_event", "timestamp", 0},
		{"events: properties not an object", "POST", "/v1/events", "application/json", `{"session_id":"s","type":"click","properties":[1]}`, 400, "invalid_event", "properties", 0},
		{"events: unknown field", "POST", "/v1/events", "application/json", `{"session_id":"s","type":"click","sesion":"x"}`, 400, "invalid_event", "sesion", 0},
		{"events: unknown member of user", "POST", "/v1/events", "application/json",
			`[` + match + `,{"session_id":"s","type":"click","user":{"nmae":"x"}}]`, 400, "invalid_event", "user.nmae: unknown field (not one of: uid, email, display_name, properties)", 1},
		{"events: third event of a batch", "POST", "/v1/events", "application/json",
			`[` + match + `,{"session_id":"s","type":"click"},{"session_id":"s","type":"BAD"}]`, 400, "invalid_event", "type", 2},
		{"events: bad NDJSON line", "POST", "/v1/events", "application/x-ndjson", match + "\n{\"session_id\":\"s\",\"type\":\"click\"}\n{oops\n", 400, "invalid_event", "line 3", 2},
		{"events: too many", "POST", "/v1/events", "application/json", "[" + strings.Repeat(match+",", 50) + match + "]", 400, "invalid_event", "at most 50", -1},
		{"events: body over the limit", "POST", "/v1/events", "application/json", "[" + strings.Repeat(match+",", 2000) + match + "]", 413, "body_too_large", "limit", -1},
		{"events: wrong media type", "POST", "/v1/events", "text/xml", match, 415, "unsupported_media_type", "text/xml", -1},
		{"events: wrong method", "GET", "/v1/events", "", nil, 405, "method_not_allowed", "POST", -1},

		{"streams: not JSON", "POST", "/v1/streams", "application/json", `{"name":`, 400, "invalid_stream", "JSON", -1},
		{"streams: unknown member", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) { m["trigger"] = 1 }), 400, "invalid_stream", "trigger", -1},
		{"streams: unknown member of a trigger", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["triggers"] = []any{map[string]any{"event": "click"}, map[string]any{"event": "click", "where": []any{map[string]any{"field": "url", "op": "eq", "valeu": "x"}}}}
		}), 400, "invalid_stream", "triggers[1].where[0].valeu: unknown field (not one of: field, op, value)", -1},
		{"streams: fractional min_count", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["triggers"] = []any{map[string]any{"event": "click", "min_count": 2.5}}
		}), 400, "invalid_stream", "triggers[0].min_count: must be a whole number", -1},
		{"streams: missing name", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) { delete(m, "name") }), 400, "invalid_stream", "name", -1},
		{"streams: duplicate name", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) { m["name"] = "checkout friction" }), 409, "name_taken", "Checkout Friction", -1},
		{"streams: no triggers", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) { m["triggers"] = []any{} }), 400, "invalid_stream", "triggers", -1},
		{"streams: bad op", "POST", "/v1/streams", "application/json", where("url", "like", "x"), 400, "invalid_stream", "triggers[0].where[0].op", -1},
		{"streams: bad field", "POST", "/v1/streams", "application/json", where("color", "eq", "x"), 400, "invalid_stream", "triggers[0].where[0].field", -1},
		{"streams: bad regex", "POST", "/v1/streams", "application/json", where("url", "matches", "(unclosed"), 400, "invalid_stream", "triggers[0].where[0].value", -1},
		{"streams: gt with a string", "POST", "/v1/streams", "application/json", where("properties.price", "gt", "cheap"), 400, "invalid_stream", "triggers[0].where[0].value", -1},
		{"streams: negative min_count", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["triggers"] = []any{map[string]any{"event": "click", "min_count": -3}}
		}), 400, "invalid_stream", "triggers[0].min_count", -1},
		{"streams: zero min_count", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["triggers"] = []any{map[string]any{"event": "click", "min_count": 0}}
		}), 400, "invalid_stream", "triggers[0].min_count: must be from 1", -1},
		{"streams: sequence without within", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["triggers"] = []any{map[string]any{"sequence": []any{map[string]any{"event": "a"}, map[string]any{"event": "b"}}}}
		}), 400, "invalid_stream", "triggers[0].within", -1},
		{"streams: no destination", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) { delete(m, "destination") }), 400, "invalid_stream", "destination", -1},
		{"streams: ftp destination", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["destination"] = map[string]any{"url": "ftp://example.com/x"}
		}), 400, "invalid_stream", "destination.url", -1},
		{"streams: destination port out of range", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["destination"] = map[string]any{"url": "http://127.0.0.1:99999/in"}
		}), 400, "invalid_stream", "destination.url: port 99999", -1},
		{"streams: destination with a space", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["destination"] = map[string]any{"url": "http://127.0.0.1:9/in?q=a b"}
		}), 400, "invalid_stream", "destination.url: must not contain a space", -1},
		{"streams: destination port 0", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["destination"] = map[string]any{"url": "http://127.0.0.1:0/in"}
		}), 400, "invalid_stream", "destination.url: port 0", -1},
		{"streams: bad whsec secret", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) {
			m["destination"] = map[string]any{"url": recv.URL, "secret": "whsec_!!not base64!!"}
		}), 400, "invalid_stream", "destination.secret", -1},
		{"streams: name wrong type", "POST", "/v1/streams", "application/json", stream(func(m map[string]any) { m["name"] = 5 }), 400, "invalid_stream", "name", -1},
		{"streams: replace unknown", "PUT", "/v1/streams/st_nope", "application/json", stream(func(map[string]any) {}), 404, "not_found", "st_nope", -1},
		{"streams: replace with bad op", "PUT", "/v1/streams/" + existing.ID, "application/json", where("url", "like", "x"), 400, "invalid_stream", "triggers[0].where[0].op", -1},
		{"streams: patch bad enabled", "PATCH", "/v1/streams/" + existing.ID, "application/json", `{"enabled":"no"}`, 400, "invalid_stream", "enabled", -1},
		{"streams: patch with null", "PATCH", "/v1/streams/" + existing.ID, "application/json", `null`, 400, "invalid_stream", "object", -1},
		{"streams: patch removing the name", "PATCH", "/v1/streams/" + existing.ID, "application/json", `{"name":null}`, 400, "invalid_stream", "name", -1},
		{"streams: patch unknown member", "PATCH", "/v1/streams/" + existing.ID, "application/json", `{"colour":"red"}`, 400, "invalid_stream", "colour", -1},
		{"streams: delete unknown", "DELETE", "/v1/streams/st_nope", "", nil, 404, "not_found", "st_nope", -1},
		{"streams: wrong method", "POST", "/v1/streams/" + existing.ID, "application/json", `{}`, 405, "method_not_allowed", "PATCH", -1},
		{"streams: test unknown", "POST", "/v1/streams/st_nope/test", "application/json", nil, 404, "not_found", "st_nope", -1},
		{"streams: recover without since", "POST", "/v1/streams/" + existing.ID + "/recover", "application/json", `{}`, 400, "invalid_request", "since", -1},
		{"streams: recover with a misspelt since", "POST", "/v1/streams/" + existing.ID + "/recover", "application/json", `{"sinse": "2026-01-01T00:00:00Z"}`, 400, "invalid_request", "sinse", -1},

		{"deliveries: bad status", "GET", "/v1/deliveries?status=lost", "", nil, 400, "invalid_request", "status", -1},
		{"deliveries: bad limit", "GET", "/v1/deliveries?limit=0", "", nil, 400, "invalid_request", "limit", -1},
		{"deliveries: misspelt filter", "GET", "/v1/deliveries?stream=st_x", "", nil, 400, "invalid_request", "stream: unknown query parameter; use stream_id", -1},
		{"deliveries: a filter given twice", "GET", "/v1/deliveries?status=failed&status=pending", "", nil, 400, "invalid_request", "status: given more than once", -1},
		{"deliveries: bad cursor", "GET", "/v1/deliveries?cursor=%%%", "", nil, 400, "invalid_request", "cursor", -1},
		{"deliveries: unknown", "GET", "/v1/deliveries/msg_nope", "", nil, 404, "not_found", "no delivery msg_nope", -1},
		{"deliveries: retry unknown", "POST", "/v1/deliveries/msg_nope/retry", "", nil, 404, "not_found", "no delivery msg_nope", -1},
		{"sessions: unknown", "GET", "/v1/sessions/nobody", "", nil, 404, "not_found", "nobody", -1},
		{"unknown route", "GET", "/v1/nothing", "", nil, 404, "not_found", "/v1/nothing", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.t = t
			status, raw := srv.raw(tc.method, tc.path, tc.contentType, tc.body)
			var e apiError
			if err := jsonUnmarshal(raw, &e); err != nil {
				t.Fatalf("error body is not JSON: %q", raw)
			}
			if status != tc.status || e.Error.Code != tc.code {
				t.Fatalf("got %d %q (%s), want %d %q", status, e.Error.Code, e.Error.Message, tc.status, tc.code)
			}
			if !strings.Contains(e.Error.Message, tc.mentions) {
				t.Fatalf("message %q does not mention %q", e.Error.Message, tc.mentions)
			}
			switch {
			case tc.index < 0 && e.Error.Index != nil:
				t.Fatalf("unexpected index %d", *e.Error.Index)
			case tc.index >= 0 && (e.Error.Index == nil || *e.Error.Index != tc.index):
				t.Fatalf("index = %v, want %d", e.Error.Index, tc.index)
			}
		})
	}
	srv.t = t

	// Nothing changed: one stream, as created; no event was accepted (the
	// matching event in the rejected batches never fired).
	var list struct{ Streams []streamResp }
	srv.call("GET", "/v1/streams", nil, &list)
	if len(list.Streams) != 1 || list.Streams[0].SignalVersion != 1 || list.Streams[0].Name != "Checkout Friction" {
		t.Fatalf("streams changed: %+v", list.Streams)
	}
	if status := srv.call("GET", "/v1/sessions/s-ok", nil, nil); status != 404 {
		t.Fatalf("session s-ok exists (status %d): a rejected request's event was accepted", status)
	}
	var deliveries struct{ Deliveries []delivery }
	srv.call("GET", "/v1/deliveries", nil, &deliveries)
	if len(deliveries.Deliveries) != 0 || recv.count() != 0 {
		t.Fatalf("rejected requests created %d deliveries and %d webhooks", len(deliveries.Deliveries), recv.count())
	}
}

func TestStreamLimit(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxStreams = 2 })
	for i := range 2 {
		def := checkoutFriction(recv.URL)
		def["name"] = fmt.Sprintf("s%d", i)
		srv.createStream(def)
	}
	def := checkoutFriction(recv.URL)
	def["name"] = "one too many"
	var e apiError
	if status := srv.call("POST", "/v1/streams", def, &e); status != 409 || e.Error.Code != "stream_limit" {
		t.Fatalf("third stream: %d %q, want 409 stream_limit", status, e.Error.Code)
	}
	var list struct{ Streams []streamResp }
	srv.call("GET", "/v1/streams", nil, &list)
	if len(list.Streams) != 2 {
		t.Fatalf("%d streams after a refused create, want 2", len(list.Streams))
	}
}

// TestSegmentLimit: segments are evaluated like streams, so they are
// bounded like them; a refused create adds nothing, and a delete makes room.
func TestSegmentLimit(t *testing.T) {
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxSegments = 2 })
	segment := func(name string) map[string]any {
		return map[string]any{"name": name, "creator": "ada", "triggers": []any{map[string]any{"event": "click"}}}
	}
	var first struct{ ID string }
	for i := range 2 {
		if status := srv.call("POST", "/v1/segments", segment(fmt.Sprint("seg", i)), &first); status != 201 {
			t.Fatalf("segment %d: %d", i, status)
		}
	}
	var e apiError
	if status := srv.call("POST", "/v1/segments", segment("one too many"), &e); status != 409 || e.Error.Code != "segment_limit" ||
		!strings.Contains(e.Error.Message, "--max-segments") {
		t.Fatalf("third segment: %d %+v, want 409 segment_limit naming the flag", status, e.Error)
	}
	var list struct{ Segments []any }
	srv.call("GET", "/v1/segments", nil, &list)
	if len(list.Segments) != 2 {
		t.Fatalf("%d segments after a refused create, want 2", len(list.Segments))
	}
	srv.call("DELETE", "/v1/segments/"+first.ID, nil, nil)
	if status := srv.call("POST", "/v1/segments", segment("one too many"), nil); status != 201 {
		t.Fatalf("a segment after one was deleted: %d", status)
	}
}

// TestFilterLimit: past --max-filters a new filter is refused with 409
// filter_limit naming the flag, and nothing is stored; replacing one that
// exists still works, and deleting one makes room.
func TestFilterLimit(t *testing.T) {
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxFilters = 2 })
	module := exampleFilter(t, "rage3")
	for _, name := range []string{"one", "two"} {
		if status, e := srv.putFilter(name, module); status != 201 {
			t.Fatalf("filter %s: %d %+v", name, status, e.Error)
		}
	}
	if status, e := srv.putFilter("three", module); status != 409 || e.Error.Code != "filter_limit" ||
		!strings.Contains(e.Error.Message, "--max-filters") {
		t.Fatalf("a third filter: %d %+v, want 409 filter_limit naming the flag", status, e.Error)
	}
	var list struct{ Filters []struct{ Name string } }
	if srv.call("GET", "/v1/filters", nil, &list); len(list.Filters) != 2 {
		t.Fatalf("%d filters after a refused upload, want 2", len(list.Filters))
	}
	if status, e := srv.putFilter("two", module); status != 200 {
		t.Fatalf("replacing a filter at the limit: %d %+v, want 200", status, e.Error)
	}
	srv.call("DELETE", "/v1/filters/one", nil, nil)
	if status, e := srv.putFilter("three", module); status != 201 {
		t.Fatalf("a filter after one was deleted: %d %+v", status, e.Error)
	}
}

// TestStreamLifecycle: generated secret shown once, never again; PUT bumps
// signal_version; PATCH disables; definitions survive a restart.
func TestStreamLifecycle(t *testing.T) {
	dir := t.TempDir()
	recv := newReceiver(t)
	srv := startServer(t, dir, nil)
	def := checkoutFriction(recv.URL)
	def["destination"] = map[string]any{"url": recv.URL}
	created := srv.createStream(def)
	if !strings.HasPrefix(created.Destination.Secret, "whsec_") || !created.Destination.SecretSet {
		t.Fatalf("created stream should carry a generated whsec_ secret once: %+v", created.Destination)
	}
	var got streamResp
	_, raw := srv.raw("GET", "/v1/streams/"+created.ID, "", nil)
	if strings.Contains(string(raw), created.Destination.Secret) || strings.Contains(string(raw), `"secret":`) {
		t.Fatalf("GET returned the secret: %s", raw)
	}
	_, raw = srv.raw("GET", "/v1/streams", "", nil)
	if strings.Contains(string(raw), created.Destination.Secret) {
		t.Fatalf("list returned the secret: %s", raw)
	}

	def["description"] = "replaced"
	if status := srv.call("PUT", "/v1/streams/"+created.ID, def, &got); status != 200 || got.SignalVersion != 2 {
		t.Fatalf("PUT: %d, signal_version %d, want 200 and 2", status, got.SignalVersion)
	}
	if status := srv.call("PATCH", "/v1/streams/"+created.ID, map[string]any{"enabled": false}, &got); status != 200 || got.Enabled {
		t.Fatalf("PATCH enabled=false: %d %+v", status, got)
	}
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	srv.stop()

	srv = startServer(t, dir, nil)
	if status := srv.call("GET", "/v1/streams/"+created.ID, nil, &got); status != 200 || got.Enabled || got.SignalVersion != 2 {
		t.Fatalf("after restart: %d %+v", status, got)
	}
	srv.call("PATCH", "/v1/streams/"+created.ID, map[string]any{"enabled": true}, &got)
	srv.sendEvents(map[string]any{"session_id": "s-2", "type": "rage_click", "url": "/cart"})
	waitFor(t, 5*time.Second, "webhook for s-2", func() bool { return recv.count() == 1 })
	// The generated secret (kept across the restart and the PUT) signs it.
	verifyFullstory(t, recv.received()[0], created.Destination.Secret, "hookwire")
	if p := recv.received()[0].payload(t); p["signal_version"] != "2" || p["session"].(map[string]any)["id"] != "s-2" {
		t.Fatalf("payload = %v", p)
	}
	if status := srv.call("DELETE", "/v1/streams/"+created.ID, nil, nil); status != 204 {
		t.Fatalf("DELETE: %d", status)
	}
	if status := srv.call("GET", "/v1/streams/"+created.ID, nil, nil); status != 404 {
		t.Fatalf("GET after DELETE: %d", status)
	}
}

func TestStreamTestEndpoint(t *testing.T) {
	ok := newReceiver(t)
	accepted := newReceiver(t, 202)
	// An org id with a space inside is a valid one (not at either end).
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.OrgID = "acme corp" })
	st := srv.createStream(checkoutFriction(ok.URL))
	var res struct {
		OK        bool   `json:"ok"`
		Status    int    `json:"status"`
		LatencyMS *int64 `json:"latency_ms"`
		Error     string `json:"error"`
	}
	if status := srv.call("POST", "/v1/streams/"+st.ID+"/test", nil, &res); status != 200 || !res.OK || res.Status != 200 || res.LatencyMS == nil {
		t.Fatalf("test: %d %+v", status, res)
	}
	h := ok.received()[0]
	verifyFullstory(t, h, testSecret, "acme corp")
	if p := h.payload(t); p["test"] != true || p["name"] != "Checkout Friction" {
		t.Fatalf("test payload = %v", p)
	}
	srv.call("PATCH", "/v1/streams/"+st.ID, map[string]any{"destination": map[string]any{"url": accepted.URL}}, nil)
	srv.call("POST", "/v1/streams/"+st.ID+"/test", nil, &res)
	if res.OK || res.Status != 202 {
		t.Fatalf("a 202 answer must not be ok for the stream test (seed product wants 200): %+v", res)
	}
}

// TestBackPressure: while a request's events await evaluation (held here
// by a filter that sleeps through its budget), a request that would take
// the engine past its bound on such events, or on the bytes of the
// requests they came in, gets 429 with Retry-After, and nothing of it is
// accepted; once they are evaluated, the same request is. A bound that no
// request could pass (the lag) refuses a request before its body is read:
// a malformed one gets 429 too, not the 400 decoding it would give.
func TestBackPressure(t *testing.T) {
	// padded is a body of n click events of session id, about size bytes.
	padded := func(id string, n, size int) string {
		events := make([]ev, n)
		for i := range events {
			events[i] = ev{"session_id": id, "type": "click",
				"properties": ev{"pad": strings.Repeat("x", max(size/n-60, 1))}}
		}
		return jsonOf(events)
	}
	bounds := []struct {
		name     string
		tweak    func(*engine.Config)
		mentions string
		wait     time.Duration // between the held request and the refused one
		unread   bool          // any request is refused, before decoding
	}{
		{"events", func(c *engine.Config) { c.MaxEventsPerRequest, c.MaxInFlightEvents = 3, 4 }, "3 events await evaluation", 0, false},
		{"bytes", func(c *engine.Config) { c.MaxBodyBytes, c.MaxInFlightBytes = 1024, 1500 }, "bytes of requests await evaluation", 0, false},
		// The held events take ~900 ms to evaluate; 200 ms in, the oldest
		// has waited past the bound.
		{"lag", func(c *engine.Config) { c.MaxEvaluationLag = 100 * time.Millisecond }, "over --max-evaluation-lag 100ms", 200 * time.Millisecond, true},
	}
	for _, bound := range bounds {
		t.Run(bound.name, func(t *testing.T) {
			srv := startServer(t, t.TempDir(), func(c *engine.Config) {
				c.FilterTimeout = 300 * time.Millisecond // per event of the held request
				bound.tweak(c)
			})
			if status, e := srv.putFilter("sleep", hostileFilter(t, "sleep")); status != 201 {
				t.Fatalf("sleep upload: %d %+v", status, e)
			}
			srv.createStream(filterStream("slow", newReceiver(t).URL, "sleep", nil))
			held, refused := padded("held", 3, 900), padded("later", 2, 900)
			if status, raw := srv.raw("POST", "/v1/events", "application/json", held); status != 202 {
				t.Fatalf("the first request: %d %s", status, raw)
			}
			time.Sleep(bound.wait)
			status, raw := srv.raw("POST", "/v1/events", "application/json", refused)
			var e apiError
			jsonUnmarshal(raw, &e)
			if status != 429 || e.Error.Code != "saturated" || !strings.Contains(e.Error.Message, bound.mentions) {
				t.Fatalf("got %d %s, want 429 saturated mentioning %q", status, raw, bound.mentions)
			}
			if retry := retryAfterOf(t, srv, refused); retry < 1 {
				t.Fatalf("Retry-After %d s on a saturated engine", retry)
			}
			if status, raw := srv.raw("POST", "/v1/events", "application/json", `[{"session_id": `); bound.unread && status != 429 {
				t.Fatalf("a malformed body while no request can be taken: %d %s, want 429 before decoding", status, raw)
			} else if !bound.unread && status != 400 {
				t.Fatalf("a malformed body while a smaller request could be taken: %d %s, want 400", status, raw)
			}
			if code := srv.call("GET", "/v1/sessions/later", nil, nil); code != 404 {
				t.Fatalf("session exists after a refused request (%d)", code)
			}
			waitFor(t, 10*time.Second, "the held events evaluated", func() bool {
				m := srv.scrape()
				return value(m, "hookwire_events_in_flight", nil) == 0 && value(m, "hookwire_events_in_flight_bytes", nil) == 0
			})
			if status, raw := srv.raw("POST", "/v1/events", "application/json", refused); status != 202 {
				t.Fatalf("after the backlog drained: %d %s", status, raw)
			}
		})
	}
}

func TestAuthRequiredWithoutDev(t *testing.T) {
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.Dev = false; c.AdminKey = "admin-secret-key" })
	if status := srv.call("GET", "/v1/streams", nil, nil); status != 200 {
		t.Fatalf("with the admin key: %d", status)
	}
	key := srv.cfg.AdminKey
	srv.cfg.AdminKey = ""
	if status := srv.call("GET", "/v1/streams", nil, nil); status != 401 {
		t.Fatalf("without a key: %d, want 401", status)
	}
	srv.cfg.AdminKey = "wrong"
	if status := srv.call("POST", "/v1/events", `{"session_id":"s","type":"click"}`, nil); status != 401 {
		t.Fatalf("with a wrong key: %d, want 401", status)
	}
	srv.cfg.AdminKey = key
	if status := srv.call("GET", "/healthz", nil, nil); status != 200 {
		t.Fatalf("healthz needs no key: %d", status)
	}
	// A refusal for the scheme says what to send instead.
	for header, want := range map[string]string{
		"":                       "missing API key",
		"Bearer":                 "missing API key",
		"Basic " + key:           "Authorization: Basic is taken on /v2 only",
		"Token " + key:           "Authorization scheme Token is not taken",
		"Bearer " + key + "nope": "unknown or revoked API key",
	} {
		req, _ := http.NewRequest("GET", srv.base+"/v1/streams", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(body), want) {
			t.Errorf("Authorization %q: %d %s, want 401 saying %q", header, resp.StatusCode, body, want)
		}
	}
}

func TestStartupRefusals(t *testing.T) {
	tests := []struct {
		name     string
		tweak    func(*engine.Config)
		mentions string
	}{
		{"no auth", func(c *engine.Config) { c.Dev = false }, "--admin-key"},
		{"dev off loopback", func(c *engine.Config) { c.Listen = "0.0.0.0:0" }, "--dev"},
		{"bad durability", func(c *engine.Config) { c.Durability = "maybe" }, "--durability"},
		{"tls half", func(c *engine.Config) { c.TLSCert = "x.pem" }, "--tls-key"},
		{"tls pair missing", func(c *engine.Config) { c.TLSCert, c.TLSKey = "/nonexistent/c.pem", "/nonexistent/k.pem" }, "/nonexistent/c.pem"},
		{"org id with comma", func(c *engine.Config) { c.OrgID = "a,b" }, "--org-id"},
		{"org id with a newline", func(c *engine.Config) { c.OrgID = "a\nb" }, "printable ASCII"},
		{"org id ending with a space", func(c *engine.Config) { c.OrgID = "acme " }, "--org-id"},
		{"org id with an accent", func(c *engine.Config) { c.OrgID = "café" }, "--org-id"},
		{"in-flight events under a request", func(c *engine.Config) { c.MaxInFlightEvents = 100 }, "--max-in-flight-events (100) must be at least --max-events-per-request (10000)"},
		{"in-flight bytes under a body", func(c *engine.Config) { c.MaxInFlightBytes = 1 << 20 }, "--max-in-flight-bytes (1048576) must be at least --max-body-bytes (10485760)"},
		{"evaluation lag under a sync", func(c *engine.Config) { c.MaxEvaluationLag = 5 * time.Millisecond }, "--max-evaluation-lag must be 0 (no bound) or at least 10ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := engine.DefaultConfig()
			cfg.Dev, cfg.Listen, cfg.DataDir = true, "127.0.0.1:0", t.TempDir()
			tc.tweak(&cfg)
			_, err := engine.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.mentions) {
				t.Fatalf("New: %v, want an error mentioning %s", err, tc.mentions)
			}
			// Refused before anything was opened: the data directory
			// holds no store.
			if entries, _ := os.ReadDir(cfg.DataDir); len(entries) > 0 {
				t.Fatalf("a refused start left %d entries in --data", len(entries))
			}
		})
	}
}

// TestStartupFailuresReleaseWhatWasOpened: a start that fails once it has
// begun opening things (its port taken, its data directory in use by a
// running hookwire) returns an error that says why and closes what it had
// opened; it used to crash on its own clean-up instead.
func TestStartupFailuresReleaseWhatWasOpened(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := engine.DefaultConfig()
	cfg.Dev, cfg.Listen, cfg.DataDir = true, taken.Addr().String(), t.TempDir()
	if _, err := engine.New(cfg); err == nil || !strings.Contains(err.Error(), "--listen "+cfg.Listen) {
		t.Fatalf("New on a port in use: %v, want an error naming --listen", err)
	}

	running := startServer(t, t.TempDir(), nil)
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := free.Addr().String()
	free.Close()
	cfg.Listen, cfg.DataDir = port, running.cfg.DataDir
	if _, err := engine.New(cfg); err == nil || !strings.Contains(err.Error(), running.cfg.DataDir) {
		t.Fatalf("New on a data directory in use: %v, want an error naming it", err)
	}
	again, err := net.Listen("tcp", port)
	if err != nil {
		t.Fatalf("the failed start kept its port: %v", err)
	}
	again.Close()
	if status := running.call("GET", "/readyz", nil, nil); status != 200 {
		t.Fatalf("the running engine after the failed start: /readyz %d", status)
	}
}

// TestLiveSessionView: a live session's view comes from its actor, so its
// counts are current before anything is written to the store.
func TestLiveSessionView(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	srv.sendEvents(
		map[string]any{"session_id": "s", "type": "navigate", "timestamp": "2026-11-27T12:00:00Z", "user": map[string]any{"uid": "u-1", "email": "a@x"}},
		map[string]any{"session_id": "s", "type": "click", "timestamp": "2026-11-27T12:01:00Z"},
		map[string]any{"session_id": "s", "type": "click", "timestamp": "2026-11-27T12:02:00Z"},
	)
	var sess struct {
		Ended       bool   `json:"ended"`
		Events      int    `json:"events"`
		StartedAt   string `json:"started_at"`
		LastEventAt string `json:"last_event_at"`
		User        struct{ UID, Email string }
		Fired       []any
	}
	waitFor(t, 5*time.Second, "three events", func() bool {
		return srv.call("GET", "/v1/sessions/s", nil, &sess) == 200 && sess.Events == 3
	})
	if sess.Ended || sess.StartedAt != "2026-11-27T12:00:00Z" || sess.LastEventAt != "2026-11-27T12:02:00Z" ||
		sess.User.UID != "u-1" || sess.User.Email != "a@x" || sess.Fired == nil {
		t.Fatalf("session = %+v", sess)
	}
}

// TestRetryRefusesAnOrphanedDelivery: once a delivery's stream is deleted
// there is no secret to sign it with; a retry says so (409) and leaves the
// delivery as it was, instead of queueing an attempt that can only fail.
func TestRetryRefusesAnOrphanedDelivery(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	stream := srv.createStream(checkoutFriction(recv.URL))
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	waitFor(t, 5*time.Second, "the webhook", func() bool { return recv.count() == 1 })
	id := recv.received()[0].id()
	waitFor(t, 5*time.Second, "the delivery to succeed", func() bool { return srv.delivery(id).Status == "succeeded" })
	if code := srv.call("DELETE", "/v1/streams/"+stream.ID, nil, nil); code != 204 {
		t.Fatalf("DELETE stream: %d", code)
	}
	code, body := srv.raw("POST", "/v1/deliveries/"+id+"/retry", "application/json", nil)
	if code != 409 || !strings.Contains(string(body), "owner_deleted") {
		t.Fatalf("retry of an orphaned delivery: %d %s, want 409 owner_deleted", code, body)
	}
	if d := srv.delivery(id); d.Status != "succeeded" || len(d.Attempts) != 1 {
		t.Fatalf("the refused retry changed the delivery: %s with %d attempts", d.Status, len(d.Attempts))
	}
	time.Sleep(200 * time.Millisecond)
	if n := recv.count(); n != 1 {
		t.Fatalf("the receiver got %d webhooks, want the one", n)
	}
}

// TestIngestMediaTypes: the media types producers send JSON and NDJSON as —
// with parameters, in any case, a browser beacon's text/plain, a +json
// type, none at all — are read as such; others are refused and change
// nothing.
func TestIngestMediaTypes(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	event := func(session string) string { return `{"session_id":"` + session + `","type":"click"}` }
	for i, tc := range []struct {
		contentType string
		ndjson      bool
	}{
		{"application/json; charset=utf-8", false},
		{"Application/JSON", false},
		{"text/plain;charset=UTF-8", false},
		{"application/vnd.acme.events+json", false},
		{"", false},
		{"application/x-ndjson; charset=utf-8", true},
		{"application/jsonl", true},
	} {
		body, want := event(fmt.Sprintf("mt-%d", i)), 1
		if tc.ndjson {
			body, want = body+"\n"+event(fmt.Sprintf("mt-%d-b", i))+"\n", 2
		}
		status, raw := srv.raw("POST", "/v1/events", tc.contentType, body)
		var res struct{ Accepted int }
		if status != 202 || jsonUnmarshal(raw, &res) != nil || res.Accepted != want {
			t.Errorf("Content-Type %q: %d %s, want 202 with %d accepted", tc.contentType, status, raw, want)
		}
	}
	for _, ct := range []string{"text/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		if status, raw := srv.raw("POST", "/v1/events", ct, event("refused")); status != 415 || !strings.Contains(string(raw), "unsupported_media_type") {
			t.Errorf("Content-Type %q: %d %s, want 415 unsupported_media_type", ct, status, raw)
		}
	}
	if status, _ := srv.raw("GET", "/v1/sessions/refused", "", nil); status != 404 {
		t.Errorf("a refused request's session exists: GET answered %d", status)
	}
}

// TestHeadIsGetWithoutABody: HEAD answers as GET would, without the body
// (a load balancer's HEAD /healthz), and is refused where GET is.
func TestHeadIsGetWithoutABody(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/v1/streams": 200, "/v1/sessions/nobody": 404, "/v1/events": 405} {
		resp, err := http.Head(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || len(body) != 0 {
			t.Errorf("HEAD %s: %d with %d bytes of body, want %d and none", path, resp.StatusCode, len(body), want)
		}
		if want == 405 && resp.Header.Get("Allow") != "POST" {
			t.Errorf("HEAD %s: Allow %q, want POST", path, resp.Header.Get("Allow"))
		}
	}
}
