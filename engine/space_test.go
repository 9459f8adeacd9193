package engine_test

import (
	"strings"
	"testing"

	"github.com/hookwire/hookwire/engine"
)

// A data directory short of the space the store keeps free refuses what
// would write (507; /readyz stays 200, as CONTRACT §2 has it once the
// store is open and the streams loaded) and
// serves the rest: reads, deletes and the metrics that say why.
func TestALowDataDirectoryRefusesWritesAndServesReads(t *testing.T) {
	dir := t.TempDir()
	rcv := newReceiver(t)
	srv := startServer(t, dir, nil)
	st := srv.createStream(map[string]any{"name": "clicks", "triggers": []any{map[string]any{"event": "click"}},
		"destination": map[string]any{"url": rcv.URL}})
	srv.stop()

	// A reserve no disk has: the store opens low.
	srv = startServer(t, dir, func(c *engine.Config) { c.DiskReserveBytes = 1 << 50 })
	refused := []struct{ method, path, body string }{
		{"POST", "/v1/events", `{"session_id":"s1","type":"click"}`},
		{"POST", "/v2/events", `{"session":{"id":"s1"},"name":"Checkout Error"}`},
		{"POST", "/v1/streams", `{"name":"more","triggers":[{"event":"click"}],"destination":{"url":"` + rcv.URL + `"}}`},
		{"PATCH", "/v1/streams/" + st.ID, `{"enabled":false}`},
		{"POST", "/v1/keys", `{"name":"k","role":"ingest"}`},
	}
	for _, r := range refused {
		var e apiError
		if code := srv.call(r.method, r.path, r.body, &e); code != 507 || e.Error.Code != "insufficient_storage" ||
			!strings.Contains(e.Error.Message, "MiB free") {
			t.Errorf("%s %s on a low disk: %d %+v, want 507 insufficient_storage saying how much is free", r.method, r.path, code, e.Error)
		}
	}
	if code := srv.call("GET", "/readyz", nil, nil); code != 200 {
		t.Errorf("/readyz on a low disk: %d, want 200 (the store is open, the streams loaded)", code)
	}
	var got streamResp
	if code := srv.call("GET", "/v1/streams/"+st.ID, nil, &got); code != 200 || !got.Enabled {
		t.Errorf("reading the stream on a low disk: %d %+v (the refused PATCH must change nothing)", code, got)
	}
	if code := srv.call("GET", "/healthz", nil, nil); code != 200 {
		t.Errorf("/healthz on a low disk: %d", code)
	}
	if code, body := srv.raw("GET", "/metrics", "", nil); code != 200 || !strings.Contains(string(body), "hookwire_store_low_on_space 1") {
		t.Errorf("/metrics on a low disk: %d, low_on_space gauge not 1", code)
	}
	if code := srv.call("DELETE", "/v1/streams/"+st.ID, nil, nil); code != 204 && code != 200 {
		t.Errorf("deleting a stream on a low disk: %d, want it served (it is how room is made)", code)
	}
	if rcv.count() != 0 {
		t.Errorf("%d webhooks from refused events", rcv.count())
	}
}
