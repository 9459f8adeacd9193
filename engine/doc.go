// Package engine assembles hookwire. The path of an event, by package:
//
//	httpapi   POST /v1/events: decode, authenticate
//	ingest    validate, group-commit to the event log, hand to sessions
//	session   one actor per session: run each stream's Wasm predicate
//	streams   the compiled predicates (filters → wasm)
//	store     fired marker + outbox message in one transaction
//	delivery  one actor per endpoint: sign, send, retry, breaker
//
// New opens the store and binds the listener; Run recovers what the last
// process left (unevaluated events, undelivered messages), serves, and on
// cancellation shuts down front door → ingest → sessions → delivery → store.
package engine
