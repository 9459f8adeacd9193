package streams

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/signing"
	"github.com/hookwire/hookwire/filters"
)

// Limits on a definition's text fields.
const (
	MaxNameLength        = 200
	MaxDescriptionLength = 2000
	MaxURLLength         = 2048
	MaxSecretLength      = 512
)

// streamNameUse is what a stream's name is for, said when it is missing.
const streamNameUse = "the stream's name is the event name in its webhooks"

// Definition is what a client sends to create or replace a stream.
type Definition struct {
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Enabled     *bool              `json:"enabled"`
	Triggers    []filters.Trigger  `json:"triggers"`
	Destination *model.Destination `json:"destination"`
	Fields      map[string]string  `json:"fields"`
}

// Patch is a partial update: only the members present change.
type Patch struct {
	Name        *string            `json:"name"`
	Description *string            `json:"description"`
	Enabled     *bool              `json:"enabled"`
	Triggers    []filters.Trigger  `json:"triggers"`
	Destination *model.Destination `json:"destination"`
	Fields      map[string]string  `json:"fields"`
}

// decodeStrict decodes exactly one JSON object into v, refusing unknown
// members. Conditions' values and filter configs are kept as raw JSON,
// which encoding/json does not make valid UTF-8 as it does decoded strings.
func decodeStrict(body []byte, v any) error {
	return model.DecodeObject(model.ValidUTF8(body), v)
}

// ParseDefinition decodes a create/replace body. Semantic checks happen in
// the catalogue, which knows the other streams.
func ParseDefinition(body []byte) (*Definition, error) {
	d := new(Definition)
	if err := decodeStrict(body, d); err != nil {
		return nil, err
	}
	return d, nil
}

// ParsePatch decodes a PATCH body.
func ParsePatch(body []byte) (*Patch, error) {
	p := new(Patch)
	if err := model.DecodePatch(model.ValidUTF8(body), p); err != nil {
		return nil, err
	}
	return p, nil
}

func invalid(path, format string, args ...any) error {
	return &model.InvalidError{Path: path, Message: fmt.Sprintf(format, args...), Index: -1}
}

// checkName validates a stream's or segment's name; why says what the name
// is for, in the message when it is missing.
func checkName(name, why string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid("name", "required: %s", why)
	case utf8.RuneCountInString(name) > MaxNameLength:
		return "", invalid("name", "at most %d characters", MaxNameLength)
	case strings.ContainsFunc(name, isControl):
		return "", invalid("name", "must not contain control characters")
	}
	return name, nil
}

func checkDescription(s string) error {
	if utf8.RuneCountInString(s) > MaxDescriptionLength {
		return invalid("description", "at most %d characters", MaxDescriptionLength)
	}
	return nil
}

func checkTriggers(triggers []filters.Trigger) (*filters.Program, error) {
	prog, err := filters.Compile("triggers", triggers)
	var verr *filters.ValidationError
	if errors.As(err, &verr) {
		return nil, invalid(verr.Path, "%s", verr.Message)
	}
	return prog, err
}

// Limits of a field mapping.
const (
	MaxFields         = 64
	MaxFieldNameBytes = 128
)

// checkFields validates a field mapping: names are non-empty, and each
// path names members the payload can hold (fieldPaths).
func checkFields(fields map[string]string) error {
	if len(fields) > MaxFields {
		return invalid("fields", "at most %d fields, got %d", MaxFields, len(fields))
	}
	for name, path := range fields {
		if name == "" || len(name) > MaxFieldNameBytes || strings.ContainsFunc(name, isControl) {
			return invalid("fields", "field names are 1 to %d bytes without control characters, got %q", MaxFieldNameBytes, name)
		}
		if problem := checkFieldPath(path); problem != "" {
			return invalid("fields."+name, "%q: %s", path, problem)
		}
	}
	return nil
}

// fieldMembers is a level of fieldPaths: each member's own members, nil
// for a value with nothing below it.
type fieldMembers map[string]fieldMembers

// anyBelow marks JSON the producer shapes (properties): any path below it
// may lead somewhere.
var anyBelow = fieldMembers{}

var userMembers = fieldMembers{"uid": nil, "email": nil, "display_name": nil, "properties": anyBelow}

// fieldPaths is what a field path can reach (docs/api.md). A path to a
// member that cannot exist would give null in every webhook, so it is
// refused as the typo it almost always is; a path below properties may
// well lead nowhere in one event and somewhere in the next.
var fieldPaths = fieldMembers{
	"event": {"id": nil, "session_id": nil, "type": nil, "name": nil, "timestamp": nil, "url": nil,
		"properties": anyBelow, "user": userMembers},
	"user":    userMembers,
	"session": {"id": nil, "started_at": nil, "last_event_at": nil, "events": nil},
}

// checkFieldPath says what is wrong with a field path, or "".
func checkFieldPath(path string) string {
	const use = "use event.<path> (e.g. event.properties.price, event.url), " +
		"user.<path> (e.g. user.email) or session.<path> (id, started_at, last_event_at, events)"
	segs := strings.Split(path, ".")
	switch {
	case len(path) > 512:
		return "at most 512 bytes"
	case len(segs) < 2:
		return "not a path: " + use
	case slices.Contains(segs, ""):
		return "a path has no empty segment: " + use
	}
	level, at := fieldPaths, ""
	for i, seg := range segs {
		if level != nil && len(level) == 0 { // anyBelow
			return ""
		}
		if level == nil {
			return fmt.Sprintf("%s is a value, with nothing below it", at)
		}
		next, ok := level[seg]
		if !ok {
			if i == 0 {
				return "not a path: " + use
			}
			return fmt.Sprintf("%s has no member %q: it has %s", at, seg, memberList(level))
		}
		level, at = next, strings.Join(segs[:i+1], ".")
	}
	return ""
}

// memberList is level's members, sorted, for a message.
func memberList(level fieldMembers) string {
	names := slices.Sorted(maps.Keys(level))
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func checkSecret(secret string) error {
	switch {
	case len(secret) > MaxSecretLength:
		return invalid("destination.secret", "at most %d bytes", MaxSecretLength)
	case signing.CheckSecret(secret) != nil:
		return invalid("destination.secret", "a secret starting with whsec_ must be base64 after the prefix")
	}
	return nil
}
