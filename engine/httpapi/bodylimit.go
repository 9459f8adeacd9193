package httpapi

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/keys"
	"github.com/hookwire/hookwire/engine/streams"
)

// keylessBodyBytes is all fasthttp reads of a body sent, without a key
// the server knows, to a route that needs one (Server.HeaderReceived):
// it is answered 401 whatever it holds. fasthttp reads a whole body into
// memory before a handler runs, and the server-wide limit (readBodyBytes)
// let any client make each connection hold 32 MiB. A megabyte keeps a
// keyless batch of a thousand events answered 401 like a small one.
const keylessBodyBytes = 1 << 20

// readBodyBytes is what is read of any other request's body: room for a
// filter module (over 16 MiB is answered 400, as the contract says) and
// for the handlers to answer a body over their own limits themselves
// (413 over --max-body-bytes), which a client still writing its body
// reads reliably only if the body was read.
func (a *API) readBodyBytes() int { return max(a.cfg.MaxBodyBytes, 2*streams.MaxFilterBytes) }

// requestConfig is Server.HeaderReceived.
// The route and the key are looked up here only for a body that declares
// more than keylessBodyBytes (or no length): for the others, as for every
// request in --dev, there is nothing to decide, and route looks them up
// anyway.
func (a *API) requestConfig(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if n := h.ContentLength(); !a.cfg.Dev && (n < 0 || n > keylessBodyBytes) {
		if r := routeOf(h); r != nil && !a.keyAccepted(h, r) {
			return fasthttp.RequestConfig{MaxRequestBodySize: keylessBodyBytes}
		}
	}
	return fasthttp.RequestConfig{MaxRequestBodySize: a.readBodyBytes()}
}

// keyAccepted reports whether the request may reach its route's handler
// as far as its key goes: no key needed, or one the ring knows (the
// handler then checks its role). /metrics needs none from loopback, which
// the header does not tell; it takes no body, so route decides.
func (a *API) keyAccepted(h *fasthttp.RequestHeader, r *route) bool {
	if a.cfg.Dev || r.role == "" || r.path == "/metrics" {
		return true
	}
	_, role := a.keyOf(h, r.basic)
	return role != ""
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

// bodyTooLarge answers a body over what is read: as the handler would have
// (401) when the key is what is wrong, else 413 naming the limit.
func (a *API) bodyTooLarge(ctx *fasthttp.RequestCtx) {
	h := &ctx.Request.Header
	r := routeOf(h)
	if r != nil && !a.keyAccepted(h, r) {
		unauthorized(ctx, "missing, unknown or revoked API key: send Authorization: Bearer <key>")
		return
	}
	limit, advice := a.readBodyBytes(), ""
	if r != nil && r.role == keys.RoleIngest {
		limit, advice = a.cfg.MaxBodyBytes, "; send smaller batches"
	}
	writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large",
		fmt.Sprintf("the request body is over the limit of %d bytes%s", limit, advice))
}
