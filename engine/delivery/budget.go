package delivery

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// outbound bounds what all endpoints together hold of the process's file
// descriptors: the attempts in flight, and the connections open.
//
// Each endpoint may keep --endpoint-concurrency attempts in flight, and
// every stream and system webhook can be an endpoint of its own, so
// without a bound a few dozen receivers that accept and never answer (a
// tarpit, a hung server) held thousands of sockets for the delivery
// timeout: the descriptors ran out, Badger could open no memtable or
// table, and hookwire died ("Assert failed" after "too many open files").
//
// Fairness is what keeps a dead endpoint harming only itself: each
// endpoint may always have one attempt in flight, whatever the others
// hold; attempts beyond the first share what the budget has left, first
// come, first served, up to each endpoint's own --endpoint-concurrency.
// So receivers that hang can slow the others down to one attempt at a
// time, never stop them. (With the default 10 streams at 64 attempts each
// the budget is never reached.) An endpoint that finds no room waits: its
// deliveries stay queued, no attempt fails and its breaker does not move,
// until an attempt anywhere ends.
//
// In flight is at most the budget, or the number of endpoints with
// attempts where there are more of them than that. An endpoint with none
// holds nothing: endpoints are made per URL and kept an hour after a
// destination stops naming them, and a reservation each would have eaten
// the budget as URLs changed.
type outbound struct {
	total int // 0: no bound

	mu sync.Mutex
	// committed is the attempts (and test sends) in flight to all
	// endpoints.
	committed int
	waiting   []*endpoint

	// conns counts the connections open to receivers.
	conns atomic.Int64
	// lastIdleClose is when idle connections were last closed (Unix ns).
	lastIdleClose atomic.Int64
}

// take reports whether ep may start another attempt: its first always
// (nothing of its own in flight), another while the budget has room. A
// test send (ep nil) has no endpoint whose first attempt it would be: it
// goes only while there is room. An endpoint refused is woken (wake) when
// an attempt anywhere ends.
func (b *outbound) take(ep *endpoint) bool {
	if b.total == 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	first := ep != nil && ep.inFlight.Load() == 0
	if !first && b.committed >= b.total {
		if ep != nil && !ep.budgetWaiting {
			ep.budgetWaiting = true
			b.waiting = append(b.waiting, ep)
		}
		return false
	}
	b.committed++
	return true
}

// release gives back an attempt or test send that take let go, and wakes
// the endpoints waiting for room.
func (b *outbound) release() {
	if b.total == 0 {
		return
	}
	b.mu.Lock()
	b.committed--
	var wake []*endpoint
	if b.committed < b.total {
		wake, b.waiting = b.waiting, nil
		for _, e := range wake {
			e.budgetWaiting = false
		}
	}
	b.mu.Unlock()
	for _, e := range wake {
		e.wake()
	}
}

// dialed counts c while it is open. Attempts in flight are within the
// budget, but each endpoint's idle connections outlive them (for reuse):
// a dial past the budget has closeIdle close them, at most every
// idleCloseEvery.
func (b *outbound) dialed(c net.Conn, closeIdle func()) net.Conn {
	if n := b.conns.Add(1); b.total > 0 && n > int64(b.total) {
		now := time.Now().UnixNano()
		if last := b.lastIdleClose.Load(); now-last > int64(idleCloseEvery) && b.lastIdleClose.CompareAndSwap(last, now) {
			closeIdle()
		}
	}
	return &countedConn{Conn: c, open: &b.conns}
}

// idleCloseEvery spaces the closings of idle connections.
const idleCloseEvery = 100 * time.Millisecond

// countedConn takes itself off the open count when closed, once.
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}
