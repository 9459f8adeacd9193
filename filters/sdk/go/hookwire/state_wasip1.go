//go:build wasip1

package hookwire

import (
	"runtime"
	"unsafe"
)

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

// stringPtr is where s's bytes are, for the host to read during a call
// (which copies them): a copy into a []byte would be an allocation, ~0.2
// µs in a guest. The caller keeps s alive across the call.
func stringPtr(s string) uint32 {
	if len(s) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s))))
}

// Get returns this session's value for key (state of the calling stream).
func Get(key string) ([]byte, bool) {
	buf := make([]byte, 256)
	for {
		n := stateGet(stringPtr(key), uint32(len(key)), ptrOf(buf), uint32(len(buf)))
		runtime.KeepAlive(key)
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
	ok := stateSet(stringPtr(key), uint32(len(key)), ptrOf(value), uint32(len(value))) == 0
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return ok
}

// Log writes a line to hookwire's log, with the stream and session named.
func Log(msg string) {
	logLine(stringPtr(msg), uint32(len(msg)))
	runtime.KeepAlive(msg)
}
