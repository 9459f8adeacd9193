// Package wasm is hookwire's WebAssembly host, on wazero: it compiles a
// module once (through a shared compilation cache), validates that it
// speaks the filter ABI (abi.go), and runs it through pools of reusable
// instances with a memory cap and, where asked, a per-call deadline.
//
// It knows nothing of streams, sessions or triggers: it moves bytes in and
// an i32 verdict out. Package filters decides what the bytes mean.
package wasm
