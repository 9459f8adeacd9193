package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/ingest"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/streams"
)

func (a *API) routeFilters(ctx *fasthttp.RequestCtx, method string, rest []string) {
	switch {
	case len(rest) == 0:
		if a.allow(ctx, method, "GET") {
			writeJSON(ctx, fasthttp.StatusOK, map[string]any{"filters": a.catalog.Filters()})
		}
	case len(rest) == 1 && rest[0] != "":
		switch method {
		case "PUT":
			a.putFilter(ctx, rest[0])
		case "DELETE":
			if err := a.catalog.DeleteFilter(ctx, rest[0]); err != nil {
				a.fail(ctx, err, "invalid_filter")
				return
			}
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		default:
			methodNotAllowed(ctx, "PUT, DELETE")
		}
	case len(rest) == 2 && rest[1] == "eval":
		if a.allow(ctx, method, "POST") && requireJSON(ctx) {
			a.evalFilter(ctx, rest[0])
		}
	default:
		notFound(ctx)
	}
}

// putFilter uploads a module: the raw bytes, Content-Type application/wasm.
func (a *API) putFilter(ctx *fasthttp.RequestCtx, name string) {
	if ct := mediaType(ctx); ct != "application/wasm" && ct != "application/octet-stream" {
		writeError(ctx, fasthttp.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the module's raw bytes with Content-Type: application/wasm (got "+fmt.Sprintf("%q", ct)+")")
		return
	}
	// The body is copied: the catalog keeps it, fasthttp reuses its buffer.
	binary := bytes.Clone(ctx.PostBody())
	f, created, err := a.catalog.PutFilter(ctx, name, binary)
	if errors.Is(err, model.ErrTooLarge) {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_filter", err.Error())
		return
	}
	if err != nil {
		a.fail(ctx, err, "invalid_filter")
		return
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
	}
	writeJSON(ctx, status, f)
}

// evalFilter runs events through a filter without persisting or delivering
// anything: {"config": {...}, "events": [...]} → {"verdicts": [...]}.
func (a *API) evalFilter(ctx *fasthttp.RequestCtx, name string) {
	var body struct {
		Config json.RawMessage `json:"config"`
		Events json.RawMessage `json:"events"`
	}
	dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", `body must be {"config": <any JSON>, "events": [<event>, ...]}: `+err.Error())
		return
	}
	if len(bytes.TrimSpace(body.Events)) == 0 {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", "events: required, an array of events")
		return
	}
	events, err := ingest.Decode(body.Events, ingest.FormatJSON, a.cfg.MaxEventsPerRequest, time.Now())
	if err != nil {
		a.fail(ctx, err, "invalid_event")
		return
	}
	verdicts, err := a.catalog.EvalFilter(ctx, name, body.Config, events)
	if err != nil {
		a.fail(ctx, err, "invalid_filter")
		return
	}
	if verdicts == nil {
		verdicts = []streams.Verdict{}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"verdicts": verdicts})
}
