package actors

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

func TestMailboxBoundsAndOrder(t *testing.T) {
	mb := NewMailbox[int](3)
	for i := range 3 {
		if err := mb.Push(i); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	if err := mb.Push(3); !errors.Is(err, ErrMailboxFull) {
		t.Fatalf("push into a full mailbox: %v, want ErrMailboxFull", err)
	}
	if err := mb.PushControl(-1); err != nil {
		t.Fatalf("control messages are not bounded by capacity: %v", err)
	}
	got := mb.Drain(nil)
	want := []int{-1, 0, 1, 2}
	if len(got) != len(want) {
		t.Fatalf("drained %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("drained %v, want control first then FIFO %v", got, want)
		}
	}
}

func TestMailboxReservations(t *testing.T) {
	mb := NewMailbox[int](4)
	if err := mb.Reserve(3); err != nil {
		t.Fatal(err)
	}
	if err := mb.Push(1); err != nil {
		t.Fatalf("one slot is still free: %v", err)
	}
	if err := mb.Push(2); !errors.Is(err, ErrMailboxFull) {
		t.Fatalf("reserved slots must count: %v", err)
	}
	if mb.closeIfIdle() {
		t.Fatal("a mailbox with reservations must not close as idle")
	}
	if err := mb.PushReserved(7, 8); err != nil {
		t.Fatal(err)
	}
	mb.Release(1)
	if err := mb.Push(3); err != nil {
		t.Fatalf("released slot should be free: %v", err)
	}
	if got := mb.Drain(nil); len(got) != 4 {
		t.Fatalf("drained %v", got)
	}
	if !mb.closeIfIdle() {
		t.Fatal("empty mailbox without reservations should close")
	}
	if err := mb.Push(1); !errors.Is(err, ErrMailboxClosed) {
		t.Fatalf("push after close: %v", err)
	}
}

// recorder is a behaviour that records batches and can panic or stop.
type recorder struct {
	mu        sync.Mutex
	got       []int
	panicOn   int
	restarts  int
	idleAfter time.Duration
	last      time.Time
	stopped   chan StopReason
}

func (r *recorder) Receive(batch []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = time.Now()
	for _, m := range batch {
		if m == r.panicOn {
			panic("boom")
		}
		r.got = append(r.got, m)
	}
}
func (r *recorder) Deadline() time.Time {
	if r.idleAfter == 0 || r.last.IsZero() {
		return time.Time{}
	}
	return r.last.Add(r.idleAfter)
}
func (r *recorder) Timeout(now time.Time) bool { return !now.Before(r.Deadline()) }
func (r *recorder) Stopped(reason StopReason)  { r.stopped <- reason }
func (r *recorder) Restart()                   { r.restarts++ }
func (r *recorder) values() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.got...)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSupervisorRestartsAfterPanic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	rec := &recorder{panicOn: 13, stopped: make(chan StopReason, 1)}
	var panics atomic.Int32
	mb := NewMailbox[int](16)
	Spawn(ctx, &g, "t", mb, rec, func(key, recovered any, stack []byte) Directive {
		panics.Add(1)
		return Restart
	})
	mb.Push(1)
	waitUntil(t, func() bool { return len(rec.values()) == 1 })
	mb.Push(13)
	waitUntil(t, func() bool { return panics.Load() == 1 })
	mb.Push(2)
	waitUntil(t, func() bool { return len(rec.values()) == 2 })
	cancel()
	g.Wait()
	if rec.restarts != 1 {
		t.Fatalf("restarts = %d, want 1", rec.restarts)
	}
	if reason := <-rec.stopped; reason != StopShutdown {
		t.Fatalf("stop reason %v, want shutdown", reason)
	}
}

func TestShutdownDrainsTheMailbox(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	block := make(chan struct{})
	rec := &recorder{panicOn: -1, stopped: make(chan StopReason, 1)}
	mb := NewMailbox[int](100)
	Spawn(ctx, &g, "t", mb, behaviourFunc{rec, block}, nil)
	mb.Push(0) // the actor blocks on this one until we let go
	for i := 1; i < 50; i++ {
		mb.Push(i)
	}
	cancel()
	close(block)
	g.Wait()
	if n := len(rec.values()); n != 50 {
		t.Fatalf("processed %d messages before stopping, want all 50", n)
	}
}

// behaviourFunc blocks on its first batch until released.
type behaviourFunc struct {
	*recorder
	block chan struct{}
}

func (b behaviourFunc) Receive(batch []int) {
	<-b.block
	b.recorder.Receive(batch)
}

func TestRegistryPassivatesIdleActorsAndRespawns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var g Group
	var spawned atomic.Int32
	recs := sync.Map{}
	reg := NewRegistry(ctx, &g, RegistryConfig[string, int]{
		MailboxCapacity: 8,
		SweepInterval:   5 * time.Millisecond,
		Spawn: func(key string) Behaviour[int] {
			spawned.Add(1)
			r := &recorder{idleAfter: 20 * time.Millisecond, stopped: make(chan StopReason, 1)}
			recs.Store(spawned.Load(), r)
			return r
		},
	})
	mb, err := reg.Reserve("a", 2)
	if err != nil {
		t.Fatal(err)
	}
	mb.PushReserved(1, 2)
	if _, err := reg.Reserve("b", 9); !errors.Is(err, ErrMailboxFull) || reg.Has("b") {
		t.Fatalf("a reservation over capacity must fail without spawning: %v, live=%v", err, reg.Has("b"))
	}
	waitUntil(t, func() bool { return !reg.Has("a") })
	first, _ := recs.Load(int32(1))
	if reason := <-first.(*recorder).stopped; reason != StopIdle {
		t.Fatalf("stop reason %v, want idle", reason)
	}
	mb, err = reg.Reserve("a", 1)
	if err != nil {
		t.Fatal(err)
	}
	mb.PushReserved(3)
	if spawned.Load() != 2 || !reg.Has("a") {
		t.Fatalf("spawned %d actors, want a fresh one for the returning key", spawned.Load())
	}
	cancel()
	g.Wait()
	if reg.Len() != 0 {
		t.Fatalf("%d actors left after shutdown", reg.Len())
	}
}

// TestRegistryNeverLosesAMessageToPassivation races pushes against idle
// stops: every reserved message must be received by some incarnation.
func TestRegistryNeverLosesAMessageToPassivation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	var received atomic.Int64
	reg := NewRegistry(ctx, &g, RegistryConfig[int, int]{
		MailboxCapacity: 1024,
		SweepInterval:   time.Millisecond,
		Spawn: func(int) Behaviour[int] {
			return &countingIdle{received: &received, since: time.Now()}
		},
	})
	const senders, each = 4, 2000
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := (s*each + i) % 7
				for {
					mb, err := reg.Reserve(key, 1)
					if err == nil {
						mb.PushReserved(i)
						break
					}
				}
				if i%100 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	g.Wait()
	if got := received.Load(); got != senders*each {
		t.Fatalf("received %d of %d messages", got, senders*each)
	}
}

type countingIdle struct {
	received *atomic.Int64
	since    time.Time
}

func (c *countingIdle) Receive(b []int)        { c.received.Add(int64(len(b))); c.since = time.Now() }
func (c *countingIdle) Deadline() time.Time    { return c.since.Add(50 * time.Microsecond) }
func (c *countingIdle) Timeout(time.Time) bool { return true }
func (c *countingIdle) Stopped(StopReason)     {}

// TestRegistryActorsOwnNoGoroutine: ten thousand actors that have had
// their turn cost no goroutine each, each sees its messages in order,
// and shutdown stops every one of them after draining.
func TestRegistryActorsOwnNoGoroutine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	before := runtime.NumGoroutine()
	const actors, each = 10_000, 5
	var stopped, outOfOrder, received atomic.Int64
	reg := NewRegistry(ctx, &g, RegistryConfig[int, int]{
		MailboxCapacity: each,
		Workers:         4,
		Spawn: func(int) Behaviour[int] {
			return &ordered{stopped: &stopped, outOfOrder: &outOfOrder, received: &received}
		},
	})
	for i := range each {
		for key := range actors {
			mb, err := reg.Reserve(key, 1)
			if err != nil {
				t.Fatalf("reserve %d: %v", key, err)
			}
			mb.PushReserved(i)
		}
	}
	waitUntil(t, func() bool { return received.Load() == actors*each })
	if n := runtime.NumGoroutine() - before; n > 4+1+5 {
		t.Fatalf("%d goroutines for %d live actors, want the 4 workers and the sweeper", n, reg.Len())
	}
	if reg.Len() != actors {
		t.Fatalf("%d live actors, want %d", reg.Len(), actors)
	}
	cancel()
	g.Wait()
	if stopped.Load() != actors || outOfOrder.Load() != 0 {
		t.Fatalf("stopped %d of %d actors, %d messages out of order", stopped.Load(), actors, outOfOrder.Load())
	}
}

type ordered struct {
	next                          int
	stopped, outOfOrder, received *atomic.Int64
}

func (o *ordered) Receive(b []int) {
	for _, m := range b {
		if m != o.next {
			o.outOfOrder.Add(1)
		}
		o.next = m + 1
	}
	o.received.Add(int64(len(b)))
}
func (o *ordered) Deadline() time.Time    { return time.Time{} }
func (o *ordered) Timeout(time.Time) bool { return false }
func (o *ordered) Stopped(r StopReason) {
	if r == StopShutdown {
		o.stopped.Add(1)
	}
}

// TestRegistryRetainsKeys: a new actor and the registry keep the copy of
// the key RetainKey returns, not the caller's, and find it by equal keys.
func TestRegistryRetainsKeys(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	defer g.Wait()
	defer cancel()
	spawnedWith := make(chan string, 2)
	reg := NewRegistry(ctx, &g, RegistryConfig[string, int]{
		MailboxCapacity: 8,
		RetainKey:       strings.Clone,
		Spawn: func(key string) Behaviour[int] {
			spawnedWith <- key
			return &recorder{idleAfter: time.Minute, stopped: make(chan StopReason, 1)}
		},
	})
	batch := "session-a and the rest of a large buffer"
	key := batch[:9]
	for range 2 {
		if _, err := reg.Reserve(key, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-spawnedWith; got != key || unsafe.StringData(got) == unsafe.StringData(key) {
		t.Fatalf("spawned with %q at the caller's bytes: %v", got, unsafe.StringData(got) == unsafe.StringData(key))
	}
	if len(spawnedWith) != 0 || reg.Len() != 1 {
		t.Fatalf("an equal key spawned a second actor (%d live)", reg.Len())
	}
}

type countingScheduler struct{ turns int }

func (s *countingScheduler) schedule() { s.turns++ }

// TestDispatchedMailboxKeepsALoneMessageInPlace: a registry mailbox keeps
// its only message in its own slot and moves to a borrowed buffer when
// more come, in order, whether they come one by one or reserved together.
func TestDispatchedMailboxKeepsALoneMessageInPlace(t *testing.T) {
	var m Mailbox[int]
	var sched countingScheduler
	var buffers bufferPool[int]
	m.initDispatched(8, &sched, &buffers)
	drain := func() []int { return m.Drain(nil) }
	if err := m.Push(1); err != nil {
		t.Fatal(err)
	}
	if m.borrowed != nil || &m.user[0] != &m.one[0] {
		t.Fatal("a lone message borrowed a buffer")
	}
	if got := drain(); len(got) != 1 || got[0] != 1 || m.one[0] != 0 {
		t.Fatalf("drained %v, slot left %d", got, m.one[0])
	}
	for i := 2; i <= 4; i++ {
		if err := m.Push(i); err != nil {
			t.Fatal(err)
		}
	}
	if m.borrowed == nil || m.one[0] != 0 {
		t.Fatalf("three messages: borrowed %v, slot %d", m.borrowed != nil, m.one[0])
	}
	if got := drain(); !slices.Equal(got, []int{2, 3, 4}) {
		t.Fatalf("drained %v, want 2 3 4", got)
	}
	if err := m.Reserve(2); err != nil {
		t.Fatal(err)
	}
	m.PushReserved(5, 6)
	m.Push(7)
	if got := drain(); !slices.Equal(got, []int{5, 6, 7}) || m.Len() != 0 || sched.turns == 0 {
		t.Fatalf("drained %v (len after %d, %d turns scheduled), want 5 6 7", got, m.Len(), sched.turns)
	}
}
