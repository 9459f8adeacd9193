package model

import (
	"time"

	"github.com/hookwire/hookwire/filters"
)

// System event types (CONTRACT §2, System interaction webhooks).
const (
	EventSegmentCreated = "segment.created"
	EventNoteCreated    = "note.created"
	EventTrendAlert     = "segment.trend.alert"
	EventTest           = "test"
)

// SystemWebhook is an endpoint subscribed to system events.
type SystemWebhook struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Secret         string    `json:"secret,omitempty"`
	SecretSet      bool      `json:"secret_set"`
	EventTypes     []string  `json:"event_types"`
	Enabled        bool      `json:"enabled"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// Redacted returns a copy fit for API responses: no secret.
func (w *SystemWebhook) Redacted() *SystemWebhook {
	out := *w
	out.Secret, out.SecretSet = "", w.Secret != ""
	return &out
}

// Subscribed reports whether the endpoint takes events of type t.
func (w *SystemWebhook) Subscribed(t string) bool {
	if t == EventTest {
		return true
	}
	for _, s := range w.EventTypes {
		if s == t {
			return true
		}
	}
	return false
}

// Segment is a set of sessions defined by triggers, like a stream's; it
// counts the distinct users whose sessions matched it.
type Segment struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Creator   string            `json:"creator"`
	Triggers  []filters.Trigger `json:"triggers"`
	CreatedAt time.Time         `json:"created_at"`
}

// SegmentAlert fires once when the number of distinct users whose sessions
// matched its segment within Window crosses Threshold in Direction, and
// re-arms when the value crosses back.
type SegmentAlert struct {
	ID          string    `json:"id"`
	SegmentID   string    `json:"segment_id"`
	Description string    `json:"description"`
	Threshold   float64   `json:"threshold"`
	Direction   string    `json:"direction"` // ABOVE or BELOW
	Window      string    `json:"window"`
	CreatedAt   time.Time `json:"created_at"`
	// Armed is false from a crossing until the value crosses back.
	Armed     bool       `json:"armed"`
	Value     int        `json:"value"`
	LastFired *time.Time `json:"last_fired,omitempty"`
}

// Note is a note written on a session.
type Note struct {
	ID        string    `json:"id"`
	SessionID string    `json:"session_id"`
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	Created   time.Time `json:"created"`
	NotedTime time.Time `json:"noted_time"`
}

// SegmentMemberTTL keeps a segment match in the store long enough for the
// longest alert window (7 days), and a day more.
const SegmentMemberTTL = 8 * 24 * time.Hour

// SegmentMember is one user's latest match of a segment.
type SegmentMember struct {
	SegmentID string    `json:"segment_id"`
	UserID    string    `json:"user_id"`
	At        time.Time `json:"at"`
}
