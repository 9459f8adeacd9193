package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/ingest"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/streams"
)

func (a *API) listFilters(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"filters": a.catalog.Filters()})
}

func (a *API) deleteFilter(ctx *fasthttp.RequestCtx, name string) {
	if err := a.catalog.DeleteFilter(ctx, name); err != nil {
		a.fail(ctx, err, "invalid_filter")
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
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
	if !requireJSON(ctx) {
		return
	}
	var body struct {
		Config json.RawMessage `json:"config"`
		Events json.RawMessage `json:"events"`
	}
	// The config goes to the filter as it is.
	if err := model.DecodeObject(model.ValidUTF8(ctx.PostBody()), &body); err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	if len(bytes.TrimSpace(body.Events)) == 0 {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", "events: required, an array of events")
		return
	}
	events, err := ingest.Decode(body.Events, ingest.FormatJSON, a.cfg.MaxEventsPerRequest, time.Now())
	if err != nil {
		// The event's paths start from the body here, not from the event.
		if inv := (*model.InvalidError)(nil); errors.As(err, &inv) && inv.Index >= 0 {
			inv.Path = strings.TrimSuffix(fmt.Sprintf("events[%d].%s", inv.Index, inv.Path), ".")
		}
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
