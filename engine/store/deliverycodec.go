package store

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// encodeDelivery returns d as encoding/json marshals it, byte for byte,
// without its cost where it can: every webhook's delivery is encoded when
// the committer stores it and again when its attempt records the outcome,
// and json.Marshal re-validates and compacts the payload (a raw message)
// each time, through reflection. With every session of the standard load
// firing (3,800 webhooks/s) those two encodings were 3 % of the server's
// CPU. What the fast path cannot match exactly (a string or payload that
// encoding/json would escape or compact, a time it would refuse) goes
// through json.Marshal.
func encodeDelivery(d *model.Delivery) ([]byte, error) {
	if b, ok := appendDelivery(make([]byte, 0, 384+len(d.Payload)), d); ok {
		return b, nil
	}
	return json.Marshal(d)
}

// appendDelivery appends d's JSON to dst, in model.Delivery's field order
// and with its omitempty rules; ok is false when a value needs
// encoding/json.
func appendDelivery(dst []byte, d *model.Delivery) (_ []byte, ok bool) {
	ok = true
	str := func(name, v string, omitEmpty bool) {
		switch {
		case omitEmpty && v == "":
		case !plainString(v):
			ok = false
		default:
			dst = append(dst, name...)
			dst = append(dst, '"')
			dst = append(dst, v...)
			dst = append(dst, '"')
		}
	}
	tm := func(name string, t time.Time) {
		dst = append(dst, name...)
		var fits bool
		if dst, fits = appendTime(dst, t); !fits {
			ok = false
		}
	}
	str(`{"id":`, d.ID, false)
	str(`,"stream_id":`, d.StreamID, true)
	str(`,"session_id":`, d.SessionID, true)
	str(`,"system_webhook_id":`, d.SystemWebhookID, true)
	str(`,"event_type":`, d.EventType, true)
	str(`,"url":`, d.URL, false)
	str(`,"status":`, d.Status, false)
	tm(`,"created_at":`, d.CreatedAt)
	if len(d.Payload) > 0 {
		if !isCompactJSON(d.Payload) {
			return dst, false
		}
		dst = append(dst, `,"payload":`...)
		dst = append(dst, d.Payload...)
	}
	dst = append(dst, `,"step":`...)
	dst = strconv.AppendInt(dst, int64(d.Step), 10)
	if d.NextAttemptAt != nil {
		tm(`,"next_attempt_at":`, *d.NextAttemptAt)
	}
	dst = append(dst, `,"attempts":`...)
	if d.Attempts == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range d.Attempts {
			a := &d.Attempts[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			tm(`{"at":`, a.At)
			if a.Status != 0 {
				dst = append(dst, `,"status":`...)
				dst = strconv.AppendInt(dst, int64(a.Status), 10)
			}
			str(`,"error":`, a.Error, true)
			dst = append(dst, `,"latency_ms":`...)
			dst = strconv.AppendInt(dst, a.LatencyMS, 10)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	str(`,"last_error":`, d.LastError, true)
	return append(dst, '}'), ok
}

// plainString reports whether encoding/json writes s as it is, between
// quotes: printable ASCII without '"', '\\', '<', '>' or '&'.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendTime appends t as time.Time.MarshalJSON does, and reports false
// where MarshalJSON fails (the checks are its own: a year of four digits,
// a zone offset under 24 hours).
func appendTime(dst []byte, t time.Time) ([]byte, bool) {
	dst = append(dst, '"')
	start := len(dst)
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	stamp := dst[start:]
	if stamp[len("9999")] != '-' {
		return dst, false
	}
	if stamp[len(stamp)-1] != 'Z' {
		sign, hour := stamp[len(stamp)-len("Z07:00")], stamp[len(stamp)-len("07:00"):]
		if '0' <= sign && sign <= '9' || 10*(hour[0]-'0')+hour[1]-'0' >= 24 {
			return dst, false
		}
	}
	return append(dst, '"'), true
}

// isCompactJSON reports whether encoding/json would marshal raw, a valid
// JSON text, unchanged: no whitespace outside strings, and nothing it
// escapes for HTML ('<', '>', '&', U+2028, U+2029; any 0xE2 byte is taken
// for the start of one of the last two). The payloads hookwire stores
// are made by encoding/json, so they pass; raw is not validated here.
func isCompactJSON(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '<' || c == '>' || c == '&' || c == 0xE2:
			return false
		case inString && c == '\\':
			i++ // the escaped byte cannot end the string
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return !inString
}
