package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/session"
	"github.com/hookwire/hookwire/engine/store"
)

// notingSession stands in for a session actor: it notes its events' users
// when it evaluates them, as sessions do, but each turn only once it takes
// a token from letGo (a closed letGo lets every turn go).
type notingSession struct {
	id    string
	users *session.Users
	letGo <-chan struct{}
}

func (s *notingSession) Receive(batch []session.Message) {
	<-s.letGo
	for _, m := range batch {
		if m.Event != nil && m.Event.User != nil {
			s.users.Note(m.Event.User.UID, s.id)
		}
		if m.Done != nil {
			m.Done.Done()
		}
	}
}
func (s *notingSession) Deadline() time.Time       { return time.Time{} }
func (s *notingSession) Timeout(time.Time) bool    { return false }
func (s *notingSession) Stopped(actors.StopReason) {}

// startNotingWriter runs a writer on a real store whose sessions are
// notingSessions on letGo; release lets every turn go (and must be called
// once the test is done with letGo).
func startNotingWriter(t *testing.T, letGo chan struct{}) (w *Writer, release func()) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir(), Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New(metrics.Gauges{LiveSessions: func() float64 { return 0 }, EventsInFlight: func() float64 { return 0 },
		EventsInFlightBytes: func() float64 { return 0 },
		StoreBytes:          func() (float64, float64) { return 0, 0 }})
	ctx, cancel := context.WithCancel(context.Background())
	var sessions, ingest, trim actors.Group
	users := &session.Users{}
	var once sync.Once
	release = func() { once.Do(func() { close(letGo) }) }
	t.Cleanup(func() {
		release()
		cancel()
		ingest.Wait()
		sessions.Wait()
		trim.Wait()
		st.Close()
	})
	reg := actors.NewRegistry(ctx, &sessions, actors.RegistryConfig[string, session.Message]{
		Spawn: func(id string) actors.Behaviour[session.Message] {
			return &notingSession{id: id, users: users, letGo: letGo}
		},
	})
	w = NewWriter(Stage{Ctx: ctx, Group: &ingest}, Stage{Ctx: ctx, Group: &ingest},
		Config{MaxInFlight: 100, QueueCapacity: 8, DedupeTTL: time.Hour, Users: users},
		st, StartTrimmer(ctx, &trim, st, logger), reg, m, logger)
	return w, release
}

func acceptOne(t *testing.T, w *Writer, sessionID, uid string) {
	t.Helper()
	res, err := w.Accept(Batch{Events: []model.Event{{SessionID: sessionID, Type: "navigate",
		Timestamp: time.Now().UTC(), User: &model.User{UID: uid}}}}, 0)
	if err != nil || res.Accepted != 1 {
		t.Fatalf("accept: %+v, %v", res, err)
	}
}

// resolvesOnceReleased resolves uid with find, checks that it is still
// waiting for the sessions a moment later, lets them go, and returns what
// uid resolved to.
func resolvesOnceReleased(t *testing.T, find func(uid string) string, uid string, release func()) string {
	t.Helper()
	resolved := make(chan string, 1)
	go func() { resolved <- find(uid) }()
	select {
	case id := <-resolved:
		t.Fatalf("%s resolved to %q before its session had noted it", uid, id)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	return <-resolved
}

// TestSessionFinderWaitsForSessionsToNoteTheirUsers: a session learns its
// user when it evaluates its events, which may be after their request was
// answered; an event naming only that user, resolved after the answer,
// still joins the session instead of starting a new one.
func TestSessionFinderWaitsForSessionsToNoteTheirUsers(t *testing.T) {
	w, release := startNotingWriter(t, make(chan struct{}))
	acceptOne(t, w, "web-1", "u-42")
	// Answered; the session has not evaluated its event yet.
	if id := resolvesOnceReleased(t, w.SessionFinder(), "u-42", release); id != "web-1" {
		t.Fatalf("an event naming only u-42 joins %q, want web-1", id)
	}
}

// TestSessionFinderWaitsOncePerRequest: one request's events for many new
// users wait for the sessions once, not once per user: after the first
// wait, what was answered before the request began is evaluated.
func TestSessionFinderWaitsOncePerRequest(t *testing.T) {
	tokens := make(chan struct{})
	w, release := startNotingWriter(t, tokens)
	acceptOne(t, w, "web-1", "u-1")
	find := w.SessionFinder() // one request's
	first := make(chan string, 1)
	go func() { first <- find("u-first") }() // a user nobody has: it waits
	tokens <- struct{}{}                     // web-1's turn
	if id := <-first; id == "" || id == "web-1" {
		t.Fatalf("a new user got %q, want a session of its own", id)
	}
	acceptOne(t, w, "web-2", "u-2") // its turn waits for a token
	later := make(chan string, 1)
	go func() { later <- find("u-new") }()
	select {
	case id := <-later:
		if id == "" || id == "web-1" || id == "web-2" {
			t.Fatalf("a new user got %q, want a session of its own", id)
		}
	case <-time.After(time.Second):
		t.Fatal("the request's second new user waited for the sessions again")
	}
	// A new request waits again: web-2's event was answered before it.
	if id := resolvesOnceReleased(t, w.SessionFinder(), "u-2", release); id != "web-2" {
		t.Fatalf("u-2 joins %q, want web-2", id)
	}
}

// TestRequestsArrivingApartShareSyncs: requests that arrive one at a time
// (eight producers sending single events) wait for a sync started at
// least minSyncInterval after the last, instead of each paying for one.
// A sync that covers every request waiting does not wait (a lone producer
// is not slowed), so the bound leaves room for those: half as many again
// as one per interval. Without the wait it was 86 syncs in 13 ms, over
// six per interval.
func TestRequestsArrivingApartShareSyncs(t *testing.T) {
	w, release := startNotingWriter(t, make(chan struct{}))
	release()                     // the sessions evaluate at once
	const producers, each = 8, 40 // as many producers as the writer queues
	began := time.Now()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				res, err := w.Accept(Batch{Events: []model.Event{{SessionID: fmt.Sprintf("web-%d-%d", p, i), Type: "navigate",
					Timestamp: time.Now().UTC()}}}, 0)
				if err != nil || res.Accepted != 1 {
					t.Errorf("accept: %+v, %v", res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	var observed dto.Metric
	if err := w.metrics.EventLogSync.Write(&observed); err != nil {
		t.Fatal(err)
	}
	syncs := float64(observed.GetHistogram().GetSampleCount())
	if most := 1.5*float64(took/minSyncInterval) + 4; syncs < 1 || syncs > most {
		t.Fatalf("%d requests in %s took %.0f syncs; want at most %.0f, about one per %s", producers*each, took, syncs, most, minSyncInterval)
	}
	t.Logf("%d requests in %s: %.0f syncs", producers*each, took, syncs)
}
