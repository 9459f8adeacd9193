package wasm

// heapMemory is a linear memory on the Go heap, as wazero allocates by
// default: growing past its capacity copies it. It stands in where the
// platform's allocator cannot map memory.
type heapMemory struct {
	buf []byte
	max uint64
}

func (h *heapMemory) Reallocate(size uint64) []byte {
	if size > h.max {
		return nil
	}
	if size > uint64(cap(h.buf)) {
		grown := make([]byte, size, min(max(size, 2*uint64(cap(h.buf))), h.max))
		copy(grown, h.buf)
		h.buf = grown
	}
	h.buf = h.buf[:size]
	return h.buf
}

func (h *heapMemory) Free() { h.buf = nil }
