package ingest

import (
	"sync"
	"sync/atomic"

	"github.com/hookwire/hookwire/engine/model"
)

// Batch is a request's decoded events. Events of the common shape view
// memory lent to the batch from a pool, given back once the request has
// been answered and every event it handed to a session has been
// evaluated (Writer.Accept sees to both); Release gives it back for a
// batch that goes nowhere.
type Batch struct {
	Events []model.Event
	memory *batchMemory // nil: the events own their memory
}

// Release gives the batch's memory back; nothing may look at its events
// after. Only for a batch not given to Writer.Accept.
func (b Batch) Release() {
	if b.memory != nil {
		b.memory.release()
	}
}

// batchMemory holds the strings, properties and users of a batch's
// events, reused from batch to batch. Each event's bytes used to be an
// allocation of its own, with its user another: nine tenths of the bytes
// the engine allocated per event, and allocation is what paces the
// collector, whose mark phases made the latency tail at 100k sessions.
//
// A session slow to evaluate keeps its batch's memory from the pool (not
// just its own event's bytes) until it is done, and memory held that way
// is only allocated anew, never reused early. So that a few slow sessions
// spread over many batches cannot pin a hundred times their events'
// size, no more than maxLentBytes is lent at once: past it, a batch's
// events own their bytes as before.
type batchMemory struct {
	events []model.Event // the batch's, recycled with the memory
	bytes  []byte
	users  slab[model.User]
	refs   atomic.Int32
	lent   int64 // bytes counted in lentBytes while lent
}

// maxPooledBatchBytes: a burst's larger bodies are not kept for the pool.
const maxPooledBatchBytes = 1 << 20

var (
	batchMemories = sync.Pool{New: func() any { return new(batchMemory) }}
	// lentBytes is the memory lent to batches not yet evaluated; lending
	// stops at maxLentBytes (a variable for tests).
	lentBytes    atomic.Int64
	maxLentBytes int64 = 256 << 20
)

// lendBatchMemory returns memory with room for at least size bytes (a
// body's events never need more bytes than the body), held once; nil when
// maxLentBytes are already lent.
func lendBatchMemory(size int) *batchMemory {
	if lentBytes.Load()+int64(size) > maxLentBytes {
		return nil
	}
	m := batchMemories.Get().(*batchMemory)
	if cap(m.bytes) < size {
		m.bytes = make([]byte, 0, size)
	}
	m.lent = int64(cap(m.bytes))
	lentBytes.Add(m.lent)
	m.refs.Store(1)
	return m
}

// hold adds a holder, who must release.
func (m *batchMemory) hold() { m.refs.Add(1) }

// release drops a holder; the last one gives the memory back.
func (m *batchMemory) release() {
	if m.refs.Add(-1) != 0 {
		return
	}
	lentBytes.Add(-m.lent)
	recycleEvents(m.events)
	m.events = nil
	if poisonReleased {
		for i := range m.bytes {
			m.bytes[i] = 0xA5
		}
	}
	m.bytes = m.bytes[:0]
	keepUsers := m.users.reset()
	if cap(m.bytes) <= maxPooledBatchBytes && keepUsers {
		batchMemories.Put(m)
	}
}

// take returns n bytes of the memory for one event, or nil when it is
// full (the event then gets an allocation of its own).
func (m *batchMemory) take(n int) []byte {
	if m == nil || cap(m.bytes)-len(m.bytes) < n {
		return nil
	}
	at := len(m.bytes)
	m.bytes = m.bytes[:at+n]
	return m.bytes[at : at : at+n]
}

// newUser returns a zero user from the memory, or a new one.
func (m *batchMemory) newUser() *model.User {
	if m == nil {
		return &model.User{}
	}
	return m.users.next()
}
