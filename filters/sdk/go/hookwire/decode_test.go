package hookwire

import (
	"encoding/json"
	"reflect"
	"testing"
)

// agreesWithUnmarshal checks decodeEvent against json.Unmarshal into an
// Event: both refuse, or both give the same Event.
func agreesWithUnmarshal(t *testing.T, doc []byte) {
	t.Helper()
	var want Event
	wantErr := json.Unmarshal(doc, &want)
	got, err := decodeEvent(doc)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("%q: decodeEvent error %v, json.Unmarshal error %v", doc, err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q:\n got %#v\nwant %#v", doc, got, want)
	}
}

// events are what hookwire sends and what it never sends but a decoder
// must not take for something else.
var events = []string{
	`{"id":"e-1","session_id":"s-123","type":"custom","name":"Checkout Error","timestamp":"2026-11-27T12:00:00.123Z","url":"https://shop.example/cart","properties":{"price":42.5},"user":{"uid":"u-42","email":"a@example.com","display_name":"Ada","properties":{}}}`,
	`{"session_id":"s","type":"click","timestamp":"2026-11-27T12:00:00.000Z","properties":{"a":[1,"two",{"three":[true,false,null]}],"b":{"c":-0.5e-3},"e":"caf\u00e9 \ud83d\ude00 \ud800 \/ \"q\" \\ \b\f\n\r\t"}}`,
	`{"session_id":"s","type":"click","timestamp":"2026-11-27T12:00:00Z","user":null,"properties":null}`,
	` { "Type" : "x" , "TYPE":"y", "Session_ID":"s", "user":{"UID":"u"}, "user":{"email":"e"}, "properties":{"a":1}, "properties":{"b":2} } `,
	`{"type":5}`, `{"timestamp":"yesterday"}`, `{"timestamp":5}`, `{"properties":[]}`, `{"user":"u"}`,
	`{"properties":{"big":1e400}}`, `{"type":"x"} x`, `{"type":"x",}`, `{"type":"a` + "\x01" + `"}`, `{"type":"\x"}`,
	`{"type":"bad utf8 ` + "\xff\xfe" + `"}`, `{"unknown":{"deep":[1,2,{"x":"y"}]},"type":"t"}`, `null`, `[]`, `5`, ``, `{`,
	`{"url":"https://shop.example/` + "\x01" + `cart/and/on/and/on"}`, `{"url":"https://shop.example/caf\u00e9/cart/and/on"}`,
	`{"url":"https://shop.example/` + "caf\xc3\xa9 \xff" + `/cart/and/on/and/on"}`,
	`{"type":"t","name":null,"id":null}`,
	// Timestamps in hookwire's form (read without time.Parse) and near it.
	`{"timestamp":"2024-02-29T23:59:59.999Z"}`, `{"timestamp":"2026-02-29T00:00:00.000Z"}`, `{"timestamp":"0000-01-01T00:00:00.000Z"}`,
	`{"timestamp":"2026-13-01T00:00:00.000Z"}`, `{"timestamp":"2026-11-27T24:00:00.000Z"}`, `{"timestamp":"2026-11-27T23:59:60.000Z"}`,
	`{"timestamp":"2026-11-27t12:00:00.123z"}`, `{"timestamp":"2026-11-27T12:00:00.123+01:00"}`, `{"timestamp":"2026-11-27T12:00:0a.123Z"}`,
	`{"timestamp":"2026-11-27T12:00:00,123Z"}`, `{"timestamp":"2026-04-31T12:00:00.123Z"}`, `{"timestamp":"2026-11-00T12:00:00.123Z"}`,
	// Members hookwire never sends, skipped whatever they hold.
	`{"extra":[1,-2.5e3,"s\u00e9",{"a":[]},true,false,null],"type":"t"}`, `{"extra":[1,],"type":"t"}`, `{"extra":01}`, `{"extra":1e400}`, `{"extra":tree,"type":"t"}`, `{"extra":fals}`, `{"extra":nul}`, `{"extra":"\x"}`, `{"properties":{"n":-0,"m":1E+2,"k":0.1}}`, `{"properties":{"n":01}}`, `{"properties":{"n":-}}`,
}

func TestDecodeEventAgreesWithUnmarshal(t *testing.T) {
	for _, doc := range events {
		agreesWithUnmarshal(t, []byte(doc))
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, doc := range events {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { agreesWithUnmarshal(t, doc) })
}

// BenchmarkDecodeEvent is the SDK's decoding of a ~300-byte event on the
// host, against json.Unmarshal (in a wasip1 guest both are far slower:
// BenchmarkExampleFilter in engine/).
func BenchmarkDecodeEvent(b *testing.B) {
	doc := []byte(events[0])
	b.Run("sdk", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeEvent(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var e Event
			if err := json.Unmarshal(doc, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
