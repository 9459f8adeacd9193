// goalloc is a minimal Go guest that allocates on every call, for the
// long-run test of the Go GC pitfall (filters/ABI.md): with a fake clock
// its heap stops being collected after about a million calls.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o goalloc.wasm .
package main

import "unsafe"

var (
	input []byte
	sink  [][]byte
)

//go:wasmexport hw_alloc
func hwAlloc(size uint32) uint32 {
	input = make([]byte, max(size, 1))
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(input))))
}

//go:wasmexport hw_match
func hwMatch(ptr, n uint32) int32 {
	// Garbage on every call: a copy of the event that nothing keeps.
	b := make([]byte, n, 4096)
	copy(b, input[:n])
	if len(sink) < 8 {
		sink = append(sink, b)
	} else {
		sink[int(b[0])%8] = b
	}
	return 0
}

func main() {}
