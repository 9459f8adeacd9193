package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookwire/hookwire/engine/model"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func TestDecodeForms(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		format Format
		n      int
	}{
		{"object", `{"session_id":"s","type":"click"}`, FormatJSON, 1},
		{"array", ` [{"session_id":"s","type":"click"}, {"session_id":"t","type":"navigate"}] `, FormatJSON, 2},
		{"ndjson", "{\"session_id\":\"s\",\"type\":\"click\"}\n\n{\"session_id\":\"s\",\"type\":\"change\"}\n", FormatNDJSON, 2},
		{"ndjson without final newline", `{"session_id":"s","type":"click"}`, FormatNDJSON, 1},
		{"array after a byte order mark", "\xef\xbb\xbf[{\"session_id\":\"s\",\"type\":\"click\"}]", FormatJSON, 1},
		{"object after a byte order mark", "\xef\xbb\xbf{\"session_id\":\"s\",\"type\":\"click\"}", FormatJSON, 1},
		{"ndjson after a byte order mark", "\xef\xbb\xbf{\"session_id\":\"s\",\"type\":\"click\"}\n{\"session_id\":\"s\",\"type\":\"click\"}", FormatNDJSON, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Decode([]byte(tc.body), tc.format, 100, now)
			if err != nil || len(evs) != tc.n {
				t.Fatalf("got %d events, %v; want %d", len(evs), err, tc.n)
			}
		})
	}
}

// TestNDJSONDecodesLikeAnArray: the same events, as NDJSON (LF or CRLF,
// blank lines between) and as a JSON array, decode to the same events,
// far past the 4 KiB a line scanner's first buffer held (bodies over it
// were refused as malformed JSON).
func TestNDJSONDecodesLikeAnArray(t *testing.T) {
	var lines []string
	for i := range 2000 {
		lines = append(lines, fmt.Sprintf(`{"id":"e%d","session_id":"s-%d","type":"click","url":"https://shop.example/p/%d",`+
			`"properties":{"target_text":%q,"price":%d.5},"user":{"uid":"u-%d"}}`, i, i%37, i, strings.Repeat("x", i%300), i, i%11))
	}
	array, err := Decode([]byte("["+strings.Join(lines, ",")+"]"), FormatJSON, 10000, now)
	if err != nil || len(array) != len(lines) {
		t.Fatalf("the array: %d events, %v", len(array), err)
	}
	for _, sep := range []string{"\n", "\r\n", "\n\n"} {
		body := strings.Join(lines, sep) + sep
		evs, err := Decode([]byte(body), FormatNDJSON, 10000, now)
		if err != nil {
			t.Fatalf("NDJSON of %d bytes, lines ending %q: %v", len(body), sep, err)
		}
		if len(evs) != len(array) {
			t.Fatalf("lines ending %q: %d events, want %d", sep, len(evs), len(array))
		}
		for i := range evs {
			if !reflect.DeepEqual(evs[i], array[i]) {
				t.Fatalf("lines ending %q: event %d is\n%+v\nas NDJSON,\n%+v\nin an array", sep, i, evs[i], array[i])
			}
		}
	}
}

// TestNDJSONSentAsJSONSaysSo: NDJSON sent as application/json is refused
// with the content type it needs, not as malformed JSON.
func TestNDJSONSentAsJSONSaysSo(t *testing.T) {
	body := "{\"session_id\":\"s\",\"type\":\"click\"}\n{\"session_id\":\"s\",\"type\":\"change\"}\n"
	_, err := Decode([]byte(body), FormatJSON, 100, now)
	if err == nil || !strings.Contains(err.Error(), "Content-Type: application/x-ndjson") {
		t.Fatalf("NDJSON as JSON: %v", err)
	}
	_, err = Decode([]byte(`{"session_id":"s","type":"click"`), FormatJSON, 100, now)
	if err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Fatalf("a broken object: %v", err)
	}
}

func TestDecodeNormalises(t *testing.T) {
	body := `{"id":"e1","session_id":"s","type":"custom","name":"Checkout Error","timestamp":"2026-11-27T13:00:00.123456+01:00",
		"url":"https://x/cart","properties":{ "price" : 42.5 },"user":{"uid":"u","email":"a@b","properties":{"plan":"pro"}}}`
	evs, err := Decode([]byte(body), FormatJSON, 10, now)
	if err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	if !e.Timestamp.Equal(time.Date(2026, 11, 27, 12, 0, 0, 123000000, time.UTC)) || e.Timestamp.Location() != time.UTC {
		t.Fatalf("timestamp = %v, want UTC with millisecond precision", e.Timestamp)
	}
	if string(e.Properties) != `{"price":42.5}` || e.User.UID != "u" || string(e.User.Properties) != `{"plan":"pro"}` {
		t.Fatalf("event = %+v", e)
	}
	evs, _ = Decode([]byte(`{"session_id":"s","type":"click","timestamp":1795780800123}`), FormatJSON, 10, now)
	if evs[0].Timestamp.UnixMilli() != 1795780800123 {
		t.Fatalf("unix ms timestamp = %v", evs[0].Timestamp)
	}
	evs, _ = Decode([]byte(`{"session_id":"s","type":"click"}`), FormatJSON, 10, now)
	if !evs[0].Timestamp.Equal(now) {
		t.Fatalf("missing timestamp = %v, want receive time", evs[0].Timestamp)
	}
}

func TestDecodeRejectsWithIndexAndPath(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		index int
		path  string
	}{
		{"second event bad type", `[{"session_id":"s","type":"click"},{"session_id":"s","type":"Click"}]`, 1, "type"},
		{"control char in session", `{"session_id":"a\u0001b","type":"click"}`, 0, "session_id"},
		{"name on non-custom", `{"session_id":"s","type":"click","name":"x"}`, 0, "name"},
		{"fractional ms", `{"session_id":"s","type":"click","timestamp":1.5}`, 0, "timestamp"},
		{"year out of range", `{"session_id":"s","type":"click","timestamp":"0001-01-01T00:00:00Z"}`, 0, "timestamp"},
		{"user not object", `{"session_id":"s","type":"click","user":"u"}`, 0, "user"},
		{"user field wrong type", `{"session_id":"s","type":"click","user":{"uid":5}}`, 0, "user.uid"},
		{"user unknown field", `{"session_id":"s","type":"click","user":{"name":"x"}}`, 0, "user.name"},
		{"unknown field in a later event", `[{"session_id":"s","type":"click"},{"session_id":"s","type":"click","user":{"uid":"u","x":1}}]`, 1, "user.x"},
		{"empty id", `{"id":"","session_id":"s","type":"click"}`, 0, "id"},
		{"trailing garbage", `{"session_id":"s","type":"click"} x`, 0, ""},
		{"number beyond a float64", `{"session_id":"s","type":"click","properties":{"x":1e400}}`, 0, "properties.x"},
		{"one deep in arrays", `[{"session_id":"s","type":"click"},{"session_id":"s","type":"click","properties":{"a":[1,{"b":[2,-1E+999]}],"c":1e999}}]`, 1, "properties.a.1.b.1"},
		{"an integer of 400 digits", `{"session_id":"s","type":"click","user":{"uid":"u","properties":{"n":` + "1" + strings.Repeat("0", 399) + `}}}`, 0, "user.properties.n"},
		{"with whitespace, after a string with an e", `{"session_id":"s","type":"click","properties":{ "e": "e5", "f" : 2e308 }}`, 0, "properties.f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body), FormatJSON, 10, now)
			var inv *model.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("want an InvalidError, got %v", err)
			}
			if inv.Index != tc.index || inv.Path != tc.path {
				t.Fatalf("index %d path %q (%s), want %d %q", inv.Index, inv.Path, inv.Message, tc.index, tc.path)
			}
		})
	}
}

// TestDecodeKeepsNumbersAFloatHolds: the range check refuses only what a
// float64 cannot hold; the largest, underflow to zero and long integers
// within range go through as written, on the fast path.
func TestDecodeKeepsNumbersAFloatHolds(t *testing.T) {
	props := `{"max":1.7976931348623157e308,"min":-1.7976931348623157E+308,"tiny":1e-400,"zero":0e999,"long":1` +
		strings.Repeat("0", 307) + `,"fraction":0.` + strings.Repeat("0", 400) + `1}`
	body := []byte(`[{"session_id":"s","type":"click","properties":` + props + `}]`)
	if _, ok := fastDecodeArray(body, 10, now, nil); !ok {
		t.Error("numbers a float64 holds fell back to the reference decoder")
	}
	evs, err := Decode(body, FormatJSON, 10, now)
	if err != nil || len(evs) != 1 || string(evs[0].Properties) != props {
		t.Fatalf("got %v, %v; want the properties as sent", evs, err)
	}
}

// FuzzDecode: no input makes the decoder panic, and whatever it accepts is
// valid by its own rules.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"session_id":"s","type":"click"}`,
		`[{"session_id":"s","type":"custom","name":"n","properties":{"a":[1,{"b":null}]}}]`,
		"{\"session_id\":\"s\",\"type\":\"click\"}\n{\"session_id\":\"t\",\"type\":\"x\"}",
		`{"session_id":"s","type":"click","timestamp":"2026-11-27T12:00:00Z","user":{"uid":"u"}}`,
		`[`, `{}`, `[1,2]`, `{"session_id":"\ud800","type":"click"}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		format := FormatJSON
		if ndjson {
			format = FormatNDJSON
		}
		evs, err := Decode(body, format, 100, now)
		if err != nil {
			return
		}
		for _, e := range evs {
			if e.SessionID == "" || len(e.SessionID) > 4*model.MaxSessionIDLength || e.Type == "" ||
				(e.Type == "custom") != (e.Name != "") || strings.ContainsRune(e.SessionID, 0) {
				t.Fatalf("accepted an invalid event: %+v", e)
			}
		}
	})
}

// FuzzFastDecodeAgrees holds the fast batch decoders (arrays, NDJSON, one
// object) to the encoding/json reference: whatever one accepts, the reference accepts
// with the same events (a refusal falls back to the reference, so refusals
// need not agree).
func FuzzFastDecodeAgrees(f *testing.F) {
	for _, seed := range []string{
		`[{"session_id":"s","type":"click"}]`,
		`[{"id":"e1","session_id":"s","type":"custom","name":"n","timestamp":1795780800123,"url":"https://x/?a=1",` +
			`"properties":{"a":[1,{"b":null}],"c":-0.5e+3,"d":"\u00e9\n"},"user":{"uid":"u","email":"e","display_name":null,"properties":{}}}]`,
		` [ { "session_id" : "s" , "type" : "click" , "properties" : { "a" : [ 1 , 2 ] } } ] `,
		`[{"session_id":"s\u0041","type":"click","timestamp":"2026-11-27T12:00:00Z"}]`,
		`[{"session_id":"s","type":"click","Type":"change"}]`,
		`[{"session_id":"s","type":"click","user":{"uid":"a"},"user":{"email":"b"}}]`,
		`[{"session_id":"é","type":"click","url":"\xff"}]`,
		`[{"session_id":"s","type":"click","properties":{"a":01}}]`,
		`[{"session_id":"s","type":"click","properties":{"a":1e308,"b":[2E-400,-1.7976931348623157e308],"c":1e309}}]`,
	} {
		f.Add([]byte(seed), uint8(0))
		if strings.HasPrefix(seed, "[") && strings.HasSuffix(seed, "]") {
			f.Add([]byte(seed[1:len(seed)-1]), uint8(2)) // one object, or two: refused
		}
	}
	for _, seed := range []string{
		"{\"session_id\":\"s\",\"type\":\"click\"}\n{\"session_id\":\"t\",\"type\":\"navigate\",\"url\":\"/a\"}\n",
		"\r\n {\"session_id\":\"s\",\"type\":\"click\",\"properties\":{\"a\":[1]}} \r\n\n\t{\"session_id\":\"s\",\"type\":\"change\"}",
		"{\"session_id\":\"s\",\"type\":\"click\"} {\"session_id\":\"t\",\"type\":\"click\"}\n",
		"{\"session_id\":\"s\",\n\"type\":\"click\"}\n",
		"\u00a0{\"session_id\":\"s\",\"type\":\"click\"}\u0085\n",
	} {
		f.Add([]byte(seed), uint8(1))
	}
	// mode: 0 a JSON array, 1 NDJSON, 2 one event object (as decode
	// takes each).
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		fastDecode, referenceDecode, maxEvents := fastDecodeArray, referenceDecodeArray, 100
		switch mode % 3 {
		case 1:
			fastDecode, referenceDecode = fastDecodeLines, referenceDecodeLines
		case 2:
			if body = bytes.TrimSpace(body); len(body) == 0 || body[0] != '{' {
				return
			}
			fastDecode, referenceDecode, maxEvents = fastDecodeLines, referenceDecodeObject, 1
		}
		mem := lendBatchMemory(len(body))
		defer mem.release()
		fast, ok := fastDecode(body, maxEvents, now, mem)
		if !ok {
			return
		}
		ref, err := referenceDecode(body, maxEvents, now)
		if err != nil {
			t.Fatalf("fast path accepted what the reference refuses (%v): %q", err, body)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("fast path and reference disagree on %q:\n%+v\n%+v", body, fast, ref)
		}
	})
}

func TestFastDecodeTakesTheCommonShape(t *testing.T) {
	body := `[{"id":"e1","session_id":"s","type":"click","timestamp":1795780800123,"url":"https://x/",` +
		`"properties":{"a":[1,{"b":null}],"c":-0.5e+3},"user":{"uid":"u","email":"e","properties":{"plan":"pro"}}},` +
		`{"session_id":"t","type":"custom","name":"n","properties":{ "spaced" : true }}]`
	fast, ok := fastDecodeArray([]byte(body), 100, now, nil)
	if !ok || len(fast) != 2 {
		t.Fatalf("the common shape fell back to the reference decoder: ok=%v, %d events", ok, len(fast))
	}
	ref, err := referenceDecodeArray([]byte(body), 100, now)
	if err != nil || !reflect.DeepEqual(fast, ref) {
		t.Fatalf("disagree: %v\n%+v\n%+v", err, fast, ref)
	}
	if string(fast[1].Properties) != `{"spaced":true}` {
		t.Fatalf("properties with whitespace are compacted: %s", fast[1].Properties)
	}
	// The same events as NDJSON, CRLF and a blank line between.
	lines := strings.Replace(strings.TrimSuffix(strings.TrimPrefix(body, "["), "]"), "}},{", "}}\r\n\n{", 1)
	fastLines, ok := fastDecodeLines([]byte(lines), 100, now, nil)
	if !ok || !reflect.DeepEqual(fastLines, fast) {
		t.Fatalf("NDJSON of the common shape: ok=%v\n%+v\nwant\n%+v", ok, fastLines, fast)
	}
}

// TestFastDecodeOwnsItsBytes: each event's strings and properties live in
// an allocation of its own or in the batch's lent memory, not in the
// request's buffer, which may be reused once decoded; growing one
// event's properties cannot write over another field.
func TestFastDecodeOwnsItsBytes(t *testing.T) {
	for _, lend := range []bool{false, true} {
		body := []byte(`[{"session_id":"s1","type":"click","url":"/a","properties":{"k":1},"user":{"uid":"u1","properties":{"p":1},"email":"e"}},` +
			`{"session_id":"s2","type":"navigate","url":"/b","properties":{"k":2}}]`)
		var mem *batchMemory
		if lend {
			mem = lendBatchMemory(len(body))
		}
		events, ok := fastDecodeArray(body, 100, now, mem)
		if !ok {
			t.Fatal("the common shape fell back to the reference decoder")
		}
		want, err := referenceDecodeArray(body, 100, now)
		if err != nil {
			t.Fatal(err)
		}
		for i := range body {
			body[i] = 'x' // the server reuses the request's buffer
		}
		_ = append(events[0].Properties, '!') // one byte: it would fit in any spare capacity
		_ = append(events[0].User.Properties, '!')
		if !reflect.DeepEqual(events, want) {
			t.Fatalf("lent memory %v: events changed with the request's buffer or a neighbour's append:\n%+v\nwant %+v", lend, events, want)
		}
		if lend && (len(mem.bytes) == 0 || events[0].User != &mem.users.chunks[0][0]) {
			t.Fatalf("a batch decoded with lent memory did not use it: %d bytes", len(mem.bytes))
		}
	}
}

// TestLendingStopsAtItsBound: past maxLentBytes a batch's events own
// their bytes (and decode the same); memory given back is lent again.
func TestLendingStopsAtItsBound(t *testing.T) {
	defer func(was int64) { maxLentBytes = was }(maxLentBytes)
	body := []byte(`[{"session_id":"s1","type":"click","url":"/a","user":{"uid":"u1"}}]`)
	maxLentBytes = lentBytes.Load() + int64(len(body)) + int64(len(body))/2
	first, err := DecodeBatch(body, FormatJSON, 100, now)
	if err != nil || first.memory == nil {
		t.Fatalf("the first batch is not lent memory: %v", err)
	}
	second, err := DecodeBatch(body, FormatJSON, 100, now)
	if err != nil || second.memory != nil {
		t.Fatalf("a batch past the bound was lent memory: %v", err)
	}
	if !reflect.DeepEqual(first.Events, second.Events) {
		t.Fatalf("lent and owned decoding disagree:\n%+v\n%+v", first.Events, second.Events)
	}
	first.Release()
	third, err := DecodeBatch(body, FormatJSON, 100, now)
	if err != nil || third.memory == nil {
		t.Fatalf("memory given back is not lent again: %v", err)
	}
	third.Release()
}

// TestBatchMemoryWaitsForEveryHolder: lent memory, and the batch's event
// slice that sessions' messages point into, go back to the pool only when
// the last holder lets go; until then the events read the same.
func TestBatchMemoryWaitsForEveryHolder(t *testing.T) {
	body := []byte(`[{"session_id":"s1","type":"click","url":"/a","user":{"uid":"u1"}}]`)
	b, err := DecodeBatch(body, FormatJSON, 100, now)
	if err != nil || b.memory == nil {
		t.Fatalf("the common shape did not get lent memory: %v", err)
	}
	b.memory.hold() // a dispatched request's record
	b.Release()     // the request answered
	// Later batches would take the memory were it back in the pool.
	for range 10 {
		next, err := DecodeBatch([]byte(`[{"session_id":"zz","type":"navigate","url":"/b","user":{"uid":"zz"}}]`), FormatJSON, 100, now)
		if err != nil {
			t.Fatal(err)
		}
		if next.memory == b.memory || &next.Events[0] == &b.Events[0] {
			t.Fatal("memory or the event slice lent again while held")
		}
		next.Release()
	}
	if b.Events[0].SessionID != "s1" || b.Events[0].User.UID != "u1" || b.Events[0].URL != "/a" {
		t.Fatalf("memory reused while held: %+v", b.Events[0])
	}
	b.memory.release()
	if b.memory.refs.Load() != 0 || len(b.memory.bytes) != 0 {
		t.Fatalf("memory not given back: %d holders, %d bytes", b.memory.refs.Load(), len(b.memory.bytes))
	}
}

// BenchmarkFastDecode: one batch of 100 events shaped like the load
// harness's (~300 bytes each), through the fast decoder into lent memory,
// as the server decodes it.
// BenchmarkDecodeBatch: a request's decoding as the HTTP handler runs it
// (DecodeBatch, then the batch given back), for the harness's 100-event
// batch as a JSON array and as NDJSON, and for one of its events alone.
// ns/op is per request.
func BenchmarkDecodeBatch(b *testing.B) {
	lines := make([][]byte, 100)
	for i := range lines {
		lines[i] = fmt.Appendf(nil, `{"session_id":"bench-%d","type":"click","url":"https://shop.example/products/%d?ref=campaign-autumn&utm_source=newsletter",`+
			`"properties":{"target_text":"Add to cart","price":19.99,"sku":"SKU-%d","position":3},"user":{"uid":"user-%d","email":"user%d@example.com"}}`,
			i*7919, i%97, i, i*7919, i*7919)
	}
	bodies := []struct {
		name   string
		body   []byte
		format Format
	}{
		{"array", append(append([]byte("["), bytes.Join(lines, []byte(","))...), ']'), FormatJSON},
		{"ndjson", append(bytes.Join(lines, []byte("\n")), '\n'), FormatNDJSON},
		{"one object", lines[0], FormatJSON},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			// Counted once: inside the loop the count cost a fifth of
			// what was measured.
			want := bytes.Count(bb.body, []byte("session_id"))
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				batch, err := DecodeBatch(bb.body, bb.format, 1000, now)
				if err != nil || len(batch.Events) != want {
					b.Fatalf("%d events, %v", len(batch.Events), err)
				}
				batch.Release()
			}
		})
	}
}

func BenchmarkFastDecode(b *testing.B) {
	var body []byte
	body = append(body, '[')
	for i := range 100 {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"session_id":"bench-%d","type":"click","url":"https://shop.example/products/%d?ref=campaign-autumn&utm_source=newsletter",`+
			`"properties":{"target_text":"Add to cart","price":19.99,"sku":"SKU-%d","position":3},"user":{"uid":"user-%d","email":"user%d@example.com"}}`,
			i*7919, i%97, i, i*7919, i*7919)
	}
	body = append(body, ']')
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		mem := lendBatchMemory(len(body))
		events, ok := fastDecodeArray(body, 1000, now, mem)
		if !ok {
			b.Fatal("the harness's batch fell back to the reference decoder")
		}
		recycleEvents(events)
		mem.release()
	}
}

// TestDecodeReplacesInvalidUTF8: bytes that are not UTF-8 inside the
// properties become U+FFFD, as encoding/json makes them in the event's
// other strings, on the fast path and the reference one alike: a webhook
// body or a filter's input is always valid UTF-8 JSON.
func TestDecodeReplacesInvalidUTF8(t *testing.T) {
	event := "{\"session_id\":\"s\",\"type\":\"click\",\"url\":\"/\xff\",\"properties\":{\"a\":\"\xc3\",\"\xfe\":[\"ok \xe2\x82\xac\"]}," +
		"\"user\":{\"uid\":\"u\xff\",\"properties\":{\"b\":\"\xed\xa0\x80\"}}}"
	for _, tc := range []struct{ name, body string }{
		{"fast path (array)", "[" + event + "]"},
		{"reference path (one object, spaced)", " " + event + " "},
	} {
		b, err := DecodeBatch([]byte(tc.body), FormatJSON, 10, now)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		e := b.Events[0]
		for field, value := range map[string]string{"url": e.URL, "user.uid": e.User.UID,
			"properties": string(e.Properties), "user.properties": string(e.User.Properties)} {
			if !utf8.ValidString(value) || !strings.Contains(value, "\uFFFD") {
				t.Errorf("%s: %s = %q, want valid UTF-8 with U+FFFD for the bad bytes", tc.name, field, value)
			}
		}
		if want := "{\"a\":\"\uFFFD\",\"\uFFFD\":[\"ok \u20ac\"]}"; string(e.Properties) != want {
			t.Errorf("%s: properties = %s, want %s", tc.name, e.Properties, want)
		}
		b.Release()
	}
}

// TestNDJSONRefusalsSayWhichLineAndWhy: a bad NDJSON line is named by its
// number with what is wrong in it, and an array on a line says to send
// arrays as JSON.
func TestNDJSONRefusalsSayWhichLineAndWhy(t *testing.T) {
	ok := `{"session_id":"s","type":"click"}`
	for body, want := range map[string]string{
		ok + "\n" + `{"session_id":"s" "type":"click"}`: "line 2 is not valid JSON: invalid character '\"' after object key:value pair",
		ok + " " + ok:      "line 1 is not valid JSON: invalid character '{' after top-level value",
		"\n\n[" + ok + "]": "line 3 is a JSON array: NDJSON holds one event object per line (send an array with Content-Type: application/json)",
	} {
		_, err := Decode([]byte(body), FormatNDJSON, 10, now)
		var inv *model.InvalidError
		if !errors.As(err, &inv) || inv.Message != want {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}

// TestSkipPlainWordsStopsAtTheFirstByteThatIsNotPlain puts every byte
// value at every place of a run of plain bytes, followed by each kind of
// byte (the word's flags above the first right one may be wrong), and
// asks for the place the one-byte table gives.
func TestSkipPlainWordsStopsAtTheFirstByteThatIsNotPlain(t *testing.T) {
	byTable := func(b []byte, i int) int {
		for i < len(b) && plainStringByte[b[i]] {
			i++
		}
		return i
	}
	for length := range 20 {
		for at := range length {
			for c := range 256 {
				for _, later := range []byte{'a', 0x00, 0x1f, 0x20, '"', '\\', 0x7f, 0x80, 0xff} {
					b := bytes.Repeat([]byte{'x'}, length)
					b[at] = byte(c)
					for j := at + 1; j < length; j++ {
						b[j] = later
					}
					got := skipPlainWords(b, 0)
					want := byTable(b, 0)
					// It stops at the byte, or where fewer than eight are left.
					if got > want || (got < want && got+8 <= len(b)) || byTable(b, got) != want {
						t.Fatalf("%q: skipped to %d, the first byte that is not plain is at %d", b, got, want)
					}
				}
			}
		}
	}
}
