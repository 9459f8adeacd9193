package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookwire/hookwire/engine"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/system"
)

func byEventName(t *testing.T, hooks []hook) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, h := range hooks {
		p := h.payload(t)
		name, _ := p["eventName"].(string)
		if p["version"] != float64(1) {
			t.Fatalf("system webhook without version 1: %v", p)
		}
		out[name] = append(out[name], p["data"].(map[string]any))
	}
	return out
}

// TestSystemWebhooks: an endpoint subscribed to all three types receives
// one segment.created, one note.created, and one segment.trend.alert when a
// segment with threshold 3 ABOVE sees its 4th distinct user, and another
// only after the value drops below and rises again.
func TestSystemWebhooks(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.AlertInterval = 50 * time.Millisecond })
	var ep struct{ ID string }
	if status := srv.call("POST", "/v1/system-webhooks", map[string]any{"url": recv.URL, "secret": testSecret,
		"event_types": []string{"segment.created", "note.created", "segment.trend.alert"}}, &ep); status != 201 {
		t.Fatalf("create system webhook: %d", status)
	}
	var seg struct{ ID, URL string }
	if status := srv.call("POST", "/v1/segments", map[string]any{"name": "Rage on cart", "creator": "ada@example.com",
		"triggers": []any{map[string]any{"event": "rage_click", "where": []any{map[string]any{"field": "url", "op": "contains", "value": "/cart"}}}},
	}, &seg); status != 201 {
		t.Fatalf("create segment: %d", status)
	}
	if status := srv.call("POST", "/v1/segments/"+seg.ID+"/alerts", map[string]any{"description": "cart rage spike",
		"threshold": 3, "direction": "ABOVE", "window": "1500ms"}, nil); status != 201 {
		t.Fatalf("create alert: %d", status)
	}
	if status := srv.call("POST", "/v1/notes", map[string]any{"session_id": "s-1", "author": "bob", "text": "look at this"}, nil); status != 201 {
		t.Fatalf("create note: %d", status)
	}
	users := func(from, to int) {
		for u := from; u <= to; u++ {
			srv.sendEvents(map[string]any{"session_id": fmt.Sprintf("s-%d", u), "type": "rage_click", "url": "/cart",
				"user": map[string]any{"uid": fmt.Sprintf("u-%d", u)}},
				// the same user again in another session: still one user
				map[string]any{"session_id": fmt.Sprintf("again-%d", u), "type": "rage_click", "url": "/cart",
					"user": map[string]any{"uid": fmt.Sprintf("u-%d", u)}})
		}
	}
	users(1, 3)
	waitFor(t, 5*time.Second, "segment.created and note.created", func() bool { return recv.count() == 2 })
	time.Sleep(300 * time.Millisecond)
	if n := len(byEventName(t, recv.received())["segment.trend.alert"]); n != 0 {
		t.Fatalf("%d alerts at 3 distinct users with threshold 3 ABOVE", n)
	}
	users(4, 4)
	waitFor(t, 5*time.Second, "the first alert", func() bool { return recv.count() == 3 })

	var got struct {
		Alerts []struct{ Armed bool } `json:"alerts"`
	}
	waitFor(t, 10*time.Second, "the value to drop and the alert to re-arm", func() bool {
		srv.call("GET", "/v1/segments/"+seg.ID, nil, &got)
		return len(got.Alerts) == 1 && got.Alerts[0].Armed
	})
	if recv.count() != 3 {
		t.Fatalf("%d webhooks after the drop, want still 3", recv.count())
	}
	users(5, 8)
	waitFor(t, 5*time.Second, "the second alert", func() bool { return recv.count() == 4 })
	time.Sleep(300 * time.Millisecond)

	verifier, _ := standardwebhooks.NewWebhook(testSecret)
	for _, h := range recv.received() {
		if err := verifier.Verify(h.body, h.header); err != nil {
			t.Fatalf("system webhook signature: %v", err)
		}
		verifyFullstory(t, h, testSecret, "hookwire")
	}
	events := byEventName(t, recv.received())
	if len(events["segment.created"]) != 1 || len(events["note.created"]) != 1 || len(events["segment.trend.alert"]) != 2 {
		t.Fatalf("received %v", events)
	}
	sc := events["segment.created"][0]
	if sc["id"] != seg.ID || sc["name"] != "Rage on cart" || sc["creator"] != "ada@example.com" ||
		!strings.HasSuffix(sc["url"].(string), "/v1/segments/"+seg.ID) || sc["created"] == nil {
		t.Fatalf("segment.created data = %v", sc)
	}
	nc := events["note.created"][0]
	if nc["author"] != "bob" || nc["text"] != "look at this" || !strings.HasSuffix(nc["sessionUrl"].(string), "/v1/sessions/s-1") ||
		nc["id"] == nil || nc["created"] == nil || nc["notedTime"] == nil {
		t.Fatalf("note.created data = %v", nc)
	}
	for i, al := range events["segment.trend.alert"] {
		cfg := al["alertConfig"].(map[string]any)
		// The first crossing is the 4th user alone; the second comes from
		// under 3 with four new users, of which a loaded machine may
		// commit two before the alerts are evaluated.
		value, _ := al["value"].(float64)
		if (i == 0 && value != 4) || value <= 3 || cfg["threshold"] != float64(3) || cfg["direction"] != "ABOVE" ||
			cfg["duration"] != "1500ms" || cfg["segmentName"] != "Rage on cart" || cfg["description"] != "cart rage spike" {
			t.Fatalf("segment.trend.alert data = %v", al)
		}
	}
	// The test message.
	var res struct{ OK bool }
	if status := srv.call("POST", "/v1/system-webhooks/"+ep.ID+"/test", nil, &res); status != 200 || !res.OK {
		t.Fatalf("test: %d %+v", status, res)
	}
	if last := byEventName(t, recv.received()[4:]); len(last["test"]) != 1 {
		t.Fatalf("test message: %v", last)
	}
}

// TestSegmentStateSurvivesRestart: segment matches and alert state are
// kept across a restart.
func TestSegmentStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	recv := newReceiver(t)
	fast := func(c *engine.Config) { c.AlertInterval = 50 * time.Millisecond }
	srv := startServer(t, dir, fast)
	srv.call("POST", "/v1/system-webhooks", map[string]any{"url": recv.URL, "event_types": []string{"segment.trend.alert"}}, nil)
	var seg struct{ ID string }
	srv.call("POST", "/v1/segments", map[string]any{"name": "Clickers", "creator": "ada",
		"triggers": []any{map[string]any{"event": "click"}}}, &seg)
	srv.call("POST", "/v1/segments/"+seg.ID+"/alerts", map[string]any{"threshold": 1, "direction": "ABOVE", "window": "1h"}, nil)
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "click", "user": map[string]any{"uid": "u-1"}})
	var got struct {
		Alerts []struct{ Value int } `json:"alerts"`
	}
	waitFor(t, 5*time.Second, "the first member", func() bool {
		srv.call("GET", "/v1/segments/"+seg.ID, nil, &got)
		return len(got.Alerts) == 1 && got.Alerts[0].Value == 1
	})
	srv.stop()
	srv = startServer(t, dir, fast)
	srv.sendEvents(map[string]any{"session_id": "s-2", "type": "click", "user": map[string]any{"uid": "u-2"}})
	waitFor(t, 5*time.Second, "the alert on the second user", func() bool { return recv.count() == 1 })
	if al := byEventName(t, recv.received())["segment.trend.alert"]; len(al) != 1 || al[0]["value"] != float64(2) {
		t.Fatalf("alerts = %v", al)
	}
}

func TestSystemInputsAreValidated(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	var seg struct{ ID string }
	srv.call("POST", "/v1/segments", map[string]any{"name": "S", "creator": "a", "triggers": []any{map[string]any{"event": "click"}}}, &seg)
	tests := []struct {
		path     string
		body     any
		status   int
		mentions string
	}{
		{"/v1/system-webhooks", map[string]any{"url": recv.URL, "event_types": []string{"segment.deleted"}}, 400, "event_types[0]"},
		{"/v1/system-webhooks", map[string]any{"url": recv.URL}, 400, "event_types"},
		{"/v1/system-webhooks", map[string]any{"url": "ftp://x", "event_types": []string{"note.created"}}, 400, "url"},
		{"/v1/segments", map[string]any{"name": "S", "creator": "b", "triggers": []any{map[string]any{"event": "click"}}}, 409, "already named"},
		{"/v1/segments", map[string]any{"name": "T", "triggers": []any{map[string]any{"event": "click"}}}, 400, "creator"},
		{"/v1/segments", map[string]any{"name": "T", "creator": "a", "triggers": []any{map[string]any{"filter": "x"}}}, 400, "triggers[0].filter"},
		{"/v1/segments/" + seg.ID + "/alerts", map[string]any{"threshold": 3, "direction": "SIDEWAYS", "window": "1h"}, 400, "direction"},
		{"/v1/segments/" + seg.ID + "/alerts", map[string]any{"direction": "ABOVE", "window": "1h"}, 400, "threshold"},
		{"/v1/segments/" + seg.ID + "/alerts", map[string]any{"threshold": 3, "direction": "ABOVE", "window": "forever"}, 400, "window"},
		{"/v1/segments/seg_nope/alerts", map[string]any{"threshold": 3, "direction": "ABOVE", "window": "1h"}, 404, "seg_nope"},
		{"/v1/notes", map[string]any{"session_id": "s", "author": "a"}, 400, "text"},
		{"/v1/notes", map[string]any{"session_id": "s", "author": "a", "text": "t", "colour": "red"}, 400, "colour"},
		{"/v1/notes", map[string]any{"session_id": "s\n1", "author": "a", "text": "t"}, 400, "session_id: must not contain control characters"},
		{"/v1/notes", map[string]any{"session_id": strings.Repeat("s", 257), "author": "a", "text": "t"}, 400, "session_id: at most 256 characters"},
		{"/v1/notes", `{"session_id": "s", "author": "a", "text": "t"} {}`, 400, "unexpected data after the JSON object"},
		{"/v1/segments", map[string]any{"creator": "a", "triggers": []any{map[string]any{"event": "click"}}}, 400, "the segment's name"},
		{"/v1/segments", map[string]any{"name": "T", "creator": "a\tb", "triggers": []any{map[string]any{"event": "click"}}}, 400, "creator"},
		{"/v1/system-webhooks", `null`, 400, "must be a JSON object, got JSON null"},
		{"/v1/system-webhooks", map[string]any{"url": "http://127.0.0.1:70000/in", "event_types": []string{"note.created"}}, 400, "url: port 70000"},
		{"/v1/keys", `{"name": "k", "role": "ingest"} trailing`, 400, "unexpected data after the JSON object"},
	}
	for _, tc := range tests {
		status, raw := srv.raw("POST", tc.path, "application/json", tc.body)
		if status != tc.status || !strings.Contains(string(raw), tc.mentions) {
			t.Errorf("POST %s %v: %d %s, want %d mentioning %q", tc.path, tc.body, status, raw, tc.status, tc.mentions)
		}
	}
	var list struct {
		SystemWebhooks []any `json:"system_webhooks"`
	}
	srv.call("GET", "/v1/system-webhooks", nil, &list)
	if len(list.SystemWebhooks) != 0 {
		t.Fatalf("refused requests created %d endpoints", len(list.SystemWebhooks))
	}
	var keys struct{ Keys []any }
	srv.call("GET", "/v1/keys", nil, &keys)
	var segments struct{ Segments []any }
	srv.call("GET", "/v1/segments", nil, &segments)
	if len(keys.Keys) != 0 || len(segments.Segments) != 1 {
		t.Fatalf("refused requests left %d keys and %d segments, want 0 and 1", len(keys.Keys), len(segments.Segments))
	}
}

// TestSegmentWithAFilterTrigger: a segment's triggers are a stream's, so a
// filter trigger works there too (rage3 matches a session's third
// rage_click, counting in the session's state): its users count towards
// the segment's alerts, a session short of three does not, and the filter
// cannot be deleted while the segment uses it, but can be replaced.
func TestSegmentWithAFilterTrigger(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.AlertInterval = 50 * time.Millisecond })
	srv.putFilter("rage3", exampleFilter(t, "rage3"))
	if status := srv.call("POST", "/v1/system-webhooks", map[string]any{"url": recv.URL, "secret": testSecret,
		"event_types": []string{"segment.trend.alert"}}, nil); status != 201 {
		t.Fatalf("create system webhook: %d", status)
	}
	var seg struct{ ID string }
	if status := srv.call("POST", "/v1/segments", map[string]any{"name": "Third rage", "creator": "ada@example.com",
		"triggers": []any{map[string]any{"filter": "rage3"}}}, &seg); status != 201 {
		t.Fatalf("create segment with a filter trigger: %d", status)
	}
	if status := srv.call("POST", "/v1/segments/"+seg.ID+"/alerts", map[string]any{"description": "two raging users",
		"threshold": 1, "direction": "ABOVE", "window": "1h"}, nil); status != 201 {
		t.Fatalf("create alert: %d", status)
	}
	rage := func(user string, clicks int) {
		for range clicks {
			srv.sendEvents(map[string]any{"session_id": "s-" + user, "type": "rage_click", "url": "/cart",
				"user": map[string]any{"uid": user}})
		}
	}
	rage("u-1", 3)
	rage("u-2", 2) // short of three: not in the segment
	time.Sleep(300 * time.Millisecond)
	if n := recv.count(); n != 0 {
		t.Fatalf("%d alerts with one user in the segment, threshold 1 ABOVE", n)
	}
	rage("u-3", 4)
	waitFor(t, 5*time.Second, "the alert", func() bool { return recv.count() == 1 })
	if alert := byEventName(t, recv.received())["segment.trend.alert"]; len(alert) != 1 || alert[0]["value"] != float64(2) {
		t.Fatalf("alerts %v, want one with value 2 (u-1 and u-3)", alert)
	}
	if code, body := srv.raw("DELETE", "/v1/filters/rage3", "", nil); code != 409 || !strings.Contains(string(body), seg.ID) {
		t.Fatalf("deleting a filter a segment uses: %d %s, want 409 naming the segment", code, body)
	}
	if code, _ := srv.raw("PUT", "/v1/filters/rage3", "application/wasm", exampleFilter(t, "rage3")); code != 200 {
		t.Fatalf("replacing a filter a segment uses: %d, want 200", code)
	}
}

// TestNoteSessionURLReachesTheSession: a note.created's sessionUrl leads
// to the session, whatever its id holds (a slash, a space, '%').
func TestNoteSessionURLReachesTheSession(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	if status := srv.call("POST", "/v1/system-webhooks", map[string]any{"url": recv.URL, "secret": testSecret,
		"event_types": []string{"note.created"}}, nil); status != 201 {
		t.Fatalf("create system webhook: %d", status)
	}
	const id = "web/42 50%"
	srv.sendEvents(map[string]any{"session_id": id, "type": "click"})
	if status := srv.call("POST", "/v1/notes", map[string]any{"session_id": id, "author": "bob", "text": "look"}, nil); status != 201 {
		t.Fatalf("create note: %d", status)
	}
	waitFor(t, 5*time.Second, "note.created", func() bool { return recv.count() == 1 })
	sessionURL := byEventName(t, recv.received())["note.created"][0]["sessionUrl"].(string)
	var sess struct{ ID string }
	waitFor(t, 5*time.Second, "the session at "+sessionURL, func() bool {
		return srv.call("GET", strings.TrimPrefix(sessionURL, srv.base), nil, &sess) == 200
	})
	if sess.ID != id {
		t.Fatalf("%s leads to session %q, want %q", sessionURL, sess.ID, id)
	}
}

// TestSystemWebhooksAndAlertsAreBounded: every system event is a message
// to each system webhook, and every alert is evaluated each second, so
// both are bounded; a refusal adds nothing and says so, and a delete
// makes room.
func TestSystemWebhooksAndAlertsAreBounded(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	var first struct{ ID string }
	for i := range system.MaxEndpoints {
		hook := map[string]any{"url": fmt.Sprintf("%s/%d", recv.URL, i), "event_types": []string{"note.created"}}
		if status := srv.call("POST", "/v1/system-webhooks", hook, &first); status != 201 {
			t.Fatalf("system webhook %d: %d", i, status)
		}
	}
	var e apiError
	over := map[string]any{"url": recv.URL + "/over", "event_types": []string{"note.created"}}
	if status := srv.call("POST", "/v1/system-webhooks", over, &e); status != 409 || e.Error.Code != "limit_reached" {
		t.Fatalf("system webhook %d: %d %+v, want 409 limit_reached", system.MaxEndpoints+1, status, e.Error)
	}
	var hooks struct {
		Webhooks []any `json:"system_webhooks"`
	}
	srv.call("GET", "/v1/system-webhooks", nil, &hooks)
	if len(hooks.Webhooks) != system.MaxEndpoints {
		t.Fatalf("%d system webhooks after a refused create, want %d", len(hooks.Webhooks), system.MaxEndpoints)
	}
	srv.call("DELETE", "/v1/system-webhooks/"+first.ID, nil, nil)
	if status := srv.call("POST", "/v1/system-webhooks", over, nil); status != 201 {
		t.Fatalf("a system webhook after one was deleted: %d", status)
	}

	var seg struct{ ID string }
	srv.call("POST", "/v1/segments", map[string]any{"name": "clicks", "creator": "ada",
		"triggers": []any{map[string]any{"event": "click"}}}, &seg)
	alert := map[string]any{"description": "many", "threshold": 10, "direction": "ABOVE", "window": "1h"}
	for i := range system.MaxAlertsPerSegment {
		if status := srv.call("POST", "/v1/segments/"+seg.ID+"/alerts", alert, nil); status != 201 {
			t.Fatalf("alert %d: %d", i, status)
		}
	}
	e = apiError{}
	if status := srv.call("POST", "/v1/segments/"+seg.ID+"/alerts", alert, &e); status != 409 || e.Error.Code != "limit_reached" ||
		!strings.Contains(e.Error.Message, seg.ID) {
		t.Fatalf("alert %d: %d %+v, want 409 limit_reached naming the segment", system.MaxAlertsPerSegment+1, status, e.Error)
	}
}

// TestASystemWebhookIsChangedInPlace: an endpoint a 410 turned off is
// turned on again, moved and given a new secret with PATCH, keeping its id;
// the next system event goes to the new URL signed with the new secret. A
// rejected PATCH changes nothing.
func TestASystemWebhookIsChangedInPlace(t *testing.T) {
	gone, moved := newReceiver(t, 410), newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	type endpoint struct {
		ID             string   `json:"id"`
		URL            string   `json:"url"`
		Secret         string   `json:"secret"`
		EventTypes     []string `json:"event_types"`
		Enabled        bool     `json:"enabled"`
		DisabledReason string   `json:"disabled_reason"`
	}
	var ep endpoint
	if status := srv.call("POST", "/v1/system-webhooks", map[string]any{"url": gone.URL, "secret": testSecret,
		"event_types": []string{"note.created"}}, &ep); status != 201 {
		t.Fatalf("create system webhook: %d", status)
	}
	note := func(text string) {
		if status := srv.call("POST", "/v1/notes", map[string]any{"session_id": "s-1", "author": "bob", "text": text}, nil); status != 201 {
			t.Fatalf("create note: %d", status)
		}
	}
	note("first")
	waitFor(t, 5*time.Second, "the 410 to turn the endpoint off", func() bool {
		srv.call("GET", "/v1/system-webhooks/"+ep.ID, nil, &ep)
		return !ep.Enabled && strings.Contains(ep.DisabledReason, "410")
	})

	for _, bad := range []struct {
		body map[string]any
		path string
	}{
		{map[string]any{"event_types": []string{"note.created", "note.deleted"}, "enabled": true}, "event_types[1]"},
		{map[string]any{"secret": "", "enabled": true}, "secret"},
		{map[string]any{"url": "ftp://example.com/", "enabled": true}, "url"},
		{map[string]any{"enabled": true, "colour": "red"}, "colour"},
		{map[string]any{"enabled": true, "url": nil}, "url"},
		{map[string]any{"url": "http://127.0.0.1:65536/in", "enabled": true}, "url"},
	} {
		var e apiError
		if status := srv.call("PATCH", "/v1/system-webhooks/"+ep.ID, bad.body, &e); status != 400 || e.Error.Path != bad.path {
			t.Errorf("PATCH %v: %d %+v, want 400 naming %s", bad.body, status, e, bad.path)
		}
	}
	var unchanged endpoint
	srv.call("GET", "/v1/system-webhooks/"+ep.ID, nil, &unchanged)
	if unchanged.Enabled || unchanged.URL != gone.URL {
		t.Fatalf("a rejected PATCH changed the endpoint: %+v", unchanged)
	}
	if status := srv.call("PATCH", "/v1/system-webhooks/sys_none", map[string]any{"enabled": true}, nil); status != 404 {
		t.Errorf("PATCH of an endpoint that does not exist: %d, want 404", status)
	}

	const rotated = "whsec_cm90YXRlZC1zZWNyZXQtZm9yLWEtdGVzdA=="
	var patched endpoint
	if status := srv.call("PATCH", "/v1/system-webhooks/"+ep.ID, map[string]any{"url": moved.URL, "secret": rotated,
		"event_types": []string{"note.created", "segment.created"}, "enabled": true}, &patched); status != 200 {
		t.Fatalf("PATCH: %d", status)
	}
	if patched.ID != ep.ID || patched.URL != moved.URL || !patched.Enabled || patched.DisabledReason != "" ||
		patched.Secret != "" || len(patched.EventTypes) != 2 {
		t.Fatalf("after PATCH: %+v", patched)
	}
	note("second")
	waitFor(t, 5*time.Second, "the note at the new URL", func() bool { return moved.count() == 1 })
	h := moved.received()[0]
	verifier, _ := standardwebhooks.NewWebhook(rotated)
	if err := verifier.Verify(h.body, h.header); err != nil {
		t.Fatalf("signed with the new secret? %v", err)
	}
	if data := byEventName(t, moved.received())["note.created"]; len(data) != 1 || data[0]["text"] != "second" {
		t.Fatalf("the new URL got %v", data)
	}
	if gone.count() != 1 {
		t.Fatalf("the old URL got %d webhooks, want only the first", gone.count())
	}
}

// TestAnAlertIsDeleted: one alert of a segment goes, the others stay; a
// segment full of alerts takes another once one is deleted (the 409 says
// to delete one first).
func TestAnAlertIsDeleted(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	var seg struct{ ID string }
	if status := srv.call("POST", "/v1/segments", map[string]any{"name": "Clickers", "creator": "ada",
		"triggers": []any{map[string]any{"event": "click"}}}, &seg); status != 201 {
		t.Fatalf("create segment: %d", status)
	}
	alert := map[string]any{"threshold": 10, "direction": "ABOVE", "window": "1h"}
	var ids []string
	for range system.MaxAlertsPerSegment {
		var a struct{ ID string }
		if status := srv.call("POST", "/v1/segments/"+seg.ID+"/alerts", alert, &a); status != 201 {
			t.Fatalf("create alert: %d", status)
		}
		ids = append(ids, a.ID)
	}
	var e apiError
	if status := srv.call("POST", "/v1/segments/"+seg.ID+"/alerts", alert, &e); status != 409 || !strings.Contains(e.Error.Message, "delete one") {
		t.Fatalf("one alert too many: %d %+v", status, e)
	}
	if status := srv.call("DELETE", "/v1/segments/seg_other/alerts/"+ids[0], nil, nil); status != 404 {
		t.Errorf("DELETE through another segment: %d, want 404", status)
	}
	var one struct {
		ID    string `json:"id"`
		Armed bool   `json:"armed"`
	}
	if status := srv.call("GET", "/v1/segments/"+seg.ID+"/alerts/"+ids[0], nil, &one); status != 200 || one.ID != ids[0] || !one.Armed {
		t.Fatalf("GET one alert: %d %+v", status, one)
	}
	if status := srv.call("DELETE", "/v1/segments/"+seg.ID+"/alerts/"+ids[0], nil, nil); status != 204 {
		t.Fatalf("DELETE: %d", status)
	}
	if status := srv.call("GET", "/v1/segments/"+seg.ID+"/alerts/"+ids[0], nil, nil); status != 404 {
		t.Errorf("GET a deleted alert: %d, want 404", status)
	}
	if status := srv.call("DELETE", "/v1/segments/"+seg.ID+"/alerts/"+ids[0], nil, nil); status != 404 {
		t.Errorf("DELETE again: %d, want 404", status)
	}
	var list struct {
		Alerts []struct{ ID string } `json:"alerts"`
	}
	srv.call("GET", "/v1/segments/"+seg.ID+"/alerts", nil, &list)
	left := map[string]bool{}
	for _, a := range list.Alerts {
		left[a.ID] = true
	}
	if len(left) != system.MaxAlertsPerSegment-1 || left[ids[0]] || !left[ids[1]] {
		t.Fatalf("%d alerts left; the deleted one among them: %v", len(left), left[ids[0]])
	}
	if status := srv.call("POST", "/v1/segments/"+seg.ID+"/alerts", alert, nil); status != 201 {
		t.Fatalf("an alert after deleting one: %d", status)
	}
}

// TestAlertsOfAGoneSegmentAreDropped: an alert stored for a segment that
// no longer exists (an evaluation saved it as the segment was deleted) is
// removed at start rather than evaluated for nothing ever after.
func TestAlertsOfAGoneSegmentAreDropped(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, nil)
	var seg struct{ ID string }
	srv.call("POST", "/v1/segments", map[string]any{"name": "Kept", "creator": "ada",
		"triggers": []any{map[string]any{"event": "click"}}}, &seg)
	if status := srv.call("POST", "/v1/segments/"+seg.ID+"/alerts",
		map[string]any{"threshold": 5, "direction": "ABOVE", "window": "1h"}, nil); status != 201 {
		t.Fatalf("create alert: %d", status)
	}
	srv.stop()

	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	orphan := &model.SegmentAlert{ID: "alert_orphan", SegmentID: "seg_gone", Threshold: 1, Direction: "ABOVE", Window: "1h", Armed: true}
	if err := st.PutAlert(orphan); err != nil {
		t.Fatal(err)
	}
	st.Close()

	srv = startServer(t, dir, nil)
	srv.stop()
	st, err = store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	alerts, err := st.LoadAlerts()
	if err != nil || len(alerts) != 1 || alerts[0].SegmentID != seg.ID {
		t.Fatalf("stored alerts after a start: %d (%v); want only the kept segment's", len(alerts), err)
	}
}

// TestASystemWebhooksDeliveriesAreListedAndRecovered: its deliveries are
// listed apart from the streams' (?system_webhook_id=), and those that
// failed are queued again since a time, as a stream's recover does.
func TestASystemWebhooksDeliveriesAreListedAndRecovered(t *testing.T) {
	systemRecv, streamRecv := newReceiver(t, 500), newReceiver(t, 500)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.RetrySchedule = []time.Duration{0} }) // one attempt
	var ep struct{ ID string }
	if status := srv.call("POST", "/v1/system-webhooks", map[string]any{"url": systemRecv.URL, "secret": testSecret,
		"event_types": []string{"note.created"}}, &ep); status != 201 {
		t.Fatalf("create system webhook: %d", status)
	}
	srv.createStream(checkoutFriction(streamRecv.URL))
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	srv.call("POST", "/v1/notes", map[string]any{"session_id": "s-1", "author": "bob", "text": "look"}, nil)
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})

	type page struct {
		Deliveries []struct {
			ID              string `json:"id"`
			SystemWebhookID string `json:"system_webhook_id"`
			Status          string `json:"status"`
		} `json:"deliveries"`
	}
	var failed page
	waitFor(t, 5*time.Second, "both deliveries to fail", func() bool {
		srv.call("GET", "/v1/deliveries?status=failed", nil, &failed)
		return len(failed.Deliveries) == 2
	})
	var mine page
	if status := srv.call("GET", "/v1/deliveries?status=failed&system_webhook_id="+ep.ID, nil, &mine); status != 200 ||
		len(mine.Deliveries) != 1 || mine.Deliveries[0].SystemWebhookID != ep.ID {
		t.Fatalf("the system webhook's failed deliveries: %d %+v", status, mine)
	}
	if status := srv.call("GET", "/v1/deliveries?system_webhook_id="+ep.ID+"&stream_id=st_x", nil, nil); status != 400 {
		t.Errorf("both filters: %d, want 400", status)
	}
	if status := srv.call("POST", "/v1/system-webhooks/sys_none/recover", map[string]any{"since": since}, nil); status != 404 {
		t.Errorf("recover of a system webhook that does not exist: %d, want 404", status)
	}
	var queued struct{ Queued int }
	if status := srv.call("POST", "/v1/system-webhooks/"+ep.ID+"/recover", map[string]any{"since": since}, &queued); status != 202 || queued.Queued != 1 {
		t.Fatalf("recover: %d %+v, want 1 queued", status, queued)
	}
	waitFor(t, 5*time.Second, "the note delivered again", func() bool { return systemRecv.count() == 2 })
	time.Sleep(200 * time.Millisecond)
	if streamRecv.count() != 1 {
		t.Fatalf("the stream's failed delivery was sent again (%d attempts): recover took another's", streamRecv.count())
	}
}
