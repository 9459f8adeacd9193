package engine_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
	"github.com/hookwire/hookwire/internal/wasmenc"
	"github.com/hookwire/hookwire/wasm"
)

var (
	filtersOnce sync.Once
	filtersDir  string
	filtersErr  error
)

// exampleFilter builds every example filter from source once (make filters:
// Go, C, AssemblyScript, WAT) and returns the named module's bytes.
func exampleFilter(t *testing.T, name string) []byte {
	t.Helper()
	filtersOnce.Do(func() {
		filtersDir, filtersErr = os.MkdirTemp("", "hookwire-filters-*")
		if filtersErr != nil {
			return
		}
		cmd := exec.Command("make", "-s", "filters", "FILTERS_OUT="+filtersDir)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			filtersErr = fmt.Errorf("make filters: %v\n%s", err, out)
		}
	})
	if filtersErr != nil {
		t.Fatal(filtersErr)
	}
	b, err := os.ReadFile(filepath.Join(filtersDir, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hostileFilter builds a module of testdata/hostile from its .wat source.
func hostileFilter(t *testing.T, name string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	if b, err := exec.Command("wat2wasm", filepath.Join("testdata", "hostile", name+".wat"), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *server) putFilter(name string, module []byte) (int, apiError) {
	s.t.Helper()
	status, raw := s.raw("PUT", "/v1/filters/"+name, "application/wasm", module)
	var e apiError
	jsonUnmarshal(raw, &e)
	return status, e
}

// streamFaults is a stream's "faults" as GET /v1/streams/{id} has them.
type streamFaults struct {
	Count     int    `json:"count"`
	LastError string `json:"last_error"`
}

func (s *server) faults(streamID string) streamFaults {
	s.t.Helper()
	var got struct {
		Faults streamFaults `json:"faults"`
	}
	s.call("GET", "/v1/streams/"+streamID, nil, &got)
	return got.Faults
}

func filterStream(name, url, filter string, config any) map[string]any {
	trigger := map[string]any{"filter": filter}
	if config != nil {
		trigger["config"] = config
	}
	return map[string]any{"name": name, "triggers": []any{trigger},
		"destination": map[string]any{"url": url, "secret": testSecret}}
}

// firedOn returns, per session, the id of the event each webhook fired on.
func firedOn(t *testing.T, hooks []hook) map[string]string {
	out := map[string]string{}
	for _, h := range hooks {
		p := h.payload(t)
		sid := p["session"].(map[string]any)["id"].(string)
		if _, dup := out[sid]; dup {
			t.Fatalf("session %s fired twice", sid)
		}
		id, _ := p["event"].(map[string]any)["id"].(string)
		out[sid] = id
	}
	return out
}

type ev = map[string]any

// TestExampleFiltersEndToEnd: each example language's filter, built from
// source, uploaded, used by a stream, fires on the expected event.
func TestExampleFiltersEndToEnd(t *testing.T) {
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(min int) string { return base.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
	cart := func(id, sid string, price float64) ev {
		return ev{"id": id, "session_id": sid, "type": "click", "properties": ev{"target_text": "Add to cart", "price": price}}
	}
	tests := []struct {
		filter string
		config any
		events []ev
		want   map[string]string // session → event id it fires on
	}{
		{"rage3", nil, []ev{
			{"id": "a1", "session_id": "a", "type": "rage_click"}, {"id": "a2", "session_id": "a", "type": "click"},
			{"id": "a3", "session_id": "a", "type": "rage_click"}, {"id": "b1", "session_id": "b", "type": "rage_click"},
			{"id": "a4", "session_id": "a", "type": "rage_click"}, {"id": "a5", "session_id": "a", "type": "rage_click"},
			// Clicks whose properties name a rage_click are clicks.
			{"id": "b2", "session_id": "b", "type": "click", "properties": ev{"type": "rage_click"}},
			{"id": "b3", "session_id": "b", "type": "click", "properties": ev{"type": "rage_click"}},
		}, map[string]string{"a": "a4"}},
		{"pagevisit", ev{"type": "navigate", "url_contains": "/pricing"}, []ev{
			{"id": "a1", "session_id": "a", "type": "navigate", "url": "https://x/home"},
			{"id": "a2", "session_id": "a", "type": "click", "url": "https://x/pricing"},
			{"id": "a3", "session_id": "a", "type": "navigate", "url": "https://x/pricing?plan=pro"},
			{"id": "b1", "session_id": "b", "type": "navigate", "url": "https://x/help"},
			// A url among the properties is not the event's.
			{"id": "c1", "session_id": "c", "type": "navigate", "properties": ev{"url": "https://x/pricing"}},
			{"id": "c2", "session_id": "c", "type": "navigate", "url": "https://x/caf\u00e9/pricing", "properties": ev{"note": "\"quoted\""}},
		}, map[string]string{"a": "a3", "c": "c2"}},
		{"pricing-then-help", nil, []ev{
			{"id": "a1", "session_id": "a", "type": "navigate", "url": "https://x/pricing", "timestamp": at(0)},
			{"id": "a2", "session_id": "a", "type": "navigate", "url": "https://x/help/billing", "timestamp": at(5)},
			{"id": "b1", "session_id": "b", "type": "navigate", "url": "https://x/pricing", "timestamp": at(0)},
			{"id": "b2", "session_id": "b", "type": "navigate", "url": "https://x/help", "timestamp": at(15)},
			{"id": "c1", "session_id": "c", "type": "navigate", "url": "https://x/help", "timestamp": at(0)},
			{"id": "c2", "session_id": "c", "type": "navigate", "url": "https://x/pricing", "timestamp": at(1)},
			// A pricing page named in the properties was not viewed.
			{"id": "d1", "session_id": "d", "type": "navigate", "url": "https://x/home", "timestamp": at(0),
				"properties": ev{"next": "https://x/pricing"}},
			{"id": "d2", "session_id": "d", "type": "navigate", "url": "https://x/help", "timestamp": at(1)},
		}, map[string]string{"a": "a2"}},
		{"failedlogins", ev{"name": "Login Failed"}, []ev{
			{"id": "a1", "session_id": "a", "type": "custom", "name": "Login Failed"},
			{"id": "a2", "session_id": "a", "type": "custom", "name": "Login Succeeded"},
			{"id": "b1", "session_id": "b", "type": "custom", "name": "Login Failed"},
			// A name among the properties is not the event's.
			{"id": "a3", "session_id": "a", "type": "click", "properties": ev{"name": "Login Failed"}},
			{"id": "a4", "session_id": "a", "type": "custom", "name": "Login Failed"},
			{"id": "b2", "session_id": "b", "type": "custom", "name": "Login Failed"}, // two in b: none fires
			{"id": "a5", "session_id": "a", "type": "custom", "name": "Login Failed", "properties": ev{"name": "x"}},
			{"id": "a6", "session_id": "a", "type": "custom", "name": "Login Failed"},
		}, map[string]string{"a": "a5"}},
		{"bigspender", ev{"min_total": 100}, []ev{
			cart("a1", "a", 40), cart("a2", "a", 40), {"id": "a3", "session_id": "a", "type": "click"},
			cart("a4", "a", 30), cart("a5", "a", 500), cart("b1", "b", 99.5),
		}, map[string]string{"a": "a4"}},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			recv := newReceiver(t)
			srv := startServer(t, t.TempDir(), nil)
			if status, e := srv.putFilter(tc.filter, exampleFilter(t, tc.filter)); status != 201 {
				t.Fatalf("upload: %d %+v", status, e)
			}
			srv.createStream(filterStream("by "+tc.filter, recv.URL, tc.filter, tc.config))
			srv.sendEvents(tc.events...)
			waitFor(t, 10*time.Second, "webhooks", func() bool { return recv.count() >= len(tc.want) })
			time.Sleep(300 * time.Millisecond)
			got := firedOn(t, recv.received())
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("fired on %v, want %v", got, tc.want)
			}
		})
	}
}

// TestStatefulFilterSurvivesRestart: two rage clicks, a restart, then the
// third fires rage3 — on the third, not earlier or later.
func TestStatefulFilterSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	recv := newReceiver(t)
	srv := startServer(t, dir, nil)
	srv.putFilter("rage3", exampleFilter(t, "rage3"))
	srv.createStream(filterStream("third rage", recv.URL, "rage3", nil))
	srv.sendEvents(ev{"id": "1", "session_id": "s", "type": "rage_click"}, ev{"id": "2", "session_id": "s", "type": "rage_click"})
	var sess struct{ Events int }
	waitFor(t, 5*time.Second, "two events evaluated", func() bool {
		srv.call("GET", "/v1/sessions/s", nil, &sess)
		return sess.Events == 2
	})
	srv.stop()
	srv = startServer(t, dir, nil)
	srv.sendEvents(ev{"id": "3", "session_id": "s", "type": "rage_click"}, ev{"id": "4", "session_id": "s", "type": "rage_click"})
	waitFor(t, 5*time.Second, "the webhook", func() bool { return recv.count() == 1 })
	time.Sleep(200 * time.Millisecond)
	if got := firedOn(t, recv.received()); got["s"] != "3" || recv.count() != 1 {
		t.Fatalf("fired on %v (%d webhooks), want once on event 3", got, recv.count())
	}
}

func TestFilterAPI(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	rage3 := exampleFilter(t, "rage3")
	pagevisit := exampleFilter(t, "pagevisit")
	var f struct {
		Name, SHA256, ABI string
		Size              int
	}
	status, raw := srv.raw("PUT", "/v1/filters/rage3", "application/wasm", rage3)
	jsonUnmarshal(raw, &f)
	if status != 201 || f.Name != "rage3" || f.Size != len(rage3) || f.ABI != "hookwire_v1" || len(f.SHA256) != 64 {
		t.Fatalf("upload: %d %s", status, raw)
	}
	if status, _ := srv.raw("PUT", "/v1/filters/rage3", "application/wasm", rage3); status != 200 {
		t.Fatalf("replacing a module: %d, want 200", status)
	}
	var verdicts struct {
		Verdicts []struct {
			Match  bool
			Fault  string
			CallUS float64 `json:"call_us"`
		}
	}
	evs := []ev{{"session_id": "s", "type": "rage_click"}, {"session_id": "s", "type": "rage_click"}, {"session_id": "s", "type": "rage_click"}}
	if status := srv.call("POST", "/v1/filters/rage3/eval", map[string]any{"events": evs}, &verdicts); status != 200 ||
		len(verdicts.Verdicts) != 3 || verdicts.Verdicts[0].Match || verdicts.Verdicts[1].Match || !verdicts.Verdicts[2].Match {
		t.Fatalf("eval: %d %+v", status, verdicts)
	}
	for i, v := range verdicts.Verdicts {
		if v.CallUS <= 0 || v.CallUS > 10_000*10 {
			t.Errorf("verdict %d: call_us %v, want the call's time", i, v.CallUS)
		}
	}
	var sess struct{ Fired []any }
	if status := srv.call("GET", "/v1/sessions/s", nil, nil); status != 404 {
		t.Fatalf("eval persisted a session (%d)", status)
	}
	_ = sess
	// A bad event in a dry run is named from the body: events[i].…
	var bad apiError
	evs[1] = ev{"session_id": "s", "type": "rage_click", "user": ev{"nmae": "x"}}
	if status := srv.call("POST", "/v1/filters/rage3/eval", map[string]any{"events": evs}, &bad); status != 400 ||
		bad.Error.Path != "events[1].user.nmae" || !strings.Contains(bad.Error.Message, "events[1].user.nmae: unknown field") {
		t.Fatalf("eval with a bad event: %d %+v, want 400 at events[1].user.nmae", status, bad)
	}

	srv.putFilter("pagevisit", pagevisit)
	var e apiError
	// The refusal says what the filter logged: each example logs its reason.
	if status := srv.call("POST", "/v1/streams", filterStream("no config", recv.URL, "pagevisit", ev{}), &e); status != 400 ||
		!strings.Contains(e.Error.Message, "triggers[0].config") || !strings.Contains(e.Error.Message, `logged: config needs "type"`) {
		t.Fatalf("a config the filter refuses: %d %+v", status, e)
	}
	srv.putFilter("bigspender", exampleFilter(t, "bigspender"))
	if status := srv.call("POST", "/v1/streams", filterStream("no threshold", recv.URL, "bigspender", ev{"min_total": -1}), &e); status != 400 ||
		!strings.Contains(e.Error.Message, `logged: config refused: config needs {"min_total": <positive number>}`) {
		t.Fatalf("a config the Go example refuses: %d %+v", status, e)
	}
	if status := srv.call("DELETE", "/v1/filters/bigspender", nil, nil); status != 204 {
		t.Fatalf("delete bigspender: %d", status)
	}
	if status := srv.call("POST", "/v1/streams", filterStream("unknown", recv.URL, "nope", nil), &e); status != 400 ||
		!strings.Contains(e.Error.Message, "triggers[0].filter") {
		t.Fatalf("an unknown filter: %d %+v", status, e)
	}
	st := srv.createStream(filterStream("uses rage3", recv.URL, "rage3", nil))
	if status := srv.call("DELETE", "/v1/filters/rage3", nil, &e); status != 409 || e.Error.Code != "filter_in_use" ||
		!strings.Contains(e.Error.Message, st.ID) {
		t.Fatalf("deleting a filter in use: %d %+v", status, e)
	}
	if status := srv.call("DELETE", "/v1/filters/pagevisit", nil, nil); status != 204 {
		t.Fatalf("deleting an unused filter: %d", status)
	}
	var list struct{ Filters []struct{ Name string } }
	srv.call("GET", "/v1/filters", nil, &list)
	if len(list.Filters) != 1 || list.Filters[0].Name != "rage3" {
		t.Fatalf("filters = %+v", list.Filters)
	}
	if status, _ := srv.raw("PUT", "/v1/filters/x", "application/json", rage3); status != 415 {
		t.Fatalf("upload without application/wasm: %d", status)
	}
	if status, e := srv.putFilter("Bad Name", rage3); status != 400 || !strings.Contains(e.Error.Message, "filter name") {
		t.Fatalf("bad name: %d %+v", status, e)
	}
	huge := append(append([]byte{}, rage3...), make([]byte, 16<<20)...)
	if status, e := srv.putFilter("huge", huge); status != 400 || !strings.Contains(e.Error.Message, "16777216") {
		t.Fatalf("a module over 16 MiB: %d %+v", status, e)
	}
}

// TestSegmentFaultsAreCounted: a segment on a trapping module shows its
// faults on GET /v1/segments/{id} and in /metrics, as a stream's do
// (CONTRACT §5.6: every fault is counted), and its series goes with it.
func TestSegmentFaultsAreCounted(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	srv.putFilter("trap", hostileFilter(t, "trap"))
	var seg struct {
		ID     string       `json:"id"`
		Faults streamFaults `json:"faults"`
	}
	if status := srv.call("POST", "/v1/segments", map[string]any{"name": "Trapped", "creator": "ada",
		"triggers": []any{map[string]any{"filter": "trap"}}}, &seg); status != 201 {
		t.Fatalf("create segment: %d", status)
	}
	srv.sendEvents(ev{"session_id": "s1", "type": "click"}, ev{"session_id": "s2", "type": "click"})
	waitFor(t, 5*time.Second, "two faults on the segment", func() bool {
		srv.call("GET", "/v1/segments/"+seg.ID, nil, &seg)
		return seg.Faults.Count == 2
	})
	if !strings.Contains(seg.Faults.LastError, "unreachable") {
		t.Errorf("the segment's last fault: %+v", seg.Faults)
	}
	labels := map[string]string{"segment_id": seg.ID}
	if v := value(srv.scrape(), "hookwire_segment_faults_total", labels); v != 2 {
		t.Errorf("hookwire_segment_faults_total = %v, want 2", v)
	}
	if status := srv.call("DELETE", "/v1/segments/"+seg.ID, nil, nil); status != 204 {
		t.Fatalf("delete segment: %d", status)
	}
	if v := value(srv.scrape(), "hookwire_segment_faults_total", labels); v != -1 {
		t.Errorf("the deleted segment's faults are still exported: %v", v)
	}
}

// TestASessionsFilterStateIsBounded: six streams on a filter that keeps
// another 64 KiB of state at every event (and matches when refused): the
// session's 4 MiB across its streams is reached at the 11th event, before
// any stream's own 1 MiB (the 16th), restart or not (the session's count
// is the stored state's), and the session's record is written at every
// turn. Without the session's bound, 52 such streams made a
// record Badger would not take: the session's events were abandoned.
func TestASessionsFilterStateIsBounded(t *testing.T) {
	recv := newReceiver(t)
	dir := t.TempDir()
	srv := startServer(t, dir, nil)
	if status, e := srv.putFilter("hoard", hostileFilter(t, "hoard")); status != 201 {
		t.Fatalf("upload: %d %+v", status, e)
	}
	for i := range 6 {
		def := filterStream(fmt.Sprint("hoard", i), recv.URL, "hoard", nil)
		def["triggers"].([]any)[0].(map[string]any)["event"] = "click"
		srv.createStream(def)
	}
	for n := 1; n <= 11; n++ {
		srv.sendEvents(ev{"id": fmt.Sprint("e", n), "session_id": "s", "type": "click"})
		if n == 6 {
			srv.stop()
			srv = startServer(t, dir, nil)
		}
		if n == 10 {
			time.Sleep(100 * time.Millisecond)
			if c := recv.count(); c != 0 {
				t.Fatalf("%d webhooks after 10 events (3.75 MiB kept): a state_set was refused too early", c)
			}
		}
	}
	waitFor(t, 5*time.Second, "a refused state_set at the 11th event", func() bool { return recv.count() > 0 })
	for _, h := range recv.received() {
		if fired := firedOn(t, []hook{h}); fired["s"] != "e11" {
			t.Fatalf("fired on %v, want e11", fired)
		}
	}
	var sess struct{ Events int }
	waitFor(t, 5*time.Second, "the session's record", func() bool {
		srv.call("GET", "/v1/sessions/s", nil, &sess)
		return sess.Events == 11
	})
	if v := value(srv.scrape(), "hookwire_events_abandoned_total", nil); v != 0 {
		t.Fatalf("%v events abandoned", v)
	}
}

// TestReplacingAFilterSwitchesItsStreams: a stream on a trapping module
// records faults; after the module is replaced, later events use the new
// one.
func TestReplacingAFilterSwitchesItsStreams(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	srv.putFilter("swap", hostileFilter(t, "trap"))
	st := srv.createStream(filterStream("swapped", recv.URL, "swap", nil))
	srv.sendEvents(ev{"session_id": "s", "type": "rage_click"})
	var faults streamFaults
	waitFor(t, 5*time.Second, "a fault", func() bool {
		faults = srv.faults(st.ID)
		return faults.Count == 1
	})
	if !strings.Contains(faults.LastError, "unreachable") {
		t.Fatalf("fault = %+v", faults)
	}
	if status, _ := srv.putFilter("swap", exampleFilter(t, "rage3")); status != 200 {
		t.Fatalf("replace: %d", status)
	}
	srv.sendEvents(ev{"id": "t1", "session_id": "t", "type": "rage_click"}, ev{"id": "t2", "session_id": "t", "type": "rage_click"},
		ev{"id": "t3", "session_id": "t", "type": "rage_click"})
	waitFor(t, 5*time.Second, "the new module to fire", func() bool { return recv.count() == 1 })
	if fired := firedOn(t, recv.received()); fired["t"] != "t3" {
		t.Fatalf("fired on %v", fired)
	}
}

// TestHostileModules: each hostile module is refused at upload or contained
// at run time (a loop, memory growth, a trap, an hour-long WASI sleep);
// while the contained ones run on the same sessions, a
// declarative stream delivers every webhook, and memory stays bounded.
func TestHostileModules(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxStreams = 20 })
	refused := []struct {
		name     string
		module   []byte
		mentions string
	}{
		{"garbage", []byte("MZ\x90\x00 this is an executable, not wasm"), "not a WebAssembly module"},
		{"truncated", hostileFilter(t, "loop")[:30], "does not compile"},
		{"missing", hostileFilter(t, "missing"), "missing export hw_match"},
		{"hugememory", hostileFilter(t, "hugememory"), "over limit of 1024 pages"},
		{"badimport", hostileFilter(t, "badimport"), "unknown import env.fetch"},
		{"startloop", hostileFilter(t, "startloop"), "does not start"},
		// 17 bytes declaring billions of imports: once enough to make the
		// runtime allocate gigabytes (found by FuzzCompileModule).
		{"importbomb", []byte("\x00asm\x01\x00\x00\x00\x02\xe8d\x97\xb0\xe2\xff\x00("), "claims 12904 bytes"},
	}
	for _, r := range refused {
		status, e := srv.putFilter(r.name, r.module)
		if status != 400 || e.Error.Code != "invalid_filter" || !strings.Contains(e.Error.Message, r.mentions) {
			t.Fatalf("%s: %d %+v, want 400 mentioning %q", r.name, status, e, r.mentions)
		}
	}
	var list struct{ Filters []any }
	srv.call("GET", "/v1/filters", nil, &list)
	if len(list.Filters) != 0 {
		t.Fatalf("refused uploads left %d filters", len(list.Filters))
	}

	contained := map[string][]byte{"loop": hostileFilter(t, "loop"), "grow": hostileFilter(t, "grow"),
		"trap": hostileFilter(t, "trap"), "sleep": hostileFilter(t, "sleep"), "databomb": dataBomb(),
		"badverdict": hostileFilter(t, "badverdict")}
	ids := map[string]string{}
	for name, module := range contained {
		if status, e := srv.putFilter(name, module); status != 201 {
			t.Fatalf("%s upload: %d %+v", name, status, e)
		}
		ids[name] = srv.createStream(filterStream("hostile "+name, recv.URL, name, nil)).ID
	}
	good := newReceiver(t)
	def := checkoutFriction(good.URL)
	def["triggers"] = []any{ev{"event": "click"}}
	srv.createStream(def)
	var dry struct {
		Verdicts []struct {
			Match   bool
			Verdict int32
			Fault   string
		}
	}
	srv.call("POST", "/v1/filters/badverdict/eval", ev{"events": []any{ev{"session_id": "s", "type": "click"}}}, &dry)
	if len(dry.Verdicts) != 1 || dry.Verdicts[0].Match || dry.Verdicts[0].Verdict != 2 ||
		!strings.Contains(dry.Verdicts[0].Fault, "does not define") {
		t.Fatalf("dry run of a verdict of 2: %+v, want a fault and no match", dry.Verdicts)
	}

	before := rssBytes(t)
	const sessions = 60
	for s := range sessions {
		srv.sendEvents(ev{"session_id": fmt.Sprintf("s-%d", s), "type": "rage_click"},
			ev{"session_id": fmt.Sprintf("s-%d", s), "type": "click"})
	}
	waitFor(t, 60*time.Second, "every declarative webhook", func() bool { return good.count() == sessions })
	for name, id := range ids {
		if count := srv.faults(id).Count; name != "databomb" && count < sessions {
			t.Fatalf("%s: %d faults for %d sessions × 2 events", name, count, sessions)
		}
	}
	if recv.count() != 0 {
		t.Fatalf("hostile streams delivered %d webhooks", recv.count())
	}
	growth := rssBytes(t) - before
	t.Logf("resident memory grew by %d MiB while the hostile modules ran", growth>>20)
	if growth > 512<<20 {
		t.Fatalf("resident memory grew by %d MiB", growth>>20)
	}
}

// dataBomb is a module with a 1 MiB data segment (built here, from this
// source, with the project's own encoder) whose hw_match answers no.
func dataBomb() []byte {
	i32 := wasmenc.I32
	m := &wasmenc.Module{
		Types: []wasmenc.FuncType{{Params: []wasmenc.ValType{i32}, Results: []wasmenc.ValType{i32}},
			{Params: []wasmenc.ValType{i32, i32}, Results: []wasmenc.ValType{i32}}},
		Funcs: []wasmenc.Func{{Type: 0, Body: (&wasmenc.Code{}).I32(1 << 20)},
			{Type: 1, Body: (&wasmenc.Code{}).I32(0)}},
		MemoryMinPage: 32,
		Exports: []wasmenc.Export{{Name: "memory", Kind: wasmenc.ExportMemory},
			{Name: "hw_alloc", Kind: wasmenc.ExportFunc, Index: 0}, {Name: "hw_match", Kind: wasmenc.ExportFunc, Index: 1}},
		Data: []wasmenc.Data{{Offset: 0, Bytes: make([]byte, 1<<20)}},
	}
	return m.Encode()
}

func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	var size, resident int64
	fmt.Sscan(string(b), &size, &resident)
	return resident * int64(os.Getpagesize())
}

// TestGoFilterLongRun: a Go guest that allocates on every call keeps its
// heap bounded over more than a million calls (with wazero's fake clock its
// GC stops finishing after about a million and memory grows without end).
func TestGoFilterLongRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "goalloc.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	build.Dir = filepath.Join("testdata", "goalloc")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the Go guest: %v\n%s", err, b)
	}
	module, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{CallTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Compile(ctx, module)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := mod.Instantiate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)
	event := []byte(`{"session_id":"s","type":"click","timestamp":"2026-11-27T12:00:00.000Z","properties":{"target_text":"Add to cart","price":1.5}}`)
	const calls = 1_200_000
	var early uint32
	start := time.Now()
	for i := range calls {
		if v, err := inst.Match(event, nil); err != nil || v != 0 {
			t.Fatalf("call %d: verdict %d, %v (memory %d MiB)", i, v, err, inst.MemoryBytes()>>20)
		}
		if i == 200_000 {
			early = inst.MemoryBytes()
		}
	}
	late := inst.MemoryBytes()
	t.Logf("%d calls in %s; guest memory %d MiB after 200k calls, %d MiB after %d",
		calls, time.Since(start).Round(time.Millisecond), early>>20, late>>20, calls)
	if late > 2*early {
		t.Fatalf("guest memory grew from %d to %d MiB: its GC is not keeping up", early>>20, late>>20)
	}
}

// TestScopedFilterTriggerSeesOneType: a filter trigger with "event" is
// called only for events of that type. rage3 fires on a session's third
// rage_click; scoped to rage_click it does, scoped to click it never sees
// one, so it never fires.
func TestScopedFilterTriggerSeesOneType(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	if status, e := srv.putFilter("rage3", exampleFilter(t, "rage3")); status != 201 {
		t.Fatalf("upload: %d %+v", status, e)
	}
	scoped := func(name, event string) map[string]any {
		s := filterStream(name, recv.URL, "rage3", nil)
		s["triggers"].([]any)[0].(map[string]any)["event"] = event
		return s
	}
	sees := srv.createStream(scoped("sees rage clicks", "rage_click"))
	blind := srv.createStream(scoped("sees clicks only", "click"))
	var events []ev
	for i := range 4 {
		events = append(events, ev{"id": fmt.Sprint("r", i), "session_id": "s", "type": "rage_click"},
			ev{"id": fmt.Sprint("c", i), "session_id": "s", "type": "click"})
	}
	srv.sendEvents(events...)
	waitFor(t, 10*time.Second, "the webhook", func() bool { return recv.count() >= 1 })
	var sess struct{ Events int }
	waitFor(t, 5*time.Second, "every event evaluated", func() bool {
		srv.call("GET", "/v1/sessions/s", nil, &sess)
		return sess.Events == len(events)
	})
	time.Sleep(300 * time.Millisecond)
	hooks := recv.received()
	if len(hooks) != 1 || firedOn(t, hooks)["s"] != "r2" || !strings.Contains(string(hooks[0].body), sees.ID) ||
		strings.Contains(string(hooks[0].body), blind.ID) {
		t.Fatalf("%d webhooks, fired on %v: want one, from the rage_click-scoped stream, on r2", len(hooks), firedOn(t, hooks))
	}
	var bad struct{ Error struct{ Message string } }
	bogus := scoped("bad scope", "Rage Click")
	if status := srv.call("POST", "/v1/streams", bogus, &bad); status != 400 || !strings.Contains(bad.Error.Message, "not an event type") {
		t.Fatalf("a bad event on a filter trigger: %d %+v", status, bad)
	}
}

// TestQuarantinedFilters: a stream whose filter traps on every event
// stops calling it after 100 faults in a row, counting the rest as
// faults too, and the stream's other trigger and other streams fire as
// before; a dry run of the filter stops calling it at the same point.
func TestQuarantinedFilters(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	if status, e := srv.putFilter("trap", hostileFilter(t, "trap")); status != 201 {
		t.Fatalf("trap upload: %d %+v", status, e)
	}
	def := filterStream("traps", recv.URL, "trap", nil)
	def["triggers"] = append(def["triggers"].([]any), ev{"event": "rage_click"})
	st := srv.createStream(def)
	const sessions = 150
	for s := range sessions {
		srv.sendEvents(ev{"session_id": fmt.Sprintf("q-%d", s), "type": "click"})
	}
	srv.sendEvents(ev{"session_id": "q-rage", "type": "rage_click"})
	waitFor(t, 10*time.Second, "the rage click's webhook", func() bool { return recv.count() == 1 })
	var faults streamFaults
	waitFor(t, 10*time.Second, "a fault for every event", func() bool {
		faults = srv.faults(st.ID)
		return faults.Count == sessions // the rage click matched first
	})
	if !strings.Contains(faults.LastError, "quarantined after") {
		t.Fatalf("the last fault: %q, want the quarantine's", faults.LastError)
	}

	evs := make([]ev, 150)
	for i := range evs {
		evs[i] = ev{"session_id": "dry", "type": "click"}
	}
	var verdicts struct {
		Verdicts []struct {
			Fault  string
			CallUS *float64 `json:"call_us"`
		}
	}
	if status := srv.call("POST", "/v1/filters/trap/eval", map[string]any{"events": evs}, &verdicts); status != 200 || len(verdicts.Verdicts) != 150 {
		t.Fatalf("eval: %d, %d verdicts", status, len(verdicts.Verdicts))
	}
	for i, v := range verdicts.Verdicts {
		if quarantined := strings.Contains(v.Fault, "quarantined"); v.Fault == "" || quarantined != (i >= 100) {
			t.Fatalf("verdict %d: fault %q; want a trap for the first 100, the quarantine after", i, v.Fault)
		}
		// A call that trapped took time; one not made has none.
		if called := v.CallUS != nil; called != (i < 100) {
			t.Fatalf("verdict %d: call_us %v; want it for the calls made, not for those the quarantine skipped", i, v.CallUS)
		}
	}
}

// TestAStoredFilterThatDoesNotLoadHarmsOnlyItsStreams: a stored module
// that no longer compiles (a damaged store, or one this version refuses)
// does not keep hookwire from starting. The filter says why it did not
// load, the streams using it count a fault per event, every other stream
// fires as before, nothing new may use it, and uploading it again mends
// its streams.
func TestAStoredFilterThatDoesNotLoadHarmsOnlyItsStreams(t *testing.T) {
	dir := t.TempDir()
	recv := newReceiver(t)
	srv := startServer(t, dir, nil)
	rage3 := exampleFilter(t, "rage3")
	srv.putFilter("rage3", rage3)
	filtered := srv.createStream(filterStream("third rage", recv.URL, "rage3", nil))
	srv.createStream(checkoutFriction(recv.URL))
	srv.stop()

	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutFilter(&model.Filter{Name: "rage3", ABI: "hookwire_v1"}, []byte("\x00asm\x01\x00\x00\x00damaged")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	srv = startServer(t, dir, nil)
	var list struct{ Filters []model.Filter }
	srv.call("GET", "/v1/filters", nil, &list)
	if len(list.Filters) != 1 || !strings.Contains(list.Filters[0].LoadError, "does not load") {
		t.Fatalf("filters after the start: %+v, want rage3 saying it did not load", list.Filters)
	}
	srv.sendEvents(ev{"session_id": "s", "type": "rage_click", "url": "/cart"})
	waitFor(t, 5*time.Second, "the other stream's webhook", func() bool { return recv.count() == 1 })
	waitFor(t, 5*time.Second, "the filter's fault", func() bool { return srv.faults(filtered.ID).Count == 1 })
	if f := srv.faults(filtered.ID); !strings.Contains(f.LastError, "does not load") {
		t.Fatalf("fault = %+v, want why the filter did not load", f)
	}
	if status, body := srv.raw("POST", "/v1/streams", "application/json", filterStream("new", recv.URL, "rage3", nil)); status != 400 ||
		!strings.Contains(string(body), "does not load") {
		t.Fatalf("a new stream on the filter: %d %s, want 400 saying it did not load", status, body)
	}
	if status, body := srv.raw("POST", "/v1/filters/rage3/eval", "application/json", `{"events":[{"session_id":"e","type":"rage_click"}]}`); status != 400 ||
		!strings.Contains(string(body), "does not load") {
		t.Fatalf("a dry run of the filter: %d %s, want 400 saying it did not load", status, body)
	}

	if status, e := srv.putFilter("rage3", rage3); status != 200 {
		t.Fatalf("uploading it again: %d %+v", status, e)
	}
	srv.sendEvents(ev{"id": "1", "session_id": "t", "type": "rage_click"}, ev{"id": "2", "session_id": "t", "type": "rage_click"},
		ev{"id": "3", "session_id": "t", "type": "rage_click"})
	waitFor(t, 5*time.Second, "the mended stream's webhook", func() bool { return recv.count() == 2 })
	if fired := firedOn(t, recv.received()[1:]); fired["t"] != "3" {
		t.Fatalf("fired on %v, want t's third rage click", fired)
	}
	list.Filters = nil // decoding into the old elements would keep what the answer leaves out
	srv.call("GET", "/v1/filters", nil, &list)
	if len(list.Filters) != 1 || list.Filters[0].LoadError != "" {
		t.Fatalf("the filter still says %q after its upload", list.Filters[0].LoadError)
	}
}

// TestDryRunHasABudget: a dry run stops calling the filter once it has
// spent its budget, and says so for each event left, rather than hold a
// core for as long as its events times the call budget.
func TestDryRunHasABudget(t *testing.T) {
	defer func(b time.Duration) { streams.EvalBudget = b }(streams.EvalBudget)
	streams.EvalBudget = 300 * time.Millisecond
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.FilterTimeout = 20 * time.Millisecond })
	if status, e := srv.putFilter("sleep", hostileFilter(t, "sleep")); status != 201 {
		t.Fatalf("upload: %d %+v", status, e)
	}
	events := make([]ev, 200)
	for i := range events {
		events[i] = ev{"session_id": "dry", "type": "click"}
	}
	var res struct {
		Verdicts []struct {
			Fault string `json:"fault"`
		} `json:"verdicts"`
	}
	if status := srv.call("POST", "/v1/filters/sleep/eval", map[string]any{"events": events}, &res); status != 200 || len(res.Verdicts) != 200 {
		t.Fatalf("eval: %d, %d verdicts", status, len(res.Verdicts))
	}
	called := 0
	for _, v := range res.Verdicts {
		if !strings.Contains(v.Fault, "the dry run spent its 300ms budget") {
			called++
		}
	}
	last := res.Verdicts[len(res.Verdicts)-1].Fault
	if called == 0 || called > 100 || !strings.Contains(last, "not called") {
		t.Fatalf("%d of 200 events called, the last: %q; want the budget to stop the calls well before the end", called, last)
	}
}

// TestUploadedFiltersShareAMemoryBudget: each instance of a filter that
// fills its 4 MiB is within the cap, but instances of many of them took
// gigabytes (60 segments on one: 6 GiB resident). With a budget the
// instances past it fail as faults of their own streams, the memory held
// stays under it, and a declarative stream fires for every session.
func TestUploadedFiltersShareAMemoryBudget(t *testing.T) {
	recv, plain := newReceiver(t), newReceiver(t)
	const budget = 10 << 20
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.FilterMemoryBytes, c.FilterMemoryTotal = 8<<20, budget
	})
	if status, e := srv.putFilter("fat", hostileFilter(t, "fat")); status != 201 {
		t.Fatalf("upload: %d %+v", status, e)
	}
	var fat []string
	for i := range 4 { // 16 MiB of instances at least, one per stream
		fat = append(fat, srv.createStream(filterStream(fmt.Sprint("fat ", i), recv.URL, "fat", map[string]int{"n": i})).ID)
	}
	srv.createStream(map[string]any{"name": "every click", "triggers": []any{map[string]any{"event": "click"}},
		"destination": map[string]any{"url": plain.URL, "secret": testSecret}})
	const sessions = 50
	for i := range sessions {
		srv.sendEvents(map[string]any{"session_id": fmt.Sprint("s", i), "type": "click"})
	}
	waitFor(t, 10*time.Second, "a webhook per session from the declarative stream", func() bool { return plain.count() == sessions })
	faulted := 0
	for _, id := range fat {
		f := srv.faults(id)
		if f.Count > 0 {
			faulted++
			if !strings.Contains(f.LastError, "memory budget") {
				t.Errorf("stream %s: fault %q does not name the memory budget", id, f.LastError)
			}
		}
	}
	if faulted == 0 {
		t.Fatalf("no stream of the four on a 4 MiB filter faulted under a 10 MiB budget")
	}
	_, body := srv.raw("GET", "/metrics", "", nil)
	var held float64
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "hookwire_filter_memory_bytes "); ok {
			fmt.Sscan(v, &held)
		}
	}
	if held <= 0 || held > budget {
		t.Fatalf("filters hold %.0f bytes, want some and at most the %d budget", held, budget)
	}
}
