package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// waitAsync starts WaitDurable(seq) and returns where its answer arrives.
func waitAsync(s *Store, seq uint64) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.WaitDurable(context.Background(), seq) }()
	return done
}

func expectWaiting(t *testing.T, what string, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s: WaitDurable returned (%v) before the record was synced", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

func expectAnswer(t *testing.T, what string, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: WaitDurable still waiting", what)
		return nil
	}
}

// TestWaitDurable: a record written but not synced is waited for until its
// group's sync, records from before the store was opened count as
// durable, and a failed sync fails every wait for what it did not cover,
// then and later.
func TestWaitDurable(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Sync: true})
	first := &AppendRequest{Events: []model.Event{ev("s", "")}}
	w1, err := s.WriteEvents([]*AppendRequest{first}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	done := waitAsync(s, first.Seq)
	expectWaiting(t, "written, not synced", done)
	second := &AppendRequest{Events: []model.Event{ev("t", "")}}
	w2, err := s.WriteEvents([]*AppendRequest{second}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MakeDurable([]*Written{w1}); err != nil {
		t.Fatal(err)
	}
	if err := expectAnswer(t, "synced", done); err != nil {
		t.Fatalf("synced: %v", err)
	}
	if err := s.WaitDurable(context.Background(), 0); err != nil {
		t.Fatalf("no record at all: %v", err)
	}
	laterGroup := waitAsync(s, second.Seq)
	expectWaiting(t, "a later group, written", laterGroup)
	if err := s.MakeDurable([]*Written{w2}); err != nil {
		t.Fatal(err)
	}
	if err := expectAnswer(t, "a later group, synced", laterGroup); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopened: the records logged before count as durable; a new one
	// whose sync fails fails its waits, and every later one's.
	s = open(t, dir, Options{Sync: true})
	if err := s.WaitDurable(context.Background(), second.Seq); err != nil {
		t.Fatalf("a record from before the open: %v", err)
	}
	third := &AppendRequest{Events: []model.Event{ev("s", "")}}
	w3, err := s.WriteEvents([]*AppendRequest{third}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if third.Seq <= second.Seq {
		t.Fatalf("sequence went back: %d after %d", third.Seq, second.Seq)
	}
	done = waitAsync(s, third.Seq)
	expectWaiting(t, "written after the reopen", done)
	s.log.mu.Lock()
	s.log.active.Close() // the disk goes away under the log
	s.log.mu.Unlock()
	syncErr := s.MakeDurable([]*Written{w3})
	if syncErr == nil {
		t.Fatal("a sync on a closed file must fail")
	}
	if err := expectAnswer(t, "a failed sync", done); err == nil || err.Error() != syncErr.Error() {
		t.Fatalf("a failed sync: WaitDurable = %v, want %v", err, syncErr)
	}
	if err := s.WaitDurable(context.Background(), third.Seq+10); err == nil {
		t.Fatal("after a failed sync, a wait for a later record must fail too")
	}
	if err := s.WaitDurable(context.Background(), second.Seq); err != nil {
		t.Fatalf("a record durable before the failure: %v", err)
	}
}

// TestWaitDurableEndsAtClose: a wait the store can no longer answer ends
// with ErrClosed when the store closes.
func TestWaitDurableEndsAtClose(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	req := &AppendRequest{Events: []model.Event{ev("s", "")}}
	if _, err := s.WriteEvents([]*AppendRequest{req}, time.Hour); err != nil {
		t.Fatal(err)
	}
	done := waitAsync(s, req.Seq)
	expectWaiting(t, "written", done)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := expectAnswer(t, "closed", done); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed: WaitDurable = %v, want ErrClosed", err)
	}
}

// TestWaitDurableEndsWithItsContext: a wait whose context ends returns
// then, with the context's error.
func TestWaitDurableEndsWithItsContext(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: true})
	req := &AppendRequest{Events: []model.Event{ev("s", "")}}
	if _, err := s.WriteEvents([]*AppendRequest{req}, time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.WaitDurable(ctx, req.Seq) }()
	expectWaiting(t, "written", done)
	cancel()
	if err := expectAnswer(t, "cancelled", done); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: WaitDurable = %v, want context.Canceled", err)
	}
}
