package httpapi

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/keys"
	"github.com/hookwire/hookwire/engine/streams"
)

// Body limits fasthttp applies before a handler runs, decided from the
// request's header (Server.HeaderReceived). fasthttp reads a whole body
// into memory first; with one limit for every route (room for a 16 MiB
// filter module), any client, even one without a key, could make each
// connection hold 32 MiB.
const (
	// unauthenticatedBodyBytes is all that is read for a route that needs a
	// key when the request carries none the server knows: it is answered
	// 401 whatever its body.
	unauthenticatedBodyBytes = 64 << 10
	// documentBodyBytes is the limit of the JSON documents of the admin
	// routes (a stream definition is at most 256 KiB).
	documentBodyBytes = 1 << 20
)

// requestConfig is Server.HeaderReceived.
func (a *API) requestConfig(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	return fasthttp.RequestConfig{MaxRequestBodySize: a.bodyLimit(h)}
}

// bodyLimit is what a request's route may need, or, for a route that
// needs a key, unauthenticatedBodyBytes when the request has none the
// server knows.
func (a *API) bodyLimit(h *fasthttp.RequestHeader) int {
	r := routeOf(h)
	if r == nil {
		return unauthenticatedBodyBytes // answered 404 or 405
	}
	if !a.keyAccepted(h, r) {
		return unauthenticatedBodyBytes
	}
	switch {
	case r.method == "PUT" && r.path == "/v1/filters/{name}":
		return 2 * streams.MaxFilterBytes // over 16 MiB is answered 400, as the contract says
	case r.role == keys.RoleIngest, r.path == "/v1/filters/{name}/eval":
		return a.cfg.MaxBodyBytes
	}
	return documentBodyBytes
}

// keyAccepted reports whether the request may reach its route's handler
// as far as its key goes: no key needed, or one the ring knows (the
// handler then checks its role). /metrics needs none from loopback, which
// the header does not tell; it takes no body, so route decides.
func (a *API) keyAccepted(h *fasthttp.RequestHeader, r *route) bool {
	if a.cfg.Dev || r.role == "" || r.path == "/metrics" {
		return true
	}
	return a.keys.Authenticate(credentialIn(h, r.basic)) != ""
}

// routeOf finds the route of a request from its header alone (the URI is
// not parsed yet): nil when no route has its method and path.
func routeOf(h *fasthttp.RequestHeader) *route {
	uri := h.RequestURI()
	if i := bytes.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	path := strings.Split(strings.Trim(string(uri), "/"), "/")
	var params [4]string
	for i := range routes {
		if routes[i].method == string(h.Method()) {
			if _, ok := match(routeSegments[i], path, params[:0]); ok {
				return &routes[i]
			}
		}
	}
	return nil
}

// bodyTooLarge answers a body over its limit: as the handler would have
// (401) when the key is what is wrong, else 413 naming the limit.
func (a *API) bodyTooLarge(ctx *fasthttp.RequestCtx) {
	h := &ctx.Request.Header
	if r := routeOf(h); r != nil && !a.keyAccepted(h, r) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="hookwire"`)
		writeError(ctx, fasthttp.StatusUnauthorized, "unauthorized", "missing, unknown or revoked API key: send Authorization: Bearer <key>")
		return
	}
	msg := fmt.Sprintf("the request body is over this endpoint's limit of %d bytes", a.bodyLimit(h))
	if r := routeOf(h); r != nil && r.role == keys.RoleIngest {
		msg += "; send smaller batches"
	}
	writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large", msg)
}
