package wasm

import (
	"sync/atomic"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// linearMemory backs an instance's memory with an anonymous mapping that
// reserves its maximum up front and opens pages as the memory grows. With
// wazero's default, a []byte on the Go heap, every memory.grow past the
// capacity copied the whole memory to a larger slice: a Go guest's heap
// grows by megabytes at a time, and such calls took over the 10 ms budget.
// Here growing is one mprotect, the address never changes, and the pages
// are outside the Go heap, so many idle instances do not pace the
// collector.
type linearMemory struct {
	reserved []byte // the whole reservation, PROT_NONE past open
	open     uint64 // bytes readable and writable
	budget   *memoryBudget
	charged  uint64 // bytes taken from the budget (at least open)
}

// mappedMemories counts the mappings made and not yet unmapped.
var mappedMemories atomic.Int64

// newMemory is the runtime's memory allocator (experimental API). The
// initial capacity is opened here, so that wazero's first Reallocate (to
// the memory's minimum, at most that) cannot fail; charged bytes were
// taken from the budget for it already (Instantiate checks the minimum
// before wazero allocates, as a failing first Reallocate would panic).
// When the mapping cannot be made, the memory lives on the Go heap as
// wazero's own does.
func newMemory(capacity, max uint64, budget *memoryBudget, charged uint64) experimental.LinearMemory {
	onHeap := func() experimental.LinearMemory { return &heapMemory{max: max, budget: budget, charged: charged} }
	if max == 0 || max > 1<<32 || capacity > max {
		return onHeap()
	}
	reserved, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return onHeap()
	}
	mappedMemories.Add(1)
	m := &linearMemory{reserved: reserved, budget: budget, charged: charged}
	if capacity > 0 && m.Reallocate(capacity) == nil {
		m.budget.give(m.charged - charged) // what it took beyond what it was handed
		m.charged = 0                      // which goes on to the heap memory
		m.Free()
		return onHeap()
	}
	return m
}

// Reallocate opens the pages up to size (a multiple of the Wasm page, so
// of the OS page) and returns the memory at its new length; nil if the
// OS refuses (the guest's memory.grow then fails).
func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.reserved)) {
		return nil
	}
	if size > m.open {
		if size > m.charged {
			if !m.budget.take(size - m.charged) {
				return nil
			}
			m.charged = size
		}
		if err := syscall.Mprotect(m.reserved[m.open:size], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			return nil
		}
		m.open = size
	}
	return m.reserved[:size]
}

// Free unmaps the memory; wazero calls it once the instance is closed and
// no call runs in it (Instantiate, when instantiation fails). A second
// call does nothing.
func (m *linearMemory) Free() {
	if m.reserved != nil {
		_ = syscall.Munmap(m.reserved)
		mappedMemories.Add(-1)
		m.reserved = nil
		m.budget.give(m.charged)
		m.charged = 0
	}
}
