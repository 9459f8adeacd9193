package streams

import (
	"strings"
	"testing"
)

// TestCheckFieldPathNamesWhatCannotExist: a path to a member the payload
// can hold passes, however deep below properties; a misspelt member, a
// segment below a plain value, or a malformed path is refused with a
// message that names the segment.
func TestCheckFieldPathNamesWhatCannotExist(t *testing.T) {
	for _, ok := range []string{
		"event.url", "event.id", "event.timestamp", "event.properties.price", "event.properties.items.0.sku",
		"event.user.email", "event.user.properties.plan.tier", "user.uid", "user.display_name",
		"user.properties.plan", "session.id", "session.events", "session.started_at",
	} {
		if problem := checkFieldPath(ok); problem != "" {
			t.Errorf("%q refused: %s", ok, problem)
		}
	}
	for path, want := range map[string]string{
		"event.ulr":               `event has no member "ulr": it has id, name, properties, session_id, timestamp, type, url and user`,
		"event.propreties.price":  `event has no member "propreties"`,
		"event.user.mail":         `event.user has no member "mail": it has display_name, email, properties and uid`,
		"user.id":                 `user has no member "id"`,
		"session.user":            `session has no member "user": it has events, id, last_event_at and started_at`,
		"session.id.x":            "session.id is a value, with nothing below it",
		"event.url.host":          "event.url is a value",
		"properties.price":        "not a path",
		"session":                 "not a path",
		"event..url":              "no empty segment",
		"event.properties.":       "no empty segment",
		strings.Repeat("a.", 300): "at most 512 bytes",
	} {
		if problem := checkFieldPath(path); !strings.Contains(problem, want) {
			t.Errorf("%q: %q, want it to say %q", path, problem, want)
		}
	}
}
