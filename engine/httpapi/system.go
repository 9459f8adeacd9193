package httpapi

import (
	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
	"github.com/hookwire/hookwire/engine/system"
)

func (a *API) createSystemWebhook(ctx *fasthttp.RequestCtx) {
	if !requireJSON(ctx) {
		return
	}
	var d system.EndpointDefinition
	if err := model.DecodeObject(ctx.PostBody(), &d); err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	h, generated, err := a.system.CreateEndpoint(ctx, &d)
	if err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	out := h.Redacted()
	out.Secret = generated // shown once, only when hookwire made it
	writeJSON(ctx, fasthttp.StatusCreated, out)
}

func (a *API) listSystemWebhooks(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"system_webhooks": a.system.Endpoints()})
}

func (a *API) getSystemWebhook(ctx *fasthttp.RequestCtx, id string) {
	h, err := a.system.Endpoint(id)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, h.Redacted())
}

// patchSystemWebhook changes the members the body has (url, secret,
// event_types, enabled): a secret rotated, the URL moved, or the endpoint
// enabled again after its URL answered 410.
func (a *API) patchSystemWebhook(ctx *fasthttp.RequestCtx, id string) {
	if !requireJSON(ctx) {
		return
	}
	var p system.EndpointPatch
	if err := model.DecodePatch(ctx.PostBody(), &p); err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	h, err := a.system.UpdateEndpoint(ctx, id, &p)
	if err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, h)
}

// recoverSystemWebhook queues again every failed delivery to a system
// webhook since a time, as a stream's recover does.
func (a *API) recoverSystemWebhook(ctx *fasthttp.RequestCtx, id string) {
	if !requireJSON(ctx) {
		return
	}
	if _, err := a.system.Endpoint(id); err != nil {
		a.fail(ctx, err, "")
		return
	}
	a.recoverFailed(ctx, store.DeliveryFilter{SystemWebhookID: id})
}

func (a *API) deleteSystemWebhook(ctx *fasthttp.RequestCtx, id string) {
	if err := a.system.DeleteEndpoint(id); err != nil {
		a.fail(ctx, err, "")
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// testSystemWebhook sends {"eventName":"test","version":1,"data":{...}}
// signed, and reports what the endpoint said (ok only for 200).
func (a *API) testSystemWebhook(ctx *fasthttp.RequestCtx, id string) {
	h, err := a.system.Endpoint(id)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	o := a.dispatcher.Test(h.URL, h.Secret, model.NewID("msg_test_"), system.TestBody())
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"ok": o.Err == nil && o.Status == 200, "status": o.Status,
		"latency_ms": o.Latency.Milliseconds(), "error": o.Describe(),
	})
}

type segmentView struct {
	*model.Segment
	URL    string                `json:"url"`
	Alerts []*model.SegmentAlert `json:"alerts"`
	Faults streams.FaultsView    `json:"faults"`
}

func (a *API) segmentView(g *streams.CompiledSegment) segmentView {
	alerts := a.system.Alerts(g.Segment.ID)
	if alerts == nil {
		alerts = []*model.SegmentAlert{}
	}
	return segmentView{Segment: g.Segment, URL: a.system.URLOf("/v1/segments/" + g.Segment.ID), Alerts: alerts,
		Faults: g.Faults.View()}
}

// createSegment stores a segment and announces it (segment.created).
func (a *API) createSegment(ctx *fasthttp.RequestCtx) {
	if !definitionBody(ctx) {
		return
	}
	d, err := streams.ParseSegment(ctx.PostBody())
	if err != nil {
		a.fail(ctx, err, "invalid_segment")
		return
	}
	g, err := a.catalog.CreateSegment(ctx, d)
	if err != nil {
		a.fail(ctx, err, "invalid_segment")
		return
	}
	if err := a.system.SegmentCreated(g.Segment); err != nil {
		a.logger.Error("announcing a segment", "segment_id", g.Segment.ID, "err", err)
	}
	writeJSON(ctx, fasthttp.StatusCreated, a.segmentView(g))
}

func (a *API) listSegments(ctx *fasthttp.RequestCtx) {
	out := []segmentView{}
	for _, g := range a.catalog.Segments() {
		out = append(out, a.segmentView(g))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"segments": out})
}

func (a *API) getSegment(ctx *fasthttp.RequestCtx, id string) {
	g := a.catalog.Segment(id)
	if g == nil {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no segment "+id)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, a.segmentView(g))
}

func (a *API) deleteSegment(ctx *fasthttp.RequestCtx, id string) {
	var alertIDs []string
	for _, al := range a.system.Alerts(id) {
		alertIDs = append(alertIDs, al.ID)
	}
	if err := a.catalog.DeleteSegment(ctx, id, alertIDs); err != nil {
		a.fail(ctx, err, "")
		return
	}
	a.system.ForgetSegment(id)
	a.metrics.SegmentFaults.DeleteLabelValues(id)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

func (a *API) createAlert(ctx *fasthttp.RequestCtx, segmentID string) {
	if !requireJSON(ctx) {
		return
	}
	if a.catalog.Segment(segmentID) == nil {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no segment "+segmentID)
		return
	}
	var d system.AlertDefinition
	if err := model.DecodeObject(ctx.PostBody(), &d); err != nil {
		a.fail(ctx, err, "invalid_alert")
		return
	}
	al, err := a.system.CreateAlert(segmentID, &d)
	if err != nil {
		a.fail(ctx, err, "invalid_alert")
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, al)
}

func (a *API) listAlerts(ctx *fasthttp.RequestCtx, segmentID string) {
	if a.catalog.Segment(segmentID) == nil {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no segment "+segmentID)
		return
	}
	alerts := a.system.Alerts(segmentID)
	if alerts == nil {
		alerts = []*model.SegmentAlert{}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"alerts": alerts})
}

func (a *API) getAlert(ctx *fasthttp.RequestCtx, segmentID, alertID string) {
	al, err := a.system.Alert(segmentID, alertID)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, al)
}

func (a *API) deleteAlert(ctx *fasthttp.RequestCtx, segmentID, alertID string) {
	if err := a.system.DeleteAlert(segmentID, alertID); err != nil {
		a.fail(ctx, err, "")
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// createNote stores a note on a session and announces it (note.created).
func (a *API) createNote(ctx *fasthttp.RequestCtx) {
	if !requireJSON(ctx) {
		return
	}
	var d system.NoteDefinition
	if err := model.DecodeObject(ctx.PostBody(), &d); err != nil {
		a.fail(ctx, err, "invalid_note")
		return
	}
	n, err := a.system.CreateNote(&d)
	if err != nil {
		a.fail(ctx, err, "invalid_note")
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, n)
}
