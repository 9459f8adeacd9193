// Package wasmenc writes WebAssembly binary modules: the few sections and
// opcodes that hookwire's trigger compiler emits (filters), and that the
// wasm host's tests use to build hostile modules, and nothing more. OPA's
// internal/wasm/encoding is the model; RATIONALE.md says why we keep our own
// instead of depending on a general Wasm binary model.
package wasmenc
