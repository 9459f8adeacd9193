// Package streams is the catalogue of behavioural webhook definitions: it
// validates them, compiles each one's triggers to a Wasm program once per
// definition, stores them, and publishes an immutable snapshot that session
// actors read without locks.
package streams
