package store

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// sampleDelivery is a behavioural webhook's delivery as the committer
// stores it, after one failed attempt.
func sampleDelivery() *model.Delivery {
	at := time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.UTC)
	next := at.Add(5 * time.Second)
	return &model.Delivery{ID: "msg_0123456789abcdef", StreamID: "str_42", SessionID: "s-123",
		URL: "https://hooks.example/in?team=7", Status: model.StatusPending, CreatedAt: at,
		Payload: []byte(`{"name":"Checkout Friction","user":{"display_name":"Ada Lovelace"},"event":{"properties":{"note":"a \"quoted\" \\ word"}}}`),
		Step:    1, NextAttemptAt: &next,
		Attempts: []model.Attempt{{At: at, Status: 503, Error: "HTTP 503", LatencyMS: 12}}}
}

// TestDeliveryEncodingMatchesEncodingJSON: whatever the fast path writes
// is what json.Marshal writes, and what it cannot write exactly goes
// through json.Marshal (same bytes, same failure).
func TestDeliveryEncodingMatchesEncodingJSON(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	odd := time.FixedZone("LMT", 3600+17) // an offset with seconds
	far := time.FixedZone("far", 30*3600) // over 24 hours: json refuses it
	cases := map[string]func(d *model.Delivery){
		"as stored": func(*model.Delivery) {},
		"system webhook": func(d *model.Delivery) {
			d.StreamID, d.SessionID, d.SystemWebhookID, d.EventType = "", "", "sys_1", "note.created"
		},
		"no attempts yet":        func(d *model.Delivery) { d.Attempts, d.Step = nil, 0 },
		"attempts emptied":       func(d *model.Delivery) { d.Attempts = []model.Attempt{} },
		"connection error":       func(d *model.Delivery) { d.Attempts[0].Status, d.LastError = 0, "dial tcp: refused" },
		"succeeded":              func(d *model.Delivery) { d.Status, d.NextAttemptAt = model.StatusSucceeded, nil },
		"no payload":             func(d *model.Delivery) { d.Payload = nil },
		"payload with spaces":    func(d *model.Delivery) { d.Payload = []byte(`{"a": [1, 2]}`) },
		"payload with a newline": func(d *model.Delivery) { d.Payload = []byte("{\"a\":\n1}") },
		"payload with html":      func(d *model.Delivery) { d.Payload = []byte(`{"a":"<b>&"}`) },
		"payload with U+2028":    func(d *model.Delivery) { d.Payload = []byte("{\"a\":\"x\u2028y\"}") },
		"payload with a dash":    func(d *model.Delivery) { d.Payload = []byte("{\"a\":\"1–2\"}") },
		"url with an ampersand":  func(d *model.Delivery) { d.URL = "https://hooks.example/in?a=1&b=2" },
		"error with a quote":     func(d *model.Delivery) { d.LastError = `answered "no"` },
		"error with a newline":   func(d *model.Delivery) { d.Attempts[0].Error = "line\nbreak" },
		"non-ASCII session":      func(d *model.Delivery) { d.SessionID = "sitzung-ä" },
		"invalid UTF-8":          func(d *model.Delivery) { d.SessionID = "s-\xff" },
		"a zone":                 func(d *model.Delivery) { d.CreatedAt = d.CreatedAt.In(berlin) },
		"a zone with seconds":    func(d *model.Delivery) { d.CreatedAt = d.CreatedAt.In(odd) },
		"a zone json refuses":    func(d *model.Delivery) { d.CreatedAt = d.CreatedAt.In(far) },
		"year 10000":             func(d *model.Delivery) { d.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"year before 0":          func(d *model.Delivery) { at := time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC); d.NextAttemptAt = &at },
		"whole seconds":          func(d *model.Delivery) { d.CreatedAt = d.CreatedAt.Truncate(time.Second) },
		"several attempts": func(d *model.Delivery) {
			d.Attempts = append(d.Attempts, d.Attempts[0], model.Attempt{At: d.CreatedAt})
		},
		"negative latency":        func(d *model.Delivery) { d.Attempts[0].LatencyMS = -3 },
		"empty id and url":        func(d *model.Delivery) { d.ID, d.URL, d.Status = "", "", "" },
		"escaped quote at string": func(d *model.Delivery) { d.Payload = []byte(`["\\",1]`) },
	}
	refused := map[string]bool{"a zone json refuses": true, "year 10000": true, "year before 0": true}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			d := sampleDelivery()
			change(d)
			agreeWithEncodingJSON(t, d, encodeDelivery)
			// Only what encoding/json refuses leaves the fast path.
			if _, ok := appendDelivery(nil, d); !ok && !refused[name] {
				t.Fatal("fell back to encoding/json")
			}
		})
	}
}

// agreeWithEncodingJSON fails t unless encode(v) is what json.Marshal(v)
// is: the same bytes, or an error from both.
func agreeWithEncodingJSON[T any](t *testing.T, v T, encode func(T) ([]byte, error)) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := encode(v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, encoding/json's %v", err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%s\nencoding/json:\n%s", got, want)
	}
}

func FuzzDeliveryEncoding(f *testing.F) {
	d := sampleDelivery()
	f.Add(d.ID, d.URL, d.LastError, []byte(d.Payload), int64(d.Attempts[0].LatencyMS), int64(0))
	f.Add("m", "u", "", []byte(`{"a": "<\u2028>"}`), int64(0), int64(-1e18))
	f.Add("\x00", "é", "\\", []byte(`"\\\""`), int64(7), int64(3600))
	f.Fuzz(func(t *testing.T, id, url, lastError string, payload []byte, latency, offset int64) {
		if len(payload) > 0 && !json.Valid(payload) {
			return // the store only holds payloads encoding/json made
		}
		d := sampleDelivery()
		d.ID, d.URL, d.LastError, d.Payload = id, url, lastError, payload
		d.Attempts[0].LatencyMS, d.Attempts[0].Error = latency, lastError
		d.CreatedAt = d.CreatedAt.Add(time.Duration(offset) * time.Second).In(time.FixedZone("z", int(offset%(48*3600))))
		agreeWithEncodingJSON(t, d, encodeDelivery)
	})
}

func BenchmarkEncodeDelivery(b *testing.B) {
	d := sampleDelivery()
	b.Run("hookwire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeDelivery(d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
