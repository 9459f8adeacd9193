package engine_test

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookwire/hookwire/engine"
)

// TestReceiverFaults: each way a receiver can misbehave is a failed attempt
// that is retried with the same webhook-id until the receiver behaves.
func TestReceiverFaults(t *testing.T) {
	tests := []struct {
		name    string
		misdo   func(w http.ResponseWriter)
		wantErr string
	}{
		{"timeout", func(w http.ResponseWriter) { time.Sleep(700 * time.Millisecond); w.WriteHeader(200) }, "timed out"},
		{"closes the connection mid-response", func(w http.ResponseWriter) {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
			buf.Flush()
			conn.Close()
		}, ""},
		{"closes without answering", func(w http.ResponseWriter) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, ""},
		{"redirect is not followed", func(w http.ResponseWriter) {
			w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
			w.WriteHeader(302)
		}, "HTTP 302"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var ids []string
			calls := 0
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				n := calls
				ids = append(ids, r.Header.Get("webhook-id"))
				mu.Unlock()
				if n == 1 {
					tc.misdo(w)
					return
				}
				w.WriteHeader(200)
			})}
			go hs.Serve(ln)
			t.Cleanup(func() { hs.Close() })
			srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.DeliveryTimeout = 300 * time.Millisecond })
			srv.createStream(checkoutFriction("http://" + ln.Addr().String() + "/hook"))
			srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
			var d delivery
			waitFor(t, 10*time.Second, "success after the fault", func() bool {
				mu.Lock()
				defer mu.Unlock()
				if len(ids) < 2 {
					return false
				}
				d = srv.delivery(ids[0])
				return d.Status == "succeeded"
			})
			mu.Lock()
			defer mu.Unlock()
			if ids[1] != ids[0] {
				t.Fatalf("webhook-id changed on retry: %v", ids)
			}
			if len(d.Attempts) != 2 || d.Attempts[0].Error == "" || d.Attempts[1].Status != 200 {
				t.Fatalf("attempts = %+v, want a failure then 200", d.Attempts)
			}
			if tc.wantErr != "" && !strings.Contains(d.Attempts[0].Error, tc.wantErr) {
				t.Fatalf("first attempt error %q, want it to mention %q", d.Attempts[0].Error, tc.wantErr)
			}
		})
	}
}

// TestSlowReceiverNearTimeoutSucceeds: an answer just inside the delivery
// timeout is a success, not a retry.
func TestSlowReceiverNearTimeoutSucceeds(t *testing.T) {
	recv := newReceiver(t)
	recv.delay = 400 * time.Millisecond
	srv := startServer(t, t.TempDir(), func(c *engine.Config) { c.DeliveryTimeout = 600 * time.Millisecond })
	srv.createStream(checkoutFriction(recv.URL))
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart"})
	waitFor(t, 5*time.Second, "one webhook", func() bool { return recv.count() == 1 })
	var d delivery
	waitFor(t, 5*time.Second, "succeeded", func() bool { d = srv.delivery(recv.received()[0].id()); return d.Status == "succeeded" })
	if len(d.Attempts) != 1 || d.Attempts[0].LatencyMS < 400 {
		t.Fatalf("attempts = %+v, want one slow success", d.Attempts)
	}
}

// TestOutageLongerThanCooldown: endpoint A goes down for many breaker
// cooldowns while endpoint B keeps receiving. B's p99 event-to-webhook
// latency during the outage stays within 2× its p99 before the outage (plus
// a small constant for scheduler noise on a loaded 2-core machine); when A
// comes back it gets every message listed for it, with those webhook-ids.
func TestOutageLongerThanCooldown(t *testing.T) {
	a := newReceiver(t)
	aAddr := a.listener.Addr().String()
	b := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.BreakerFailures = 3
		c.BreakerCooldown = 200 * time.Millisecond
		c.RetrySchedule = []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond}
	})
	toA := checkoutFriction(a.URL)
	toA["name"] = "to A"
	streamA := srv.createStream(toA)
	bDef := checkoutFriction(b.URL)
	bDef["triggers"] = []any{map[string]any{"event": "click"}}
	srv.createStream(bDef)

	// latencies sends n sessions whose events fire both streams, one at a
	// time, and returns each event-to-webhook latency at B.
	session := 0
	latencies := func(n int) []time.Duration {
		var out []time.Duration
		for range n {
			session++
			before := b.count()
			sent := time.Now()
			srv.sendEvents(map[string]any{"session_id": fmt.Sprintf("s-%d", session), "type": "rage_click", "url": "/cart"},
				map[string]any{"session_id": fmt.Sprintf("s-%d", session), "type": "click"})
			waitFor(t, 5*time.Second, "B webhook", func() bool { return b.count() > before })
			out = append(out, b.received()[before].at.Sub(sent))
			time.Sleep(5 * time.Millisecond)
		}
		return out
	}
	base := p99(latencies(100))
	waitFor(t, 5*time.Second, "A to have everything so far", func() bool { return a.count() == session })
	delivered := a.count()
	a.server.Close()              // the outage: connections refused from now on
	during := p99(latencies(150)) // ~1.5 s: several cooldowns and half-open trials
	t.Logf("B p99 event-to-webhook latency: %s with A up, %s during A's outage", base, during)
	if during > 2*base+15*time.Millisecond {
		t.Fatalf("healthy endpoint p99 %s during the outage, over 2× its %s without one", during, base)
	}
	var ep endpointsResp
	srv.call("GET", "/v1/endpoints", nil, &ep)
	for _, e := range ep.Endpoints {
		if e.URL == a.URL && e.State == "closed" {
			t.Fatalf("A's breaker is closed during the outage: %+v", e)
		}
	}

	// Whatever the schedule gave up on during the outage is queued again.
	want := map[string]bool{}
	for _, status := range []string{"pending", "failed"} {
		var list struct{ Deliveries []delivery }
		srv.call("GET", "/v1/deliveries?limit=1000&stream_id="+streamA.ID+"&status="+status, nil, &list)
		for _, d := range list.Deliveries {
			if status == "failed" {
				srv.call("POST", "/v1/deliveries/"+d.ID+"/retry", nil, nil)
			}
			want[d.ID] = true
		}
	}
	if len(want) != session-delivered {
		t.Fatalf("%d undelivered messages listed for A, want %d", len(want), session-delivered)
	}
	ln, err := net.Listen("tcp", aAddr)
	if err != nil {
		t.Fatalf("bringing A back: %v", err)
	}
	back := startReceiver(t, ln)
	waitFor(t, 20*time.Second, "A to receive every message", func() bool {
		got := map[string]bool{}
		for _, h := range back.received() {
			got[h.id()] = true
		}
		return len(got) == len(want)
	})
	for _, h := range back.received() {
		if !want[h.id()] {
			t.Fatalf("A received %s, which was not listed for it", h.id())
		}
	}
}

func p99(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)*99)/100-1]
}

// TestDeliveriesFollowTheirStreamsDestination: a message waiting on a
// failing destination goes to the stream's new destination once it is
// changed (signed with the new secret), and a failed one retried after
// the change goes there too: fix the URL, then retry or recover.
func TestDeliveriesFollowTheirStreamsDestination(t *testing.T) {
	failing := make([]int, 100)
	for i := range failing {
		failing[i] = 500
	}
	broken, fixed := newReceiver(t, failing...), newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.RetrySchedule = []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond, 2 * time.Second, time.Second}
	})
	stream := srv.createStream(checkoutFriction(broken.URL))
	other := srv.createStream(map[string]any{"name": "Second", "triggers": []any{map[string]any{"event": "dead_click"}},
		"destination": map[string]any{"url": broken.URL, "secret": testSecret}})
	srv.sendEvents(map[string]any{"session_id": "waiting", "type": "rage_click", "url": "/cart"},
		map[string]any{"session_id": "given-up", "type": "dead_click"})
	waitFor(t, 5*time.Second, "failed attempts", func() bool { return broken.count() >= 6 })

	// The waiting message (its next attempt 2 s away) goes to the new
	// destination, signed with the new secret.
	const newSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	def := checkoutFriction(fixed.URL)
	def["destination"] = map[string]any{"url": fixed.URL, "secret": newSecret}
	if status := srv.call("PUT", "/v1/streams/"+stream.ID, def, nil); status != 200 {
		t.Fatalf("changing the destination: %d", status)
	}
	waitFor(t, 10*time.Second, "the waiting message at the new destination", func() bool { return fixed.count() == 1 })
	h := fixed.received()[0]
	verifier, _ := standardwebhooks.NewWebhook(newSecret)
	if err := verifier.Verify(h.body, h.header); err != nil {
		t.Fatalf("the moved message is not signed with the new secret: %v", err)
	}
	// The receiver has the webhook before the engine has its answer, so
	// the attempt's outcome is written a moment after the arrival.
	var d delivery
	waitFor(t, 5*time.Second, "the moved delivery to succeed", func() bool { d = srv.delivery(h.id()); return d.Status == "succeeded" })
	if d.URL != fixed.URL {
		t.Fatalf("delivery after the move: %s to %s, want succeeded to %s", d.Status, d.URL, fixed.URL)
	}

	// The other stream's message fails for good; retried once its stream
	// points elsewhere, it goes to where the stream points now.
	var failed string
	waitFor(t, 10*time.Second, "the second message to fail for good", func() bool {
		var list struct{ Deliveries []delivery }
		srv.call("GET", "/v1/deliveries?status=failed&stream_id="+other.ID, nil, &list)
		if len(list.Deliveries) == 1 {
			failed = list.Deliveries[0].ID
		}
		return failed != ""
	})
	if status := srv.call("PATCH", "/v1/streams/"+other.ID, map[string]any{"destination": map[string]any{"url": fixed.URL}}, nil); status != 200 {
		t.Fatalf("patching the destination: %d", status)
	}
	if status := srv.call("POST", "/v1/deliveries/"+failed+"/retry", nil, nil); status != 202 {
		t.Fatalf("retry: %d", status)
	}
	waitFor(t, 5*time.Second, "the retried message at the new destination", func() bool { return fixed.count() == 2 })
	if got := fixed.received()[1].id(); got != failed {
		t.Fatalf("the new destination got %s, want the retried %s", got, failed)
	}
}
