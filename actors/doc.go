// Package actors is hookwire's small actor runtime: a typed, bounded mailbox,
// a run loop that drains it in batches, panic supervision, and a keyed
// registry that spawns an actor on first use and lets it passivate when idle.
//
// A standalone actor (Spawn) owns a goroutine: it may block on I/O. A
// registry's actors own none: keys are partitioned over a few workers, and
// each worker runs its own actors' turns from one queue, so a million idle
// actors cost their state only.
//
// It knows nothing of events or webhooks; engine/session and
// engine/delivery give it their behaviours. protoactor-go's actor/ and
// nats-server's ipqueue are the models: a 1-buffered signal channel plus a
// batch pop, control messages before ordinary ones, and Push that fails
// instead of blocking when the mailbox is full.
package actors
