package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookwire/hookwire/engine/model"
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
	Context *struct {
		Browser *struct {
			URL string `json:"url"`
		} `json:"browser"`
	} `json:"context"`
	Properties json.RawMessage `json:"properties"`
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
	if batch {
		var wrapper struct {
			Requests []json.RawMessage `json:"requests"`
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
	} else {
		items = []json.RawMessage{bytes.TrimSpace(body)}
	}
	events := make([]model.Event, len(items))
	for i, raw := range items {
		if err := decodeFullstoryOne(raw, &events[i], resolve, now); err != nil {
			err.Index = i
			if batch {
				err.Path = fmt.Sprintf("requests[%d].%s", i, err.Path)
			}
			return nil, err
		}
	}
	return events, nil
}

func decodeFullstoryOne(raw json.RawMessage, out *model.Event, resolve SessionResolver, now time.Time) *model.InvalidError {
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
	if f.Context != nil && f.Context.Browser != nil {
		if len(f.Context.Browser.URL) > MaxURLLength {
			return reject(0, "context.browser.url", "at most %d bytes", MaxURLLength)
		}
		e.URL = f.Context.Browser.URL
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
