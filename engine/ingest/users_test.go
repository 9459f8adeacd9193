package ingest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/session"
	"github.com/hookwire/hookwire/engine/store"
)

// notingSession stands in for a session actor: it notes its events' users
// when it evaluates them, as sessions do, but only once let go.
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

// TestSessionForWaitsForSessionsToNoteTheirUsers: a session learns its
// user when it evaluates its events, which may be after their request was
// answered; an event naming only that user, resolved after the answer,
// still joins the session instead of starting a new one.
func TestSessionForWaitsForSessionsToNoteTheirUsers(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir(), Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New(metrics.Gauges{LiveSessions: func() float64 { return 0 }, EventsInFlight: func() float64 { return 0 },
		StoreBytes: func() (float64, float64) { return 0, 0 }})
	ctx, cancel := context.WithCancel(context.Background())
	var sessions, ingest, trim actors.Group
	users := &session.Users{}
	letGo := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(letGo) }) }
	defer func() { release(); cancel(); ingest.Wait(); sessions.Wait(); trim.Wait() }()
	reg := actors.NewRegistry(ctx, &sessions, actors.RegistryConfig[string, session.Message]{
		Spawn: func(id string) actors.Behaviour[session.Message] {
			return &notingSession{id: id, users: users, letGo: letGo}
		},
	})
	w := NewWriter(Stage{Ctx: ctx, Group: &ingest}, Stage{Ctx: ctx, Group: &ingest},
		Config{MaxInFlight: 100, QueueCapacity: 8, DedupeTTL: time.Hour, Users: users},
		st, StartTrimmer(ctx, &trim, st, logger), reg, m, logger)

	res, err := w.Accept(Batch{Events: []model.Event{{SessionID: "web-1", Type: "navigate",
		Timestamp: time.Now().UTC(), User: &model.User{UID: "u-42"}}}})
	if err != nil || res.Accepted != 1 {
		t.Fatalf("accept: %+v, %v", res, err)
	}
	// Answered; the session has not evaluated its event yet.
	resolved := make(chan string, 1)
	go func() { resolved <- w.SessionFor("u-42") }()
	select {
	case id := <-resolved:
		t.Fatalf("resolved to %q before the session had noted its user", id)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if id := <-resolved; id != "web-1" {
		t.Fatalf("an event naming only u-42 joins %q, want web-1", id)
	}
}
