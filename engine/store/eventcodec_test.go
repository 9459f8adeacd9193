package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

func sampleEvents() []model.Event {
	return []model.Event{
		{ID: "e1", SessionID: "s1", Type: "click", Timestamp: time.UnixMilli(1_764_000_000_123).UTC(),
			URL: "https://shop.example/ü?x=1", Properties: json.RawMessage(`{"a":[1,{"b":null}]}`),
			User: &model.User{UID: "u1", Email: "a@example.com", Properties: json.RawMessage(`{"plan":"pro"}`)}},
		{SessionID: "s2", Type: "custom", Name: "signal", Timestamp: time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)},
		{SessionID: "s3", Type: "navigate", Timestamp: time.Unix(0, 0).UTC(), User: &model.User{}},
	}
}

func TestLogRecordRoundTrip(t *testing.T) {
	events := sampleEvents()
	got, err := decodeLogRecord(appendLogRecord(nil, events))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, events) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", got, events)
	}
	// Records of earlier versions are JSON arrays.
	old, _ := json.Marshal(events)
	if got, err = decodeLogRecord(old); err != nil || !reflect.DeepEqual(got, events) {
		t.Fatalf("JSON record: %v\n%+v", err, got)
	}
}

func FuzzDecodeLogRecord(f *testing.F) {
	f.Add(appendLogRecord(nil, sampleEvents()))
	f.Add([]byte(logRecordV1 + "\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, rec []byte) {
		events, err := decodeLogRecord(rec)
		if err != nil || (len(rec) > 0 && rec[0] == '[') {
			return
		}
		// What decodes survives a round trip unchanged.
		again, err := decodeLogRecord(appendLogRecord(nil, events))
		if err != nil || !reflect.DeepEqual(again, events) {
			t.Fatalf("round trip of %q: %v\n%+v\nwant\n%+v", rec, err, again, events)
		}
	})
}
