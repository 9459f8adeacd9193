package store

import (
	"encoding/json"
	"slices"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/internal/jsonfast"
)

// encodeSession returns sess as encoding/json marshals it, byte for byte
// (maps by sorted key, filter state in base64), without reflection: a
// session's record is encoded at every commit of a turn that fired a
// stream or changed filter state, which with a filter keeping state on
// every click is every click (3 % of the server's CPU with two). A record
// with a time encoding/json refuses goes through it, for its error.
func encodeSession(sess *model.Session) ([]byte, error) {
	if b, ok := appendSession(make([]byte, 0, 512), sess); ok {
		return b, nil
	}
	return json.Marshal(sess)
}

func appendSession(dst []byte, s *model.Session) ([]byte, bool) {
	w := jsonfast.NewWriter(dst)
	var outer, inner [16]string // sorted keys, on the stack for the usual few
	w.String("id", s.ID, false)
	w.Time("started_at", s.StartedAt)
	w.Time("last_event_at", s.LastEventAt)
	w.Int("events", s.Events)
	s.User.WriteJSON(&w)
	if s.Fired == nil {
		w.Null("fired")
	} else {
		w.Object("fired")
		for _, stream := range sortedKeys(s.Fired, outer[:0]) {
			f := s.Fired[stream]
			w.Key(stream)
			w.ValueObject()
			w.Time("at", f.At)
			w.String("webhook_id", f.WebhookID, false)
			w.End()
		}
		w.End()
	}
	if len(s.State) > 0 {
		w.Object("state")
		for _, stream := range sortedKeys(s.State, outer[:0]) {
			w.Key(stream)
			values := s.State[stream]
			if values == nil {
				w.ValueNull()
				continue
			}
			w.ValueObject()
			for _, k := range sortedKeys(values, inner[:0]) {
				w.Key(k)
				if v := values[k]; v == nil {
					w.ValueNull()
				} else {
					w.ValueBytes(v)
				}
			}
			w.End()
		}
		w.End()
	}
	if len(s.Segments) > 0 {
		w.Object("segments")
		for _, segment := range sortedKeys(s.Segments, outer[:0]) {
			w.Key(segment)
			w.ValueTime(s.Segments[segment])
		}
		w.End()
	}
	w.Object("evaluated")
	w.Uint("seq", s.Evaluated.Seq)
	w.Uint("idx", uint64(s.Evaluated.Idx))
	w.End()
	w.Time("arrived_first", s.ArrivedFirst)
	w.Time("arrived_last", s.ArrivedLast)
	w.End()
	return w.Buf, w.OK
}

// sortedKeys appends m's keys to buf in encoding/json's order.
func sortedKeys[V any](m map[string]V, buf []string) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}
