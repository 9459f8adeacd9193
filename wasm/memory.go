package wasm

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrMemoryBudget: the memory every filter instance holds together is at
// Config.MemoryBudget, and a new instance (or a memory.grow) would pass
// it. The call counts as a fault of its own filter; instances that exist
// go on.
var ErrMemoryBudget = errors.New("wasm: the filters' memory budget is spent")

// memoryBudget bounds the linear memory of all instances of a runtime
// together. The per-instance cap bounds one instance, but not how many
// there are: streams and segments each keep a pool, and 60 segments on a
// filter that fills its 64 MiB took 6 GiB — a few hundred would have had
// the kernel kill hookwire, every stream with it.
type memoryBudget struct {
	limit int64 // 0: none
	used  atomic.Int64
}

// take charges n bytes; false (nothing charged) when that passes the limit.
func (b *memoryBudget) take(n uint64) bool {
	if b == nil || n == 0 {
		return true
	}
	if b.used.Add(int64(n)) > b.limit {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

func (b *memoryBudget) give(n uint64) {
	if b != nil && n > 0 {
		b.used.Add(-int64(n))
	}
}

// spent says what a refused charge of n bytes found.
func (b *memoryBudget) spent(n uint64) error {
	return fmt.Errorf("%w: %d MiB of %d MiB in use by filter instances, %d MiB more needed (--filter-memory-total)",
		ErrMemoryBudget, b.used.Load()>>20, b.limit>>20, (n+1<<20-1)>>20)
}

// MemoryUsed is the linear memory all instances of r hold now, in bytes.
func (r *Runtime) MemoryUsed() int64 {
	if r.budget == nil {
		return 0
	}
	return r.budget.used.Load()
}

// heapMemory is a linear memory on the Go heap, as wazero allocates by
// default (growing past its capacity copies it): the stand-in when a
// mapping cannot be made, and the memory where there are no mappings.
type heapMemory struct {
	buf     []byte
	max     uint64
	budget  *memoryBudget
	charged uint64 // bytes taken from the budget
}

func (h *heapMemory) Reallocate(size uint64) []byte {
	if size > h.max {
		return nil
	}
	if size > h.charged {
		if !h.budget.take(size - h.charged) {
			return nil
		}
		h.charged = size
	}
	if size > uint64(cap(h.buf)) {
		grown := make([]byte, size, min(max(size, 2*uint64(cap(h.buf))), h.max))
		copy(grown, h.buf)
		h.buf = grown
	}
	h.buf = h.buf[:size]
	return h.buf
}

func (h *heapMemory) Free() {
	h.buf = nil
	h.budget.give(h.charged)
	h.charged = 0
}
