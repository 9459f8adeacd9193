package actors

import (
	"cmp"
	"context"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Registry owns one actor per key, spawned by its first message and
// removed when its behaviour asks to stop while idle (passivation).
//
// Keys are partitioned by hash over a few workers, and a key's actor lives
// in its worker's partition for good: the worker alone spawns, runs and
// passivates it, so an actor needs no mailbox, lock or scheduling state of
// its own, and an idle one costs its behaviour and a table entry. A sender
// appends messages to their partitions' queues (one lock per partition per
// batch, not one per actor); the worker takes its whole queue at once,
// groups the messages by key in arrival order, and gives each actor one
// turn with all of its messages. A turn that blocks holds up the other
// actors of its partition, so Receive must be quick.
//
// This replaced a registry of per-actor mailboxes scheduled on a shared
// queue: for events spread over 100k sessions, nearly every message went
// to its own actor, and locking, reserving, scheduling and draining a
// mailbox per message cost a fifth of the engine's CPU (RATIONALE.md).
//
// Every method is safe for concurrent use.
type Registry[K comparable, M any] struct {
	spawn         func(K) Behaviour[M]
	supervisor    Supervisor
	sweep         time.Duration
	retainKey     func(K) K
	undeliverable func(K, M)
	seed          maphash.Seed
	parts         []partition[K, M]
	// partitionCap is each partition's share of MaxActors; 0: no bound.
	partitionCap int
}

// RegistryConfig configures a Registry.
type RegistryConfig[K comparable, M any] struct {
	// Spawn makes the behaviour of a new actor for key, on its partition's
	// worker; it should be quick (defer loading to the first Receive).
	Spawn func(key K) Behaviour[M]
	// Supervisor handles panics; nil means ResumeAlways.
	Supervisor Supervisor
	// Partitions is the number of workers, each owning the actors of its
	// share of the keys; 0 means one per CPU.
	Partitions int
	// SweepInterval is how often deadlines are checked (default 1s): a
	// Timeout runs up to this long after its Deadline.
	SweepInterval time.Duration
	// RetainKey, when set, returns an equal copy of a new actor's key for
	// the registry and the actor to keep (strings.Clone for a string that
	// views a larger buffer).
	RetainKey func(key K) K
	// MaxActors bounds the live actors (0: no bound). When a partition
	// holds more than its share at a sweep, the actors whose deadlines
	// come first (the least recently active, when deadlines follow
	// activity) are stopped with StopEvicted until a tenth of the share is
	// free. Between sweeps the bound can be passed by what arrives.
	MaxActors int
	// Undeliverable, when set, is given each control message whose key
	// has no live actor (control messages spawn none), so that a question
	// can be answered "nobody here" instead of waiting.
	Undeliverable func(key K, msg M)
}

// partition is one worker's share of the keys: the queue senders append
// to, and the actors the worker owns.
type partition[K comparable, M any] struct {
	mu     sync.Mutex
	queue  []envelope[K, M]
	closed bool
	wake   chan struct{} // 1-buffered: the queue is not empty
	// queued and handled count messages in and out, for Settle and Pending.
	queued  atomic.Int64
	handled atomic.Int64
	// actors is written by the worker only, under members; the worker
	// reads it without the lock, everyone else (Has) with it.
	members sync.RWMutex
	actors  memberTable[K, M]
	// keep partitions' locks on cache lines of their own.
	_ [64]byte
}

// envelope is a queued message and the key of its actor.
type envelope[K comparable, M any] struct {
	key     K
	hash    uint64 // slotHash of key, computed once by the sender
	msg     M
	control bool
}

// member is one live actor of a partition.
type member[K comparable, M any] struct {
	key       K
	hash      uint64
	behaviour Behaviour[M]
	// deadline is the behaviour's Deadline (Unix ns; 0: none) when last
	// read: at spawn, after a turn while it was none, and after a Timeout.
	// Deadlines only move later, so a stale one is early, and the sweep
	// that finds it passed reads the behaviour's again (reading it after
	// every turn was 1 % of the engine's CPU).
	deadline int64
	// pending and next place the actor's messages in the worker's turn
	// buffer while a taken queue is sorted by actor.
	pending, next int32
}

// NewRegistry returns a registry whose actors run until ctx ends; group
// waits for its workers, which drain their queues and call every actor's
// Stopped before they return.
func NewRegistry[K comparable, M any](ctx context.Context, group *Group, cfg RegistryConfig[K, M]) *Registry[K, M] {
	r := &Registry[K, M]{spawn: cfg.Spawn, supervisor: cfg.Supervisor, sweep: cfg.SweepInterval,
		retainKey: cfg.RetainKey, undeliverable: cfg.Undeliverable, seed: maphash.MakeSeed()}
	if r.supervisor == nil {
		r.supervisor = ResumeAlways
	}
	if r.sweep <= 0 {
		r.sweep = time.Second
	}
	n := cfg.Partitions
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxActors > 0 {
		r.partitionCap = max(1, cfg.MaxActors/n+min(1, cfg.MaxActors%n)) // rounded up, without wrapping near MaxInt
	}
	r.parts = make([]partition[K, M], n)
	for i := range r.parts {
		p := &r.parts[i]
		p.wake = make(chan struct{}, 1)
		w := &worker[K, M]{r: r, p: p}
		group.Go(func() { w.run(ctx) })
	}
	return r
}

// locate returns key's partition and its slotHash there.
func (r *Registry[K, M]) locate(key K) (int, uint64) {
	h := maphash.Comparable(r.seed, key)
	return int(h % uint64(len(r.parts))), slotHash(h)
}

// Send queues an ordinary message for key's actor, spawning it if needed.
// It fails only with ErrMailboxClosed, once the registry is shutting down.
func (r *Registry[K, M]) Send(key K, msg M) error {
	p, h := r.locate(key)
	return r.parts[p].append(envelope[K, M]{key: key, hash: h, msg: msg})
}

// PushControl queues a message for key's actor if it is live when its
// worker comes to it; otherwise Undeliverable gets it.
func (r *Registry[K, M]) PushControl(key K, msg M) error {
	p, h := r.locate(key)
	return r.parts[p].append(envelope[K, M]{key: key, hash: h, msg: msg, control: true})
}

func (p *partition[K, M]) append(envs ...envelope[K, M]) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrMailboxClosed
	}
	wasEmpty := len(p.queue) == 0
	p.queue = append(p.queue, envs...)
	p.queued.Add(int64(len(envs)))
	p.mu.Unlock()
	if wasEmpty {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Sender stages many messages and queues them with one lock per
// partition. It belongs to one goroutine.
type Sender[K comparable, M any] struct {
	r      *Registry[K, M]
	staged [][]envelope[K, M]
}

// NewSender returns a Sender for r.
func (r *Registry[K, M]) NewSender() *Sender[K, M] {
	return &Sender[K, M]{r: r, staged: make([][]envelope[K, M], len(r.parts))}
}

// Add stages an ordinary message for key's actor.
func (s *Sender[K, M]) Add(key K, msg M) {
	p, h := s.r.locate(key)
	s.staged[p] = append(s.staged[p], envelope[K, M]{key: key, hash: h, msg: msg})
}

// Flush queues everything staged, in the order it was added per key. It
// fails with ErrMailboxClosed if a partition has shut down; what was
// staged for it is dropped.
func (s *Sender[K, M]) Flush() error {
	var err error
	for i, envs := range s.staged {
		if len(envs) == 0 {
			continue
		}
		if e := s.r.parts[i].append(envs...); e != nil {
			err = e
		}
		clear(envs)
		s.staged[i] = envs[:0]
		if cap(envs) > 1<<14 { // a burst's buffer: let it go
			s.staged[i] = nil
		}
	}
	return err
}

// Has reports whether key's actor is live.
func (r *Registry[K, M]) Has(key K) bool {
	i, h := r.locate(key)
	p := &r.parts[i]
	p.members.RLock()
	m := p.actors.get(h, key)
	p.members.RUnlock()
	return m != nil
}

// Len reports the number of live actors.
func (r *Registry[K, M]) Len() int {
	n := 0
	for i := range r.parts {
		p := &r.parts[i]
		p.members.RLock()
		n += p.actors.live
		p.members.RUnlock()
	}
	return n
}

// Pending reports messages queued and not yet handled.
func (r *Registry[K, M]) Pending() int64 {
	n := int64(0)
	for i := range r.parts {
		n += r.parts[i].queued.Load() - r.parts[i].handled.Load()
	}
	return n
}

// Settle waits until every message queued before the call has been
// handled (or ctx ends): what those messages caused their actors to do
// within their turns is done then.
func (r *Registry[K, M]) Settle(ctx context.Context) error {
	targets := make([]int64, len(r.parts))
	for i := range r.parts {
		targets[i] = r.parts[i].queued.Load()
	}
	for i := range r.parts {
		for r.parts[i].handled.Load() < targets[i] {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Microsecond):
			}
		}
	}
	return nil
}

// worker runs one partition: its actors' turns and timeouts.
type worker[K comparable, M any] struct {
	r *Registry[K, M]
	p *partition[K, M]
	// The worker's own buffers, turn after turn: the queue it took last
	// (handed back to senders on the next take), each message's actor, the
	// actors with messages, and the messages sorted by actor.
	spare   []envelope[K, M]
	owners  []*member[K, M]
	touched []*member[K, M]
	batch   []M
	sink    uint64 // what touch read, stored so that its reads are kept
}

func (w *worker[K, M]) run(ctx context.Context) {
	ticker := time.NewTicker(w.r.sweep)
	defer ticker.Stop()
	for {
		select {
		case <-w.p.wake:
			w.handle(w.take())
		case now := <-ticker.C:
			// What is queued first: a message due to an actor that is
			// about to time out keeps it.
			w.handle(w.take())
			w.sweepDue(now)
		case <-ctx.Done():
			w.p.mu.Lock()
			w.p.closed = true
			w.p.mu.Unlock()
			w.handle(w.take())
			w.stopAll()
			return
		}
	}
}

// take swaps the partition's queue for the worker's empty spare.
func (w *worker[K, M]) take() []envelope[K, M] {
	w.p.mu.Lock()
	q := w.p.queue
	w.p.queue = w.spare[:0]
	w.p.mu.Unlock()
	w.spare = nil
	return q
}

// handle gives every actor with messages in q one turn with all of them,
// in the order they were queued.
func (w *worker[K, M]) handle(q []envelope[K, M]) {
	if len(q) == 0 {
		w.spare = q
		return
	}
	w.touch(q)
	owners, touched := w.owners[:0], w.touched[:0]
	for i := range q {
		e := &q[i]
		m := w.p.actors.get(e.hash, e.key)
		if m == nil {
			if e.control {
				if w.r.undeliverable != nil {
					w.r.undeliverable(e.key, e.msg)
				}
				owners = append(owners, nil)
				continue
			}
			m = w.spawn(e.key, e.hash)
		}
		if m.pending == 0 {
			touched = append(touched, m)
		}
		m.pending++
		owners = append(owners, m)
	}
	w.touchActors(touched)
	// A counting sort by actor: each actor's messages end up together, in
	// queue order.
	n := int32(0)
	for _, m := range touched {
		m.next = n
		n += m.pending
	}
	batch := slices.Grow(w.batch[:0], int(n))[:n]
	for i, m := range owners {
		if m != nil {
			batch[m.next] = q[i].msg
			m.next++
		}
	}
	for _, m := range touched {
		w.turn(m, batch[m.next-m.pending:m.next])
		m.pending = 0
	}
	w.p.handled.Add(int64(len(q)))
	clear(batch)
	clear(owners)
	clear(touched)
	clear(q)
	w.batch, w.owners, w.touched = batch[:0], owners[:0], touched[:0]
	switch {
	case keepQueueBuffer(len(q), cap(q), w.p.queued.Load()-w.p.handled.Load()):
		w.spare = q[:0]
	case cap(q) > 1<<14:
		// A backlog is over: the buffer handed to the senders at the last
		// take, as big, goes too if they have not used it since.
		w.p.mu.Lock()
		if len(w.p.queue) == 0 && cap(w.p.queue) > 1<<14 {
			w.p.queue = nil
		}
		w.p.mu.Unlock()
	}
}

// keepQueueBuffer reports whether a queue buffer that just held n messages
// goes back to the senders, with waiting more queued meanwhile: small ones
// always; a big one while a backlog uses it, so that a backlog that stays
// (evaluation behind ingest, up to the in-flight bound) does not regrow its
// queue from nothing on every turn (3.7 % of the CPU, and the collector's,
// with two filters keeping state on every click). A big one is let go once
// the backlog is over, or when a turn barely used it: idle sessions keep no
// buffer sized for the last burst.
func keepQueueBuffer(n, capacity int, waiting int64) bool {
	return capacity <= 1<<14 || (n >= capacity/4 && waiting >= int64(capacity/4))
}

// touch reads the table where q's actors are found, slots first, then
// their members and keys, so that the lookups after find them in the cache
// (their misses overlap here instead of each waiting for the one before).
func (w *worker[K, M]) touch(q []envelope[K, M]) {
	sum := uint64(0)
	for i := range q {
		sum += w.p.actors.touchSlot(q[i].hash)
	}
	for i := range q {
		sum += uint64(w.p.actors.touchMember(q[i].hash, q[i].key))
	}
	w.sink = sum
}

// touchActors has the behaviours that can read ahead what their turns will
// read do so, all of them before the first turn, for the same reason.
func (w *worker[K, M]) touchActors(touched []*member[K, M]) {
	sum := uint64(0)
	for _, m := range touched {
		if t, ok := m.behaviour.(Toucher); ok {
			sum += t.Touch()
		}
	}
	w.sink += sum
}

func (w *worker[K, M]) spawn(key K, hash uint64) *member[K, M] {
	if w.r.retainKey != nil {
		key = w.r.retainKey(key)
	}
	m := &member[K, M]{key: key, hash: hash, behaviour: w.r.spawn(key)}
	m.noteDeadline()
	w.p.members.Lock()
	w.p.actors.put(hash, m)
	w.p.members.Unlock()
	return m
}

func (w *worker[K, M]) remove(m *member[K, M]) {
	w.p.members.Lock()
	w.p.actors.remove(m.hash, m)
	w.p.members.Unlock()
}

// turn runs Receive for one actor's messages under its supervisor.
func (w *worker[K, M]) turn(m *member[K, M], msgs []M) {
	if !guard(m.key, m.behaviour, w.r.supervisor, func() { m.behaviour.Receive(msgs) }) {
		w.remove(m)
		m.behaviour.Stopped(StopSupervisor)
		return
	}
	if m.deadline == 0 {
		m.noteDeadline()
	}
}

func (m *member[K, M]) noteDeadline() {
	if d := m.behaviour.Deadline(); d.IsZero() {
		m.deadline = 0
	} else {
		m.deadline = d.UnixNano()
	}
}

// sweepDue runs Timeout for every actor whose deadline has passed and
// removes those that ask to stop: the worker is the only one who queues
// turns for its actors, so none can have a message waiting.
func (w *worker[K, M]) sweepDue(now time.Time) {
	at := now.UnixNano()
	due := w.touched[:0]
	w.p.actors.all(func(m *member[K, M]) {
		if m.deadline != 0 && m.deadline <= at {
			due = append(due, m)
		}
	})
	defer func() {
		clear(due)
		w.touched = due[:0]
	}()
	for _, m := range due {
		if m.noteDeadline(); m.deadline == 0 || m.deadline > at {
			continue // it moved on since it was read
		}
		stop := false
		if !guard(m.key, m.behaviour, w.r.supervisor, func() { stop = m.behaviour.Timeout(now) }) {
			w.remove(m)
			m.behaviour.Stopped(StopSupervisor)
			continue
		}
		if stop {
			w.remove(m)
			m.behaviour.Stopped(StopIdle)
			continue
		}
		m.noteDeadline()
	}
	if c := w.r.partitionCap; c > 0 && w.p.actors.live > c {
		w.evict(c - c/10)
	}
}

// evict stops the partition's actors whose deadlines come first until keep
// are left. Deadlines are read afresh (the noted ones may be stale) and
// sorted by value, not through the members, which are scattered in
// memory: a sort through them took seconds for a million.
func (w *worker[K, M]) evict(keep int) {
	type byDeadline struct {
		at int64
		m  *member[K, M]
	}
	all := make([]byDeadline, 0, w.p.actors.live)
	w.p.actors.all(func(m *member[K, M]) {
		m.noteDeadline()
		at := m.deadline
		if at == 0 {
			at = math.MaxInt64 // no deadline: evicted last
		}
		all = append(all, byDeadline{at, m})
	})
	excess := len(all) - keep
	if excess <= 0 {
		return
	}
	slices.SortFunc(all, func(a, b byDeadline) int { return cmp.Compare(a.at, b.at) })
	for _, e := range all[:excess] {
		w.remove(e.m)
		e.m.behaviour.Stopped(StopEvicted)
	}
}

// stopAll ends every actor of the partition at shutdown, after its last
// queued messages.
func (w *worker[K, M]) stopAll() {
	w.p.members.Lock()
	all := w.p.actors
	w.p.actors = memberTable[K, M]{}
	w.p.members.Unlock()
	all.all(func(m *member[K, M]) { m.behaviour.Stopped(StopShutdown) })
}
