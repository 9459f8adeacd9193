package model

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func sampleEvent() *Event {
	return &Event{ID: "e-1", SessionID: "s-123", Type: "click",
		Timestamp:  time.Date(2026, 11, 27, 12, 0, 0, 123000000, time.UTC),
		URL:        "https://shop.example/products/12345?ref=campaign",
		Properties: []byte(`{"target_text":"Add to cart","price":19.99,"tags":["a","b \"c\""]}`),
		User:       &User{UID: "u-42", Email: "ada@example.com", DisplayName: "Ada Lovelace", Properties: []byte(`{"plan":"pro"}`)}}
}

// TestEventJSONMatchesEncodingJSON: what a custom filter is given is what
// json.Marshal writes, whichever path wrote it.
func TestEventJSONMatchesEncodingJSON(t *testing.T) {
	cases := map[string]func(e *Event){
		"as ingested":           func(*Event) {},
		"no id, name or url":    func(e *Event) { e.ID, e.Name, e.URL = "", "", "" },
		"a custom event":        func(e *Event) { e.Type, e.Name = "custom", "Checkout Error" },
		"no user":               func(e *Event) { e.User = nil },
		"an empty user":         func(e *Event) { e.User = &User{} },
		"no properties":         func(e *Event) { e.Properties = nil },
		"empty properties":      func(e *Event) { e.Properties = []byte(`{}`) },
		"spaced properties":     func(e *Event) { e.Properties = []byte(`{"a": 1}`) },
		"html in properties":    func(e *Event) { e.Properties = []byte(`{"a":"<b>"}`) },
		"U+2028 in properties":  func(e *Event) { e.Properties = []byte("{\"a\":\"\u2028\"}") },
		"an ampersand url":      func(e *Event) { e.URL = "https://shop.example/?a=1&b=2" },
		"a non-ASCII name":      func(e *Event) { e.User.DisplayName = "Zoë" },
		"a quote in the name":   func(e *Event) { e.Name = `say "hi"` },
		"a backslash":           func(e *Event) { e.SessionID = `s\1` },
		"whole seconds":         func(e *Event) { e.Timestamp = e.Timestamp.Truncate(time.Second) },
		"another zone":          func(e *Event) { e.Timestamp = e.Timestamp.In(time.FixedZone("X", -5*3600)) },
		"a year json refuses":   func(e *Event) { e.Timestamp = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"user properties only":  func(e *Event) { e.User = &User{Properties: []byte(`{"x":[1,2]}`)} },
		"escaped quote at end":  func(e *Event) { e.Properties = []byte(`{"a":"\\"}`) },
		"offered streams noted": func(e *Event) { e.Offered, e.OfferedBy = []int32{1, 2}, "snapshot" },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			e := sampleEvent()
			change(e)
			agreeEvent(t, e)
			// Only what encoding/json refuses leaves the fast path.
			if _, ok := e.appendJSON(nil); !ok && name != "a year json refuses" {
				t.Fatal("fell back to encoding/json")
			}
		})
	}
}

func agreeEvent(t *testing.T, e *Event) {
	t.Helper()
	want, err := json.Marshal(e)
	if err != nil {
		want = []byte("null")
	}
	prefix := []byte("kept:")
	got := e.AppendJSON(append([]byte(nil), prefix...))
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("appended\n%s\nencoding/json:\n%s", got, want)
	}
}

func FuzzEventJSON(f *testing.F) {
	e := sampleEvent()
	f.Add(e.ID, e.SessionID, e.Type, e.URL, e.User.Email, []byte(e.Properties), int64(0))
	f.Add("", "s", "custom", "", "", []byte(`{"a": "<>"}`), int64(-3600*30))
	f.Add("\x01", "é", "\\", "\u2028", "a&b", []byte(`"\\\""`), int64(59))
	f.Fuzz(func(t *testing.T, id, session, typ, url, email string, props []byte, offset int64) {
		if len(props) > 0 && !json.Valid(props) {
			return // ingest only keeps valid JSON
		}
		e := sampleEvent()
		e.ID, e.SessionID, e.Type, e.URL, e.User.Email, e.Properties = id, session, typ, url, email, props
		e.Timestamp = e.Timestamp.Add(time.Duration(offset) * time.Second).In(time.FixedZone("z", int(offset%(48*3600))))
		agreeEvent(t, e)
	})
}

func BenchmarkEventJSON(b *testing.B) {
	e := sampleEvent()
	var buf []byte
	b.Run("hookwire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = e.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
