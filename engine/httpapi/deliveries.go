package httpapi

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/delivery"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/session"
	"github.com/hookwire/hookwire/engine/store"
)

const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

func (a *API) listDeliveries(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	if !requireKnownQuery(ctx, "stream_id", "system_webhook_id", "status", "limit", "cursor") {
		return
	}
	f := store.DeliveryFilter{StreamID: string(args.Peek("stream_id")), SystemWebhookID: string(args.Peek("system_webhook_id")),
		Status: string(args.Peek("status"))}
	if f.StreamID != "" && f.SystemWebhookID != "" {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request",
			"stream_id, system_webhook_id: a delivery is a stream's or a system webhook's; give one of them")
		return
	}
	switch f.Status {
	case "", model.StatusPending, model.StatusSucceeded, model.StatusFailed:
	default:
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", "status: use pending, succeeded or failed")
		return
	}
	limit := defaultPageSize
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > maxPageSize {
			writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", "limit: a whole number from 1 to "+strconv.Itoa(maxPageSize))
			return
		}
		limit = n
	}
	var cursor []byte
	if v := args.Peek("cursor"); len(v) > 0 {
		c, err := base64.RawURLEncoding.DecodeString(string(v))
		if err != nil || len(c) < 8 {
			writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", "cursor: not a cursor from a previous page")
			return
		}
		cursor = c
	}
	page, next, err := a.store.ListDeliveries(f, limit, cursor)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	for _, d := range page {
		d.Payload = nil // the list stays light; GET /v1/deliveries/{id} has it
	}
	out := map[string]any{"deliveries": page, "next_cursor": ""}
	if len(next) > 0 {
		out["next_cursor"] = base64.RawURLEncoding.EncodeToString(next)
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

func (a *API) getDelivery(ctx *fasthttp.RequestCtx, id string) {
	d, err := a.store.GetDelivery(id)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, d)
}

func (a *API) retryDelivery(ctx *fasthttp.RequestCtx, id string) {
	d, err := a.dispatcher.Retry(id)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	writeJSON(ctx, fasthttp.StatusAccepted, d)
}

// getEndpoints lists every destination: those with traffic since start,
// plus stream destinations that have had none yet.
func (a *API) getEndpoints(ctx *fasthttp.RequestCtx) {
	stats := a.dispatcher.Endpoints()
	seen := map[string]bool{}
	for _, s := range stats {
		seen[s.URL] = true
	}
	for _, cs := range a.catalog.Snapshot().Streams {
		u := cs.Stream.Destination.URL
		if !seen[u] {
			seen[u] = true
			stats = append(stats, delivery.EndpointStats{URL: u, Label: delivery.EndpointLabel(u), State: "closed"})
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"endpoints": stats})
}

type firedView struct {
	StreamID  string `json:"stream_id"`
	At        string `json:"at"`
	WebhookID string `json:"webhook_id"`
}

func (a *API) getSession(ctx *fasthttp.RequestCtx, id string) {
	// A session in memory answers for itself (its counts are ahead of
	// the store); any other is read from the store.
	current, inMemory := session.Query(a.sessions, id, time.Second)
	sess, live := &current, inMemory
	if !inMemory {
		stored, err := a.store.LoadSession(id)
		if err != nil {
			a.fail(ctx, err, "")
			return
		}
		if stored == nil {
			writeError(ctx, fasthttp.StatusNotFound, "not_found", "no session "+id)
			return
		}
		// Passivated, or not back since a restart: it goes on still
		// while within its idle and maximum times.
		sess, live = stored, session.GoesOn(stored, a.cfg.Sessions, time.Now())
	}
	fired := make([]firedView, 0, len(sess.Fired))
	for streamID, f := range sess.Fired {
		fired = append(fired, firedView{StreamID: streamID, At: f.At.Format("2006-01-02T15:04:05.000Z07:00"), WebhookID: f.WebhookID})
	}
	var user any
	if sess.User != nil {
		user = map[string]string{"id": session.UserID(sess.User.UID, id), "uid": sess.User.UID,
			"email": sess.User.Email, "display_name": sess.User.DisplayName}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"id": id, "started_at": sess.StartedAt, "last_event_at": sess.LastEventAt, "ended": !live,
		"user": user, "events": sess.Events, "fired": fired,
	})
}
