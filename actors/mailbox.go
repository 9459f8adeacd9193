package actors

import "sync"

// Mailbox is a bounded multi-producer, single-consumer queue with a separate
// lane for control messages, which are always popped first.
//
// Any goroutine may Push or PushControl. Only the owning actor calls Drain. Messages are owned by the mailbox once pushed
// and by the actor once drained.
type Mailbox[M any] struct {
	mu       sync.Mutex
	control  []M
	user     []M
	capacity int
	closed   bool
	signal   chan struct{}
}

// NewMailbox returns a mailbox that holds at most capacity ordinary messages.
// Control messages are not counted: they are few and
// refusing them would wedge the actor's own bookkeeping.
func NewMailbox[M any](capacity int) *Mailbox[M] {
	if capacity < 1 {
		capacity = 1
	}
	return &Mailbox[M]{capacity: capacity, signal: make(chan struct{}, 1)}
}

// Signal is readable whenever the mailbox may hold messages.
func (m *Mailbox[M]) Signal() <-chan struct{} { return m.signal }

func (m *Mailbox[M]) wake() {
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
	if len(m.user) >= m.capacity {
		m.mu.Unlock()
		return ErrMailboxFull
	}
	m.user = append(m.user, msg)
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

// Drain appends every queued message to dst, control messages first, and
// empties the mailbox.
func (m *Mailbox[M]) Drain(dst []M) []M {
	m.mu.Lock()
	dst = append(dst, m.control...)
	dst = append(dst, m.user...)
	clear(m.control)
	clear(m.user)
	m.control = m.control[:0]
	if cap(m.user) > 4*m.capacity/3+64 {
		// A burst grew the buffer well past steady state: let it go.
		m.user = nil
	} else {
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

// closeIfIdle closes the mailbox when nothing is queued and reports
// whether it did.
func (m *Mailbox[M]) closeIfIdle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.user)+len(m.control) > 0 {
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
