package httpapi

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/ingest"
	"github.com/hookwire/hookwire/engine/model"
)

// postEvents is where every event enters: decode and validate the whole
// body, then the ingest writer logs it durably and hands each event to its
// session actor (engine/ingest → engine/session).
func (a *API) postEvents(ctx *fasthttp.RequestCtx) {
	if !a.ingestPreflight(ctx) {
		return
	}
	format := ingest.FormatJSON
	switch ct := mediaType(ctx); {
	// text/plain is what a browser's navigator.sendBeacon sends a string
	// as; +json is any JSON media type (RFC 6839), as the other routes take.
	case ct == "" || ct == "application/json" || ct == "text/plain" || strings.HasSuffix(ct, "+json"):
	case ct == "application/x-ndjson" || ct == "application/ndjson" || ct == "application/jsonl" || ct == "application/jsonlines":
		format = ingest.FormatNDJSON
	default:
		writeError(ctx, fasthttp.StatusUnsupportedMediaType, "unsupported_media_type",
			"Content-Type "+ct+" is not accepted: send application/json or application/x-ndjson")
		return
	}
	body, done, ok := a.ingestBody(ctx)
	if !ok {
		return
	}
	defer done()
	batch, err := ingest.DecodeBatch(body, format, a.cfg.MaxEventsPerRequest, time.Now())
	if res, ok := a.accept(ctx, batch, len(body), err); ok {
		answerAccepted(ctx, res)
	}
}

// postFullstoryEvents takes Fullstory server API "Create Event" bodies (one,
// or {"requests": [...]} with batch) as custom events, so existing
// Fullstory server clients can send here.
func (a *API) postFullstoryEvents(ctx *fasthttp.RequestCtx, batch bool) {
	if !a.ingestPreflight(ctx) || !requireJSON(ctx) {
		return
	}
	body, done, ok := a.ingestBody(ctx)
	if !ok {
		return
	}
	defer done()
	events, err := ingest.DecodeFullstory(body, batch, a.cfg.MaxEventsPerRequest, a.writer.SessionFinder(), time.Now())
	if batch && err == nil {
		a.acceptImportJob(ctx, events, len(body))
		return
	}
	if res, ok := a.accept(ctx, ingest.Batch{Events: events}, len(body), err); ok {
		answerAccepted(ctx, res)
	}
}

// ingestPreflight is the common start of every ingest route: 503 until the
// last run's events are recovered, 413 over the body limit (the server
// itself admits larger bodies, for filter modules), and 429 while the
// engine is saturated, before the body is decompressed and decoded for
// nothing.
func (a *API) ingestPreflight(ctx *fasthttp.RequestCtx) bool {
	if !a.ready.Load() {
		ctx.Response.Header.Set("Retry-After", "1")
		writeError(ctx, fasthttp.StatusServiceUnavailable, "not_ready", "recovering stored events; retry shortly")
		return false
	}
	if n := len(ctx.PostBody()); n > a.cfg.MaxBodyBytes {
		a.metrics.RequestsRejected.WithLabelValues("too_large").Inc()
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the request body is %d bytes, over the limit of %d; send smaller batches", n, a.cfg.MaxBodyBytes))
		return false
	}
	if err := a.writer.Saturated(); err != nil {
		a.metrics.RequestsRejected.WithLabelValues(rejectReason(err)).Inc()
		a.fail(ctx, err, "invalid_event")
		return false
	}
	return true
}

// accept is the common end of every ingest route: refuse an invalid body,
// apply the key's rate, then make the events durable and queue them. It
// answers a refusal; the caller answers the acceptance (ok).
// bodyBytes is the size of the body they were decoded from.
func (a *API) accept(ctx *fasthttp.RequestCtx, batch ingest.Batch, bodyBytes int, err error) (res ingest.Result, ok bool) {
	if err != nil {
		a.metrics.RequestsRejected.WithLabelValues("invalid").Inc()
		a.fail(ctx, err, "invalid_event")
		return res, false
	}
	if !a.admit(ctx, len(batch.Events)) {
		batch.Release()
		return res, false
	}
	return a.write(ctx, batch, bodyBytes)
}

// write makes admitted events durable and queues them (accept's end),
// answering a refusal.
func (a *API) write(ctx *fasthttp.RequestCtx, batch ingest.Batch, bodyBytes int) (ingest.Result, bool) {
	res, err := a.writer.Accept(batch, bodyBytes)
	if err != nil {
		a.metrics.RequestsRejected.WithLabelValues(rejectReason(err)).Inc()
		a.fail(ctx, err, "invalid_event")
		return res, false
	}
	a.metrics.IngestSeconds.Observe(time.Since(ctx.Time()).Seconds())
	return res, true
}

// answerAccepted is the 202 of an ingest request.
func answerAccepted(ctx *fasthttp.RequestCtx, res ingest.Result) {
	// Spelled out: a map through encoding/json was five allocations on
	// the hottest answer.
	var spelled [64]byte
	body := append(spelled[:0], `{"accepted":`...)
	body = strconv.AppendInt(body, int64(res.Accepted), 10)
	body = append(body, `,"duplicates":`...)
	body = strconv.AppendInt(body, int64(res.Duplicates), 10)
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(body, '}'))
}

// admit applies the caller's --ingest-rate to n events, answering 429
// when it is spent; without a rate there is no caller to look up.
func (a *API) admit(ctx *fasthttp.RequestCtx, n int) bool {
	if a.limiter == nil {
		return true
	}
	ok, wait := a.limiter.admit(a.caller(ctx), n, time.Now())
	if !ok {
		a.metrics.RequestsRejected.WithLabelValues("rate_limited").Inc()
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeError(ctx, fasthttp.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("this key may send %g events per second; retry in %s", a.cfg.IngestRate, wait.Round(time.Millisecond)))
	}
	return ok
}

func rejectReason(err error) string {
	switch {
	case errors.Is(err, model.ErrSaturated):
		return "saturated"
	case errors.Is(err, model.ErrShuttingDown):
		return "shutting_down"
	case errors.Is(err, model.ErrLowOnSpace):
		return "low_on_space"
	}
	return "error"
}

// caller identifies whom a rate limit applies to: the API key, or the
// client's address when there are no keys (dev mode).
func (a *API) caller(ctx *fasthttp.RequestCtx) string {
	if a.cfg.Dev {
		return ctx.RemoteIP().String()
	}
	key, _ := a.keyOf(&ctx.Request.Header, true)
	return key
}
