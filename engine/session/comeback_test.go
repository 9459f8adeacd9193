package session

import (
	"context"
	"testing"
	"time"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store"
)

// TestASessionBackAtOnceReadsItsLastCommit: a session that leaves memory
// (here its idle time ends) queues a last commit; when its next event
// comes before that commit is written (here the committer waits for the
// event log to sync a record ahead of it), the session coming back waits
// for it instead of reading its record from before, and counts both its
// events. It used to read nothing, count one, and write over the other.
func TestASessionBackAtOnceReadsItsLastCommit(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	cat := openCatalog(t, st)
	committer, m := runCommitter(t, st)
	regCtx, stopSessions := context.WithCancel(ctx)
	var group actors.Group
	reg := NewRegistry(regCtx, &group, &Deps{Config: Config{Idle: 500 * time.Millisecond, Max: time.Hour, Retention: time.Hour},
		Catalog: cat, Store: st, Committer: committer, Metrics: m, Logger: quietLogger})
	defer func() { stopSessions(); group.Wait() }()

	// Hold the committer: a commit behind a log record not yet synced.
	held := &store.AppendRequest{Events: []model.Event{{SessionID: "other", Type: "click", Timestamp: time.Now().UTC()}}}
	written, err := st.WriteEvents([]*store.AppendRequest{held}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.EncodeSession(&model.Session{ID: "other", Events: 1})
	if err != nil {
		t.Fatal(err)
	}
	committer.submit(&commit{SessionCommit: store.SessionCommit{Record: rec}, logSeq: held.Seq})

	click := func() Message {
		return Message{Event: &model.Event{SessionID: "s-1", Type: "click", Timestamp: time.Now().UTC()}, Arrived: time.Now().UnixNano()}
	}
	if err := reg.Send("s-1", click()); err != nil {
		t.Fatal(err)
	}
	if sess, ok := Query(reg, "s-1", 5*time.Second); !ok || sess.Events != 1 {
		t.Fatalf("the session's first event: %+v (found %v)", sess, ok)
	}
	deadline := time.Now().Add(5 * time.Second)
	for reg.Has("s-1") {
		if time.Now().After(deadline) {
			t.Fatal("the session did not leave memory once idle")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Its last commit is queued behind the held one; its next event comes.
	if err := reg.Send("s-1", click()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := st.MakeDurable([]*store.Written{written}); err != nil {
		t.Fatal(err)
	}
	sess, ok := Query(reg, "s-1", 5*time.Second)
	if !ok || sess.Events != 2 {
		t.Fatalf("the session back at once: %+v (found %v), want its 2 events", sess, ok)
	}
}
