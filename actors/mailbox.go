package actors

import "sync"

// bufferPool lends registry mailboxes their message buffers while they hold
// messages: a mailbox of one of a million mostly idle actors keeps none,
// and a busy one does not allocate one per push.
type bufferPool[M any] struct{ pool sync.Pool }

func (p *bufferPool[M]) get() *[]M {
	if b, ok := p.pool.Get().(*[]M); ok {
		return b
	}
	return new([]M)
}

func (p *bufferPool[M]) put(b *[]M) { p.pool.Put(b) }

// Mailbox is a bounded multi-producer, single-consumer queue with a separate
// lane for control messages, which are always popped first.
//
// Any goroutine may Push, PushControl, Reserve, PushReserved or Release. Only
// the owning actor calls Drain. Messages are owned by the mailbox once pushed
// and by the actor once drained.
type Mailbox[M any] struct {
	mu       sync.Mutex
	control  []M
	user     []M
	capacity int
	reserved int
	closed   bool
	// Exactly one of signal and notify is set: a goroutine actor waits on
	// signal; a registry actor is scheduled on its dispatcher by notify
	// (its cell, which holds the mailbox: no closure to allocate per
	// actor).
	signal chan struct{}
	notify scheduler
	// buffers, for a registry mailbox, lends user's backing array
	// (borrowed holds it while lent).
	buffers  *bufferPool[M]
	borrowed *[]M
	// one holds a registry mailbox's message while it is the only one:
	// among many sessions most turns carry one event, and borrowing a
	// pooled buffer for it missed the cache on every push (the buffer was
	// last written by the worker that drained it, on the other core).
	one [1]M
}

// NewMailbox returns a mailbox that holds at most capacity ordinary messages
// (queued plus reserved). Control messages are not counted: they are few and
// refusing them would wedge the actor's own bookkeeping.
func NewMailbox[M any](capacity int) *Mailbox[M] {
	if capacity < 1 {
		capacity = 1
	}
	return &Mailbox[M]{capacity: capacity, signal: make(chan struct{}, 1)}
}

// scheduler queues a registry actor's turn.
type scheduler interface{ schedule() }

// initDispatched makes m a registry actor's mailbox, in place (it lives
// in the actor's cell): pushes schedule the actor instead of signalling a
// goroutine, and the buffer is borrowed from buffers while messages wait.
func (m *Mailbox[M]) initDispatched(capacity int, notify scheduler, buffers *bufferPool[M]) {
	m.capacity, m.notify, m.buffers = max(capacity, 1), notify, buffers
}

// appendUser queues msgs: a registry mailbox keeps a lone message in its
// own slot and borrows a buffer once there are more. Called with mu held.
func (m *Mailbox[M]) appendUser(msgs ...M) {
	if m.buffers != nil && m.borrowed == nil {
		if len(m.user) == 0 && len(msgs) == 1 {
			m.one[0] = msgs[0]
			m.user = m.one[:1:1]
			return
		}
		m.borrowed = m.buffers.get()
		m.user = append((*m.borrowed)[:0], m.user...) // the lone message, if any
		clear(m.one[:])
	}
	m.user = append(m.user, msgs...)
}

// Signal is readable whenever the mailbox may hold messages.
func (m *Mailbox[M]) Signal() <-chan struct{} { return m.signal }

func (m *Mailbox[M]) wake() {
	if m.notify != nil {
		m.notify.schedule()
		return
	}
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// Push queues an ordinary message or fails with ErrMailboxFull or
// ErrMailboxClosed. It never blocks.
func (m *Mailbox[M]) Push(msg M) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrMailboxClosed
	}
	if len(m.user)+m.reserved >= m.capacity {
		m.mu.Unlock()
		return ErrMailboxFull
	}
	m.appendUser(msg)
	m.mu.Unlock()
	m.wake()
	return nil
}

// PushControl queues a control message ahead of every ordinary one.
func (m *Mailbox[M]) PushControl(msg M) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrMailboxClosed
	}
	m.control = append(m.control, msg)
	m.mu.Unlock()
	m.wake()
	return nil
}

// Reserve sets aside room for n ordinary messages, so that a caller can
// make a durable promise (write to disk, answer 202) knowing the later
// PushReserved calls cannot fail for lack of room.
func (m *Mailbox[M]) Reserve(n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrMailboxClosed
	}
	if len(m.user)+m.reserved+n > m.capacity {
		return ErrMailboxFull
	}
	m.reserved += n
	return nil
}

// Release gives back n reservations that will not be used.
func (m *Mailbox[M]) Release(n int) {
	m.mu.Lock()
	m.reserved -= n
	if m.reserved < 0 {
		m.reserved = 0
	}
	m.mu.Unlock()
}

// PushReserved queues msgs using as many earlier reservations. The owning
// actor cannot passivate while reservations are outstanding, so this only
// fails after Close, which the registry never does with reservations held.
func (m *Mailbox[M]) PushReserved(msgs ...M) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrMailboxClosed
	}
	m.reserved -= len(msgs)
	if m.reserved < 0 {
		m.reserved = 0
	}
	m.appendUser(msgs...)
	m.mu.Unlock()
	m.wake()
	return nil
}

// Drain appends every queued message to dst, control messages first, and
// empties the mailbox.
func (m *Mailbox[M]) Drain(dst []M) []M {
	m.mu.Lock()
	dst = append(dst, m.control...)
	dst = append(dst, m.user...)
	clear(m.control)
	clear(m.user)
	m.control = m.control[:0]
	switch {
	case m.buffers != nil && m.borrowed == nil:
		m.user = nil // the lone message's slot, cleared above
	case m.borrowed != nil:
		// Give the buffer back: a registry actor is one of very many and
		// mostly idle, and keeps none between turns.
		if cap(m.user) <= 4*m.capacity/3+64 {
			*m.borrowed = m.user[:0]
			m.buffers.put(m.borrowed)
		}
		m.borrowed, m.user = nil, nil
	case cap(m.user) > 4*m.capacity/3+64:
		// A burst grew the buffer well past steady state: let it go.
		m.user = nil
	default:
		m.user = m.user[:0]
	}
	m.mu.Unlock()
	return dst
}

// Len reports queued ordinary plus control messages.
func (m *Mailbox[M]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.user) + len(m.control)
}

// closeIfIdle closes the mailbox when nothing is queued or reserved and
// reports whether it did. The registry calls it under its shard lock, which
// is also held by everyone who looks the actor up to reserve room.
func (m *Mailbox[M]) closeIfIdle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.user)+len(m.control)+m.reserved > 0 {
		return false
	}
	m.closed = true
	return true
}

// Close refuses every later push. Queued messages can still be drained.
func (m *Mailbox[M]) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.wake()
}
