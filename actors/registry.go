package actors

import (
	"context"
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const registryShards = 1 << shardBits

// Registry owns one actor per key, spawned on first use and removed when its
// behaviour asks to stop while idle (passivation). Its actors own no
// goroutine: a push schedules the actor's turn on a fixed pool of workers,
// and one sweeper goroutine hands due timeouts out, so an idle actor costs
// only its state. Every method is safe for concurrent use.
//
// Lookups that reserve room and the idle check that closes a mailbox take
// the same shard lock, so a message is never pushed to an actor that has
// just decided to leave.
type Registry[K comparable, M any] struct {
	ctx        context.Context
	spawn      func(K) Behaviour[M]
	capacity   int
	supervisor Supervisor
	sweep      time.Duration
	retainKey  func(K) K
	seed       maphash.Seed
	dispatcher *dispatcher[*cell[K, M]]
	live       sync.WaitGroup // one per actor not yet Stopped
	buffers    bufferPool[M]  // mailbox buffers, lent while messages wait
	shards     [registryShards]registryShard[K, M]
}

type registryShard[K comparable, M any] struct {
	mu     sync.Mutex
	closed bool
	actors cellTable[K, M]
}

// RegistryConfig configures a Registry.
type RegistryConfig[K comparable, M any] struct {
	// Spawn makes the behaviour of a new actor for key. It runs under the
	// shard lock, so it must be quick (defer loading to the first Receive).
	Spawn func(key K) Behaviour[M]
	// MailboxCapacity bounds each actor's ordinary messages.
	MailboxCapacity int
	// Supervisor handles panics; nil means ResumeAlways.
	Supervisor Supervisor
	// Workers run the actors' turns; 0 means 2 per CPU. Receive should not
	// block for long: a blocked turn holds a worker.
	Workers int
	// SweepInterval is how often deadlines are checked (default 1s): a
	// Timeout runs up to this long after its Deadline.
	SweepInterval time.Duration
	// RetainKey, when set, returns an equal copy of a new actor's key for
	// the registry and the actor to keep (strings.Clone for a string that
	// views a larger buffer).
	RetainKey func(key K) K
}

// NewRegistry returns a registry whose actors run until ctx ends; group
// waits for its workers, and for every actor's Stopped.
func NewRegistry[K comparable, M any](ctx context.Context, group *Group, cfg RegistryConfig[K, M]) *Registry[K, M] {
	r := &Registry[K, M]{ctx: ctx, spawn: cfg.Spawn, capacity: cfg.MailboxCapacity, supervisor: cfg.Supervisor,
		sweep: cfg.SweepInterval, retainKey: cfg.RetainKey, seed: maphash.MakeSeed(), dispatcher: newDispatcher[*cell[K, M]]()}
	if r.supervisor == nil {
		r.supervisor = ResumeAlways
	}
	if r.sweep <= 0 {
		r.sweep = time.Second
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	var working sync.WaitGroup
	for range workers {
		working.Add(1)
		group.Go(func() {
			defer working.Done()
			var drained []M // the worker's own, turn after turn
			r.dispatcher.work(func(c *cell[K, M]) { c.run(&drained) })
		})
	}
	group.Go(func() {
		r.sweepUntilDone()
		r.shutdown()
		r.dispatcher.close()
		working.Wait()
	})
	return r
}

// locate returns key's shard and its hash in the shard's table.
func (r *Registry[K, M]) locate(key K) (*registryShard[K, M], uint64) {
	h := tableHash(maphash.Comparable(r.seed, key))
	return &r.shards[h%registryShards], h
}

// Touch reads where the actors of n keys are kept, without locking, so
// that a caller about to Reserve them all has them in the cache: their
// misses overlap here instead of each waiting for the one before inside
// a lookup (which takes a lock, and a lock orders memory). It changes
// nothing; the sum it returns means nothing.
func (r *Registry[K, M]) Touch(n int, key func(i int) K) int {
	var hashes [32]uint64
	sum := 0
	for start := 0; start < n; start += len(hashes) {
		chunk := hashes[:min(len(hashes), n-start)]
		for i := range chunk {
			chunk[i] = tableHash(maphash.Comparable(r.seed, key(start+i)))
		}
		for _, h := range chunk {
			sum += r.shards[h%registryShards].actors.touchSlot(h)
		}
		for _, h := range chunk {
			sum += r.shards[h%registryShards].actors.touchCell(h)
		}
	}
	return sum
}

// Reserve finds or spawns key's actor and reserves room for n messages in
// its mailbox. The caller must follow with PushReserved or Release on the
// returned mailbox.
func (r *Registry[K, M]) Reserve(key K, n int) (*Mailbox[M], error) {
	mb, _, err := r.ReserveSpawning(key, n)
	return mb, err
}

// ReserveSpawning is Reserve that also reports whether it spawned the
// actor, for callers that tell others about a new actor before its first
// turn.
func (r *Registry[K, M]) ReserveSpawning(key K, n int) (mb *Mailbox[M], spawned bool, err error) {
	s, h := r.locate(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || r.ctx.Err() != nil {
		return nil, false, ErrMailboxClosed
	}
	c, ok := s.actors.get(h, key)
	if !ok {
		if n > r.capacity {
			return nil, false, ErrMailboxFull // refuse before spawning an actor for nothing
		}
		if r.retainKey != nil {
			key = r.retainKey(key)
		}
		c = r.newCell(key)
		s.actors.put(h, c)
	}
	if err := c.mailbox.Reserve(n); err != nil {
		return nil, !ok, err
	}
	return &c.mailbox, !ok, nil
}

// PushControl delivers a control message to key's actor if it is running.
func (r *Registry[K, M]) PushControl(key K, msg M) error {
	s, h := r.locate(key)
	s.mu.Lock()
	c, ok := s.actors.get(h, key)
	s.mu.Unlock()
	if !ok {
		return ErrMailboxClosed
	}
	return c.mailbox.PushControl(msg)
}

// Len reports the number of live actors.
func (r *Registry[K, M]) Len() int {
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		n += s.actors.live
		s.mu.Unlock()
	}
	return n
}

// Has reports whether key's actor is live.
func (r *Registry[K, M]) Has(key K) bool {
	s, h := r.locate(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.actors.get(h, key)
	return ok
}

// sweepUntilDone hands timeouts to the actors whose deadline has passed,
// every sweep interval, until the context ends.
func (r *Registry[K, M]) sweepUntilDone() {
	ticker := time.NewTicker(r.sweep)
	defer ticker.Stop()
	var due []*cell[K, M]
	for {
		select {
		case <-r.ctx.Done():
			return
		case now := <-ticker.C:
			for i := range r.shards {
				s := &r.shards[i]
				s.mu.Lock()
				s.actors.all(func(c *cell[K, M]) {
					if d := c.deadline.Load(); d != 0 && d <= now.UnixNano() {
						due = append(due, c)
					}
				})
				s.mu.Unlock()
				for _, c := range due {
					c.timeoutDue.Store(true)
					c.schedule()
				}
				clear(due)
				due = due[:0]
			}
		}
	}
}

// shutdown closes every mailbox and gives every actor a last turn: it
// drains what was queued, then Stopped(StopShutdown) runs. It returns
// when every actor has stopped.
func (r *Registry[K, M]) shutdown() {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		s.closed = true
		cells := make([]*cell[K, M], 0, s.actors.live)
		s.actors.all(func(c *cell[K, M]) { cells = append(cells, c) })
		s.mu.Unlock()
		for _, c := range cells {
			c.shuttingDown.Store(true)
			c.mailbox.Close() // refuses pushes from now on, and schedules a turn
		}
	}
	r.live.Wait()
}

// Cell states: idle (no turn queued), scheduled (queued or running), and
// stopped (gone; never scheduled again).
const (
	cellIdle int32 = iota
	cellScheduled
	cellStopped
)

// cell is one registry actor: its mailbox, behaviour and scheduling state,
// in one allocation (a million idle actors are a million of these for the
// collector to mark).
type cell[K comparable, M any] struct {
	key K
	// state is next to key, so that a Touch brings in both with one line.
	state        atomic.Int32
	registry     *Registry[K, M]
	mailbox      Mailbox[M]
	behaviour    Behaviour[M]
	deadline     atomic.Int64 // Unix ns of the behaviour's Deadline; 0: none
	timeoutDue   atomic.Bool
	shuttingDown atomic.Bool
}

// newCell makes key's actor; called under the shard lock.
func (r *Registry[K, M]) newCell(key K) *cell[K, M] {
	c := &cell[K, M]{key: key, registry: r, behaviour: r.spawn(key)}
	c.mailbox.initDispatched(r.capacity, c, &r.buffers)
	c.noteDeadline()
	r.live.Add(1)
	return c
}

// schedule queues the actor's turn unless one is already queued or
// running (that turn looks at the mailbox again before it goes idle).
func (c *cell[K, M]) schedule() {
	if c.state.CompareAndSwap(cellIdle, cellScheduled) {
		c.registry.dispatcher.schedule(c)
	}
}

func (c *cell[K, M]) noteDeadline() {
	if d := c.behaviour.Deadline(); d.IsZero() {
		c.deadline.Store(0)
	} else {
		c.deadline.Store(d.UnixNano())
	}
}

// run is one turn on a worker: the queued messages (drained into the
// worker's buffer), then a due timeout, then the last rites if the
// registry is shutting down.
func (c *cell[K, M]) run(buf *[]M) {
	r := c.registry
	batch := c.mailbox.Drain((*buf)[:0])
	ok := true
	if len(batch) > 0 {
		ok = c.guard(func() { c.behaviour.Receive(batch) })
	}
	clear(batch)
	*buf = batch[:0]
	if !ok {
		c.stop(StopSupervisor)
		return
	}
	if c.shuttingDown.Load() {
		if c.mailbox.Len() > 0 { // queued before the close: one more turn
			r.dispatcher.schedule(c)
			return
		}
		c.stop(StopShutdown)
		return
	}
	if c.timeoutDue.Swap(false) {
		stop := false
		if !c.guard(func() { stop = c.behaviour.Timeout(time.Now()) }) {
			c.stop(StopSupervisor)
			return
		}
		if stop && c.tryStop() {
			// Closed while empty: nothing can have arrived since.
			c.state.Store(cellStopped)
			c.behaviour.Stopped(StopIdle)
			r.live.Done()
			return
		}
	}
	c.noteDeadline()
	c.state.Store(cellIdle)
	// A push between the drain and going idle found the turn running and
	// queued nothing: look again.
	if c.mailbox.Len() == 0 && !c.timeoutDue.Load() && !c.shuttingDown.Load() {
		return
	}
	c.schedule()
}

// tryStop closes the mailbox and forgets the actor if nothing is queued or
// reserved, under the shard lock that Reserve takes.
func (c *cell[K, M]) tryStop() bool {
	s, h := c.registry.locate(c.key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.mailbox.closeIfIdle() {
		return false
	}
	s.actors.remove(h, c)
	return true
}

// stop ends the actor for good: after a supervisor's Stop, or at shutdown.
func (c *cell[K, M]) stop(reason StopReason) {
	c.mailbox.Close()
	s, h := c.registry.locate(c.key)
	s.mu.Lock()
	s.actors.remove(h, c)
	s.mu.Unlock()
	c.state.Store(cellStopped)
	c.behaviour.Stopped(reason)
	c.registry.live.Done()
}

// guard runs f and applies the supervisor to a panic. It reports whether the
// actor should keep running.
func (c *cell[K, M]) guard(f func()) bool {
	return guard(c.key, c.behaviour, c.registry.supervisor, f)
}
