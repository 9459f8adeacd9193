package httpapi

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/session"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
)

// streamView is a stream as the API shows it: no secret, with its faults.
type streamView struct {
	*model.Stream
	Faults streams.FaultsView `json:"faults"`
}

func view(cs *streams.Compiled) streamView {
	return streamView{Stream: cs.Stream.Redacted(), Faults: cs.Faults.View()}
}

func (a *API) listStreams(ctx *fasthttp.RequestCtx) {
	snap := a.catalog.Snapshot()
	out := make([]streamView, 0, len(snap.Streams))
	for _, cs := range snap.Streams {
		out = append(out, view(cs))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"streams": out})
}

func (a *API) getStream(ctx *fasthttp.RequestCtx, id string) {
	cs := a.catalog.Snapshot().Lookup(id)
	if cs == nil {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no stream "+id)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, view(cs))
}

// MaxDefinitionBytes bounds a stream definition's body.
const MaxDefinitionBytes = 256 << 10

// definitionBody checks a stream body's type and size; false when it wrote
// the refusal.
func definitionBody(ctx *fasthttp.RequestCtx) bool {
	if !requireJSON(ctx) {
		return false
	}
	if n := len(ctx.PostBody()); n > MaxDefinitionBytes {
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the stream definition is %d bytes, over the limit of %d", n, MaxDefinitionBytes))
		return false
	}
	return true
}

func (a *API) createStream(ctx *fasthttp.RequestCtx) {
	if !definitionBody(ctx) {
		return
	}
	def, err := streams.ParseDefinition(ctx.PostBody())
	if err != nil {
		a.fail(ctx, err, "invalid_stream")
		return
	}
	cs, generated, err := a.catalog.Create(ctx, def)
	if err != nil {
		a.fail(ctx, err, "invalid_stream")
		return
	}
	v := view(cs)
	if generated != "" {
		// The only time a secret leaves hookwire: the one it generated.
		v.Stream.Destination.Secret = generated
	}
	writeJSON(ctx, fasthttp.StatusCreated, v)
}

func (a *API) replaceStream(ctx *fasthttp.RequestCtx, id string) {
	if !definitionBody(ctx) {
		return
	}
	def, err := streams.ParseDefinition(ctx.PostBody())
	if err != nil {
		a.fail(ctx, err, "invalid_stream")
		return
	}
	cs, err := a.catalog.Replace(ctx, id, def)
	if err != nil {
		a.fail(ctx, err, "invalid_stream")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, view(cs))
}

func (a *API) patchStream(ctx *fasthttp.RequestCtx, id string) {
	if !definitionBody(ctx) {
		return
	}
	p, err := streams.ParsePatch(ctx.PostBody())
	if err != nil {
		a.fail(ctx, err, "invalid_stream")
		return
	}
	cs, err := a.catalog.Update(ctx, id, p)
	if err != nil {
		a.fail(ctx, err, "invalid_stream")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, view(cs))
}

func (a *API) deleteStream(ctx *fasthttp.RequestCtx, id string) {
	if err := a.catalog.Delete(ctx, id); err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	// Stream ids are never reused: a deleted stream's series would only
	// grow /metrics with every stream an architect ever made.
	a.metrics.StreamMatches.DeleteLabelValues(id)
	a.metrics.FilterFaults.DeleteLabelValues(id)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// testStream sends a sample webhook, signed like a real one, and reports
// what the destination said. Only 200 is ok, as in the seed product.
func (a *API) testStream(ctx *fasthttp.RequestCtx, id string) {
	cs := a.catalog.Snapshot().Lookup(id)
	if cs == nil {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no stream "+id)
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	sess := &model.Session{ID: "test-session", StartedAt: now.Add(-2 * time.Minute),
		User: &model.User{UID: "test-user", Email: "test@example.com", DisplayName: "Test User"}}
	ev := &model.Event{ID: "test-event", SessionID: sess.ID, Type: "custom", Name: "hookwire test",
		Timestamp: now, URL: "https://example.com/hookwire-test", Properties: json.RawMessage(`{"test":true}`), User: sess.User}
	w := session.NewWebhook(cs.Stream, sess, ev)
	w.Test = true
	body, err := json.Marshal(w)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	o := a.dispatcher.Test(cs.Stream.Destination.URL, cs.Stream.Destination.Secret, model.NewID("msg_test_"), body)
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"ok": o.Err == nil && o.Status == 200, "status": o.Status,
		"latency_ms": o.Latency.Milliseconds(), "error": o.Describe(),
	})
}

// recoverStream queues again every failed delivery of the stream created
// since the given time.
func (a *API) recoverStream(ctx *fasthttp.RequestCtx, id string) {
	if !requireJSON(ctx) {
		return
	}
	if a.catalog.Snapshot().Lookup(id) == nil {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no stream "+id)
		return
	}
	a.recoverFailed(ctx, store.DeliveryFilter{StreamID: id})
}

// recoverFailed queues again every failed delivery f selects that was
// created since the body's {"since": "<RFC 3339>"}.
func (a *API) recoverFailed(ctx *fasthttp.RequestCtx, f store.DeliveryFilter) {
	var body struct {
		Since string `json:"since"`
	}
	// Strict like every other body: {"sinse": ...} is refused by name,
	// not read as a missing since.
	if err := model.DecodeObject(ctx.PostBody(), &body); err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	since, err := time.Parse(time.RFC3339Nano, body.Since)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", "since: not an RFC 3339 time: "+body.Since)
		return
	}
	f.Status, f.Since = model.StatusFailed, since
	queued := 0
	var cursor []byte
	for {
		page, next, err := a.store.ListDeliveries(f, 500, cursor)
		if err != nil {
			a.fail(ctx, err, "")
			return
		}
		for _, d := range page {
			if _, err := a.dispatcher.Retry(d.ID); err != nil {
				a.fail(ctx, err, "")
				return
			}
			queued++
		}
		if len(next) == 0 {
			break
		}
		cursor = next
	}
	writeJSON(ctx, fasthttp.StatusAccepted, map[string]int{"queued": queued})
}
