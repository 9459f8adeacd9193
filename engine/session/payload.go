package session

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
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
	if len(s.Fields) > 0 {
		w.Fields = mapFields(s.Fields, sess, e)
	}
	return w
}

// mapFields resolves a stream's field mapping against the completing event,
// the session's user and the session; a path that leads nowhere gives null.
func mapFields(fields map[string]string, sess *model.Session, e *model.Event) map[string]any {
	roots := map[string]any{
		"event": asTree(e),
		"user":  asTree(sess.User),
		"session": map[string]any{"id": sess.ID, "started_at": sess.StartedAt, "last_event_at": sess.LastEventAt,
			"events": sess.Events},
	}
	out := make(map[string]any, len(fields))
	for name, path := range fields {
		segs := strings.Split(path, ".")
		out[name] = lookupPath(roots[segs[0]], segs[1:])
	}
	return out
}

// asTree is v as generic JSON (maps, slices, numbers, strings).
func asTree(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var tree any
	if json.Unmarshal(b, &tree) != nil {
		return nil
	}
	return tree
}

func lookupPath(v any, path []string) any {
	for _, key := range path {
		switch node := v.(type) {
		case map[string]any:
			v = node[key]
		case []any:
			i, ok := arrayIndex(key, len(node))
			if !ok {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}
