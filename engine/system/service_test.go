package system

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store"
)

// TestOnlyAlertedSegmentsKeepMembersInMemory: a segment without alerts
// keeps no members in memory (its matches are in the store); an alert
// counts the matches stored before it, the members kept reach back as
// far as the longest window, and a longer window reads further back.
func TestOnlyAlertedSegmentsKeepMembersInMemory(t *testing.T) {
	s, st := newTestService(t)
	now := time.Now()
	ago := map[string]time.Duration{"u1": 3 * time.Hour, "u2": 90 * time.Minute, "u3": 10 * time.Minute, "u4": 0}
	for user, before := range ago {
		// As a session's commit records a match, then tells the service.
		c := &store.SessionCommit{Record: store.SessionRecord{ID: "s-" + user, Encoded: []byte(`{}`), LastEventAt: now},
			Members: []model.SegmentMember{{SegmentID: "seg", UserID: user, At: now.Add(-before)}}}
		if err := st.CommitSessions([]*store.SessionCommit{c}, time.Hour); err != nil {
			t.Fatal(err)
		}
		s.Matched("seg", user, now.Add(-before))
	}
	if len(s.members) != 0 {
		t.Fatalf("a segment without alerts keeps %d segments' members in memory", len(s.members))
	}
	for _, c := range []struct {
		window string
		value  int
		kept   int
	}{
		{"1h", 2, 2},  // u3, u4; only they are kept
		{"30m", 2, 2}, // within what is kept
		{"2h", 3, 3},  // reads u2 back from the store
		{"24h", 4, 4}, // and u1
		{"5m", 1, 4},  // u4 alone; the kept reach back 24 h
	} {
		threshold := 100.0
		a, err := s.CreateAlert("seg", &AlertDefinition{Threshold: &threshold, Direction: "ABOVE", Window: c.window})
		if err != nil {
			t.Fatal(err)
		}
		if a.Value != c.value {
			t.Errorf("an alert over %s counts %d users, want %d", c.window, a.Value, c.value)
		}
		if kept := s.members["seg"].live; kept != c.kept {
			t.Errorf("after an alert over %s, %d members kept in memory, want %d", c.window, kept, c.kept)
		}
	}
}

// newTestService runs a Service over a fresh store, closed when tb ends.
// TestDeletingAlertsShrinksTheMembersKept: the members kept for a
// segment's alerts reach back as far as its remaining alerts' longest
// window, and go with its last alert; a deleted alert is gone from the
// store too.
func TestDeletingAlertsShrinksTheMembersKept(t *testing.T) {
	s, st := newTestService(t)
	threshold := 100.0
	var ids []string
	for _, window := range []string{"24h", "1h"} {
		a, err := s.CreateAlert("seg", &AlertDefinition{Threshold: &threshold, Direction: "ABOVE", Window: window})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	if h := s.members["seg"].horizon; h != 24*time.Hour {
		t.Fatalf("members kept for %v, want 24h", h)
	}
	if err := s.DeleteAlert("other", ids[0]); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("deleting through another segment: %v, want not found", err)
	}
	if err := s.DeleteAlert("seg", ids[0]); err != nil {
		t.Fatal(err)
	}
	if h := s.members["seg"].horizon; h != time.Hour {
		t.Errorf("after the 24h alert went, members kept for %v, want 1h", h)
	}
	if err := s.DeleteAlert("seg", ids[1]); err != nil {
		t.Fatal(err)
	}
	if m := s.members["seg"]; m != nil {
		t.Errorf("a segment without alerts keeps members in memory (%d)", m.live)
	}
	stored, err := st.LoadAlerts()
	if err != nil || len(stored) != 0 {
		t.Fatalf("stored alerts after deleting both: %d, %v", len(stored), err)
	}
}

// TestAForgottenSegmentLeavesNoStoredAlert: an evaluation that saved an
// alert's state after its segment's deletion removed it from the store
// (the two are not under one lock) does not bring the alert back at the
// next start: forgetting the segment removes it again.
func TestAForgottenSegmentLeavesNoStoredAlert(t *testing.T) {
	s, st := newTestService(t)
	threshold := 100.0
	a, err := s.CreateAlert("seg", &AlertDefinition{Threshold: &threshold, Direction: "ABOVE", Window: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSegment("seg", []string{a.ID}); err != nil { // as the catalogue deletes it
		t.Fatal(err)
	}
	a.Armed = false
	if err := st.PutAlert(a); err != nil { // as an evaluation meanwhile saves it
		t.Fatal(err)
	}
	s.ForgetSegment("seg")
	if stored, err := st.LoadAlerts(); err != nil || len(stored) != 0 {
		t.Fatalf("%d alerts stored after the segment was forgotten (%v): they would be evaluated again after a restart", len(stored), err)
	}
}

func newTestService(tb testing.TB) (*Service, *store.Store) {
	tb.Helper()
	st, err := store.Open(store.Options{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	s, err := New(Config{}, st, nil, func(string) string { return "" }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	return s, st
}
