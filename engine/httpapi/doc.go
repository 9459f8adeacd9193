// Package httpapi is hookwire's front door on fasthttp: the routes of
// CONTRACT §2, authentication, and the mapping of engine errors to statuses
// and {"error": {"code", "message"}} bodies. Handlers copy what they keep
// out of the request context (fasthttp reuses it after the handler returns)
// and call into the engine's packages; nothing here holds state of its own.
package httpapi
