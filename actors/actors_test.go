package actors

import (
	"context"
	"errors"
	"hash/maphash"
	"runtime"
	"slices"
	"strconv"
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

func TestMailboxClosesOnlyWhenIdle(t *testing.T) {
	mb := NewMailbox[int](4)
	mb.Push(1)
	if mb.closeIfIdle() {
		t.Fatal("a mailbox holding a message must not close as idle")
	}
	if got := mb.Drain(nil); len(got) != 1 {
		t.Fatalf("drained %v", got)
	}
	if !mb.closeIfIdle() {
		t.Fatal("an empty mailbox should close")
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
		SweepInterval: 5 * time.Millisecond,
		Spawn: func(key string) Behaviour[int] {
			spawned.Add(1)
			r := &recorder{idleAfter: 20 * time.Millisecond, stopped: make(chan StopReason, 1)}
			recs.Store(spawned.Load(), r)
			return r
		},
	})
	reg.Send("a", 1)
	reg.Send("a", 2)
	waitUntil(t, func() bool { return spawned.Load() == 1 && !reg.Has("a") })
	first, _ := recs.Load(int32(1))
	if reason := <-first.(*recorder).stopped; reason != StopIdle {
		t.Fatalf("stop reason %v, want idle", reason)
	}
	if got := first.(*recorder).values(); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("the first actor received %v, want 1 2", got)
	}
	reg.Send("a", 3)
	waitUntil(t, func() bool { return reg.Has("a") })
	if spawned.Load() != 2 {
		t.Fatalf("spawned %d actors, want a fresh one for the returning key", spawned.Load())
	}
	cancel()
	g.Wait()
	if reg.Len() != 0 {
		t.Fatalf("%d actors left after shutdown", reg.Len())
	}
	if err := reg.Send("a", 4); !errors.Is(err, ErrMailboxClosed) {
		t.Fatalf("send after shutdown: %v, want ErrMailboxClosed", err)
	}
}

// TestRegistryNeverLosesAMessageToPassivation races sends against idle
// stops: every message must be received by some incarnation. The sends
// come in rounds with a pause between them, in which the actors go idle
// and are stopped, so that each round's first sends meet the sweep (with
// sends spread evenly, a busy machine could keep every actor from ever
// going idle).
func TestRegistryNeverLosesAMessageToPassivation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	var received, stops atomic.Int64
	reg := NewRegistry(ctx, &g, RegistryConfig[int, int]{
		SweepInterval: time.Millisecond,
		Spawn: func(int) Behaviour[int] {
			return &countingIdle{received: &received, stops: &stops, since: time.Now()}
		},
	})
	const rounds, senders, each = 10, 4, 200
	for range rounds {
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := reg.Send((s*each+i)%7, i); err != nil {
						t.Errorf("send: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		time.Sleep(3 * time.Millisecond)
	}
	cancel()
	g.Wait()
	if got := received.Load(); got != rounds*senders*each {
		t.Fatalf("received %d of %d messages", got, rounds*senders*each)
	}
	if stops.Load() == 0 {
		t.Fatal("no actor passivated: the race was not run")
	}
}

type countingIdle struct {
	received, stops *atomic.Int64
	since           time.Time
}

func (c *countingIdle) Receive(b []int)        { c.received.Add(int64(len(b))); c.since = time.Now() }
func (c *countingIdle) Deadline() time.Time    { return c.since.Add(50 * time.Microsecond) }
func (c *countingIdle) Timeout(time.Time) bool { return true }
func (c *countingIdle) Stopped(r StopReason) {
	if r == StopIdle {
		c.stops.Add(1)
	}
}

// TestRegistryActorsOwnNoGoroutine: ten thousand actors that have had
// their turn cost no goroutine each, each sees its messages in order
// (sent one by one and staged together), and shutdown stops every one of
// them after draining.
func TestRegistryActorsOwnNoGoroutine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	before := runtime.NumGoroutine()
	const actors, each = 10_000, 6
	var stopped, outOfOrder, received atomic.Int64
	reg := NewRegistry(ctx, &g, RegistryConfig[int, int]{
		Partitions: 4,
		Spawn: func(int) Behaviour[int] {
			return &ordered{stopped: &stopped, outOfOrder: &outOfOrder, received: &received}
		},
	})
	sender := reg.NewSender()
	for i := range each {
		for key := range actors {
			if i%2 == 0 {
				if err := reg.Send(key, i); err != nil {
					t.Fatalf("send to %d: %v", key, err)
				}
				continue
			}
			sender.Add(key, i)
		}
		if err := sender.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, func() bool { return received.Load() == actors*each })
	if n := runtime.NumGoroutine() - before; n > 4+5 {
		t.Fatalf("%d goroutines for %d live actors, want the 4 workers", n, reg.Len())
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
		RetainKey: strings.Clone,
		Spawn: func(key string) Behaviour[int] {
			spawnedWith <- key
			return &recorder{idleAfter: time.Minute, stopped: make(chan StopReason, 1)}
		},
	})
	batch := "session-a and the rest of a large buffer"
	key := batch[:9]
	for range 2 {
		if err := reg.Send(key, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-spawnedWith; got != key || unsafe.StringData(got) == unsafe.StringData(key) {
		t.Fatalf("spawned with %q at the caller's bytes: %v", got, unsafe.StringData(got) == unsafe.StringData(key))
	}
	if len(spawnedWith) != 0 || reg.Len() != 1 {
		t.Fatalf("an equal key spawned a second actor (%d live)", reg.Len())
	}
}

// TestRegistryControlMessagesSpawnNobody: a control message reaches a live
// actor; for a key without one it goes to Undeliverable and spawns none.
func TestRegistryControlMessagesSpawnNobody(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	defer g.Wait()
	defer cancel()
	undelivered := make(chan int, 4)
	rec := &recorder{stopped: make(chan StopReason, 1)}
	reg := NewRegistry(ctx, &g, RegistryConfig[string, int]{
		Spawn:         func(string) Behaviour[int] { return rec },
		Undeliverable: func(key string, msg int) { undelivered <- msg },
	})
	reg.PushControl("nobody", 7)
	if got := <-undelivered; got != 7 {
		t.Fatalf("undeliverable got %d, want 7", got)
	}
	if reg.Has("nobody") || reg.Len() != 0 {
		t.Fatal("a control message spawned an actor")
	}
	reg.Send("a", 1)
	reg.PushControl("a", 2)
	reg.Settle(ctx)
	if got := rec.values(); !slices.Equal(got, []int{1, 2}) || len(undelivered) != 0 {
		t.Fatalf("the live actor received %v (%d undelivered), want 1 2", got, len(undelivered))
	}
}

// TestRegistryPanicHarmsOnlyItsActor: a turn that panics is supervised;
// the other actors of the partition get their messages in the same round.
func TestRegistryPanicHarmsOnlyItsActor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	defer g.Wait()
	defer cancel()
	recs := map[string]*recorder{
		"bad":  {panicOn: 13, stopped: make(chan StopReason, 1)},
		"good": {panicOn: 13, stopped: make(chan StopReason, 1)},
	}
	var panics atomic.Int32
	reg := NewRegistry(ctx, &g, RegistryConfig[string, int]{
		Partitions: 1,
		Spawn:      func(key string) Behaviour[int] { return recs[key] },
		Supervisor: func(key, recovered any, stack []byte) Directive {
			if key != "bad" {
				t.Errorf("panic reported for %v", key)
			}
			panics.Add(1)
			return Restart
		},
	})
	sender := reg.NewSender()
	sender.Add("bad", 13)
	sender.Add("good", 1)
	sender.Add("bad", 2)
	sender.Flush()
	reg.Settle(ctx)
	reg.Send("bad", 3)
	reg.Settle(ctx)
	if panics.Load() != 1 || recs["bad"].restarts != 1 {
		t.Fatalf("%d panics, %d restarts; want 1 and 1", panics.Load(), recs["bad"].restarts)
	}
	if got := recs["good"].values(); !slices.Equal(got, []int{1}) {
		t.Fatalf("the other actor received %v, want 1", got)
	}
	if got := recs["bad"].values(); !slices.Equal(got, []int{3}) {
		t.Fatalf("the restarted actor received %v after its panic, want 3", got)
	}
}

// TestRegistrySettleWaitsForQueuedTurns: Settle returns once what was
// queued before it has been handled, and not before.
func TestRegistrySettleWaitsForQueuedTurns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	defer g.Wait()
	defer cancel()
	block := make(chan struct{})
	rec := &recorder{panicOn: -1, stopped: make(chan StopReason, 1)}
	reg := NewRegistry(ctx, &g, RegistryConfig[string, int]{
		Spawn: func(string) Behaviour[int] { return behaviourFunc{rec, block} },
	})
	reg.Send("a", 1)
	short, stop := context.WithTimeout(ctx, 20*time.Millisecond)
	defer stop()
	if err := reg.Settle(short); err == nil {
		t.Fatal("Settle returned while a queued turn was blocked")
	}
	if reg.Pending() != 1 {
		t.Fatalf("pending %d, want 1", reg.Pending())
	}
	close(block)
	if err := reg.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.values(); !slices.Equal(got, []int{1}) || reg.Pending() != 0 {
		t.Fatalf("after Settle: received %v, pending %d", got, reg.Pending())
	}
}

// TestRegistryKeepsAnActorWhoseDeadlineMoved: the registry reads a
// deadline again only once the one it read has passed; an actor that got
// messages since is not stopped then (its Timeout trusts that it runs at
// or after its Deadline, as the contract says), and is once it is idle
// for real.
func TestRegistryKeepsAnActorWhoseDeadlineMoved(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	defer func() { cancel(); g.Wait() }()
	var spawned atomic.Int32
	rec := &recorder{idleAfter: 40 * time.Millisecond, stopped: make(chan StopReason, 64)}
	reg := NewRegistry(ctx, &g, RegistryConfig[string, int]{
		SweepInterval: 2 * time.Millisecond,
		Spawn: func(string) Behaviour[int] {
			spawned.Add(1)
			return trusting{rec}
		},
	})
	busyUntil := time.Now().Add(200 * time.Millisecond) // five times the idle time
	for i := 0; time.Now().Before(busyUntil); i++ {
		reg.Send("a", i)
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case reason := <-rec.stopped:
		t.Fatalf("an actor with a message every 10 ms was stopped (%v) with a 40 ms idle time", reason)
	default:
	}
	select {
	case reason := <-rec.stopped:
		if reason != StopIdle || spawned.Load() != 1 {
			t.Fatalf("stopped %v after %d spawns, want idle after 1", reason, spawned.Load())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the actor was not stopped once idle")
	}
}

// trusting stops whenever asked: it relies on Timeout coming only at or
// after its Deadline.
type trusting struct{ *recorder }

func (trusting) Timeout(time.Time) bool { return true }

// TestWorkerKeepsAQueueBufferInUse: a backlog that stays keeps its big
// queue buffer from turn to turn; a big buffer is let go once the backlog
// is over, or when a turn barely used it (the worker runs here without its
// goroutine, turn by turn).
func TestWorkerKeepsAQueueBufferInUse(t *testing.T) {
	r := &Registry[string, int]{spawn: func(string) Behaviour[int] { return &tally{} },
		supervisor: ResumeAlways, sweep: time.Second, seed: maphash.MakeSeed()}
	r.parts = make([]partition[string, int], 1)
	p := &r.parts[0]
	p.wake = make(chan struct{}, 1)
	w := &worker[string, int]{r: r, p: p}
	queue := func(n int) {
		envs := make([]envelope[string, int], n)
		for i := range envs {
			envs[i].key = "session-" + strconv.Itoa(i%1000)
			envs[i].hash = slotHash(maphash.Comparable(r.seed, envs[i].key))
			envs[i].msg = 1
		}
		if err := p.append(envs...); err != nil {
			t.Fatal(err)
		}
	}

	const backlog = 100_000
	queue(backlog)
	first := w.take()
	queue(backlog) // the backlog goes on while the first turn runs
	w.handle(first)
	if cap(w.spare) < backlog {
		t.Fatalf("a buffer that held %d messages, with as many waiting, was let go (spare capacity %d)", backlog, cap(w.spare))
	}
	w.handle(w.take()) // the second; nothing waits after it
	if cap(w.spare) >= backlog || cap(p.queue) >= backlog {
		t.Fatalf("buffers of %d and %d messages were kept after the backlog was over", cap(w.spare), cap(p.queue))
	}

	queue(backlog)
	first = w.take()
	queue(backlog)
	w.handle(first) // kept, as above
	second := w.take()
	queue(10) // into the buffer the first turn kept, which this take handed to the senders
	w.handle(second)
	barely := w.take() // 10 messages in a buffer of a backlog's size
	queue(backlog)     // and a backlog waiting again
	w.handle(barely)
	if cap(w.spare) >= backlog {
		t.Fatalf("a %d-message buffer a 10-message turn used was kept", cap(w.spare))
	}
	if got := p.handled.Load(); got != 4*backlog+10 {
		t.Fatalf("handled %d messages, want %d", got, 4*backlog+10)
	}
}

// lastActive's deadline is an hour after its last message: what a session
// actor's is, by activity.
type lastActive struct {
	key     int
	since   atomic.Int64
	stopped func(key int, r StopReason)
}

func (l *lastActive) Receive([]int)             { l.since.Store(time.Now().UnixNano()) }
func (l *lastActive) Deadline() time.Time       { return time.Unix(0, l.since.Load()).Add(time.Hour) }
func (l *lastActive) Timeout(time.Time) bool    { return false }
func (l *lastActive) Stopped(reason StopReason) { l.stopped(l.key, reason) }

// TestRegistryEvictsTheLeastRecentlyActivePastItsBound: past MaxActors a
// sweep stops the actors whose deadlines come first, down to a tenth below
// the bound, with StopEvicted, and leaves the recently active; an evicted
// key comes back with its next message.
func TestRegistryEvictsTheLeastRecentlyActivePastItsBound(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var g Group
	var mu sync.Mutex
	evicted := map[int]StopReason{}
	reg := NewRegistry(ctx, &g, RegistryConfig[int, int]{
		Partitions: 1, MaxActors: 20, SweepInterval: 20 * time.Millisecond,
		Spawn: func(key int) Behaviour[int] {
			return &lastActive{key: key, stopped: func(k int, r StopReason) {
				mu.Lock()
				defer mu.Unlock()
				evicted[k] = r
			}}
		},
	})
	for key := range 30 {
		reg.Send(key, 1)
		waitUntil(t, func() bool { return reg.Has(key) }) // spawned and run: its deadline is set
		time.Sleep(time.Millisecond)                      // so that deadlines are apart
	}
	// Sweeps may come at any point of the arrivals, so how many were
	// evicted depends on when; that the least recently active went first
	// does not.
	waitUntil(t, func() bool { // an actor leaves the table before its Stopped runs
		mu.Lock()
		defer mu.Unlock()
		return reg.Len() <= 20 && reg.Len()+len(evicted) == 30
	})
	mu.Lock()
	live := reg.Len()
	if live < 18 {
		t.Errorf("%d live of 30 under a bound of 20, want 18–20 (a tenth under the bound, then arrivals)", live)
	}
	for key := range 30 {
		reason, gone := evicted[key]
		switch {
		case key < 30-live && (!gone || reason != StopEvicted):
			t.Errorf("actor %d, among the %d least recently active: stopped %v (%v), want evicted", key, 30-live, gone, reason)
		case key >= 30-live && gone:
			t.Errorf("actor %d, among the %d most recently active, was stopped (%v)", key, live, reason)
		}
	}
	mu.Unlock()
	reg.Send(0, 2)
	waitUntil(t, func() bool { return reg.Has(0) })
}
