package ingest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/session"
)

// fullstoryEvent is one Fullstory server API "Create Event" body. Members
// hookwire has no use for (schema, context.device, …) are accepted and
// ignored: these bodies come from Fullstory's own clients.
type fullstoryEvent struct {
	Name      *string         `json:"name"`
	Timestamp json.RawMessage `json:"timestamp"`
	Session   *struct {
		ID string `json:"id"`
	} `json:"session"`
	User *struct {
		ID          string          `json:"id"`
		UID         string          `json:"uid"`
		Email       string          `json:"email"`
		DisplayName string          `json:"display_name"`
		Properties  json.RawMessage `json:"properties"`
	} `json:"user"`
	Context    *fullstoryContext `json:"context"`
	Properties json.RawMessage   `json:"properties"`
}

// fullstoryContext is where an event happened; hookwire keeps the page.
type fullstoryContext struct {
	Browser *fullstoryBrowser `json:"browser,omitempty"`
}

type fullstoryBrowser struct {
	URL string `json:"url"`
}

func (c *fullstoryContext) url() string {
	if c == nil || c.Browser == nil {
		return ""
	}
	return c.Browser.URL
}

// SessionResolver finds the session an event with only a user belongs to:
// that user's most recent live session, or a new one.
type SessionResolver func(uid string) string

// DecodeFullstory maps Fullstory v2 Create Event bodies to custom events
// named by the Fullstory event's name. With batch, body is
// {"requests": [...]}; otherwise one event. All or nothing: an invalid
// request rejects the whole body with its index.
func DecodeFullstory(body []byte, batch bool, maxEvents int, resolve SessionResolver, now time.Time) ([]model.Event, error) {
	body = withoutBOM(body)
	var items []json.RawMessage
	sharedURL := ""
	if batch {
		var wrapper struct {
			Requests []json.RawMessage `json:"requests"`
			// Shared is what every request of the batch shares: its
			// context (the page, for an event that names none).
			Shared *struct {
				Context *fullstoryContext `json:"context"`
			} `json:"shared"`
		}
		if err := json.Unmarshal(body, &wrapper); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				if te.Field == "" {
					return nil, reject(-1, "", "the body must be {\"requests\": [<event>, ...]}, got JSON %s", te.Value)
				}
				return nil, reject(-1, te.Field, "must be %s, got JSON %s", model.JSONKindName(te.Type), te.Value)
			}
			return nil, reject(-1, "", "malformed JSON: want {\"requests\": [<event>, ...]}: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		if len(wrapper.Requests) == 0 {
			return nil, reject(-1, "requests", "required: at least one event")
		}
		if len(wrapper.Requests) > maxEvents {
			return nil, reject(-1, "requests", "at most %d events per batch, got %d", maxEvents, len(wrapper.Requests))
		}
		items = wrapper.Requests
		if wrapper.Shared != nil {
			if sharedURL = wrapper.Shared.Context.url(); len(sharedURL) > MaxURLLength {
				return nil, reject(-1, "shared.context.browser.url", "at most %d bytes", MaxURLLength)
			}
		}
	} else {
		items = []json.RawMessage{bytes.TrimSpace(body)}
	}
	events := make([]model.Event, len(items))
	// A user's most recent session includes one an earlier request of the
	// same batch put them in, which is not live until the batch is taken.
	var sessionOf map[string]string
	inBatch := func(uid string) string {
		if id, ok := sessionOf[uid]; ok {
			return id
		}
		return resolve(uid)
	}
	for i, raw := range items {
		e := &events[i]
		if err := decodeFullstoryOne(raw, e, sharedURL, inBatch, now); err != nil {
			err.Index = i
			if batch {
				err.Path = fmt.Sprintf("requests[%d].%s", i, err.Path)
			}
			return nil, err
		}
		if batch && e.User != nil && e.User.UID != "" {
			if sessionOf == nil {
				sessionOf = map[string]string{}
			}
			sessionOf[e.User.UID] = e.SessionID
		}
	}
	return events, nil
}

func decodeFullstoryOne(raw json.RawMessage, out *model.Event, sharedURL string, resolve SessionResolver, now time.Time) *model.InvalidError {
	if len(raw) == 0 || raw[0] != '{' {
		return reject(0, "", "an event must be a JSON object")
	}
	var f fullstoryEvent
	if err := json.Unmarshal(raw, &f); err != nil {
		return fromJSONError(err, nil)
	}
	if f.Name == nil || *f.Name == "" {
		return reject(0, "name", "required: the event's name")
	}
	if err := checkText("name", *f.Name, 1, MaxNameLength); err != nil {
		return err
	}
	e := model.Event{Type: "custom", Name: *f.Name}
	uid := ""
	if f.User != nil {
		uid = f.User.UID
		if uid == "" {
			uid = f.User.ID
		}
	}
	switch {
	case f.Session != nil && f.Session.ID != "":
		e.SessionID = f.Session.ID
	case uid != "":
		if err := checkText("user.uid", uid, 1, MaxUserFieldLength); err != nil {
			return err
		}
		e.SessionID = resolve(uid)
	default:
		return reject(0, "session.id", "required: session.id, or user.uid to join the user's most recent live session")
	}
	if err := checkText("session.id", e.SessionID, 1, model.MaxSessionIDLength); err != nil {
		return err
	}
	ts, err := timestamp(f.Timestamp, now)
	if err != nil {
		return err
	}
	e.Timestamp = ts
	e.URL = cmp.Or(f.Context.url(), sharedURL)
	if len(e.URL) > MaxURLLength {
		return reject(0, "context.browser.url", "at most %d bytes", MaxURLLength)
	}
	if e.Properties, err = object("properties", f.Properties, false); err != nil {
		return err
	}
	if f.User != nil {
		u := &model.User{UID: uid, Email: f.User.Email, DisplayName: f.User.DisplayName}
		for _, field := range []struct{ path, value string }{{"user.email", u.Email}, {"user.display_name", u.DisplayName}} {
			if err := checkText(field.path, field.value, 0, MaxUserFieldLength); err != nil {
				return err
			}
		}
		if u.Properties, err = object("user.properties", f.User.Properties, false); err != nil {
			return err
		}
		e.User = u
	}
	*out = e
	return nil
}

// FullstoryImport is an accepted event as Fullstory's batch import reports
// it (its BatchCreateEventsResponse): the session it joined (resolved, for
// an event that named only its user), hookwire's id for the user, and the
// event's name, time, page and properties.
func FullstoryImport(e *model.Event) (json.RawMessage, error) {
	type ids struct {
		ID  string `json:"id,omitempty"`
		UID string `json:"uid,omitempty"`
	}
	out := struct {
		User       *ids              `json:"user,omitempty"`
		Session    ids               `json:"session"`
		Context    *fullstoryContext `json:"context,omitempty"`
		Name       string            `json:"name"`
		Timestamp  time.Time         `json:"timestamp"`
		Properties json.RawMessage   `json:"properties,omitempty"`
	}{Session: ids{ID: e.SessionID}, Name: e.Name, Timestamp: e.Timestamp, Properties: e.Properties}
	if e.User != nil {
		out.User = &ids{ID: session.UserID(e.User.UID, e.SessionID), UID: e.User.UID}
	}
	if e.URL != "" {
		out.Context = &fullstoryContext{Browser: &fullstoryBrowser{URL: e.URL}}
	}
	return json.Marshal(out)
}
