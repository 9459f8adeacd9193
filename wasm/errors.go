package wasm

import "errors"

var (
	// ErrNotWasm: the bytes are not a WebAssembly module.
	ErrNotWasm = errors.New("wasm: not a WebAssembly module")
	// ErrInvalid: the module does not compile (malformed, or over a limit).
	ErrInvalid = errors.New("wasm: the module does not compile")
	// ErrABI: the module does not export or import what the ABI allows.
	ErrABI = errors.New("wasm: module does not implement the " + ABIVersion + " ABI")
	// ErrAlloc: the guest's hw_alloc returned no memory.
	ErrAlloc = errors.New("wasm: guest allocation failed")
	// ErrInitRefused: hw_init returned non-zero for the given config.
	ErrInitRefused = errors.New("wasm: the filter refused its config")
	// ErrDeadline: a guest call ran past its time budget and was stopped.
	ErrDeadline = errors.New("wasm: call exceeded its time budget")
	// ErrGuest: hw_match returned a negative verdict (the guest's own error).
	ErrGuest = errors.New("wasm: the filter reported an error")
	// ErrVerdict: hw_match returned a positive verdict other than 1.
	ErrVerdict = errors.New("wasm: hw_match returned a verdict the ABI does not define")
)
