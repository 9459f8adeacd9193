// Package hookwire is the Go SDK for hookwire filters: write
//
//	func init() { hookwire.Handle(func(e hookwire.Event) bool { ... }) }
//
// in a main package, build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o filter.wasm .
//
// and upload filter.wasm. The SDK implements the hookwire_v1 ABI
// (filters/ABI.md): it exports memory, hw_alloc, hw_init and hw_match,
// decodes each event into an Event, and wraps the state and log imports.
// A filter that reads only a few fields registers with HandleRaw instead
// and looks them up where they lie (Raw.Find): no decoding, a fifth of
// the cost of a call.
//
// Built for any other platform, the same API works in memory, so a
// filter's logic can be unit-tested with go test on the host.
package hookwire

import (
	"encoding/json"
	"time"
)

// Event is an event as hookwire hands it to filters: the ingest shape,
// normalised (UTC timestamp with millisecond precision).
type Event struct {
	ID         string         `json:"id"`
	SessionID  string         `json:"session_id"`
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Timestamp  time.Time      `json:"timestamp"`
	URL        string         `json:"url"`
	Properties map[string]any `json:"properties"`
	User       *User          `json:"user"`
}

// User is the event's user, if the producer sent one.
type User struct {
	UID         string         `json:"uid"`
	Email       string         `json:"email"`
	DisplayName string         `json:"display_name"`
	Properties  map[string]any `json:"properties"`
}

var (
	matchFn func(Event) bool
	initFn  func(config []byte) error
)

// Handle registers the filter's decision on the decoded event. Call it
// from init. (HandleRaw reads fields where they lie instead.)
func Handle(match func(e Event) bool) { matchFn = match }

// OnConfig registers a function that receives the trigger's config (JSON;
// empty if the stream gave none) once per instance, before any event. An
// error refuses the config: the SDK logs it, and the stream's 400 quotes
// what was logged.
func OnConfig(fn func(config []byte) error) { initFn = fn }

// DecodeConfig is a helper for OnConfig: it unmarshals a JSON config into v,
// accepting an empty config as "no settings".
func DecodeConfig(config []byte, v any) error {
	if len(config) == 0 {
		return nil
	}
	return json.Unmarshal(config, v)
}

// match runs the registered function on one event (decoded for Handle's,
// as it lies for HandleRaw's): 1 match, 0 no match, -1 an event it could
// not decode, -2 no function registered.
func match(data []byte) int32 {
	if matchRawFn != nil {
		if matchRawFn(Raw(data)) {
			return 1
		}
		return 0
	}
	if matchFn == nil {
		return -2
	}
	e, err := decodeEvent(data)
	if err != nil {
		return -1
	}
	if matchFn(e) {
		return 1
	}
	return 0
}

func configure(config []byte) int32 {
	if initFn == nil {
		return 0
	}
	if err := initFn(config); err != nil {
		Log("config refused: " + err.Error())
		return 1
	}
	return 0
}

// Match runs the registered filter on an event, as hookwire would. It is
// for tests of a filter's logic on the host.
func Match(e Event) bool {
	data, _ := json.Marshal(e)
	return match(data) == 1
}

// Configure hands a config to the registered OnConfig function, as hookwire
// would; it is for tests of a filter's logic on the host.
func Configure(config []byte) bool { return configure(config) == 0 }
