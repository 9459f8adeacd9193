package model

import (
	"encoding/json"
	"time"
)

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Delivery is one webhook message and its attempts. Its ID is the
// webhook-id header, identical on every attempt.
type Delivery struct {
	ID        string `json:"id"`
	StreamID  string `json:"stream_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	// SystemWebhookID and EventType are set on system webhooks instead of
	// StreamID and SessionID.
	SystemWebhookID string          `json:"system_webhook_id,omitempty"`
	EventType       string          `json:"event_type,omitempty"`
	URL             string          `json:"url"`
	Status          string          `json:"status"`
	CreatedAt       time.Time       `json:"created_at"`
	Payload         json.RawMessage `json:"payload,omitempty"`
	// Step is the position in the retry schedule of the next attempt; a
	// manual retry starts the schedule again.
	Step          int        `json:"step"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	Attempts      []Attempt  `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
}

// Attempt is one try at sending a delivery.
type Attempt struct {
	At        time.Time `json:"at"`
	Status    int       `json:"status,omitempty"`
	Error     string    `json:"error,omitempty"`
	LatencyMS int64     `json:"latency_ms"`
}

// Fired marks that a stream fired for a session, and with which message.
type Fired struct {
	At        time.Time `json:"at"`
	WebhookID string    `json:"webhook_id"`
}

// Session is what hookwire remembers of a user session: when it started and
// was last seen, who the user is, and which streams it fired. It is kept
// for a retention period after its last event, so late events for an ended
// session find their fired markers.
type Session struct {
	ID          string           `json:"id"`
	StartedAt   time.Time        `json:"started_at"`
	LastEventAt time.Time        `json:"last_event_at"`
	Events      int64            `json:"events"`
	User        *User            `json:"user,omitempty"`
	Fired       map[string]Fired `json:"fired"`
	// State is each custom filter's per-session state, by stream id.
	State map[string]map[string][]byte `json:"state,omitempty"`
	// Segments are the segments the session matched, with when.
	Segments map[string]time.Time `json:"segments,omitempty"`
	// Evaluated is the log position of the last event whose effects this
	// record holds: a replayed event at or before it is not evaluated again,
	// so filter state is never applied twice.
	Evaluated LogPosition `json:"evaluated"`
	// ArrivedFirst and ArrivedLast are when, by hookwire's clock, the first
	// and the last event of the session's current run in memory arrived
	// (event timestamps are the producer's). A session not in memory —
	// passivated past --max-live-sessions, or after a restart before its
	// next event — goes on while they are within --session-idle and
	// --session-max. Zero in records written before they were kept.
	ArrivedFirst time.Time `json:"arrived_first"`
	ArrivedLast  time.Time `json:"arrived_last"`
}

// LogPosition is an event's place in the event log: the record's sequence
// and the event's index in it. Positions grow in acceptance order.
type LogPosition struct {
	Seq uint64 `json:"seq"`
	Idx uint32 `json:"idx"`
}

// After reports whether p comes later in the log than q.
func (p LogPosition) After(q LogPosition) bool {
	return p.Seq > q.Seq || (p.Seq == q.Seq && p.Idx > q.Idx)
}
