// Package ingest turns request bodies into validated events and makes them
// durable: the decoder checks every event of a request (all or nothing), the
// writer appends many requests to the event log in one commit (group
// commit, badger's doWrites is the model) and then hands each event to its
// session actor in acceptance order. Log records are trimmed once every
// event in them has been evaluated; what is left at start-up is replayed.
package ingest
