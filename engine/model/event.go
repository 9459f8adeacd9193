package model

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Event is one user-behaviour event, validated and normalised at ingest:
// Timestamp is UTC with millisecond precision (receive time when the
// producer sent none).
type Event struct {
	ID         string          `json:"id,omitempty"`
	SessionID  string          `json:"session_id"`
	Type       string          `json:"type"`
	Name       string          `json:"name,omitempty"`
	Timestamp  time.Time       `json:"timestamp"`
	URL        string          `json:"url,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
	User       *User           `json:"user,omitempty"`
	// Offered are the positions of the streams the stream index offers the
	// event, looked up by ingest while the batch is still in the cache of
	// the core that decoded it; they hold only while OfferedBy is the
	// catalog snapshot its session evaluates with (a *streams.Snapshot).
	// Neither is logged: a replayed event is looked up again.
	Offered   []int32 `json:"-"`
	OfferedBy any     `json:"-"`
}

// User is who the session belongs to, as the producer knows them.
type User struct {
	UID         string          `json:"uid,omitempty"`
	Email       string          `json:"email,omitempty"`
	DisplayName string          `json:"display_name,omitempty"`
	Properties  json.RawMessage `json:"properties,omitempty"`
}

// ValidUTF8 returns JSON text b with each byte that is not part of valid
// UTF-8 replaced by U+FFFD, as encoding/json does in the strings it
// decodes; b itself when it is valid already (the common case, no copy).
// JSON's syntax is ASCII, so such bytes can only be inside strings: the
// result is the same JSON, but one that strict parsers (a receiver's, a
// filter's) accept. Raw members kept as they came (event properties,
// filter configs, condition values) pass through it.
func ValidUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}
