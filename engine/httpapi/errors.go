package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/model"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Index   *int   `json:"index,omitempty"`
	Path    string `json:"path,omitempty"`
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = fasthttp.StatusInternalServerError,
			[]byte(`{"error":{"code":"internal","message":"encoding the response failed"}}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func writeError(ctx *fasthttp.RequestCtx, status int, code, message string) {
	writeJSON(ctx, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

// fail maps an engine error to its status and error body. invalidCode is
// the code for validation errors on this route.
func (a *API) fail(ctx *fasthttp.RequestCtx, err error, invalidCode string) {
	var inv *model.InvalidError
	switch {
	case errors.As(err, &inv):
		d := errorDetail{Code: invalidCode, Message: inv.Error(), Path: inv.Path}
		if inv.Index >= 0 {
			d.Index = &inv.Index
		}
		writeJSON(ctx, fasthttp.StatusBadRequest, errorBody{Error: d})
	case errors.Is(err, model.ErrNotFound):
		writeError(ctx, fasthttp.StatusNotFound, "not_found", clientMessage(err, model.ErrNotFound))
	case errors.Is(err, model.ErrStreamLimit):
		writeError(ctx, fasthttp.StatusConflict, "stream_limit", clientMessage(err, model.ErrStreamLimit))
	case errors.Is(err, model.ErrLimitReached):
		writeError(ctx, fasthttp.StatusConflict, "limit_reached", clientMessage(err, model.ErrLimitReached))
	case errors.Is(err, model.ErrSegmentLimit):
		writeError(ctx, fasthttp.StatusConflict, "segment_limit", clientMessage(err, model.ErrSegmentLimit))
	case errors.Is(err, model.ErrFilterLimit):
		writeError(ctx, fasthttp.StatusConflict, "filter_limit", clientMessage(err, model.ErrFilterLimit))
	case errors.Is(err, model.ErrInUse):
		writeError(ctx, fasthttp.StatusConflict, "filter_in_use", clientMessage(err, model.ErrInUse))
	case errors.Is(err, model.ErrTooLarge):
		// An input over a content limit (a filter module over 16 MiB) is a
		// bad request, as CONTRACT §2 says; 413 is for bodies over the
		// transport limit.
		writeError(ctx, fasthttp.StatusBadRequest, invalidCode, clientMessage(err, model.ErrTooLarge))
	case errors.Is(err, model.ErrOrphaned):
		writeError(ctx, fasthttp.StatusConflict, "owner_deleted", clientMessage(err, model.ErrOrphaned))
	case errors.Is(err, model.ErrNameTaken):
		writeError(ctx, fasthttp.StatusConflict, "name_taken", clientMessage(err, model.ErrNameTaken))
	case errors.Is(err, model.ErrSaturated):
		ctx.Response.Header.Set("Retry-After", "1")
		writeError(ctx, fasthttp.StatusTooManyRequests, "saturated", clientMessage(err, model.ErrSaturated))
	case errors.Is(err, model.ErrLowOnSpace):
		// 507 (RFC 4918 §11.5): the server cannot store what the request
		// needs; it is the operator's to fix, so no short retry.
		ctx.Response.Header.Set("Retry-After", "60")
		writeError(ctx, fasthttp.StatusInsufficientStorage, "insufficient_storage", clientMessage(err, model.ErrLowOnSpace))
	case errors.Is(err, model.ErrShuttingDown):
		ctx.Response.Header.Set("Retry-After", "5")
		writeError(ctx, fasthttp.StatusServiceUnavailable, "shutting_down", "hookwire is shutting down; retry against the next instance")
	default:
		a.logger.Error("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
		writeError(ctx, fasthttp.StatusInternalServerError, "internal", "internal error; see the server log")
	}
}

// clientMessage is err's text for a client: the detail wrapped around
// sentinel ("no filter \"x\"", not "engine: not found: no filter \"x\""),
// or, with no detail, the sentinel without its package prefix.
func clientMessage(err, sentinel error) string {
	msg := err.Error()
	if detail, ok := strings.CutPrefix(msg, sentinel.Error()+": "); ok {
		return detail
	}
	return strings.TrimPrefix(msg, "engine: ")
}

// serverError answers errors fasthttp raises before a handler runs.
func (a *API) serverError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		// Answered before the body is read: the connection closes after
		// the answer, and lingers so that the client gets to read it.
		lingerOnClose(ctx.Conn())
		a.bodyTooLarge(ctx)
		return
	}
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		writeError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "headers_too_large",
			fmt.Sprintf("the request line and headers are over %d KiB", requestHeaderLimit>>10))
	case errors.As(err, &netErr) && netErr.Timeout():
		writeError(ctx, fasthttp.StatusRequestTimeout, "request_timeout", "the request did not arrive in time")
	default:
		writeError(ctx, fasthttp.StatusBadRequest, "bad_request", "malformed HTTP request: "+withoutEcho(err.Error()))
	}
}

// withoutEcho cuts fasthttp's parse error before the request bytes it
// quotes: the client has them, and they may hold its key.
func withoutEcho(msg string) string {
	if i := strings.IndexAny(msg, "\"`"); i > 0 {
		msg = strings.TrimRight(msg[:i], " :=,")
	}
	return msg
}
