package httpapi

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"weak"

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
// more than keylessBodyBytes (or no length: what they were is remembered
// for bodyTooLarge, chunkedRequests): for the others, as for every
// request with a length in --dev, there is nothing to decide, and route
// looks them up anyway.
func (a *API) requestConfig(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	n := h.ContentLength()
	if n >= 0 && (a.cfg.Dev || n <= keylessBodyBytes) {
		return fasthttp.RequestConfig{MaxRequestBodySize: a.readBodyBytes()}
	}
	r := routeOf(h)
	accepted := r == nil || a.keyAccepted(h, r)
	if n < 0 {
		a.chunked.remember(h, chunkedRequest{r, accepted})
	}
	if !accepted {
		return fasthttp.RequestConfig{MaxRequestBodySize: keylessBodyBytes}
	}
	return fasthttp.RequestConfig{MaxRequestBodySize: a.readBodyBytes()}
}

// chunkedRequest is what a request's header said that its answer depends
// on: its route and whether its key is one the server knows.
type chunkedRequest struct {
	route       *route
	keyAccepted bool
}

// chunkedRequests remembers the header of each request whose body comes in
// chunks, its length unknown until the last: one found over the limit only
// as it is read is cleared by fasthttp before the error handler runs
// (Request.ReadBody resets it), which would leave bodyTooLarge answering
// without its route or key. Keyed by the header's address (one per
// connection, reused by the next request on it), held weakly so that a
// connection's state is not kept alive by the map; a sweep at each
// doubling drops the entries of the collected ones. Requests with a length
// never enter it: fasthttp refuses them from the header, which it keeps.
type chunkedRequests struct {
	mu      sync.Mutex
	byConn  map[weak.Pointer[fasthttp.RequestHeader]]chunkedRequest
	sweepAt int
}

func (c *chunkedRequests) remember(h *fasthttp.RequestHeader, r chunkedRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byConn == nil {
		c.byConn = make(map[weak.Pointer[fasthttp.RequestHeader]]chunkedRequest)
	}
	if len(c.byConn) >= c.sweepAt {
		for k := range c.byConn {
			if k.Value() == nil {
				delete(c.byConn, k)
			}
		}
		c.sweepAt = max(64, 2*len(c.byConn))
	}
	c.byConn[weak.Make(h)] = r
}

// take returns, and forgets, what the header at h said when its request
// was read; ok is false if it was never remembered.
func (c *chunkedRequests) take(h *fasthttp.RequestHeader) (r chunkedRequest, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := weak.Make(h)
	r, ok = c.byConn[k]
	delete(c.byConn, k)
	return r, ok
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
	var r *route
	accepted := true
	if h.ContentLength() > 0 {
		// Refused for the length its header declares: the header is whole.
		r = routeOf(h)
		accepted = r == nil || a.keyAccepted(h, r)
	} else if seen, ok := a.chunked.take(h); ok {
		r, accepted = seen.route, seen.keyAccepted
	}
	if !accepted {
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
