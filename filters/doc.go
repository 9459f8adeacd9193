// Package filters owns hookwire's trigger language: the types of a stream's
// triggers, their validation, and the compiler that turns declarative
// triggers into a WebAssembly module (see GENERATED.md for its shape).
//
// It imports nothing of hookwire's but its own internal encoder; the engine's
// stream type embeds Trigger, and the engine runs the modules built here
// through package wasm.
package filters
