package delivery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

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

// TestFirstAttemptStartsFromTheEnqueuedDelivery: Enqueue hands the
// delivery just stored to its first attempt, which sends it without
// reading it back (here the stored copy says otherwise, which only a read
// would see); the attempt records the delivery it sent, and a retry sends
// what the store holds.
func TestFirstAttemptStartsFromTheEnqueuedDelivery(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	status := http.StatusInternalServerError
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		w.WriteHeader(status)
		mu.Unlock()
	}))
	defer receiver.Close()
	arrived := func(n int) []string {
		t.Helper()
		var got []string
		waitFor(t, fmt.Sprintf("%d requests", n), func() bool {
			mu.Lock()
			defer mu.Unlock()
			got = append(got[:0], bodies...)
			return len(got) >= n
		})
		return got
	}

	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var group actors.Group
	defer group.Wait()
	defer cancel()
	m := metrics.New(metrics.Gauges{LiveSessions: func() float64 { return 0 }, EventsInFlight: func() float64 { return 0 },
		StoreBytes: func() (float64, float64) { return 0, 0 }})
	cfg := Config{Schedule: []time.Duration{0}, Timeout: 5 * time.Second, BreakerFailures: 100,
		BreakerCooldown: time.Second, MaxInFlight: 4, UserAgent: "hookwire/test", MaxAttemptsKept: 10,
		Guard: netguard.Guard{AllowPrivate: true}}
	d, err := New(ctx, &group, cfg, st, fixedOwner{}, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC()
	stored := &model.Delivery{ID: "msg_first", URL: receiver.URL + "/hook", Status: model.StatusPending,
		CreatedAt: now, NextAttemptAt: &now, Payload: []byte(`{"stored":true}`)}
	if err := st.AddDelivery(stored); err != nil {
		t.Fatal(err)
	}
	handed := *stored
	handed.Payload = []byte(`{"handed":true}`)
	d.Enqueue(&handed)
	if got := arrived(1); got[0] != `{"handed":true}` {
		t.Fatalf("the first attempt sent %s, want the enqueued delivery's payload", got[0])
	}

	// The attempt failed (500), the only one the schedule allows, and was
	// recorded whole; a retry reads the store.
	waitFor(t, "the failed attempt recorded", func() bool {
		del, err := st.GetDelivery("msg_first")
		return err == nil && len(del.Attempts) == 1 && del.Status == model.StatusFailed
	})
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	if _, err := d.Retry("msg_first"); err != nil {
		t.Fatal(err)
	}
	if got := arrived(2); got[1] != `{"handed":true}` {
		t.Fatalf("the retry sent %s, want what the first attempt recorded", got[1])
	}
	waitFor(t, "the retry's success recorded", func() bool {
		del, err := st.GetDelivery("msg_first")
		return err == nil && del.Status == model.StatusSucceeded && len(del.Attempts) == 2
	})
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
