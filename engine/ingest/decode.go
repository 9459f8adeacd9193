package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/filters"
)

// Limits on one event.
const (
	MaxEventIDLength   = 256
	MaxNameLength      = 256
	MaxURLLength       = 8192
	MaxUserFieldLength = 512
	// MaxPropertiesBytes bounds properties (and user.properties), compacted.
	MaxPropertiesBytes = 64 << 10
	// MaxNestingDepth bounds how deep objects and arrays nest in them.
	MaxNestingDepth = 32
)

// Format is how a request body holds its events.
type Format int

const (
	// FormatJSON is one event object or an array of them.
	FormatJSON Format = iota
	// FormatNDJSON is one event object per line.
	FormatNDJSON
)

// wireEvent is an event as producers send it; Decode normalises it.
type wireEvent struct {
	ID         *string         `json:"id"`
	SessionID  *string         `json:"session_id"`
	Type       *string         `json:"type"`
	Name       *string         `json:"name"`
	Timestamp  json.RawMessage `json:"timestamp"`
	URL        *string         `json:"url"`
	Properties json.RawMessage `json:"properties"`
	User       *wireUser       `json:"user"`
	// propertiesCompact: the fast decoder saw no whitespace in Properties
	// and checked its depth.
	propertiesCompact bool
}

type wireUser struct {
	UID         *string         `json:"uid"`
	Email       *string         `json:"email"`
	DisplayName *string         `json:"display_name"`
	Properties  json.RawMessage `json:"properties"`
	// propertiesCompact: as wireEvent's.
	propertiesCompact bool
}

// Decode parses and validates a request body. Any invalid event rejects the
// whole body with an *model.InvalidError whose Index names it. now fills in
// missing timestamps.
func Decode(body []byte, format Format, maxEvents int, now time.Time) ([]model.Event, error) {
	b, err := decode(body, format, maxEvents, now, false)
	return b.Events, err
}

// DecodeBatch is Decode for a request on its way to Writer.Accept:
// a batch of the common shape views memory lent from a pool.
func DecodeBatch(body []byte, format Format, maxEvents int, now time.Time) (Batch, error) {
	return decode(body, format, maxEvents, now, true)
}

func decode(body []byte, format Format, maxEvents int, now time.Time, lend bool) (Batch, error) {
	body = withoutBOM(body)
	switch trimmed := bytes.TrimSpace(body); {
	case format == FormatJSON && len(trimmed) > 0 && trimmed[0] == '[':
		return decodeFast(trimmed, maxEvents, now, lend, fastDecodeArray, referenceDecodeArray)
	case format == FormatNDJSON:
		return decodeFast(body, maxEvents, now, lend, fastDecodeLines, referenceDecodeLines)
	case len(trimmed) > 0 && trimmed[0] == '{':
		// One event: a line of NDJSON, as far as the fast path goes.
		return decodeFast(trimmed, 1, now, lend, fastDecodeLines, referenceDecodeObject)
	}
	events, err := referenceDecodeItems(body, format, maxEvents, now)
	return Batch{Events: events}, err
}

// referenceDecodeItems decodes a body that is one event object, or NDJSON,
// with encoding/json, item by item.
func referenceDecodeItems(body []byte, format Format, maxEvents int, now time.Time) ([]model.Event, error) {
	items, err := split(body, format, maxEvents)
	if err != nil {
		return nil, err
	}
	events := make([]model.Event, len(items))
	for i, item := range items {
		if err := decodeOne(item, &events[i], now); err != nil {
			err.Index = i
			return nil, err
		}
	}
	return events, nil
}

// referenceDecodeLines is the reference for NDJSON, fastDecodeLines's.
func referenceDecodeLines(body []byte, maxEvents int, now time.Time) ([]model.Event, error) {
	return referenceDecodeItems(body, FormatNDJSON, maxEvents, now)
}

// referenceDecodeObject is the reference for a body of one event object.
func referenceDecodeObject(body []byte, maxEvents int, now time.Time) ([]model.Event, error) {
	return referenceDecodeItems(body, FormatJSON, maxEvents, now)
}

func reject(index int, path, format string, args ...any) *model.InvalidError {
	return &model.InvalidError{Index: index, Path: path, Message: fmt.Sprintf(format, args...)}
}

// split cuts a body that is one object, or NDJSON, into one raw JSON value
// per event (arrays go through decodeArray).
func split(body []byte, format Format, maxEvents int) ([]json.RawMessage, error) {
	tooMany := func(n int) error {
		return reject(-1, "", "a request holds at most %d events, this one has %d or more; split it", maxEvents, n)
	}
	if format == FormatNDJSON {
		// Lines are cut from the body itself: the items must stay valid
		// until they are decoded. (A bufio.Scanner's lines live in its
		// buffer, which later lines overwrite: every body over its first
		// 4 KiB was refused as malformed JSON.)
		var items []json.RawMessage
		for line, rest := 0, body; len(rest) > 0; line++ {
			var text []byte
			if text, rest = nextLine(rest); len(text) == 0 {
				continue
			}
			if len(items) == maxEvents {
				return nil, tooMany(len(items) + 1)
			}
			if !json.Valid(text) {
				return nil, reject(len(items), "", "line %d is not valid JSON: %s", line+1,
					strings.TrimPrefix(syntaxError(text).Error(), "json: "))
			}
			if t := bytes.TrimSpace(text); t[0] == '[' {
				return nil, reject(len(items), "", "line %d is a JSON array: NDJSON holds one event object per line "+
					"(send an array with Content-Type: application/json)", line+1)
			}
			items = append(items, text)
		}
		if len(items) == 0 {
			return nil, reject(-1, "", "the body holds no events")
		}
		return items, nil
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, reject(-1, "", "the body is empty: send an event object, an array of events, or NDJSON")
	}
	switch trimmed[0] {
	case '{':
		if !json.Valid(trimmed) {
			if first, rest := nextLine(trimmed); len(bytes.TrimSpace(rest)) > 0 && json.Valid(first) {
				return nil, reject(-1, "", "the body holds several JSON values, one per line: "+
					"send NDJSON with Content-Type: application/x-ndjson, or an array of events")
			}
			return nil, reject(0, "", "malformed JSON: %v", syntaxError(trimmed))
		}
		return []json.RawMessage{trimmed}, nil
	default:
		return nil, reject(-1, "", "the body must be an event object, an array of events, or NDJSON "+
			"with Content-Type: application/x-ndjson")
	}
}

// utf8BOM is the byte order mark some Windows producers put first.
var utf8BOM = []byte("\xef\xbb\xbf")

// withoutBOM drops a leading byte order mark, which RFC 8259 lets a parser
// ignore (encoding/json does not): it is no reason to refuse a body.
func withoutBOM(body []byte) []byte { return bytes.TrimPrefix(body, utf8BOM) }

// nextLine cuts the first line off an NDJSON body, without its line end
// and surrounding spaces.
func nextLine(body []byte) (line, rest []byte) {
	line = body
	if end := bytes.IndexByte(body, '\n'); end >= 0 {
		line, rest = body[:end], body[end+1:]
	}
	return bytes.TrimSpace(line), rest
}

func syntaxError(b []byte) error {
	var v any
	return json.Unmarshal(b, &v)
}

// decodeFast decodes a batch in one pass, each event straight into its
// wire form (the hot path), or, when fast says no, with the reference
// decoder, which words every refusal.
func decodeFast(body []byte, maxEvents int, now time.Time, lend bool,
	fast func([]byte, int, time.Time, *batchMemory) ([]model.Event, bool),
	reference func([]byte, int, time.Time) ([]model.Event, error)) (Batch, error) {
	var mem *batchMemory
	if lend {
		mem = lendBatchMemory(len(body))
	}
	if events, ok := fast(body, maxEvents, now, mem); ok {
		if mem != nil {
			mem.events = events
		}
		return Batch{Events: events, memory: mem}, nil
	}
	if mem != nil {
		mem.release()
	}
	events, err := reference(body, maxEvents, now)
	return Batch{Events: events}, err
}

// referenceDecodeArray is decodeArray with encoding/json: the reference
// for what is accepted, and the wording of every refusal.
func referenceDecodeArray(body []byte, maxEvents int, now time.Time) ([]model.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if _, err := dec.Token(); err != nil {
		return nil, reject(-1, "", "malformed JSON: %v", err)
	}
	var events []model.Event
	for dec.More() {
		i := len(events)
		if i == maxEvents {
			return nil, reject(-1, "", "a request holds at most %d events, this one has %d or more; split it", maxEvents, i+1)
		}
		// Each event apart, so a refusal can point into its own bytes.
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			inv := fromJSONError(err, nil)
			inv.Index = i
			return nil, inv
		}
		events = append(events, model.Event{})
		if err := decodeOne(raw, &events[i], now); err != nil {
			err.Index = i
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, reject(-1, "", "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, reject(-1, "", "unexpected data after the array")
	}
	if len(events) == 0 {
		return nil, reject(-1, "", "the array holds no events")
	}
	return events, nil
}

func decodeOne(raw json.RawMessage, out *model.Event, now time.Time) *model.InvalidError {
	if len(raw) == 0 || raw[0] != '{' {
		return reject(0, "", "an event must be a JSON object")
	}
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fromJSONError(err, raw)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return reject(0, "", "unexpected data after the event")
	}
	return normalize(&w, out, now, nil)
}

// normalize validates a decoded event and fills out its normalised form;
// its user comes from mem (nil: a new one).
func normalize(w *wireEvent, out *model.Event, now time.Time, mem *batchMemory) *model.InvalidError {
	if w.SessionID == nil {
		return reject(0, "session_id", "required")
	}
	if err := checkText("session_id", *w.SessionID, 1, model.MaxSessionIDLength); err != nil {
		return err
	}
	if w.Type == nil {
		return reject(0, "type", "required")
	}
	if !filters.ValidEventType(*w.Type) {
		return reject(0, "type", "%q is not an event type: want [a-z][a-z0-9_.]{0,63}", *w.Type)
	}
	e := model.Event{SessionID: *w.SessionID, Type: *w.Type}
	if w.ID != nil {
		if err := checkText("id", *w.ID, 1, MaxEventIDLength); err != nil {
			return err
		}
		e.ID = *w.ID
	}
	switch {
	case e.Type == "custom" && (w.Name == nil || *w.Name == ""):
		return reject(0, "name", "required for type custom: the custom event's name")
	case e.Type != "custom" && w.Name != nil:
		return reject(0, "name", "only events of type custom have a name")
	case w.Name != nil:
		if err := checkText("name", *w.Name, 1, MaxNameLength); err != nil {
			return err
		}
		e.Name = *w.Name
	}
	ts, err := timestamp(w.Timestamp, now)
	if err != nil {
		return err
	}
	e.Timestamp = ts
	if w.URL != nil {
		if len(*w.URL) > MaxURLLength {
			return reject(0, "url", "at most %d bytes", MaxURLLength)
		}
		e.URL = *w.URL
	}
	if e.Properties, err = object("properties", w.Properties, w.propertiesCompact); err != nil {
		return err
	}
	if w.User != nil {
		if e.User, err = user(w.User, mem); err != nil {
			return err
		}
	}
	*out = e
	return nil
}

// fromJSONError words encoding/json's refusal of raw, one event (nil if
// the refusal came before an event was cut out).
func fromJSONError(err error, raw []byte) *model.InvalidError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return reject(0, te.Field, "must be %s, got JSON %s", model.JSONKindName(te.Type), te.Value)
	}
	if path, msg, ok := model.DescribeUnknownField(raw, reflect.TypeFor[wireEvent](), err); ok {
		if !strings.Contains(path, ".") {
			msg = "unknown field: events have id, session_id, type, name, timestamp, url, properties and user"
		}
		return reject(0, path, "%s", msg)
	}
	return reject(0, "", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// checkText is model.CheckText for the one event a decoder looks at.
func checkText(path, s string, minLen, maxLen int) *model.InvalidError {
	err := model.CheckText(path, s, minLen, maxLen)
	if err != nil {
		err.Index = 0
	}
	return err
}

// timestamp accepts RFC 3339 or Unix milliseconds, and normalises to UTC
// milliseconds; absent or null means now.
func timestamp(raw json.RawMessage, now time.Time) (time.Time, *model.InvalidError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		// Through Unix milliseconds rather than Truncate (a third of the
		// cost: 3 against 9 ns, for each event without a timestamp);
		// the same for any time after 1970.
		return time.UnixMilli(now.UnixMilli()).UTC(), nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return time.Time{}, reject(0, "timestamp", "must be an RFC 3339 string or Unix milliseconds")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, reject(0, "timestamp", "%q is not an RFC 3339 time (e.g. 2026-11-27T12:00:00.123Z)", s)
		}
		if t.Year() < 1970 || t.Year() > 9999 {
			return time.Time{}, reject(0, "timestamp", "year %d is out of range", t.Year())
		}
		return time.UnixMilli(t.UnixMilli()).UTC(), nil
	}
	var ms float64
	if json.Unmarshal(raw, &ms) != nil {
		return time.Time{}, reject(0, "timestamp", "must be an RFC 3339 string or Unix milliseconds")
	}
	const maxMS = 253402300799999 // 9999-12-31T23:59:59.999Z
	if ms < 0 || ms > maxMS || ms != math.Trunc(ms) {
		return time.Time{}, reject(0, "timestamp", "Unix milliseconds must be a whole number from 0 to %d", int64(maxMS))
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}

// object checks and compacts an object member; compact says the fast
// decoder already found it compact and shallow enough. raw is the
// decoder's own (encoding/json copies a RawMessage, the fast decoder
// works on a copy of the body), so it is kept, not copied again.
func object(path string, raw json.RawMessage, compact bool) (json.RawMessage, *model.InvalidError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, reject(0, path, "must be a JSON object")
	}
	out := raw[:len(raw):len(raw)] // an append cannot reach the bytes after it
	if !compact {
		// Compact so the stored and delivered form does not carry the
		// producer's whitespace.
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, reject(0, path, "malformed JSON: %v", err)
		}
		if d := depth(buf.Bytes()); d > MaxNestingDepth {
			return nil, reject(0, path, "nested %d levels deep, over the limit of %d", d, MaxNestingDepth)
		}
		if at, number, found := numberOutOfRange(path, buf.Bytes()); found {
			return nil, reject(0, at, "the number %.40s is beyond what a 64-bit float holds (±1.8e308)", number)
		}
		out = buf.Bytes()
	}
	out = model.ValidUTF8(out)
	if len(out) > MaxPropertiesBytes {
		return nil, reject(0, path, "%d bytes, over the limit of %d", len(out), MaxPropertiesBytes)
	}
	return out, nil
}

// numberOutOfRange finds the first number in the valid JSON raw that a
// float64 cannot hold (1e400): JSON's grammar has no bound, but
// encoding/json refuses to decode such a number into a float64 (so a Go
// receiver of the webhook would fail on the whole body, and the Go SDK
// on the whole event, each call a filter fault), and triggers could only
// compare it as infinity. at is its path below path, as triggers name
// one (properties.items.1.price). The fast decoder never hands such a
// number on (scanner.number), so this runs on the reference path only.
func numberOutOfRange(path string, raw []byte) (at, number string, found bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type level struct {
		object bool
		name   string // the member whose value is read (object)
		index  int    // the elements begun (array): the one read is index-1
		key    bool   // a member name comes next (object)
	}
	var levels []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false // the end (raw was checked already)
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			levels = levels[:len(levels)-1]
			continue
		}
		if n := len(levels); n > 0 && levels[n-1].object && levels[n-1].key {
			levels[n-1].name, levels[n-1].key = tok.(string), false
			continue
		}
		// A value starts: the next token of its container is a name, or
		// the next element.
		if n := len(levels); n > 0 {
			if levels[n-1].object {
				levels[n-1].key = true
			} else {
				levels[n-1].index++
			}
		}
		if num, ok := tok.(json.Number); ok {
			if _, err := strconv.ParseFloat(string(num), 64); err != nil {
				at := path
				for _, l := range levels {
					if l.object {
						at += "." + l.name
					} else {
						at += "." + strconv.Itoa(l.index-1)
					}
				}
				return at, string(num), true
			}
		}
		if d, ok := tok.(json.Delim); ok {
			levels = append(levels, level{object: d == '{', key: true})
		}
	}
}

// depth is the deepest nesting of objects and arrays in valid JSON.
func depth(b []byte) int {
	deepest, level, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			level++
			deepest = max(deepest, level)
		case c == '}' || c == ']':
			level--
		}
	}
	return deepest
}

func user(w *wireUser, mem *batchMemory) (*model.User, *model.InvalidError) {
	u := mem.newUser()
	for _, f := range []struct {
		path string
		src  *string
		dst  *string
	}{{"user.uid", w.UID, &u.UID}, {"user.email", w.Email, &u.Email}, {"user.display_name", w.DisplayName, &u.DisplayName}} {
		if f.src == nil {
			continue
		}
		if err := checkText(f.path, *f.src, 0, MaxUserFieldLength); err != nil {
			return nil, err
		}
		*f.dst = *f.src
	}
	var err *model.InvalidError
	if u.Properties, err = object("user.properties", w.Properties, w.propertiesCompact); err != nil {
		return nil, err
	}
	return u, nil
}
