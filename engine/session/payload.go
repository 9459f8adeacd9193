package session

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// Webhook is the behavioural webhook body of CONTRACT §3: Fullstory v2 field
// names plus hookwire's stream_id and event.
type Webhook struct {
	Name          string         `json:"name"`
	Timestamp     time.Time      `json:"timestamp"`
	APIVersion    string         `json:"api_version"`
	SignalVersion string         `json:"signal_version"`
	User          WebhookUser    `json:"user"`
	Session       WebhookSession `json:"session"`
	StreamID      string         `json:"stream_id"`
	Event         *model.Event   `json:"event"`
	Fields        map[string]any `json:"fields"`
	Test          bool           `json:"test,omitempty"`
}

// WebhookUser identifies the session's user.
type WebhookUser struct {
	ID          string `json:"id"`
	UID         string `json:"uid,omitempty"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// WebhookSession identifies the session.
type WebhookSession struct {
	ID        string    `json:"id"`
	StartedAt time.Time `json:"started_at"`
}

// UserID is hookwire's id for a user: derived from the producer's uid when
// there is one, else from the session (an anonymous user per session).
func UserID(uid, sessionID string) string {
	seed := "session\x00" + sessionID
	if uid != "" {
		seed = "uid\x00" + uid
	}
	sum := sha256.Sum256([]byte(seed))
	return "usr_" + hex.EncodeToString(sum[:10])
}

func payload(s *model.Stream, sess *model.Session, e *model.Event) (json.RawMessage, error) {
	return json.Marshal(NewWebhook(s, sess, e))
}

// NewWebhook assembles the body for stream s fired by event e in sess.
func NewWebhook(s *model.Stream, sess *model.Session, e *model.Event) *Webhook {
	w := &Webhook{
		Name: s.Name, Timestamp: e.Timestamp, APIVersion: "v2",
		SignalVersion: strconv.Itoa(s.SignalVersion),
		Session:       WebhookSession{ID: sess.ID, StartedAt: sess.StartedAt},
		StreamID:      s.ID, Event: e, Fields: map[string]any{},
	}
	uid := ""
	if sess.User != nil {
		uid = sess.User.UID
		w.User = WebhookUser{UID: sess.User.UID, Email: sess.User.Email, DisplayName: sess.User.DisplayName}
	}
	w.User.ID = UserID(uid, sess.ID)
	return w
}
