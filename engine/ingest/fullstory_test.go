package ingest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hookwire/hookwire/engine/model"
)

func fixedSession(uid string) string { return "live-of-" + uid }

func TestDecodeFullstory(t *testing.T) {
	body := `{"name":"Checkout Error","timestamp":"2026-11-27T12:00:00Z","session":{"id":"s-1"},
		"user":{"uid":"u-42","email":"a@example.com","display_name":"Ada"},
		"context":{"browser":{"url":"https://shop.example/cart","user_agent":"x"},"device":{"model":"y"}},
		"properties":{"price":42.5},"schema":{"properties":{"price":"real"}}}`
	evs, err := DecodeFullstory([]byte(body), false, 10, fixedSession, now)
	if err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	if e.Type != "custom" || e.Name != "Checkout Error" || e.SessionID != "s-1" || e.URL != "https://shop.example/cart" ||
		string(e.Properties) != `{"price":42.5}` || e.User.UID != "u-42" || e.User.DisplayName != "Ada" {
		t.Fatalf("mapped to %+v", e)
	}
	evs, err = DecodeFullstory([]byte(`{"requests":[{"name":"a","user":{"uid":"u-1"}},{"name":"b","session":{"id":"s"}}]}`), true, 10, fixedSession, now)
	if err != nil || len(evs) != 2 || evs[0].SessionID != "live-of-u-1" || !evs[0].Timestamp.Equal(now) {
		t.Fatalf("batch: %+v %v", evs, err)
	}
	// A batch's shared context is each event's that names no page; a user
	// an earlier request put in a session is in it for the later ones.
	evs, err = DecodeFullstory([]byte(`{"shared":{"context":{"browser":{"url":"https://shop.example/"}}},"requests":[
		{"name":"a","session":{"id":"s-9"},"user":{"uid":"u-1"}},
		{"name":"b","user":{"uid":"u-1"},"context":{"browser":{"url":"https://shop.example/b"}}},
		{"name":"c","user":{"uid":"u-2"}}]}`), true, 10, fixedSession, now)
	if err != nil || len(evs) != 3 || evs[0].URL != "https://shop.example/" || evs[1].URL != "https://shop.example/b" ||
		evs[1].SessionID != "s-9" || evs[2].SessionID != "live-of-u-2" {
		t.Fatalf("batch with shared context: %+v %v", evs, err)
	}
	if evs, err = DecodeFullstory([]byte("\xef\xbb\xbf"+body), false, 10, fixedSession, now); err != nil || len(evs) != 1 {
		t.Fatalf("after a byte order mark: %+v %v", evs, err)
	}
	for _, tc := range []struct {
		body  string
		batch bool
		path  string
		index int
	}{
		{`{"session":{"id":"s"}}`, false, "name", 0},
		{`{"name":"x"}`, false, "session.id", 0},
		{`{"requests":[{"name":"ok","session":{"id":"s"}},{"name":"x","session":{"id":"s"},"properties":[1]}]}`, true, "requests[1].properties", 1},
		{`{"requests":[]}`, true, "requests", -1},
		{`{"name":"x","session":{"id":"s"},"timestamp":"soon"}`, false, "timestamp", 0},
	} {
		_, err := DecodeFullstory([]byte(tc.body), tc.batch, 10, fixedSession, now)
		var inv *model.InvalidError
		if !errors.As(err, &inv) || inv.Path != tc.path || inv.Index != tc.index {
			t.Errorf("%s: %v (%+v), want path %q index %d", tc.body, err, inv, tc.path, tc.index)
		}
	}
	// A member of the wrong kind is worded as the JSON it wants, not as
	// the Go type it decodes into.
	for body, want := range map[string]string{
		`{"name":"x","session":{"id":"s"},"context":"x"}`:             "context: must be an object, got JSON string",
		`{"name":"x","session":{"id":"s"},"context":{"browser":[1]}}`: "context.browser: must be an object, got JSON array",
		`{"name":"x","session":"s"}`:                                  "session: must be an object, got JSON string",
		`{"name":["x"],"session":{"id":"s"}}`:                         "name: must be a string, got JSON array",
	} {
		_, err := DecodeFullstory([]byte(body), false, 10, fixedSession, now)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	// So is a batch body of the wrong shape.
	for body, want := range map[string]string{
		`[{"name":"x","session":{"id":"s"}}]`: `the body must be {"requests": [<event>, ...]}, got JSON array`,
		`{"requests":{"name":"x"}}`:           "requests: must be an array, got JSON object",
		`{"requests":[`:                       "malformed JSON: want {\"requests\": [<event>, ...]}: unexpected end of JSON input",
	} {
		_, err := DecodeFullstory([]byte(body), true, 10, fixedSession, now)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// FuzzDecodeFullstory: the Fullstory v2 mapping never panics and whatever it
// accepts is a valid custom event.
func FuzzDecodeFullstory(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Checkout Error","session":{"id":"s-1"},"context":{"browser":{"url":"u"}},"properties":{"a":[1,{"b":2}]}}`,
		`{"requests":[{"name":"a","user":{"uid":"u-1"}},{"name":"b","user":{"id":"u-2","email":"e"}}]}`,
		`{"name":"","user":{}}`, `{"requests":{}}`, `[]`, `{"name":1}`,
		`{"shared":{"context":{"browser":{"url":"https://x/"}}},"requests":[{"name":"a","user":{"uid":"u"},"session":{"id":"s"}},{"name":"b","user":{"uid":"u"}}]}`,
	} {
		f.Add([]byte(seed), strings.HasPrefix(seed, `{"requests"`))
	}
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		evs, err := DecodeFullstory(body, batch, 100, fixedSession, now)
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("refusal without an InvalidError: %v", err)
			}
			return
		}
		for _, e := range evs {
			if e.Type != "custom" || e.Name == "" || e.SessionID == "" || e.Timestamp.IsZero() {
				t.Fatalf("accepted an invalid event: %+v", e)
			}
			// What a batch import job reads back is valid JSON.
			if r, err := FullstoryImport(&e); err != nil || !json.Valid(r) {
				t.Fatalf("the import of %+v: %s, %v", e, r, err)
			}
		}
	})
}
