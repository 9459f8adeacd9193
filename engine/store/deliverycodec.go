package store

import (
	"encoding/json"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/internal/jsonfast"
)

// encodeDelivery returns d as encoding/json marshals it, byte for byte,
// without its cost where it can: every webhook's delivery is encoded when
// the committer stores it and again when its attempt records the outcome,
// and json.Marshal re-validates and compacts the payload (a raw message)
// each time, through reflection. With every session of the standard load
// firing (3,800 webhooks/s) those two encodings were 3 % of the server's
// CPU. A delivery with a time encoding/json refuses goes through
// json.Marshal, for its error.
func encodeDelivery(d *model.Delivery) ([]byte, error) {
	if b, ok := appendDelivery(make([]byte, 0, 384+len(d.Payload)), d); ok {
		return b, nil
	}
	return json.Marshal(d)
}

// appendDelivery appends d's JSON to dst, in model.Delivery's field order
// and with its omitempty rules; ok is false for a time encoding/json
// refuses.
func appendDelivery(dst []byte, d *model.Delivery) (_ []byte, ok bool) {
	w := jsonfast.NewWriter(dst)
	w.String("id", d.ID, false)
	w.String("stream_id", d.StreamID, true)
	w.String("session_id", d.SessionID, true)
	w.String("system_webhook_id", d.SystemWebhookID, true)
	w.String("event_type", d.EventType, true)
	w.String("url", d.URL, false)
	w.String("status", d.Status, false)
	w.Time("created_at", d.CreatedAt)
	w.Raw("payload", d.Payload, true)
	w.Int("step", int64(d.Step))
	if d.NextAttemptAt != nil {
		w.Time("next_attempt_at", *d.NextAttemptAt)
	}
	if d.Attempts == nil {
		w.Null("attempts")
	} else {
		w.Array("attempts")
		for i := range d.Attempts {
			a := &d.Attempts[i]
			w.Element()
			w.Time("at", a.At)
			if a.Status != 0 {
				w.Int("status", int64(a.Status))
			}
			w.String("error", a.Error, true)
			w.Int("latency_ms", a.LatencyMS)
			w.End()
		}
		w.EndArray()
	}
	w.String("last_error", d.LastError, true)
	w.End()
	return w.Buf, w.OK
}
