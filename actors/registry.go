package actors

import (
	"context"
	"hash/maphash"
	"sync"
)

const registryShards = 64

// Registry owns one actor per key, spawned on first use and removed when its
// behaviour asks to stop while idle (passivation). Every method is safe for
// concurrent use.
//
// Lookups that reserve room and the idle check that closes a mailbox take
// the same shard lock, so a message is never pushed to an actor that has
// just decided to leave.
type Registry[K comparable, M any] struct {
	ctx        context.Context
	group      *Group
	spawn      func(K) Behaviour[M]
	capacity   int
	supervisor Supervisor
	seed       maphash.Seed
	shards     [registryShards]registryShard[K, M]
}

type registryShard[K comparable, M any] struct {
	mu     sync.Mutex
	actors map[K]*Mailbox[M]
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
}

// NewRegistry returns a registry whose actors run until ctx ends; group
// waits for them.
func NewRegistry[K comparable, M any](ctx context.Context, group *Group, cfg RegistryConfig[K, M]) *Registry[K, M] {
	r := &Registry[K, M]{ctx: ctx, group: group, spawn: cfg.Spawn, capacity: cfg.MailboxCapacity,
		supervisor: cfg.Supervisor, seed: maphash.MakeSeed()}
	if r.supervisor == nil {
		r.supervisor = ResumeAlways
	}
	for i := range r.shards {
		r.shards[i].actors = make(map[K]*Mailbox[M])
	}
	return r
}

func (r *Registry[K, M]) shard(key K) *registryShard[K, M] {
	return &r.shards[maphash.Comparable(r.seed, key)%registryShards]
}

// Reserve finds or spawns key's actor and reserves room for n messages in
// its mailbox. The caller must follow with PushReserved or Release on the
// returned mailbox.
func (r *Registry[K, M]) Reserve(key K, n int) (*Mailbox[M], error) {
	if err := r.ctx.Err(); err != nil {
		return nil, ErrMailboxClosed
	}
	s := r.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	mailbox, ok := s.actors[key]
	if !ok {
		if n > r.capacity {
			return nil, ErrMailboxFull // refuse before spawning an actor for nothing
		}
		mailbox = NewMailbox[M](r.capacity)
		s.actors[key] = mailbox
		r.start(key, s, mailbox)
	}
	if err := mailbox.Reserve(n); err != nil {
		return nil, err
	}
	return mailbox, nil
}

// PushControl delivers a control message to key's actor if it is running.
func (r *Registry[K, M]) PushControl(key K, msg M) error {
	s := r.shard(key)
	s.mu.Lock()
	mailbox, ok := s.actors[key]
	s.mu.Unlock()
	if !ok {
		return ErrMailboxClosed
	}
	return mailbox.PushControl(msg)
}

// Len reports the number of live actors.
func (r *Registry[K, M]) Len() int {
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		n += len(s.actors)
		s.mu.Unlock()
	}
	return n
}

// Has reports whether key's actor is live.
func (r *Registry[K, M]) Has(key K) bool {
	s := r.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.actors[key]
	return ok
}

func (r *Registry[K, M]) start(key K, s *registryShard[K, M], mailbox *Mailbox[M]) {
	l := &loop[M]{key: key, mailbox: mailbox, behaviour: r.spawn(key), supervisor: r.supervisor}
	l.tryStop = func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !mailbox.closeIfIdle() {
			return false
		}
		if s.actors[key] == mailbox {
			delete(s.actors, key)
		}
		return true
	}
	r.group.Go(func() {
		l.run(r.ctx)
		// On shutdown the loop closes its mailbox itself; forget it too.
		s.mu.Lock()
		if s.actors[key] == mailbox {
			delete(s.actors, key)
		}
		s.mu.Unlock()
	})
}
