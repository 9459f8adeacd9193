package engine_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookwire/hookwire/engine"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func checkoutFriction(url string) map[string]any {
	return map[string]any{
		"name":        "Checkout Friction",
		"description": "rage clicks on the cart, or checkout errors",
		"triggers": []any{
			map[string]any{"event": "rage_click", "where": []any{
				map[string]any{"field": "url", "op": "contains", "value": "/cart"}}},
			map[string]any{"event": "custom", "where": []any{
				map[string]any{"field": "name", "op": "eq", "value": "Checkout Error"}}},
		},
		"destination": map[string]any{"url": url, "secret": testSecret},
	}
}

// TestOneWebhookPerMatchingSession: 200 sessions from 4 concurrent producers
// in mixed batches; 100 sessions match (many several times, through both
// triggers), 100 never do. Exactly one webhook per matching session, for its
// first matching event, signed both ways.
func TestOneWebhookPerMatchingSession(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	stream := srv.createStream(checkoutFriction(recv.URL))

	type plan struct {
		events     []map[string]any
		firstMatch string // id of the first matching event; "" if none
	}
	const sessions, producers = 200, 4
	plans := make([]plan, sessions)
	rng := rand.New(rand.NewPCG(1, 2))
	for s := range sessions {
		sid := fmt.Sprintf("sess-%03d", s)
		matching := s%2 == 0
		var p plan
		for i := range 12 {
			ev := map[string]any{"id": fmt.Sprintf("%s-e%02d", sid, i), "session_id": sid,
				"user": map[string]any{"uid": "u-" + sid}}
			roll := rng.IntN(6)
			switch {
			case matching && i >= 3 && roll == 0:
				ev["type"], ev["url"] = "rage_click", "https://shop.example/cart"
			case matching && i >= 3 && roll == 1:
				ev["type"], ev["name"] = "custom", "Checkout Error"
			case matching && i == 11 && p.firstMatch == "":
				ev["type"], ev["url"] = "rage_click", "https://shop.example/cart/step2"
			case roll == 2:
				ev["type"], ev["url"] = "rage_click", "https://shop.example/help" // right type, wrong url
			case roll == 3:
				ev["type"], ev["name"] = "custom", "Checkout Started" // right type, wrong name
			default:
				ev["type"], ev["url"] = "click", "https://shop.example/cart"
			}
			if matching && p.firstMatch == "" && (ev["type"] == "rage_click" && ev["url"] != "https://shop.example/help" ||
				ev["type"] == "custom" && ev["name"] == "Checkout Error") {
				p.firstMatch = ev["id"].(string)
			}
			p.events = append(p.events, ev)
		}
		plans[s] = p
	}

	// Each producer owns a quarter of the sessions and interleaves their
	// events in batches of varying size, keeping each session's order.
	var wg sync.WaitGroup
	for pr := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var queue []map[string]any
			for step := range 12 {
				for s := pr; s < sessions; s += producers {
					queue = append(queue, plans[s].events[step])
				}
			}
			prng := rand.New(rand.NewPCG(uint64(pr), 9))
			for len(queue) > 0 {
				n := min(len(queue), 1+prng.IntN(40))
				srv.sendEvents(queue[:n]...)
				queue = queue[n:]
			}
		}()
	}
	wg.Wait()

	waitFor(t, 20*time.Second, "100 webhooks", func() bool { return recv.count() >= 100 })
	// Give a wrongly-firing engine the chance to send more than it should.
	time.Sleep(300 * time.Millisecond)
	hooks := recv.received()
	if len(hooks) != 100 {
		t.Fatalf("got %d webhooks, want exactly 100", len(hooks))
	}
	verifier, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	bySession := map[string]bool{}
	for _, h := range hooks {
		if err := verifier.Verify(h.body, h.header); err != nil {
			t.Fatalf("official Standard Webhooks verifier rejected %s: %v", h.id(), err)
		}
		verifyFullstory(t, h, testSecret, "hookwire")
		p := h.payload(t)
		if p["name"] != "Checkout Friction" || p["stream_id"] != stream.ID || p["api_version"] != "v2" {
			t.Fatalf("payload name/stream/api_version wrong: %v", p)
		}
		sid := p["session"].(map[string]any)["id"].(string)
		if bySession[sid] {
			t.Fatalf("session %s fired twice", sid)
		}
		bySession[sid] = true
		var idx int
		fmt.Sscanf(sid, "sess-%d", &idx)
		want := plans[idx].firstMatch
		if want == "" {
			t.Fatalf("session %s should never match but fired", sid)
		}
		if got := p["event"].(map[string]any)["id"]; got != want {
			t.Fatalf("session %s fired on event %v, want its first match %s", sid, got, want)
		}
		if p["user"].(map[string]any)["uid"] != "u-"+sid {
			t.Fatalf("user.uid = %v", p["user"])
		}
	}
	// Every session still knows its own user once the batches that told
	// it are gone (their memory is reused, and under -race overwritten).
	for s := range sessions {
		sid := fmt.Sprintf("sess-%03d", s)
		var sess struct {
			Events int
			User   struct{ UID string }
		}
		if code := srv.call("GET", "/v1/sessions/"+sid, nil, &sess); code != 200 || sess.Events != 12 || sess.User.UID != "u-"+sid {
			t.Fatalf("GET session %s: %d, %d events, user.uid %q; want 200, 12, %q", sid, code, sess.Events, sess.User.UID, "u-"+sid)
		}
	}
}

// TestRestartKeepsOncePerSession: a restart between a session's first match
// and a second matching event still yields one webhook.
func TestRestartKeepsOncePerSession(t *testing.T) {
	dir := t.TempDir()
	recv := newReceiver(t)
	srv := startServer(t, dir, nil)
	srv.createStream(checkoutFriction(recv.URL))
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	waitFor(t, 5*time.Second, "first webhook", func() bool { return recv.count() == 1 })
	srv.stop()

	srv = startServer(t, dir, nil)
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "custom", "name": "Checkout Error"},
		map[string]any{"session_id": "s-2", "type": "rage_click", "url": "/cart"})
	// s-2 proves the restarted engine evaluates and delivers; s-1 must not
	// have fired again by the time s-2 arrives (same session actor order).
	waitFor(t, 5*time.Second, "s-2 webhook", func() bool { return recv.count() >= 2 })
	time.Sleep(200 * time.Millisecond)
	hooks := recv.received()
	if len(hooks) != 2 {
		t.Fatalf("got %d webhooks after restart, want 2 (s-1 once, s-2 once)", len(hooks))
	}
	var sess struct {
		Fired []struct {
			WebhookID string `json:"webhook_id"`
		} `json:"fired"`
	}
	srv.call("GET", "/v1/sessions/s-1", nil, &sess)
	if len(sess.Fired) != 1 || sess.Fired[0].WebhookID != hooks[0].id() {
		t.Fatalf("session s-1 fired = %+v, want one with %s", sess.Fired, hooks[0].id())
	}
}

// TestUndeliveredMessageSurvivesRestart: with the receiver down, the
// message stays in the outbox; after a restart it is delivered with the
// same webhook-id.
func TestUndeliveredMessageSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the receiver is down: connections are refused
	url := "http://" + addr + "/hook"
	slow := func(c *engine.Config) { c.RetrySchedule = []time.Duration{0, time.Hour} }

	srv := startServer(t, dir, slow)
	srv.createStream(checkoutFriction(url))
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	var list struct{ Deliveries []delivery }
	waitFor(t, 5*time.Second, "the first attempt to fail", func() bool {
		srv.call("GET", "/v1/deliveries", nil, &list)
		return len(list.Deliveries) == 1 && len(list.Deliveries[0].Attempts) == 1
	})
	id := list.Deliveries[0].ID
	if list.Deliveries[0].Status != "pending" {
		t.Fatalf("status %q, want pending", list.Deliveries[0].Status)
	}
	srv.stop()

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("re-binding the receiver's port: %v", err)
	}
	recv := startReceiver(t, ln)
	srv = startServer(t, dir, slow)
	waitFor(t, 5*time.Second, "delivery after restart", func() bool { return recv.count() == 1 })
	if got := recv.received()[0].id(); got != id {
		t.Fatalf("webhook-id after restart %s, want %s", got, id)
	}
	waitFor(t, 5*time.Second, "succeeded status", func() bool { return srv.delivery(id).Status == "succeeded" })
}

// TestRetriesUntilSuccess: 500, 500, 200 → delivered on attempt 3, three
// attempts listed, one webhook-id.
func TestRetriesUntilSuccess(t *testing.T) {
	recv := newReceiver(t, 500, 500, 200)
	srv := startServer(t, t.TempDir(), nil)
	srv.createStream(checkoutFriction(recv.URL))
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	waitFor(t, 5*time.Second, "three attempts", func() bool { return recv.count() == 3 })
	hooks := recv.received()
	for _, h := range hooks[1:] {
		if h.id() != hooks[0].id() {
			t.Fatalf("webhook-id changed between attempts: %s vs %s", h.id(), hooks[0].id())
		}
	}
	var d delivery
	waitFor(t, 5*time.Second, "succeeded", func() bool { d = srv.delivery(hooks[0].id()); return d.Status == "succeeded" })
	if len(d.Attempts) != 3 || d.Attempts[0].Status != 500 || d.Attempts[1].Status != 500 || d.Attempts[2].Status != 200 {
		t.Fatalf("attempts = %+v, want 500, 500, 200", d.Attempts)
	}
}

type endpointsResp struct {
	Endpoints []struct {
		URL       string `json:"url"`
		State     string `json:"state"`
		Succeeded int    `json:"succeeded"`
		Failed    int    `json:"failed"`
		Pending   int    `json:"pending"`
	} `json:"endpoints"`
}

// TestDeadEndpointDoesNotSlowHealthyOne: a dead endpoint opens its breaker
// while a healthy endpoint's webhooks keep arriving promptly.
func TestDeadEndpointDoesNotSlowHealthyOne(t *testing.T) {
	healthy := newReceiver(t)
	dead := newReceiver(t)
	dead.delay = 300 * time.Millisecond
	dead.statuses = make([]int, 1000)
	for i := range dead.statuses {
		dead.statuses[i] = 503
	}
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.BreakerFailures = 3
		c.BreakerCooldown = time.Minute
		c.RetrySchedule = []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}
	})
	good := srv.createStream(checkoutFriction(healthy.URL))
	bad := checkoutFriction(dead.URL)
	bad["name"] = "Dead"
	srv.createStream(bad)
	_ = good

	for i := range 20 {
		srv.sendEvents(map[string]any{"session_id": fmt.Sprintf("s-%d", i), "type": "rage_click", "url": "/cart"})
	}
	start := time.Now()
	waitFor(t, 5*time.Second, "20 healthy webhooks", func() bool { return healthy.count() == 20 })
	var ep endpointsResp
	waitFor(t, 5*time.Second, "dead breaker open", func() bool {
		srv.call("GET", "/v1/endpoints", nil, &ep)
		for _, e := range ep.Endpoints {
			if e.URL == dead.URL {
				return e.State == "open"
			}
		}
		return false
	})
	for _, e := range ep.Endpoints {
		if e.URL == healthy.URL && (e.State != "closed" || e.Succeeded != 20) {
			t.Fatalf("healthy endpoint = %+v, want closed with 20 succeeded", e)
		}
	}
	// The breaker stops the flood: after opening, no more attempts reach
	// the dead endpoint. Attempts it let through before opening may still
	// be on their way (a busy machine delays their goroutines): wait until
	// arrivals stop for longer than one answer takes, then watch again.
	// Retries every 10 ms would never let them stop.
	n, stillAt := dead.count(), time.Now()
	waitFor(t, 5*time.Second, "attempts on the dead endpoint to stop", func() bool {
		if c := dead.count(); c != n {
			n, stillAt = c, time.Now()
		}
		return time.Since(stillAt) > 2*dead.delay
	})
	time.Sleep(2 * dead.delay)
	if dead.count() != n {
		t.Fatalf("attempts kept reaching the dead endpoint after its breaker opened: %d → %d", n, dead.count())
	}
	t.Logf("healthy endpoint got all 20 in %s while the dead one took %d attempts", time.Since(start), n)
}

// TestGoneDisablesStream: a 410 disables the stream and says why.
func TestGoneDisablesStream(t *testing.T) {
	recv := newReceiver(t, 410)
	srv := startServer(t, t.TempDir(), nil)
	st := srv.createStream(checkoutFriction(recv.URL))
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	var got streamResp
	waitFor(t, 5*time.Second, "stream disabled", func() bool {
		srv.call("GET", "/v1/streams/"+st.ID, nil, &got)
		return !got.Enabled
	})
	if got.DisabledReason == "" {
		t.Fatal("disabled without a reason")
	}
	srv.sendEvents(map[string]any{"session_id": "s-2", "type": "rage_click", "url": "/cart"})
	time.Sleep(200 * time.Millisecond)
	if recv.count() != 1 {
		t.Fatalf("a disabled stream sent %d webhooks, want only the first", recv.count())
	}
}

// TestLateEventAfterSessionEnd: a session ends after --session-idle; a late
// event for it cannot fire the stream again.
func TestLateEventAfterSessionEnd(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.SessionIdle = 100 * time.Millisecond })
	srv.createStream(checkoutFriction(recv.URL))
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	var sess struct {
		Ended  bool `json:"ended"`
		Events int  `json:"events"`
	}
	waitFor(t, 5*time.Second, "session end", func() bool {
		srv.call("GET", "/v1/sessions/s-1", nil, &sess)
		return sess.Ended
	})
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "custom", "name": "Checkout Error"},
		map[string]any{"session_id": "s-2", "type": "rage_click", "url": "/cart"})
	waitFor(t, 5*time.Second, "s-2 webhook", func() bool { return recv.count() >= 2 })
	time.Sleep(200 * time.Millisecond)
	if recv.count() != 2 {
		t.Fatalf("%d webhooks, want 2: the late event of the ended session fired again", recv.count())
	}
	waitFor(t, 5*time.Second, "the late session to end and save", func() bool {
		srv.call("GET", "/v1/sessions/s-1", nil, &sess)
		return sess.Ended && sess.Events == 2
	})
}

// sendUntilAccepted posts events until they are accepted, waiting out 429s
// as a producer would (past --max-live-sessions and a tenth, requests wait
// for the passivations); it returns how many 429s it met.
func (s *server) sendUntilAccepted(events []map[string]any) (saturated int) {
	s.t.Helper()
	waitFor(s.t, 10*time.Second, "the events accepted", func() bool {
		var e apiError
		status := s.call("POST", "/v1/events", events, &e)
		if status == 429 {
			saturated++
		} else if status != 202 {
			s.t.Fatalf("send: %d %+v", status, e.Error)
		}
		return status == 202
	})
	return saturated
}

// TestTheLargestLiveSessionBoundIsNoBound: a bound at the flag's limit
// refused every request (its tenth over wrapped negative).
func TestTheLargestLiveSessionBoundIsNoBound(t *testing.T) {
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxLiveSessions = math.MaxInt })
	var e apiError
	if status := srv.call("POST", "/v1/events", map[string]any{"session_id": "s", "type": "click"}, &e); status != 202 {
		t.Fatalf("an event under a bound of MaxInt sessions: %d %+v", status, e.Error)
	}
}

// TestAUserOnlyEventJoinsAPassivatedSession: an event naming only a user
// (Fullstory's /v2) joins the user's session while it goes on, also when
// it was passivated past --max-live-sessions; it used to start another.
func TestAUserOnlyEventJoinsAPassivatedSession(t *testing.T) {
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxLiveSessions = 20 })
	srv.sendEvents(map[string]any{"session_id": "ada-1", "type": "click", "user": map[string]any{"uid": "ada"}})
	var others []map[string]any
	for i := range 100 {
		others = append(others, map[string]any{"session_id": fmt.Sprint("other-", i), "type": "click"})
	}
	for i := 0; i < len(others); i += 20 {
		srv.sendUntilAccepted(others[i : i+20])
	}
	_, body := srv.raw("GET", "/metrics", "", nil)
	if !strings.Contains(string(body), "hookwire_sessions_evicted_total ") || strings.Contains(string(body), "hookwire_sessions_evicted_total 0\n") {
		t.Fatal("no session was passivated: the test does not test what it says")
	}
	waitFor(t, 10*time.Second, "the user-only event accepted", func() bool {
		status, raw := srv.raw("POST", "/v2/events", "application/json", `{"user":{"uid":"ada"},"name":"Checkout Error"}`)
		if status != 202 && status != 429 {
			t.Fatalf("/v2/events: %d %s", status, raw)
		}
		return status == 202
	})
	var sess struct {
		Ended  bool `json:"ended"`
		Events int  `json:"events"`
	}
	waitFor(t, 5*time.Second, "ada's session to have both events", func() bool {
		srv.call("GET", "/v1/sessions/ada-1", nil, &sess)
		return sess.Events == 2
	})
	if sess.Ended {
		t.Fatalf("ada's session reads %+v", sess)
	}
}

// TestTheUserIndexHoldsLiveSessionsUsers: a session passivated past
// --max-live-sessions leaves the user index in memory once its record is
// written, so the index is bounded with the live sessions; it used to keep
// every user whose session went on, which a flood of new users grew
// without bound. The passivated users' sessions are still found (in the
// store) for their users' events.
func TestTheUserIndexHoldsLiveSessionsUsers(t *testing.T) {
	const bound, users = 20, 200
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxLiveSessions = bound })
	var events []map[string]any
	for i := range users {
		events = append(events, map[string]any{"session_id": fmt.Sprint("s-", i), "type": "click",
			"user": map[string]any{"uid": fmt.Sprint("u-", i)}})
	}
	for i := 0; i < len(events); i += bound {
		srv.sendUntilAccepted(events[i : i+bound])
	}
	var entries, live float64
	waitFor(t, 10*time.Second, "the user index to hold about the live sessions' users", func() bool {
		m := srv.scrape()
		entries, live = value(m, "hookwire_user_index_entries", nil), value(m, "hookwire_live_sessions", nil)
		return entries >= 0 && entries <= bound+bound/10 && live <= bound+bound/10
	})
	if entries < 1 {
		t.Fatalf("the user index holds %v users with %v sessions live: the gauge counts nothing", entries, live)
	}
	status, raw := srv.raw("POST", "/v2/events", "application/json", `{"user":{"uid":"u-0"},"name":"Checkout Error"}`)
	if status != 202 {
		t.Fatalf("/v2/events: %d %s", status, raw)
	}
	var sess struct {
		Events int `json:"events"`
	}
	waitFor(t, 5*time.Second, "u-0's passivated session to have the user's event", func() bool {
		srv.call("GET", "/v1/sessions/s-0", nil, &sess)
		return sess.Events == 2
	})
}

// TestAUserOnlyEventJoinsItsSessionAfterARestart: after a restart the user
// index in memory is empty; an event naming only a user (Fullstory's /v2)
// still joins the user's session that goes on, found in the store, and
// so does not fire the user's stream a second time. It used to start
// another session. A session whose user changed is not joined.
func TestAUserOnlyEventJoinsItsSessionAfterARestart(t *testing.T) {
	dir := t.TempDir()
	recv := newReceiver(t)
	srv := startServer(t, dir, nil)
	srv.createStream(checkoutFriction(recv.URL))
	srv.sendEvents(
		map[string]any{"session_id": "ada-1", "type": "custom", "name": "Checkout Error", "user": map[string]any{"uid": "ada"}},
		map[string]any{"session_id": "grace-1", "type": "custom", "name": "Checkout Error", "user": map[string]any{"uid": "grace"}},
	)
	waitFor(t, 5*time.Second, "ada's and grace's webhooks", func() bool { return recv.count() == 2 })
	// Stored under grace by its webhook's commit, grace-1 now has another user.
	srv.sendEvents(map[string]any{"session_id": "grace-1", "type": "click", "user": map[string]any{"uid": "grace-hopper"}})
	srv.stop()

	srv = startServer(t, dir, nil)
	for _, uid := range []string{"ada", "grace"} {
		status, raw := srv.raw("POST", "/v2/events", "application/json",
			fmt.Sprintf(`{"user":{"uid":%q},"name":"Checkout Error"}`, uid))
		if status != 202 {
			t.Fatalf("/v2/events for %s: %d %s", uid, status, raw)
		}
	}
	var sess struct {
		Events int `json:"events"`
	}
	waitFor(t, 5*time.Second, "ada's session to have both events", func() bool {
		srv.call("GET", "/v1/sessions/ada-1", nil, &sess)
		return sess.Events == 2
	})
	// grace's event went to a session of its own, which fires: grace-1's
	// user is grace-hopper now.
	waitFor(t, 5*time.Second, "grace's new session's webhook", func() bool { return recv.count() == 3 })
	if srv.call("GET", "/v1/sessions/grace-1", nil, &sess); sess.Events != 2 {
		t.Fatalf("grace-1 has %d events, want its 2: the event for the user it no longer has joined it", sess.Events)
	}
	time.Sleep(300 * time.Millisecond)
	if n := recv.count(); n != 3 {
		t.Fatalf("%d webhooks, want ada-1's, grace-1's and grace's new session's once each", n)
	}
}

// TestASessionGoesOnAcrossARestart: after a restart a session is not in
// memory until its next event, but it has not ended: it reads as going on
// while within --session-idle (it read as ended), and ends when that
// passes without events.
func TestASessionGoesOnAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	idle := func(c *engine.Config) { c.SessionIdle = 3 * time.Second }
	srv := startServer(t, dir, idle)
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "click"})
	srv.stop()
	srv = startServer(t, dir, idle)
	var sess struct {
		Ended  bool `json:"ended"`
		Events int  `json:"events"`
	}
	if status := srv.call("GET", "/v1/sessions/s-1", nil, &sess); status != 200 || sess.Ended || sess.Events != 1 {
		t.Fatalf("right after a restart: %d %+v, want the session going on with its event", status, sess)
	}
	waitFor(t, 10*time.Second, "the session to end once idle", func() bool {
		srv.call("GET", "/v1/sessions/s-1", nil, &sess)
		return sess.Ended
	})
}

// TestRetryAfterIsHonoured: a 429 with Retry-After: 1 delays the next
// attempt past the (much shorter) schedule.
func TestRetryAfterIsHonoured(t *testing.T) {
	recv := newReceiver(t)
	recv.statuses = []int{429}
	recv.retryAfter = "1"
	srv := startServer(t, t.TempDir(), nil)
	srv.createStream(checkoutFriction(recv.URL))
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	waitFor(t, 5*time.Second, "second attempt", func() bool { return recv.count() == 2 })
	hooks := recv.received()
	if gap := hooks[1].at.Sub(hooks[0].at); gap < 950*time.Millisecond {
		t.Fatalf("second attempt %s after a 429 with Retry-After: 1", gap)
	}
}

// TestIngestNDJSON: a large NDJSON body (lines ending LF or CRLF, blank
// lines between) is accepted whole, and every event reaches its session;
// a stream fires on the one event it waits for, deep in the body. Bodies
// past 4 KiB used to be refused as malformed JSON.
func TestIngestNDJSON(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	srv.createStream(checkoutFriction(recv.URL))
	const sessions, perSession = 30, 100
	var body strings.Builder
	for i := range sessions * perSession {
		event := map[string]any{"session_id": fmt.Sprintf("nd-%d", i%sessions), "type": "click",
			"url": fmt.Sprintf("https://shop.example/p/%d", i), "properties": map[string]any{"target_text": "Add to cart"}}
		if i == sessions*perSession-sessions { // nd-0's hundredth
			event = map[string]any{"session_id": "nd-0", "type": "custom", "name": "Checkout Error"}
		}
		body.WriteString(jsonOf(event))
		body.WriteString([]string{"\n", "\r\n", "\n\n"}[i%3])
	}
	status, raw := srv.raw("POST", "/v1/events", "application/x-ndjson", body.String())
	if want := fmt.Sprintf(`{"accepted":%d,"duplicates":0}`, sessions*perSession); status != 202 || string(raw) != want {
		t.Fatalf("a %d-byte NDJSON body: %d %s, want 202 %s", body.Len(), status, raw, want)
	}
	for s := range sessions {
		var sess struct {
			Events int `json:"events"`
		}
		waitFor(t, 5*time.Second, "every event evaluated", func() bool {
			srv.call("GET", fmt.Sprintf("/v1/sessions/nd-%d", s), nil, &sess)
			return sess.Events == perSession
		})
	}
	waitFor(t, 5*time.Second, "the webhook of the custom event", func() bool { return recv.count() == 1 })
}

// TestIngestGzip: a body sent with Content-Encoding: gzip is decompressed
// (arrays, NDJSON and /v2 alike); one that inflates past --max-body-bytes
// gets 413 after reading no more than that, one that is not gzip 400, and
// another encoding 415, each keeping nothing.
func TestIngestGzip(t *testing.T) {
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxBodyBytes = 1 << 20 })
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	post := func(path, contentType, encoding string, body []byte) (int, apiError) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Content-Encoding", encoding)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var e apiError
		jsonUnmarshal(raw, &e)
		return resp.StatusCode, e
	}
	var ndjson, array bytes.Buffer
	array.WriteString("[")
	for i := range 1000 {
		line := jsonOf(map[string]any{"session_id": fmt.Sprintf("gz-%d", i%10), "type": "click",
			"properties": map[string]any{"target_text": strings.Repeat("Add to cart ", 5)}})
		ndjson.WriteString(line + "\n")
		if i > 0 {
			array.WriteString(",")
		}
		array.WriteString(strings.Replace(line, `"gz-`, `"gza-`, 1))
	}
	array.WriteString("]")
	fullstory := `{"requests":[{"name":"Signed Up","session":{"id":"gzfs-1"}},{"name":"Paid","session":{"id":"gzfs-1"}}]}`
	for _, ok := range []struct{ path, contentType, encoding, body string }{
		{"/v1/events", "application/x-ndjson", "gzip", ndjson.String()},
		{"/v1/events", "application/json", "x-gzip", array.String()},
		{"/v2/events/batch", "application/json", "GZIP", fullstory},
	} {
		if status, e := post(ok.path, ok.contentType, ok.encoding, gz([]byte(ok.body))); status != 202 {
			t.Fatalf("%s, %s, Content-Encoding %s: %d %+v", ok.path, ok.contentType, ok.encoding, status, e)
		}
	}
	for _, s := range []string{"gz-3", "gza-7", "gzfs-1"} {
		var sess struct {
			Events int `json:"events"`
		}
		want := map[string]int{"gz-3": 100, "gza-7": 100, "gzfs-1": 2}[s]
		waitFor(t, 5*time.Second, "the decompressed events evaluated", func() bool {
			srv.call("GET", "/v1/sessions/"+s, nil, &sess)
			return sess.Events == want
		})
	}

	bomb := gz(append([]byte(`[{"session_id":"bomb","type":"click"}`), bytes.Repeat([]byte(" "), 1<<20)...))
	refused := []struct {
		name, encoding string
		body           []byte
		status         int
		code, mentions string
	}{
		{"inflates past the limit", "gzip", append(bomb[:0:0], bomb...), 413, "body_too_large", "decompresses to more than the limit of 1048576 bytes"},
		{"not gzip", "gzip", []byte(`[{"session_id":"plain","type":"click"}]`), 400, "invalid_body", "not gzip data"},
		{"cut short", "gzip", gz([]byte(`[{"session_id":"short","type":"click"}]`))[:20], 400, "invalid_body", "not gzip data"},
		{"brotli", "br", []byte(`[{"session_id":"br","type":"click"}]`), 415, "unsupported_content_encoding", "Content-Encoding br"},
	}
	for _, r := range refused {
		status, e := post("/v1/events", "application/json", r.encoding, r.body)
		if status != r.status || e.Error.Code != r.code || !strings.Contains(e.Error.Message, r.mentions) {
			t.Fatalf("%s: %d %+v, want %d %s mentioning %q", r.name, status, e, r.status, r.code, r.mentions)
		}
	}
	t.Logf("the bomb: %d bytes, inflating past %d", len(bomb), 1<<20)
	for _, s := range []string{"bomb", "plain", "short", "br"} {
		if code := srv.call("GET", "/v1/sessions/"+s, nil, nil); code != 404 {
			t.Fatalf("a refused body made session %s (%d)", s, code)
		}
	}
}

// TestSessionIDsWithReservedCharacters: any session id an event may carry
// can be looked up, escaped in the path as url.PathEscape does: slashes,
// percent signs, '?', '#', spaces, non-ASCII. A slash used to split the
// path (404, no such endpoint).
func TestSessionIDsWithReservedCharacters(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	ids := []string{"web/42", "a/b/c", "%2F", "100%", "x y?z#w", "日本/セッション", "..", "."}
	var events []map[string]any
	for _, id := range ids {
		events = append(events, map[string]any{"session_id": id, "type": "click"})
	}
	srv.sendEvents(events...)
	for _, id := range ids {
		var sess struct {
			ID     string `json:"id"`
			Events int    `json:"events"`
		}
		path := "/v1/sessions/" + url.PathEscape(id)
		waitFor(t, 5*time.Second, "session "+id, func() bool {
			return srv.call("GET", path, nil, &sess) == 200 && sess.Events == 1
		})
		if sess.ID != id {
			t.Fatalf("GET %s: the session of %q", path, sess.ID)
		}
	}
	// Go's client will not send a malformed escape: a raw request does.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1/sessions/bad%%zzescape HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	answer, _ := io.ReadAll(conn)
	if !bytes.HasPrefix(answer, []byte("HTTP/1.1 400")) || !bytes.Contains(answer, []byte("malformed %-escape")) {
		t.Fatalf("a malformed escape: %s", answer)
	}
}

// TestLiveSessionsAreBoundedAndComeBack: a producer sending ever new
// session ids would keep every one of them in memory for --session-idle.
// Past --max-live-sessions the least recently active are passivated early,
// and past it and a tenth requests wait (429) for that; a passivated
// session's next event brings it back from the store with its state (here
// a min_count half way), and what fired stays fired.
func TestLiveSessionsAreBoundedAndComeBack(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxLiveSessions = 50 })
	srv.createStream(map[string]any{"name": "second click",
		"triggers":    []any{map[string]any{"event": "click", "min_count": 2}},
		"destination": map[string]any{"url": recv.URL, "secret": testSecret}})
	const sessions = 200
	saturated := 0
	clickAll := func() {
		t.Helper()
		for i := 0; i < sessions; i += 50 {
			var batch []map[string]any
			for j := i; j < i+50; j++ {
				batch = append(batch, map[string]any{"session_id": fmt.Sprint("s", j), "type": "click"})
			}
			saturated += srv.sendUntilAccepted(batch)
		}
	}
	metric := func(name string) float64 {
		_, body := srv.raw("GET", "/metrics", "", nil)
		var v float64
		for _, line := range strings.Split(string(body), "\n") {
			if rest, ok := strings.CutPrefix(line, name+" "); ok {
				fmt.Sscan(rest, &v)
			}
		}
		return v
	}
	clickAll()
	waitFor(t, 10*time.Second, "live sessions back under the bound", func() bool {
		return metric("hookwire_live_sessions") <= 50 && metric("hookwire_sessions_evicted_total") >= sessions-50
	})
	if n := recv.count(); n != 0 {
		t.Fatalf("%d webhooks after one click each, want none (min_count 2)", n)
	}
	var s0 struct {
		Ended  bool `json:"ended"`
		Events int  `json:"events"`
	}
	// s0, the least recently active, was passivated: out of memory, not over.
	if status := srv.call("GET", "/v1/sessions/s0", nil, &s0); status != 200 || s0.Ended || s0.Events != 1 {
		t.Fatalf("a passivated session reads %d %+v, want it going on with its one event", status, s0)
	}
	clickAll() // the second click: each session, passivated or not, remembers its first
	waitFor(t, 10*time.Second, "a webhook per session", func() bool { return recv.count() == sessions })
	clickAll()
	time.Sleep(500 * time.Millisecond)
	if n := recv.count(); n != sessions {
		t.Fatalf("%d webhooks after a third click, want %d: once per session", n, sessions)
	}
	if saturated == 0 {
		t.Errorf("no 429 while %d new sessions came in batches of 50 against a bound of 50", sessions)
	}
}

// TestAnEventFiringManyStreamsWithALargeBody: one event with 60 KB of
// properties completes 300 streams at once; their messages (18 MB) are
// more than Badger takes in one transaction, and were abandoned with the
// event ("Txn is too big"), again at every start. All 300 arrive.
func TestAnEventFiringManyStreamsWithALargeBody(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.MaxStreams = 300 })
	for i := range 300 {
		srv.createStream(map[string]any{"name": fmt.Sprint("on click ", i), "triggers": []any{map[string]any{"event": "click"}},
			"destination": map[string]any{"url": recv.URL, "secret": testSecret}})
	}
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "click",
		"properties": map[string]any{"blob": strings.Repeat("x", 60000)}})
	waitFor(t, 20*time.Second, "300 webhooks", func() bool { return recv.count() == 300 })
	if v := value(srv.scrape(), "hookwire_events_abandoned_total", nil); v != 0 {
		t.Fatalf("%v events abandoned", v)
	}
	var sess struct {
		Fired []any `json:"fired"`
	}
	srv.call("GET", "/v1/sessions/s-1", nil, &sess)
	if len(sess.Fired) != 300 {
		t.Fatalf("the session's record marks %d streams fired, want 300", len(sess.Fired))
	}
}
