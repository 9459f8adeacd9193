package wasm

import "errors"

var (
	// ErrNotWasm: the bytes are not a WebAssembly module.
	ErrNotWasm = errors.New("wasm: not a WebAssembly module")
	// ErrABI: the module does not export what the ABI requires.
	ErrABI = errors.New("wasm: module does not implement the " + ABIVersion + " ABI")
	// ErrAlloc: the guest's hw_alloc returned no memory.
	ErrAlloc = errors.New("wasm: guest allocation failed")
	// ErrClosed: the runtime was closed.
	ErrClosed = errors.New("wasm: runtime closed")
)
