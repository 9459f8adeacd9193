package httpapi

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/keys"
)

// route is one endpoint of the API. Path segments in braces match any
// non-empty segment and are passed to the handler in order.
type route struct {
	method string
	path   string
	// role is what a key needs (admin always passes); "" means no key.
	role keys.Role
	// basic also accepts Authorization: Basic <key> (Fullstory clients).
	basic  bool
	handle func(a *API, ctx *fasthttp.RequestCtx, params []string)
}

// routes is the whole API; docs/openapi.yaml describes the same set (a
// test compares them).
var routes = []route{
	{"GET", "/healthz", "", false, (*API).healthz},
	{"GET", "/readyz", "", false, (*API).readyz},
	{"GET", "/metrics", keys.RoleAdmin, false, (*API).serveMetrics}, // no key needed from loopback

	{"POST", "/v1/events", keys.RoleIngest, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.postEvents(ctx) }},
	{"POST", "/v2/events", keys.RoleIngest, true, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.postFullstoryEvents(ctx, false) }},
	{"POST", "/v2/events/batch", keys.RoleIngest, true, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.postFullstoryEvents(ctx, true) }},
	{"GET", "/v2/events/batch/{id}", keys.RoleIngest, true, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.getImportJob(ctx, p[0]) }},
	{"GET", "/v2/events/batch/{id}/imports", keys.RoleIngest, true, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.getImportJobImports(ctx, p[0]) }},
	{"GET", "/v2/events/batch/{id}/errors", keys.RoleIngest, true, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.getImportJobErrors(ctx, p[0]) }},

	{"GET", "/v1/streams", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.listStreams(ctx) }},
	{"POST", "/v1/streams", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.createStream(ctx) }},
	{"GET", "/v1/streams/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.getStream(ctx, p[0]) }},
	{"PUT", "/v1/streams/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.replaceStream(ctx, p[0]) }},
	{"PATCH", "/v1/streams/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.patchStream(ctx, p[0]) }},
	{"DELETE", "/v1/streams/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.deleteStream(ctx, p[0]) }},
	{"POST", "/v1/streams/{id}/test", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.testStream(ctx, p[0]) }},
	{"POST", "/v1/streams/{id}/recover", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.recoverStream(ctx, p[0]) }},

	{"GET", "/v1/filters", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.listFilters(ctx) }},
	{"PUT", "/v1/filters/{name}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.putFilter(ctx, p[0]) }},
	{"DELETE", "/v1/filters/{name}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.deleteFilter(ctx, p[0]) }},
	{"POST", "/v1/filters/{name}/eval", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.evalFilter(ctx, p[0]) }},

	{"GET", "/v1/deliveries", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.listDeliveries(ctx) }},
	{"GET", "/v1/deliveries/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.getDelivery(ctx, p[0]) }},
	{"POST", "/v1/deliveries/{id}/retry", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.retryDelivery(ctx, p[0]) }},
	{"GET", "/v1/endpoints", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.getEndpoints(ctx) }},
	{"GET", "/v1/sessions/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.getSession(ctx, p[0]) }},

	{"POST", "/v1/system-webhooks", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.createSystemWebhook(ctx) }},
	{"GET", "/v1/system-webhooks", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.listSystemWebhooks(ctx) }},
	{"GET", "/v1/system-webhooks/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.getSystemWebhook(ctx, p[0]) }},
	{"PATCH", "/v1/system-webhooks/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.patchSystemWebhook(ctx, p[0]) }},
	{"DELETE", "/v1/system-webhooks/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.deleteSystemWebhook(ctx, p[0]) }},
	{"POST", "/v1/system-webhooks/{id}/recover", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.recoverSystemWebhook(ctx, p[0]) }},
	{"POST", "/v1/system-webhooks/{id}/test", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.testSystemWebhook(ctx, p[0]) }},

	{"POST", "/v1/segments", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.createSegment(ctx) }},
	{"GET", "/v1/segments", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.listSegments(ctx) }},
	{"GET", "/v1/segments/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.getSegment(ctx, p[0]) }},
	{"DELETE", "/v1/segments/{id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.deleteSegment(ctx, p[0]) }},
	{"POST", "/v1/segments/{id}/alerts", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.createAlert(ctx, p[0]) }},
	{"GET", "/v1/segments/{id}/alerts", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.listAlerts(ctx, p[0]) }},
	{"GET", "/v1/segments/{id}/alerts/{alert_id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.getAlert(ctx, p[0], p[1]) }},
	{"DELETE", "/v1/segments/{id}/alerts/{alert_id}", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.deleteAlert(ctx, p[0], p[1]) }},
	{"POST", "/v1/notes", keys.RoleArchitect, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.createNote(ctx) }},

	{"POST", "/v1/keys", keys.RoleAdmin, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.createKey(ctx) }},
	{"GET", "/v1/keys", keys.RoleAdmin, false, func(a *API, ctx *fasthttp.RequestCtx, _ []string) { a.listKeys(ctx) }},
	{"DELETE", "/v1/keys/{id}", keys.RoleAdmin, false, func(a *API, ctx *fasthttp.RequestCtx, p []string) { a.deleteKey(ctx, p[0]) }},
}

// Route is a method and path template, as docs/openapi.yaml writes them.
type Route struct{ Method, Path string }

// Routes lists every endpoint the API serves.
func Routes() []Route {
	out := make([]Route, len(routes))
	for i, r := range routes {
		out[i] = Route{r.method, r.path}
	}
	return out
}

// match reports whether path fits the template and collects its parameters.
func match(template []string, path []string, params []string) ([]string, bool) {
	if len(template) != len(path) {
		return nil, false
	}
	for i, t := range template {
		if strings.HasPrefix(t, "{") {
			if path[i] == "" {
				return nil, false
			}
			params = append(params, path[i])
		} else if t != path[i] {
			return nil, false
		}
	}
	return params, true
}

var routeSegments = func() [][]string {
	out := make([][]string, len(routes))
	for i, r := range routes {
		out[i] = strings.Split(strings.Trim(r.path, "/"), "/")
	}
	return out
}()

// route dispatches a request: 404 for an unknown path, 405 (with Allow) for
// a known path and another method, then authentication, then the handler.
func (a *API) route(ctx *fasthttp.RequestCtx) {
	path, ok := pathSegments(ctx.Request.URI().PathOriginal())
	if !ok {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request",
			"the path "+string(ctx.Request.URI().PathOriginal())+" has a malformed %-escape")
		return
	}
	method := string(ctx.Method())
	if method == fasthttp.MethodHead {
		// HEAD is GET without the body (RFC 9110 §9.3.2), which fasthttp
		// leaves out of the answer: a load balancer's HEAD /healthz works.
		method = fasthttp.MethodGet
	}
	var allowed []string
	var params [4]string
	for i := range routes {
		p, ok := match(routeSegments[i], path, params[:0])
		if !ok {
			continue
		}
		r := &routes[i]
		if r.method != method {
			allowed = append(allowed, r.method)
			continue
		}
		if r.role != "" && a.draining.Load() {
			ctx.Response.Header.Set("Connection", "close")
			ctx.Response.Header.Set("Retry-After", "5")
			writeError(ctx, fasthttp.StatusServiceUnavailable, "shutting_down", "hookwire is shutting down")
			return
		}
		if r.role != "" && !(r.path == "/metrics" && isLoopback(ctx)) && !a.authorize(ctx, r.role, r.basic) {
			return
		}
		if writesData(r) {
			if err := a.store.RefuseWrites(); err != nil {
				a.fail(ctx, err, "")
				return
			}
		}
		r.handle(a, ctx, p)
		return
	}
	if len(allowed) > 0 {
		methodNotAllowed(ctx, strings.Join(allowed, ", "))
		return
	}
	notFound(ctx)
}

// writesData: the route stores something new, which a data directory low
// on space refuses before reading the body (the ingest writer asks again
// for each group it writes). Reads, deletes, dry runs and tests are
// served: they are how an operator looks around and makes room.
func writesData(r *route) bool {
	switch {
	case r.role == "" || r.method == fasthttp.MethodGet || r.method == fasthttp.MethodDelete:
		return false
	case strings.HasSuffix(r.path, "/eval"), strings.HasSuffix(r.path, "/test"):
		return false
	}
	return true
}

// pathSegments splits a request's path as sent, then unescapes each
// segment: an id with a slash in it (session_id "web/42", escaped as
// web%2F42) stays one segment. Splitting the unescaped path made such a
// session unreachable (404, no such endpoint).
func pathSegments(raw []byte) ([]string, bool) {
	segments := strings.Split(strings.Trim(string(raw), "/"), "/")
	for i, seg := range segments {
		if strings.IndexByte(seg, '%') < 0 {
			continue
		}
		unescaped, err := url.PathUnescape(seg)
		if err != nil {
			return nil, false
		}
		segments[i] = unescaped
	}
	return segments, true
}

func (a *API) healthz(ctx *fasthttp.RequestCtx, _ []string) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(ctx *fasthttp.RequestCtx, _ []string) {
	if !a.ready.Load() || a.draining.Load() {
		writeError(ctx, fasthttp.StatusServiceUnavailable, "not_ready", "recovering stored state or shutting down")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ready"})
}

func (a *API) serveMetrics(ctx *fasthttp.RequestCtx, _ []string) { a.metricsH(ctx) }

func notFound(ctx *fasthttp.RequestCtx) {
	writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such endpoint: "+string(ctx.Path()))
}

func methodNotAllowed(ctx *fasthttp.RequestCtx, allowed string) {
	ctx.Response.Header.Set("Allow", allowed)
	writeError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed",
		string(ctx.Method())+" is not allowed here; use "+allowed)
}

// requireJSON answers 415 unless the body is declared JSON (or undeclared).
func requireJSON(ctx *fasthttp.RequestCtx) bool {
	ct := mediaType(ctx)
	if ct == "" || ct == "application/json" || strings.HasSuffix(ct, "+json") {
		return true
	}
	writeError(ctx, fasthttp.StatusUnsupportedMediaType, "unsupported_media_type",
		"Content-Type "+ct+" is not accepted here; send application/json")
	return false
}

func mediaType(ctx *fasthttp.RequestCtx) string {
	ct, _, _ := strings.Cut(string(ctx.Request.Header.ContentType()), ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// requireKnownQuery answers 400 for a query parameter the route does not
// know, or one given twice: a misspelt filter (?stream=) would otherwise
// list every delivery as if it were the filtered few.
func requireKnownQuery(ctx *fasthttp.RequestCtx, known ...string) bool {
	args := ctx.QueryArgs()
	seen := make(map[string]bool, args.Len())
	for key := range args.All() {
		name := string(key)
		msg := ""
		switch {
		case !slices.Contains(known, name):
			msg = fmt.Sprintf("%s: unknown query parameter; use %s", name, strings.Join(known, ", "))
		case seen[name]:
			msg = name + ": given more than once"
		}
		if msg != "" {
			writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", msg)
			return false
		}
		seen[name] = true
	}
	return true
}
