package session

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
)

// outcome records what a completion was told.
type outcome chan string

func (o outcome) Done()    { o <- "done" }
func (o outcome) Abandon() { o <- "abandoned" }

func (o outcome) wait(t *testing.T) string {
	t.Helper()
	select {
	case got := <-o:
		return got
	case <-time.After(5 * time.Second):
		t.Fatal("the completion was told nothing")
		return ""
	}
}

func testMetrics() *metrics.Metrics {
	return metrics.New(metrics.Gauges{LiveSessions: func() float64 { return 0 }, EventsInFlight: func() float64 { return 0 },
		EventsInFlightBytes: func() float64 { return 0 },
		StoreBytes:          func() (float64, float64) { return 0, 0 }})
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// openStore opens a store in a temporary directory, closed when the test
// ends.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openCatalog opens an empty stream catalogue on st, closed when the test
// ends.
func openCatalog(t *testing.T, st *store.Store) *streams.Catalog {
	t.Helper()
	cat, err := streams.Open(context.Background(), streams.Config{MaxStreams: 10, Guard: netguard.Guard{AllowPrivate: true}}, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close(context.Background()) })
	return cat
}

// runCommitter runs a committer on st until the test ends (before a store
// opened by openStore closes).
func runCommitter(t *testing.T, st *store.Store) (*Committer, *metrics.Metrics) {
	m := testMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	var group actors.Group
	committer := NewCommitter(ctx, &group, st, time.Hour, discard{}, discard{}, m, quietLogger)
	t.Cleanup(func() { cancel(); group.Wait() })
	return committer, m
}

// TestCommitterAbandonsWhatItCannotWrite: when the store refuses a commit
// (here it has been closed under the committer), its events are abandoned
// (they stay in the log for the next start, but no longer count as in
// flight), and so is a later commit of that session made on the state
// the store does not have (without asking the store).
func TestCommitterAbandonsWhatItCannotWrite(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()}) // closed by the test itself
	if err != nil {
		t.Fatal(err)
	}
	committer, m := runCommitter(t, st)

	steps := []struct {
		name string
		want string
	}{
		{"a commit the store takes", "done"},
		{"a commit the closed store refuses", "abandoned"},
		{"a later commit on the state the store refused", "abandoned"},
	}
	for i, step := range steps {
		if i == 1 {
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
		rec, err := store.EncodeSession(&model.Session{ID: "s-1", Events: int64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		o := make(outcome, 1)
		committer.submit(&commit{SessionCommit: store.SessionCommit{Record: rec}, done: []Completion{o}})
		if got := o.wait(t); got != step.want {
			t.Fatalf("%s: %s, want %s", step.name, got, step.want)
		}
	}
	if got := testutil.ToFloat64(m.EventsAbandoned); got != 2 {
		t.Errorf("hookwire_events_abandoned_total = %v, want 2", got)
	}
}

// TestPanickingTurnAbandonsItsEvents: a turn that panics (here the session
// has no stream catalog to read) abandons the events it was given, and the
// supervisor's restart lets the actor take its next turn.
func TestPanickingTurnAbandonsItsEvents(t *testing.T) {
	st := openStore(t)
	committer, m := runCommitter(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	var group actors.Group
	reg := NewRegistry(ctx, &group, &Deps{Config: Config{Idle: time.Hour, Max: 24 * time.Hour, Retention: time.Hour},
		Store: st, Committer: committer, Metrics: m, Logger: quietLogger})
	defer func() { cancel(); group.Wait() }()

	sender := reg.NewSender()
	for round := range 2 {
		first, second := make(outcome, 1), make(outcome, 1)
		event := &model.Event{SessionID: "s-1", Type: "click", Timestamp: time.Now().UTC()}
		sender.Add("s-1", Message{Event: event, Pos: model.LogPosition{Seq: uint64(round + 1)}, Done: first})
		sender.Add("s-1", Message{Event: event, Pos: model.LogPosition{Seq: uint64(round + 1), Idx: 1}, Done: second})
		if err := sender.Flush(); err != nil {
			t.Fatal(err)
		}
		for name, o := range map[string]outcome{"first": first, "second": second} {
			if got := o.wait(t); got != "abandoned" {
				t.Fatalf("round %d, %s event of a panicking turn: %s, want abandoned", round, name, got)
			}
		}
	}
	if got := testutil.ToFloat64(m.EventsAbandoned); got != 4 {
		t.Errorf("hookwire_events_abandoned_total = %v, want 4", got)
	}
}

// TestCommitterKeepsAFailedSessionOut: once a session's commit fails (here
// one with a message whose key is over Badger's 65,000 bytes), its later
// commits are not written
// either, even after it reloaded: one would move its evaluated position
// past the lost events and the replay at the next start would skip them.
// Other sessions commit as before.
func TestCommitterKeepsAFailedSessionOut(t *testing.T) {
	st := openStore(t)
	committer, _ := runCommitter(t, st)

	turn := func(session string, generation uint64, messageID string) (*commit, outcome) {
		rec, err := store.EncodeSession(&model.Session{ID: session, Events: 1})
		if err != nil {
			t.Fatal(err)
		}
		cm := &commit{SessionCommit: store.SessionCommit{Record: rec}, generation: generation}
		now := time.Now().UTC()
		if messageID != "" {
			cm.Deliveries = append(cm.Deliveries, &model.Delivery{ID: messageID, StreamID: "st_1",
				SessionID: session, URL: "http://127.0.0.1:9/hook", Status: model.StatusPending, CreatedAt: now, NextAttemptAt: &now})
		}
		o := make(outcome, 1)
		cm.done = []Completion{o}
		return cm, o
	}
	for _, step := range []struct {
		name, session string
		generation    uint64
		messageID     string
		want          string
	}{
		{"a commit Badger refuses", "s-big", 0, "msg_" + strings.Repeat("x", 70000), "abandoned"},
		{"its session's next commit, after reloading", "s-big", 1, "", "abandoned"},
		{"another session's commit", "s-other", 0, "msg_1", "done"},
	} {
		cm, o := turn(step.session, step.generation, step.messageID)
		committer.submit(cm)
		if got := o.wait(t); got != step.want {
			t.Fatalf("%s: %s, want %s", step.name, got, step.want)
		}
	}
	if sess, err := st.LoadSession("s-big"); err != nil || sess != nil {
		t.Fatalf("the failed session has a stored record (%v, %v): a replay would skip its lost events", sess, err)
	}
	if n := committer.SessionsAwaitingRestart(); n != 1 {
		t.Fatalf("%d sessions awaiting a restart, want the one whose commit failed", n)
	}
}

// TestCommitterWaitsForTheLog: sessions evaluate events while the event
// log syncs them, so the committer holds a turn's effects until the log is
// durable through the turn's last event: until then nothing is stored and
// no completion is told. A wait that cannot be answered abandons them.
func TestCommitterWaitsForTheLog(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir(), Sync: true}) // closed by the test itself
	if err != nil {
		t.Fatal(err)
	}
	committer, _ := runCommitter(t, st)

	logged := func() (uint64, *store.Written) {
		req := &store.AppendRequest{Events: []model.Event{{SessionID: "s-1", Type: "click", Timestamp: time.Now().UTC()}}}
		w, err := st.WriteEvents([]*store.AppendRequest{req}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return req.Seq, w
	}
	turn := func(session string, seq uint64) outcome {
		rec, err := store.EncodeSession(&model.Session{ID: session, Events: 1, Evaluated: model.LogPosition{Seq: seq}})
		if err != nil {
			t.Fatal(err)
		}
		o := make(outcome, 1)
		committer.submit(&commit{SessionCommit: store.SessionCommit{Record: rec}, logSeq: seq, done: []Completion{o}})
		return o
	}

	seq, written := logged()
	o := turn("s-1", seq)
	select {
	case got := <-o:
		t.Fatalf("a turn's effects were %s before its event was durable", got)
	case <-time.After(100 * time.Millisecond):
	}
	if sess, err := st.LoadSession("s-1"); err != nil || sess != nil {
		t.Fatalf("stored before its event was durable: %v, %v", sess, err)
	}
	if err := st.MakeDurable([]*store.Written{written}); err != nil {
		t.Fatal(err)
	}
	if got := o.wait(t); got != "done" {
		t.Fatalf("after the sync: %s, want done", got)
	}
	if sess, err := st.LoadSession("s-1"); err != nil || sess == nil || sess.Evaluated.Seq != seq {
		t.Fatalf("after the sync the record is stored: %v, %v", sess, err)
	}

	// The store closes before the next group is durable: the turn's wait
	// can never be answered, and its events are abandoned.
	seq2, _ := logged()
	o = turn("s-2", seq2)
	select {
	case got := <-o:
		t.Fatalf("a second turn's effects were %s before its event was durable", got)
	case <-time.After(50 * time.Millisecond):
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got := o.wait(t); got != "abandoned" {
		t.Fatalf("the store closed under a waiting turn: %s, want abandoned", got)
	}
}
