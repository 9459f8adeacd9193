// Package model holds the types every part of the engine shares: the event,
// the stream definition, the delivery and its attempts, the fired marker,
// and the engine's sentinel errors. It is a leaf: it imports only the
// trigger types of package filters, which sit below the engine.
package model
