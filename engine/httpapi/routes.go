package httpapi

import (
	"strings"

	"github.com/valyala/fasthttp"
)

// route dispatches by path segments. Unknown paths are 404, known paths
// with the wrong method 405, both with the JSON error body.
func (a *API) route(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	method := string(ctx.Method())
	switch path {
	case "/healthz":
		writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ok"})
		return
	case "/readyz":
		if !a.ready.Load() || a.draining.Load() {
			writeError(ctx, fasthttp.StatusServiceUnavailable, "not_ready", "recovering stored state or shutting down")
			return
		}
		writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ready"})
		return
	case "/metrics":
		if !isLoopback(ctx) && !a.authorize(ctx, RoleAdmin, false) {
			return
		}
		a.metricsH(ctx)
		return
	}
	if a.draining.Load() {
		ctx.Response.Header.Set("Connection", "close")
		ctx.Response.Header.Set("Retry-After", "5")
		writeError(ctx, fasthttp.StatusServiceUnavailable, "shutting_down", "hookwire is shutting down")
		return
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) < 2 || seg[0] != "v1" {
		notFound(ctx)
		return
	}
	switch {
	case len(seg) == 2 && seg[1] == "events":
		if a.allow(ctx, method, "POST") && a.authorize(ctx, RoleIngest, false) {
			a.postEvents(ctx)
		}
	case seg[1] == "streams":
		if a.authorize(ctx, RoleArchitect, false) {
			a.routeStreams(ctx, method, seg[2:])
		}
	case seg[1] == "filters":
		if a.authorize(ctx, RoleArchitect, false) {
			a.routeFilters(ctx, method, seg[2:])
		}
	case seg[1] == "deliveries":
		if a.authorize(ctx, RoleArchitect, false) {
			a.routeDeliveries(ctx, method, seg[2:])
		}
	case len(seg) == 2 && seg[1] == "endpoints":
		if a.allow(ctx, method, "GET") && a.authorize(ctx, RoleArchitect, false) {
			a.getEndpoints(ctx)
		}
	case len(seg) == 3 && seg[1] == "sessions":
		if a.allow(ctx, method, "GET") && a.authorize(ctx, RoleArchitect, false) {
			a.getSession(ctx, seg[2])
		}
	default:
		notFound(ctx)
	}
}

func (a *API) routeStreams(ctx *fasthttp.RequestCtx, method string, rest []string) {
	switch {
	case len(rest) == 0:
		switch method {
		case "GET":
			a.listStreams(ctx)
		case "POST":
			a.createStream(ctx)
		default:
			methodNotAllowed(ctx, "GET, POST")
		}
	case len(rest) == 1 && rest[0] != "":
		switch method {
		case "GET":
			a.getStream(ctx, rest[0])
		case "PUT":
			a.replaceStream(ctx, rest[0])
		case "PATCH":
			a.patchStream(ctx, rest[0])
		case "DELETE":
			a.deleteStream(ctx, rest[0])
		default:
			methodNotAllowed(ctx, "GET, PUT, PATCH, DELETE")
		}
	case len(rest) == 2 && rest[1] == "test":
		if a.allow(ctx, method, "POST") {
			a.testStream(ctx, rest[0])
		}
	case len(rest) == 2 && rest[1] == "recover":
		if a.allow(ctx, method, "POST") {
			a.recoverStream(ctx, rest[0])
		}
	default:
		notFound(ctx)
	}
}

func (a *API) routeDeliveries(ctx *fasthttp.RequestCtx, method string, rest []string) {
	switch {
	case len(rest) == 0:
		if a.allow(ctx, method, "GET") {
			a.listDeliveries(ctx)
		}
	case len(rest) == 1 && rest[0] != "":
		if a.allow(ctx, method, "GET") {
			a.getDelivery(ctx, rest[0])
		}
	case len(rest) == 2 && rest[1] == "retry":
		if a.allow(ctx, method, "POST") {
			a.retryDelivery(ctx, rest[0])
		}
	default:
		notFound(ctx)
	}
}

func (a *API) allow(ctx *fasthttp.RequestCtx, method, want string) bool {
	if method == want {
		return true
	}
	methodNotAllowed(ctx, want)
	return false
}

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
