//go:build wasip1

package hookwire

import "unsafe"

//go:wasmimport hookwire state_get
func stateGet(kptr, klen, vptr, vcap uint32) int32

//go:wasmimport hookwire state_set
func stateSet(kptr, klen, vptr, vlen uint32) int32

//go:wasmimport hookwire log
func logLine(ptr, n uint32)

// pinned keeps every buffer handed to the host alive: Go's GC does not move
// memory, but it would free a buffer only the host still points into. The
// host asks again only when it needs a bigger one, so this stays short.
var pinned [][]byte

//go:wasmexport hw_alloc
func hwAlloc(size uint32) uint32 {
	b := make([]byte, max(size, 1))
	pinned = append(pinned, b)
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

//go:wasmexport hw_init
func hwInit(ptr, n uint32) int32 {
	return configure(bytesAt(ptr, n))
}

//go:wasmexport hw_match
func hwMatch(ptr, n uint32) int32 {
	return match(bytesAt(ptr, n))
}

func bytesAt(ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

func ptrOf(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// Get returns this session's value for key (state of the calling stream).
func Get(key string) ([]byte, bool) {
	k := []byte(key)
	buf := make([]byte, 256)
	for {
		n := stateGet(ptrOf(k), uint32(len(k)), ptrOf(buf), uint32(len(buf)))
		if n < 0 {
			return nil, false
		}
		if int(n) <= len(buf) {
			return buf[:n], true
		}
		buf = make([]byte, n)
	}
}

// Set stores value for key in this session's state, persisted with the
// session. False when refused (key over 256 bytes, value over 64 KiB, or the
// session's state for this stream over 1 MiB).
func Set(key string, value []byte) bool {
	k := []byte(key)
	return stateSet(ptrOf(k), uint32(len(k)), ptrOf(value), uint32(len(value))) == 0
}

// Log writes a line to hookwire's log, with the stream and session named.
func Log(msg string) {
	b := []byte(msg)
	logLine(ptrOf(b), uint32(len(b)))
}
