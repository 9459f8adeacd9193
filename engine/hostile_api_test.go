package engine_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/httpapi"
)

// TestEveryRouteAnswersHostileInputWithAnError sends every route the API
// serves (the route table itself, so a new route is covered the day it is
// added) bodies and path parameters a careless or hostile client sends:
// empty, null, the wrong JSON kinds, malformed and truncated JSON, deep
// nesting, huge numbers and strings, invalid UTF-8, control characters.
// Each answer is a success or the contract's error envelope with a 4xx,
// never a 5xx; afterwards the server is ready and what existed is as it
// was (a rejected request changes nothing). A method no route has
// (OPTIONS, TRACE, CONNECT, WebDAV's) is a 405 naming the ones it has.
func TestEveryRouteAnswersHostileInputWithAnError(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)

	// One of everything a path can name, so that a body reaches the
	// validation behind the lookup as well as the lookup's 404.
	stream := srv.createStream(checkoutFriction(recv.URL))
	srv.putFilter("rage3", exampleFilter(t, "rage3"))
	var segment, alert, hook, key struct{ ID string }
	srv.call("POST", "/v1/segments", map[string]any{"name": "S", "creator": "ada", "triggers": []any{map[string]any{"event": "click"}}}, &segment)
	srv.call("POST", "/v1/segments/"+segment.ID+"/alerts", map[string]any{"threshold": 3, "direction": "ABOVE", "window": "1h"}, &alert)
	srv.call("POST", "/v1/system-webhooks", map[string]any{"url": recv.URL, "event_types": []string{"note.created"}}, &hook)
	srv.call("POST", "/v1/keys", map[string]any{"name": "k", "role": "ingest"}, &key)
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	var job struct{ Job struct{ ID string } }
	srv.call("POST", "/v2/events/batch", map[string]any{"requests": []any{map[string]any{"name": "n", "session": map[string]any{"id": "s-2"}}}}, &job)
	var deliveries struct{ Deliveries []delivery }
	waitFor(t, 5*time.Second, "the delivery", func() bool {
		srv.call("GET", "/v1/deliveries", nil, &deliveries)
		return len(deliveries.Deliveries) == 1
	})
	for _, id := range []string{stream.ID, segment.ID, alert.ID, hook.ID, key.ID, job.Job.ID} {
		if id == "" {
			t.Fatal("a resource the test names was not created")
		}
	}
	// The id a path parameter takes, by the collection before it.
	real := map[string]string{
		"streams": stream.ID, "filters": "rage3", "segments": segment.ID, "alerts": alert.ID,
		"system-webhooks": hook.ID, "keys": key.ID, "deliveries": deliveries.Deliveries[0].ID,
		"sessions": "s-1", "batch": job.Job.ID,
	}
	// fill puts bad in every parameter of path, or the real id if bad is "".
	fill := func(path, bad string) string {
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") {
				if segs[i] = bad; bad == "" {
					segs[i] = real[segs[i-1]]
				}
			}
		}
		return strings.Join(segs, "/")
	}
	badParams := []string{"", "nope", "%00", "%ff%fe", strings.Repeat("x", 4000), "..%2f..%2fetc", "%E2%80%AE"}
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	bodies := []string{
		``, `null`, `[]`, `{}`, `"x"`, `0`, `true`, `{"a":`, `{"a":1}}`, `{"a":1} {"b":2}`, deep,
		strings.Repeat("[", 50000), `{"name":1e999,"threshold":1e999,"min_count":1e999}`,
		"{\"name\":\"\xff\xfe\",\"session_id\":\"\xc3\"}", `{"name":"` + strings.Repeat("n", 300000) + `"}`,
		`{"name":"a\u0000b","session_id":"a\u0000b","url":"http://a\u0000b/"}`,
		`{"triggers":[null],"destination":null,"events":[null],"requests":[null],"event_types":null}`,
		`{"triggers":{"event":"click"},"url":[],"secret":{},"enabled":"yes","since":5,"config":"x"}`,
		`{"name":"x","triggers":[{"event":"click","where":[{"field":"url","op":"matches","value":"(((((((((("}]}],"destination":{"url":"http://127.0.0.1:1/"}}`,
		`[{"session_id":"s","type":"click"},` + strings.Repeat(`{"session_id":"s","type":"click"},`, 3) + `null]`,
		"\x00asm\x01\x00\x00\x00\xff\xff\xff\xff",
	}
	envelope := regexp.MustCompile(`^[a-z][a-z_]*$`)
	requests := 0
	for _, r := range httpapi.Routes() {
		if r.Method == "DELETE" {
			continue // a real id would go; a fake one is a plain 404
		}
		for _, bad := range badParams {
			path := fill(r.Path, bad)
			variants := bodies
			if r.Method == "GET" {
				variants = []string{""}
			}
			for _, body := range variants {
				contentType := "application/json"
				if strings.HasPrefix(r.Path, "/v1/filters/{name}") && r.Method == "PUT" {
					contentType = "application/wasm"
				}
				srv.t = t
				status, raw := srv.raw(r.Method, path, contentType, body)
				requests++
				what := fmt.Sprintf("%s %.80s with %.60q", r.Method, path, body)
				if status >= 500 {
					t.Fatalf("%s: %d %.300s", what, status, raw)
				}
				if status < 400 {
					continue
				}
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(raw, &e); err != nil || !envelope.MatchString(e.Error.Code) || e.Error.Message == "" {
					t.Fatalf("%s: %d %.300s, not the error envelope", what, status, raw)
				}
			}
		}
	}
	// A method no route has is a 405 naming the ones it has.
	for _, r := range httpapi.Routes() {
		for _, method := range []string{"OPTIONS", "TRACE", "CONNECT", "PROPFIND"} {
			path := fill(r.Path, "")
			status, raw := srv.raw(method, path, "", nil)
			requests++
			var e struct {
				Error struct{ Code, Message string }
			}
			if status != 405 || json.Unmarshal(raw, &e) != nil || e.Error.Code != "method_not_allowed" || !strings.Contains(e.Error.Message, r.Method) {
				t.Fatalf("%s %s: %d %.300s, want 405 naming %s", method, path, status, raw, r.Method)
			}
		}
	}
	t.Logf("%d hostile requests", requests)

	if status, _ := srv.raw("GET", "/readyz", "", nil); status != 200 {
		t.Fatalf("readyz %d after the hostile requests", status)
	}
	var after streamResp
	srv.call("GET", "/v1/streams/"+stream.ID, nil, &after)
	if after.SignalVersion != 1 || after.Name != stream.Name || !after.Enabled {
		t.Fatalf("the stream changed: %+v", after)
	}
	var seg struct{ Alerts []any }
	srv.call("GET", "/v1/segments/"+segment.ID, nil, &seg)
	var sys struct {
		URL     string
		Enabled bool
	}
	srv.call("GET", "/v1/system-webhooks/"+hook.ID, nil, &sys)
	var keys struct{ Keys []any }
	srv.call("GET", "/v1/keys", nil, &keys)
	if len(seg.Alerts) != 1 || sys.URL != recv.URL || !sys.Enabled || len(keys.Keys) != 1 {
		t.Fatalf("after the hostile requests: %d alerts, system webhook %+v, %d keys; want 1, as created, 1", len(seg.Alerts), sys, len(keys.Keys))
	}
}
