// Package store is hookwire's durable state in an embedded Badger database:
// streams, the accepted-event log, event-id dedupe marks, which session fired
// which stream, and the delivery outbox with its attempts. It is the only
// package that imports Badger.
//
// Key space (one prefix per kind; "/" separates, \x00 joins composite ids,
// which ingest guarantees free of control characters):
//
//	stream/<id>                       stream definition (JSON)
//	evlog/<seq u64 BE>                one accepted request's events (JSON array)
//	evid/<session>\x00<event id>      dedupe mark, TTL
//	session/<session id>              session record with fired markers (JSON), TTL
//	msg/<id>                          delivery with attempts (JSON), TTL once final
//	msgtime/<created ns BE><id>       listing index, newest first, TTL once final
//	pending/<url hash u64 BE><id>     undelivered messages, per endpoint
//	filter/<name>, filterbin/<name>   uploaded filter: description (JSON), module
//	apikey/<id>                       API key record with the key's SHA-256 (JSON)
//	syshook/, segment/, segalert/     system webhook endpoints, segments, alerts (JSON)
//	segmember/<segment>\x00<user>     a user's latest match of a segment (JSON), TTL
//	note/<id>                         notes (JSON)
package store
