package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// sampleSession is a session that fired a stream and keeps filter state.
func sampleSession() *model.Session {
	at := time.Date(2026, 11, 27, 12, 0, 0, 123000000, time.UTC)
	return &model.Session{ID: "s-123", StartedAt: at.Add(-time.Minute), LastEventAt: at, Events: 42,
		User:      &model.User{UID: "u-42", Email: "ada@example.com", DisplayName: "Ada", Properties: []byte(`{"plan":"pro"}`)},
		Fired:     map[string]model.Fired{"str_b": {At: at, WebhookID: "msg_2"}, "str_a": {At: at, WebhookID: "msg_1"}},
		State:     map[string]map[string][]byte{"str_b": {"n": {1, 0, 0, 0}, "last": []byte("click")}, "str_a": {"x": {}}},
		Segments:  map[string]time.Time{"seg_2": at, "seg_1": at.Add(-time.Second)},
		Evaluated: model.LogPosition{Seq: 1 << 40, Idx: 7}, ArrivedFirst: at.Add(-30 * time.Second), ArrivedLast: at.Add(time.Millisecond)}
}

// TestSessionEncodingMatchesEncodingJSON: a session's record is what
// json.Marshal writes (maps by sorted key, state in base64), whichever
// path wrote it.
func TestSessionEncodingMatchesEncodingJSON(t *testing.T) {
	cases := map[string]func(s *model.Session){
		"as committed":           func(*model.Session) {},
		"a new session":          func(s *model.Session) { s.User, s.Fired, s.State, s.Segments = nil, nil, nil, nil },
		"fired, emptied":         func(s *model.Session) { s.Fired = map[string]model.Fired{} },
		"state emptied":          func(s *model.Session) { s.State = map[string]map[string][]byte{} },
		"a stream's state nil":   func(s *model.Session) { s.State["str_c"] = nil },
		"a nil value":            func(s *model.Session) { s.State["str_a"]["gone"] = nil },
		"keys to escape":         func(s *model.Session) { s.State["str_a"]["<k>\"\n\xff"] = []byte("v") },
		"a user with html":       func(s *model.Session) { s.User.DisplayName = "A&B <x>" },
		"spaced user properties": func(s *model.Session) { s.User.Properties = []byte(`{"a": [1, 2]}`) },
		"an empty user":          func(s *model.Session) { s.User = &model.User{} },
		"a zone":                 func(s *model.Session) { s.StartedAt = s.StartedAt.In(time.FixedZone("X", 3600)) },
		"a year json refuses":    func(s *model.Session) { s.LastEventAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"the largest position":   func(s *model.Session) { s.Evaluated = model.LogPosition{Seq: 1<<64 - 1, Idx: 1<<32 - 1} },
		"no arrivals (older)":    func(s *model.Session) { s.ArrivedFirst, s.ArrivedLast = time.Time{}, time.Time{} },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			s := sampleSession()
			change(s)
			agreeWithEncodingJSON(t, s, encodeSession)
			if _, ok := appendSession(nil, s); !ok && name != "a year json refuses" {
				t.Fatal("fell back to encoding/json")
			}
		})
	}
}

func FuzzSessionEncoding(f *testing.F) {
	f.Add("str_a", "n", []byte{1, 2, 3}, "msg_1", "Ada", int64(0))
	f.Add("<s>", "\xff\"", []byte(nil), "\u2028", "é&", int64(-3600))
	f.Fuzz(func(t *testing.T, stream, key string, value []byte, webhookID, name string, offset int64) {
		s := sampleSession()
		s.State[stream] = map[string][]byte{key: value, "n": {9}}
		s.Fired[stream] = model.Fired{At: s.LastEventAt.Add(time.Duration(offset) * time.Second), WebhookID: webhookID}
		s.Segments[key] = s.StartedAt
		s.User.DisplayName = name
		agreeWithEncodingJSON(t, s, encodeSession)
	})
}

func BenchmarkEncodeSession(b *testing.B) {
	s := sampleSession()
	b.Run("hookwire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeSession(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
