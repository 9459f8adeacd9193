package delivery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/store"
)

// fixedOwner signs every delivery with one secret and sends it where it
// was stored to go.
type fixedOwner struct{}

func (fixedOwner) Destination(d *model.Delivery) (string, string, bool) {
	return d.URL, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true
}
func (fixedOwner) Gone(*model.Delivery) {}

// Serves: every URL stays a destination, unless the test says otherwise.
func (fixedOwner) Serves(url string) bool { return !strings.Contains(url, "/retired") }

// TestFirstAttemptStartsFromTheEnqueuedDelivery: Enqueue hands the
// delivery just stored to its first attempt, which sends it without
// reading it back (here the stored copy says otherwise, which only a read
// would see); the attempt records the delivery it sent, and a retry sends
// what the store holds.
func TestFirstAttemptStartsFromTheEnqueuedDelivery(t *testing.T) {
	receiver := startReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	d, st := startDispatcher(t, []time.Duration{0})

	now := time.Now().UTC()
	stored := &model.Delivery{ID: "msg_first", URL: receiver.url(), Status: model.StatusPending,
		CreatedAt: now, NextAttemptAt: &now, Payload: []byte(`{"stored":true}`)}
	if err := st.AddDelivery(stored); err != nil {
		t.Fatal(err)
	}
	handed := *stored
	handed.Payload = []byte(`{"handed":true}`)
	d.Enqueue(&handed)
	if got := receiver.arrived(t, 1); got[0] != `{"handed":true}` {
		t.Fatalf("the first attempt sent %s, want the enqueued delivery's payload", got[0])
	}

	// The attempt failed (500), the only one the schedule allows, and was
	// recorded whole; a retry reads the store.
	waitForDelivery(t, st, "msg_first", "the failed attempt recorded", func(del *model.Delivery) bool {
		return len(del.Attempts) == 1 && del.Status == model.StatusFailed
	})
	if _, err := d.Retry("msg_first"); err != nil {
		t.Fatal(err)
	}
	if got := receiver.arrived(t, 2); got[1] != `{"handed":true}` {
		t.Fatalf("the retry sent %s, want what the first attempt recorded", got[1])
	}
	waitForDelivery(t, st, "msg_first", "the retry's success recorded", func(del *model.Delivery) bool {
		return del.Status == model.StatusSucceeded && len(del.Attempts) == 2
	})
}

// TestRetryOfAPendingDeliveryAttemptsItNow: a delivery whose next attempt
// is an hour away is attempted at once when retried, and its retry
// schedule starts over (the attempt after a failed retry comes at the
// schedule's second step, not after its third).
func TestRetryOfAPendingDeliveryAttemptsItNow(t *testing.T) {
	receiver := startReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	d, st := startDispatcher(t, []time.Duration{0, 0, time.Hour, 10 * time.Hour})
	d.Enqueue(pendingDelivery(t, st, "msg_later", receiver.url()))
	receiver.arrived(t, 2)
	later := waitForDelivery(t, st, "msg_later", "two failed attempts and the next an hour away", func(del *model.Delivery) bool {
		return len(del.Attempts) == 2 && del.Step == 2
	})
	if wait := time.Until(*later.NextAttemptAt); wait < 30*time.Minute {
		t.Fatalf("the third attempt is due in %s, want about an hour", wait)
	}

	if _, err := d.Retry("msg_later"); err != nil {
		t.Fatal(err)
	}
	// The retry's attempt fails, the schedule starts over: its step 1 (no
	// wait) makes one more attempt, then step 2 waits an hour again.
	receiver.arrived(t, 4)
	after := waitForDelivery(t, st, "msg_later", "four attempts", func(del *model.Delivery) bool {
		return len(del.Attempts) == 4 && del.Step == 2
	})
	if wait := time.Until(*after.NextAttemptAt); wait < 30*time.Minute || wait > 2*time.Hour {
		t.Fatalf("after the retry the next attempt is due in %s, want about an hour (the schedule started over)", wait)
	}
	if after.Status != model.StatusPending {
		t.Fatalf("status %s, want pending", after.Status)
	}
}

// TestRetryDuringAnAttemptIsNotLost: a retry asked for while an attempt is
// on the wire is made as soon as that attempt fails, not at the failure's
// next scheduled time. (A retry of a failed delivery that arrives before
// the endpoint has heard its last attempt end takes the same path.)
func TestRetryDuringAnAttemptIsNotLost(t *testing.T) {
	release := make(chan struct{})
	receiver := startReceiver(t, func(n int) int {
		if n == 1 {
			<-release // the first attempt hangs until the retry is asked for
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	d, st := startDispatcher(t, []time.Duration{0, time.Hour})
	d.Enqueue(pendingDelivery(t, st, "msg_busy", receiver.url()))
	receiver.arrived(t, 1)
	if _, err := d.Retry("msg_busy"); err != nil {
		t.Fatal(err)
	}
	close(release)
	receiver.arrived(t, 2)
	waitForDelivery(t, st, "msg_busy", "the retry's success", func(del *model.Delivery) bool {
		return del.Status == model.StatusSucceeded && len(del.Attempts) == 2
	})
}

// hangingServer answers no request until released, and counts the
// requests waiting on it.
type hangingServer struct {
	*httptest.Server
	release       func()
	mu            sync.Mutex
	waiting, most int
}

func startHangingServer(t *testing.T) *hangingServer {
	h := &hangingServer{}
	released := make(chan struct{})
	var once sync.Once
	h.release = func() { once.Do(func() { close(released) }) }
	h.Server = httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		h.mu.Lock()
		h.waiting++
		h.most = max(h.most, h.waiting)
		h.mu.Unlock()
		<-released
		h.mu.Lock()
		h.waiting--
		h.mu.Unlock()
	}))
	// Released first: Close waits for the handlers.
	t.Cleanup(func() { h.release(); h.Close() })
	return h
}

func (h *hangingServer) counts() (waiting, most int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waiting, h.most
}

// TestHangingEndpointsLeaveOthersAnAttempt: receivers that never answer
// hold no more attempts than the outbound budget (each endpoint its
// first, the rest shared), so they cannot take every descriptor; another
// endpoint still has its one attempt at a time and delivers; and the
// deliveries that waited for room go out once the hung attempts end.
// Without the budget the two hanging receivers held 8 attempts, over it.
func TestHangingEndpointsLeaveOthersAnAttempt(t *testing.T) {
	const budget, perEndpoint, each = 6, 4, 10
	// Two hanging endpoints, on two servers: connections are per host.
	hangs := [2]*hangingServer{startHangingServer(t), startHangingServer(t)}
	held := func() (waiting, most int) {
		for _, h := range hangs {
			w, m := h.counts()
			waiting, most = waiting+w, most+m
		}
		return waiting, most
	}
	healthy := startReceiver(t, func(int) int { return http.StatusOK })
	d, st := startDispatcher(t, []time.Duration{0}, func(c *Config) { c.MaxOutbound, c.MaxInFlight = budget, perEndpoint })

	for i := range 2 * each {
		d.Enqueue(pendingDelivery(t, st, fmt.Sprintf("msg_hang_%d", i), hangs[i%2].URL+"/hook"))
	}
	waitFor(t, "the hanging receivers to hold the budget", func() bool { w, _ := held(); return w >= budget })
	for i := range 5 {
		d.Enqueue(pendingDelivery(t, st, fmt.Sprintf("msg_ok_%d", i), healthy.url()))
	}
	healthy.arrived(t, 5)
	if _, most := held(); most != budget {
		t.Fatalf("the hanging receivers held %d attempts at most, want the budget of %d", most, budget)
	}

	for _, h := range hangs {
		h.release()
	}
	for i := range 2 * each {
		waitForDelivery(t, st, fmt.Sprintf("msg_hang_%d", i), "every waiting delivery attempted", func(del *model.Delivery) bool {
			return del.Status == model.StatusSucceeded
		})
	}
}

// TestRoomMadeElsewhereWakesAWaitingEndpoint: an endpoint that found the
// budget full starts its waiting deliveries when another endpoint's
// attempts end, not only when its own hung attempt does.
func TestRoomMadeElsewhereWakesAWaitingEndpoint(t *testing.T) {
	const budget = 4
	a, b := startHangingServer(t), startHangingServer(t)
	// A's first attempt outlasts the test: only a wake can start the rest.
	d, st := startDispatcher(t, []time.Duration{0}, func(c *Config) {
		c.MaxOutbound, c.MaxInFlight, c.Timeout = budget, budget, time.Minute
	})

	for i := range budget {
		d.Enqueue(pendingDelivery(t, st, fmt.Sprintf("msg_b_%d", i), b.URL+"/hook"))
	}
	waitFor(t, "B to hold the budget", func() bool { w, _ := b.counts(); return w == budget })
	for i := range 3 {
		d.Enqueue(pendingDelivery(t, st, fmt.Sprintf("msg_a_%d", i), a.URL+"/hook"))
	}
	waitFor(t, "A's first attempt", func() bool { w, _ := a.counts(); return w == 1 })
	time.Sleep(50 * time.Millisecond)
	if w, _ := a.counts(); w != 1 {
		t.Fatalf("A has %d attempts in flight while B holds the budget, want its first only", w)
	}
	b.release()
	waitFor(t, "A's waiting deliveries to start once B's attempts end", func() bool { w, _ := a.counts(); return w == 3 })
	a.release() // before the dispatcher stops, which waits for its attempts
}

// TestIdleConnectionsCloseOnceOverTheBudget: the connections kept for
// reuse outlive their attempts; a dial past the budget has them closed,
// and each connection counts once however often it is closed.
func TestIdleConnectionsCloseOnceOverTheBudget(t *testing.T) {
	b := &outbound{total: 2}
	closes := 0
	closeIdle := func() { closes++ }
	var conns []net.Conn
	for range 3 {
		c, peer := net.Pipe()
		t.Cleanup(func() { peer.Close() })
		conns = append(conns, b.dialed(c, closeIdle))
	}
	if closes != 1 || b.conns.Load() != 3 {
		t.Fatalf("3 dials under a budget of 2: idle connections closed %d times, %d counted open; want 1 and 3", closes, b.conns.Load())
	}
	for _, c := range conns {
		c.Close()
		c.Close()
	}
	if n := b.conns.Load(); n != 0 {
		t.Fatalf("%d connections counted open after all closed (twice)", n)
	}
}

// pendingDelivery stores a new pending delivery to url and returns it, due now.
func pendingDelivery(t *testing.T, st *store.Store, id, url string) *model.Delivery {
	t.Helper()
	now := time.Now().UTC()
	del := &model.Delivery{ID: id, URL: url, Status: model.StatusPending, CreatedAt: now,
		NextAttemptAt: &now, Payload: []byte(`{"n":1}`)}
	if err := st.AddDelivery(del); err != nil {
		t.Fatal(err)
	}
	return del
}

// waitForDelivery waits until the stored delivery id satisfies ok and
// returns it.
func waitForDelivery(t *testing.T, st *store.Store, id, what string, ok func(*model.Delivery) bool) *model.Delivery {
	t.Helper()
	var del *model.Delivery
	waitFor(t, what, func() bool {
		var err error
		del, err = st.GetDelivery(id)
		return err == nil && ok(del)
	})
	return del
}

// receiver is a loopback webhook receiver that records every request's
// body and answers the n-th (from 1) with answer(n).
type receiver struct {
	server *httptest.Server
	mu     sync.Mutex
	bodies []string
}

func startReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{}
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		n := len(r.bodies)
		r.mu.Unlock()
		w.WriteHeader(answer(n))
	}))
	t.Cleanup(r.server.Close)
	return r
}

func (r *receiver) url() string { return r.server.URL + "/hook" }

// arrived waits for n requests and returns the bodies so far.
func (r *receiver) arrived(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("%d requests", n), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		got = append(got[:0], r.bodies...)
		return len(got) >= n
	})
	return got
}

// startDispatcher runs a dispatcher over a fresh store with the given
// retry schedule until the test ends.
func startDispatcher(t *testing.T, schedule []time.Duration, tweaks ...func(*Config)) (*Dispatcher, *store.Store) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var group actors.Group
	t.Cleanup(func() {
		cancel()
		group.Wait()
		st.Close()
	})
	m := metrics.New(metrics.Gauges{LiveSessions: func() float64 { return 0 }, EventsInFlight: func() float64 { return 0 },
		EventsInFlightBytes: func() float64 { return 0 },
		StoreBytes:          func() (float64, float64) { return 0, 0 }})
	cfg := Config{Schedule: schedule, Timeout: 5 * time.Second, BreakerFailures: 100,
		BreakerCooldown: time.Second, MaxInFlight: 4, UserAgent: "hookwire/test", MaxAttemptsKept: 10,
		Guard: netguard.Guard{AllowPrivate: true}}
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	d, err := New(ctx, &group, cfg, st, fixedOwner{}, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return d, st
}

// waitFor polls ok for up to 5 s; what names what it waits for.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("waited 5 s for %s", what)
}

// TestIdleEndpointsHoldNoBudget: endpoints are made per URL and kept, so
// one without attempts must hold nothing of the budget: after ten
// endpoints each made and finished an attempt, another still gets the
// whole budget, and no more.
func TestIdleEndpointsHoldNoBudget(t *testing.T) {
	d, _ := startDispatcher(t, []time.Duration{0}, func(c *Config) { c.MaxOutbound = 4 })
	for i := range 10 {
		ep := d.endpoint(fmt.Sprintf("http://127.0.0.1:9/%d", i))
		if !d.outbound.take(ep) {
			t.Fatal("an endpoint's first attempt was refused")
		}
		d.outbound.release()
	}
	busy := d.endpoint("http://127.0.0.1:9/busy")
	for i := range 4 {
		if !d.outbound.take(busy) {
			t.Fatalf("attempt %d of a budget of 4 refused after ten endpoints went idle", i+1)
		}
		busy.inFlight.Add(1) // as dispatch does with what it takes
	}
	if d.outbound.take(busy) {
		t.Fatal("a fifth attempt taken from a budget of 4")
	}
}

// TestEndpointsNoLongerNamedAreRetired: an endpoint idle for RetireAfter
// whose URL no stream or system webhook names any more is forgotten with
// its metric series (one that is named stays); a delivery for its URL
// later gets a new endpoint, also when it comes just as the old one's
// mailbox closed.
func TestEndpointsNoLongerNamedAreRetired(t *testing.T) {
	receiver := startReceiver(t, func(int) int { return http.StatusOK })
	d, st := startDispatcher(t, []time.Duration{0}, func(c *Config) { c.RetireAfter = 100 * time.Millisecond })
	named, gone := receiver.url(), receiver.server.URL+"/retired"
	d.Enqueue(pendingDelivery(t, st, "msg_named", named))
	d.Enqueue(pendingDelivery(t, st, "msg_gone", gone))
	receiver.arrived(t, 2)
	urls := func() []string {
		var out []string
		for _, e := range d.Endpoints() {
			out = append(out, e.URL)
		}
		return out
	}
	waitFor(t, "the endpoint no destination names to be retired", func() bool {
		u := urls()
		return len(u) == 1 && u[0] == named
	})
	for name, c := range map[string]prometheus.Collector{"breaker state": d.metrics.BreakerState, "attempt seconds": d.metrics.AttemptSeconds} {
		if !hasSeries(t, c, EndpointLabel(named)) {
			t.Fatalf("%s has no series for the endpoint still named: the check cannot see series", name)
		}
		if hasSeries(t, c, EndpointLabel(gone)) {
			t.Fatalf("%s still has a series for the retired endpoint", name)
		}
	}

	d.Enqueue(pendingDelivery(t, st, "msg_gone_again", gone))
	receiver.arrived(t, 3)
	// An endpoint whose mailbox closed (retiring) but is still listed.
	d.endpoint(gone).mailbox.Close()
	d.Enqueue(pendingDelivery(t, st, "msg_gone_late", gone))
	receiver.arrived(t, 4)
	waitForDelivery(t, st, "msg_gone_late", "the late delivery succeeded", func(del *model.Delivery) bool {
		return del.Status == model.StatusSucceeded
	})
}

// hasSeries reports whether c has a series with a label valued value.
func hasSeries(t *testing.T, c prometheus.Collector, value string) bool {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	found := false
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		for _, l := range pb.Label {
			found = found || l.GetValue() == value
		}
	}
	return found
}

// TestATestSendCountsAgainstTheBudget: a stream's or system webhook's
// test send holds a connection like an attempt, and each client
// connection could ask for one: with the budget spent by hung attempts it
// is not sent and says why; once they end it goes out.
func TestATestSendCountsAgainstTheBudget(t *testing.T) {
	const budget = 2
	hang := startHangingServer(t)
	healthy := startReceiver(t, func(int) int { return http.StatusOK })
	d, st := startDispatcher(t, []time.Duration{0}, func(c *Config) { c.MaxOutbound, c.MaxInFlight = budget, budget })
	for i := range budget {
		d.Enqueue(pendingDelivery(t, st, fmt.Sprintf("msg_hang_%d", i), hang.URL+"/hook"))
	}
	waitFor(t, "the hung attempts to hold the budget", func() bool { w, _ := hang.counts(); return w == budget })
	if o := d.Test(healthy.url(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_test_1", []byte(`{}`)); o.Err == nil ||
		!strings.Contains(o.Err.Error(), "--max-outbound-connections") {
		t.Fatalf("a test send with the budget spent: %+v, want it not sent, naming the flag", o)
	}
	hang.release()
	waitFor(t, "the hung attempts to end", func() bool { w, _ := hang.counts(); return w == 0 })
	var o Outcome
	waitFor(t, "a test send once there is room", func() bool {
		o = d.Test(healthy.url(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_test_2", []byte(`{}`))
		return o.OK()
	})
	if got := healthy.arrived(t, 1); len(got) != 1 {
		t.Fatalf("the receiver got %d test sends, want the second only", len(got))
	}
}
