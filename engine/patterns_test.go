package engine_test

import (
	"fmt"
	"testing"
	"time"
)

func streamWith(name, url string, triggers ...any) map[string]any {
	return map[string]any{"name": name, "triggers": triggers, "destination": map[string]any{"url": url, "secret": testSecret}}
}

// TestMinCountAcrossRestart: a min_count 3 stream fires on the third
// matching event of a session and never on the second, also when the server
// restarts between the second and the third.
func TestMinCountAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	recv := newReceiver(t)
	srv := startServer(t, dir, nil)
	srv.createStream(streamWith("three buys", recv.URL, map[string]any{"event": "click", "min_count": 3,
		"where": []any{map[string]any{"field": "properties.target_text", "op": "eq", "value": "Buy"}}}))
	buy := func(id, session string) map[string]any {
		return map[string]any{"id": id, "session_id": session, "type": "click", "properties": map[string]any{"target_text": "Buy"}}
	}
	srv.sendEvents(buy("1", "s"), map[string]any{"id": "x", "session_id": "s", "type": "click"}, buy("2", "s"),
		buy("1", "t"), buy("2", "t"), buy("3", "t"))
	waitFor(t, 5*time.Second, "session t to fire", func() bool { return recv.count() == 1 })
	var sess struct{ Events int }
	waitFor(t, 5*time.Second, "session s's events", func() bool {
		srv.call("GET", "/v1/sessions/s", nil, &sess)
		return sess.Events == 3
	})
	srv.stop()
	if fired := firedOn(t, recv.received()); fired["t"] != "3" || len(fired) != 1 {
		t.Fatalf("before the restart fired %v, want only t on its third buy", fired)
	}
	srv = startServer(t, dir, nil)
	srv.sendEvents(buy("3", "s"), buy("4", "s"))
	waitFor(t, 5*time.Second, "session s to fire", func() bool { return recv.count() == 2 })
	time.Sleep(200 * time.Millisecond)
	if fired := firedOn(t, recv.received()); fired["s"] != "3" || recv.count() != 2 {
		t.Fatalf("fired %v (%d webhooks), want s on its third buy, after the restart", fired, recv.count())
	}
}

// TestSequenceWithin: steps in order inside the window fire; reversed steps
// or steps too far apart do not (by event timestamps, not wall clock).
func TestSequenceWithin(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	srv.createStream(streamWith("pricing then help", recv.URL, map[string]any{"within": "2s", "sequence": []any{
		map[string]any{"event": "navigate", "where": []any{map[string]any{"field": "url", "op": "contains", "value": "/pricing"}}},
		map[string]any{"event": "navigate", "where": []any{map[string]any{"field": "url", "op": "contains", "value": "/help"}}},
	}}))
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	nav := func(id, session, path string, ms int) map[string]any {
		return map[string]any{"id": id, "session_id": session, "type": "navigate", "url": "https://x" + path,
			"timestamp": base.Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano)}
	}
	srv.sendEvents(
		nav("1", "in-order", "/pricing", 0), nav("2", "in-order", "/home", 700), nav("3", "in-order", "/help", 1900),
		nav("1", "reversed", "/help", 0), nav("2", "reversed", "/pricing", 500),
		nav("1", "too-slow", "/pricing", 0), nav("2", "too-slow", "/help", 2500),
		nav("1", "restarted", "/pricing", 0), nav("2", "restarted", "/pricing", 3000), nav("3", "restarted", "/help", 4500),
	)
	waitFor(t, 5*time.Second, "two webhooks", func() bool { return recv.count() >= 2 })
	time.Sleep(300 * time.Millisecond)
	want := map[string]string{"in-order": "3", "restarted": "3"}
	if got := firedOn(t, recv.received()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
}

// TestFieldMapping: fields carry the mapped values; a path to nothing gives
// null; an invalid mapping, or one naming a member no payload has, is
// refused at create time.
func TestFieldMapping(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	def := checkoutFriction(recv.URL)
	def["fields"] = map[string]string{
		"cart_value": "event.properties.price", "page": "event.url", "first_item": "event.properties.items.0.sku",
		"email": "user.email", "session": "session.id", "missing": "event.properties.nope", "who": "user.properties.plan",
	}
	srv.createStream(def)
	srv.sendEvents(
		map[string]any{"session_id": "s-1", "type": "navigate", "user": map[string]any{"uid": "u", "email": "ada@example.com",
			"properties": map[string]any{"plan": "pro"}}},
		map[string]any{"session_id": "s-1", "type": "rage_click", "url": "https://shop.example/cart",
			"properties": map[string]any{"price": 42.5, "items": []any{map[string]any{"sku": "A-1"}}}},
	)
	waitFor(t, 5*time.Second, "the webhook", func() bool { return recv.count() == 1 })
	fields := recv.received()[0].payload(t)["fields"].(map[string]any)
	want := map[string]any{"cart_value": 42.5, "page": "https://shop.example/cart", "first_item": "A-1",
		"email": "ada@example.com", "session": "s-1", "missing": nil, "who": "pro"}
	if fmt.Sprint(fields) != fmt.Sprint(want) {
		t.Fatalf("fields = %v, want %v", fields, want)
	}
	for _, bad := range []map[string]string{{"x": "properties.price"}, {"x": "event..url"}, {"": "event.url"}, {"x": "session"},
		{"x": "event.propreties.price"}, {"x": "session.id.x"}} {
		def := checkoutFriction(recv.URL)
		def["name"], def["fields"] = "bad fields", bad
		var e apiError
		if status := srv.call("POST", "/v1/streams", def, &e); status != 400 || e.Error.Code != "invalid_stream" {
			t.Fatalf("fields %v: %d %+v, want 400", bad, status, e)
		}
	}
}
