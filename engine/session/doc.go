// Package session is the behaviour of a session actor: it receives a
// session's events in acceptance order, runs every enabled stream that has
// not fired yet through its Wasm predicate, and on the first match writes
// the fired marker and the outgoing message in one transaction before
// handing the message to delivery.
//
// One actor per live session runs on actors.Registry; it ends after
// --session-idle without events or --session-max in all, and its record
// stays in the store for the retention period so late events cannot fire a
// stream twice.
package session
