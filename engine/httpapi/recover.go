package httpapi

import (
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// recoverPanics answers 500 for a request whose handler panicked instead
// of letting the panic end the process: fasthttp, unlike net/http, does
// not recover, so one request that hit a bug took every other request and
// session down with it. The panic and its stack are logged and counted;
// the connection is closed after the answer.
func recoverPanics(logger *slog.Logger, panics prometheus.Counter, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			panics.Inc()
			logger.Error("an HTTP handler panicked; the request was answered 500",
				"method", string(ctx.Method()), "path", string(ctx.Path()), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			ctx.Response.Reset()
			ctx.SetConnectionClose()
			writeError(ctx, fasthttp.StatusInternalServerError, "internal",
				"hookwire failed on this request; the failure is logged")
		}()
		next(ctx)
	}
}
