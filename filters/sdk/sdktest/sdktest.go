// Package sdktest checks a filter SDK's JSON lookups against Go's
// encoding/json: each SDK's test compiles a probe module that exports its
// lookup, text, comparison and number functions (probe_find, probe_result,
// probe_text, probe_compare) and hands it to these checks as a Probe.
// Every SDK reads the event the same way: hw_find in C, Event.find in
// AssemblyScript.
package sdktest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Kind is what a lookup found, numbered as the SDKs number it (C's enum
// hw_kind, AssemblyScript's Kind).
type Kind int32

const (
	Absent Kind = iota
	String
	Number
	True
	False
	Null
	Object
	Array
)

// Found is what a probe's lookup reports.
type Found struct {
	Status   int64 // 1 found, 0 absent, -1 malformed
	Kind     Kind
	Raw      []byte // the value's bytes (a string's without its quotes)
	Escaped  bool   // a string with escapes
	TextLen  int64  // the decoded text's length in bytes; -1 for a value that is not a string
	NumberOK bool
	Number   float64
}

// The comparisons a probe makes of a string value's text.
const (
	Equal = iota
	Prefix
	Suffix
	Contains
)

// Probe is an SDK's probe module, instantiated. Its exports take each
// string as a pointer to it NUL-terminated (C) or, with Lengths, as a
// pointer and a length (AssemblyScript).
type Probe struct {
	*Module
	Lengths bool
}

// NewProbe instantiates a probe module.
func NewProbe(t testing.TB, wasm []byte, lengths bool) *Probe {
	return &Probe{Module: Instantiate(t, wasm), Lengths: lengths}
}

// str is how the probe takes the string written at at.
func (p *Probe) str(at uint32, s string) []uint64 {
	if p.Lengths {
		return []uint64{uint64(at), uint64(len(s))}
	}
	return []uint64{uint64(at)}
}

// Find is probe_find's answer for path in doc.
func (p *Probe) Find(t testing.TB, doc []byte, path string) Found {
	t.Helper()
	at := p.Put(t, doc, []byte(path))
	args := append([]uint64{uint64(at[0]), uint64(len(doc))}, p.str(at[1], path)...)
	return p.Result(t, doc, p.Call(t, "probe_find", args...))
}

// Text is the found string's decoded text (probe_text writes it after
// the inputs); false when there is none.
func (p *Probe) Text(t testing.TB, doc []byte, path string) (string, bool) {
	t.Helper()
	at := p.Put(t, doc, []byte(path))
	dst := at[1] + uint32(len(path)) + 1
	args := append([]uint64{uint64(at[0]), uint64(len(doc))}, p.str(at[1], path)...)
	n := p.Call(t, "probe_text", append(args, uint64(dst), uint64(InputBytes-(dst-p.Buf)))...)
	if n < 0 {
		return "", false
	}
	b, _ := p.Mod.Memory().Read(dst, uint32(n))
	return string(b), true
}

// Compare is probe_compare: 1 or 0 for comparison op of the found value
// with s, -2 when the path is not found.
func (p *Probe) Compare(t testing.TB, doc []byte, path string, op int, s string) int64 {
	t.Helper()
	at := p.Put(t, doc, []byte(path), []byte(s))
	args := append([]uint64{uint64(at[0]), uint64(len(doc))}, p.str(at[1], path)...)
	args = append(append(args, uint64(op)), p.str(at[2], s)...)
	return p.Call(t, "probe_compare", args...)
}

// Millis is probe_millis: the found value's Unix milliseconds (the SDK's
// reading of an RFC 3339 time), NaN when it reads none, -2 when the path
// is not found.
func (p *Probe) Millis(t testing.TB, doc []byte, path string) float64 {
	t.Helper()
	at := p.Put(t, doc, []byte(path))
	args := append([]uint64{uint64(at[0]), uint64(len(doc))}, p.str(at[1], path)...)
	return api.DecodeF64(p.call(t, "probe_millis", args...)[0])
}

// Reference finds path in doc as the SDKs are documented to: member
// names decoded, of a member named twice the last (as encoding/json
// decodes into a map, and as hookwire's triggers read properties), a
// number stepping into an array. It uses encoding/json's tokenizer.
func Reference(doc []byte, path string) (json.RawMessage, bool) {
	cur := json.RawMessage(bytes.TrimSpace(doc))
	for _, seg := range strings.Split(path, ".") {
		if len(cur) == 0 || (cur[0] != '{' && cur[0] != '[') {
			return nil, false
		}
		index := -1
		if cur[0] == '[' {
			n, ok := arrayIndex(seg)
			if !ok {
				return nil, false
			}
			index = n
		}
		dec := json.NewDecoder(bytes.NewReader(cur))
		dec.Token()
		var next json.RawMessage
		hit := false
		for i := 0; dec.More(); i++ {
			match := index == i
			if index < 0 {
				name, _ := dec.Token()
				match = name == seg
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, false
			}
			if match {
				next, hit = v, true
			}
		}
		if !hit {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// arrayIndex is the element a path segment names in an array: up to nine
// decimal digits.
func arrayIndex(seg string) (int, bool) {
	n, err := strconv.Atoi(seg)
	return n, err == nil && len(seg) <= 9 && strings.TrimLeft(seg, "0123456789") == ""
}

// unmarshalled is path in doc as json.Unmarshal decodes doc into generic
// values (numbers as json.Number), which Reference must agree with.
func unmarshalled(doc []byte, path string) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var cur any
	if dec.Decode(&cur) != nil {
		return nil, false
	}
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			n, ok := arrayIndex(seg)
			if !ok || n >= len(v) {
				return nil, false
			}
			cur = v[n]
		default:
			return nil, false
		}
	}
	return cur, true
}

// Lookups is what an SDK's lookups answer: a Probe's (a module in wazero)
// or, for the Go SDK, its own functions called natively.
type Lookups interface {
	// Find is the lookup of path in doc.
	Find(t testing.TB, doc []byte, path string) Found
	// Text is the found string's decoded text; false when there is none.
	Text(t testing.TB, doc []byte, path string) (string, bool)
	// Compare is 1 or 0 for comparison op (Equal, Prefix, Suffix,
	// Contains) of the found value with s, -2 when the path is not found.
	Compare(t testing.TB, doc []byte, path string, op int, s string) int64
}

// Agree checks a lookup of path in the valid document doc, and everything
// read from what it found, against Reference; string values are compared
// with each needle (those without a NUL) all four ways.
func Agree(t *testing.T, p Lookups, doc []byte, path string, needles ...string) {
	t.Helper()
	got := p.Find(t, doc, path)
	want, ok := Reference(doc, path)
	decoded, decodedOK := unmarshalled(doc, path)
	if decodedOK != ok {
		t.Fatalf("%s in %s: the reference finds %s (%v), json.Unmarshal %v (%v)", path, doc, want, ok, decoded, decodedOK)
	}
	if !ok {
		if got.Status != 0 {
			t.Fatalf("%s in %s: status %d (kind %d %q), want absent", path, doc, got.Status, got.Kind, got.Raw)
		}
		return
	}
	if got.Status != 1 {
		t.Fatalf("%s in %s: status %d, want %s", path, doc, got.Status, want)
	}
	var value any
	dec := json.NewDecoder(bytes.NewReader(want))
	dec.UseNumber()
	if err := dec.Decode(&value); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(value, decoded) {
		t.Fatalf("%s in %s: the reference finds %s, json.Unmarshal %v", path, doc, want, decoded)
	}
	switch v := value.(type) {
	case string:
		if got.Kind != String {
			t.Fatalf("%s in %s: kind %d, want a string", path, doc, got.Kind)
		}
		if string(got.Raw) != string(want[1:len(want)-1]) || got.Escaped != bytes.ContainsRune(want, '\\') {
			t.Fatalf("%s in %s: raw %q escaped %v, want %s", path, doc, got.Raw, got.Escaped, want)
		}
		text, ok := p.Text(t, doc, path)
		if !ok || text != v || got.TextLen != int64(len(v)) {
			t.Fatalf("%s in %s: text %q (%v, length %d), want %q", path, doc, text, ok, got.TextLen, v)
		}
		for _, s := range needles {
			if strings.IndexByte(s, 0) >= 0 {
				continue
			}
			for op, want := range []bool{v == s, strings.HasPrefix(v, s), strings.HasSuffix(v, s), strings.Contains(v, s)} {
				if r := p.Compare(t, doc, path, op, s); r != b2i(want) {
					t.Fatalf("%s in %s: comparison %d with %q = %d, want %v (text %q)", path, doc, op, s, r, want, v)
				}
			}
		}
	case json.Number:
		want, _ := strconv.ParseFloat(string(v), 64) // ±Inf past a double's range, as the SDKs read it
		close := got.Number == want || !math.IsInf(want, 0) && math.Abs(got.Number-want) <= 1e-13*math.Abs(want)+1e-300
		if got.Kind != Number || !got.NumberOK || !close {
			t.Fatalf("%s in %s: kind %d number %v (%v), want %s = %v", path, doc, got.Kind, got.Number, got.NumberOK, v, want)
		}
	default:
		wantKind := map[string]Kind{"true": True, "false": False, "null": Null}[string(want)]
		switch value.(type) {
		case map[string]any:
			wantKind = Object
		case []any:
			wantKind = Array
		}
		if got.Kind != wantKind || string(got.Raw) != string(want) {
			t.Fatalf("%s in %s: kind %d %q, want kind %d %s", path, doc, got.Kind, got.Raw, wantKind, want)
		}
	}
	if got.Kind != String {
		if got.TextLen != -1 || p.Compare(t, doc, path, Equal, string(got.Raw)) != 0 {
			t.Fatalf("%s in %s: a %d read as text", path, doc, got.Kind)
		}
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Event is an event as hookwire hands it to a filter (filters/ABI.md),
// with the hard cases in its properties: escapes, surrogate pairs, a lone
// surrogate, nesting, arrays, a quote and a dot in member names.
const Event = `{"id":"e-1","session_id":"s-123","type":"custom","name":"Checkout \"Error\"","timestamp":"2026-11-27T12:00:00.123Z",` +
	`"url":"https://shop.example/caf\u00e9/cart?a=1\u0026b=2","properties":{"price":42.5,"qty":3,"big":1e300,"tiny":-2.5E-7,"ok":true,"no":false,"gone":null,` +
	`"url":"https://elsewhere/pricing","items":[{"sku":"A-1"},{"sku":"B\\2"},[1,2,[3]]],"nested":{"a":{"b":{"c":"deep"}}},"emoji":"\ud83d\ude00!","lone":"\ud800x",` +
	`"q\"uote":"named with a quote","":"empty name","path.with.dots":"unreachable"},"user":{"uid":"u-42","email":"a@example.com","display_name":"Zoë","properties":{}}}`

// Paths are looked up in Event: found, absent, and through scalars.
var Paths = []string{
	"id", "type", "name", "timestamp", "url", "properties", "user", "user.uid", "user.email",
	"user.display_name", "user.properties", "properties.price", "properties.qty", "properties.big",
	"properties.tiny", "properties.ok", "properties.no", "properties.gone", "properties.url",
	"properties.items", "properties.items.0", "properties.items.0.sku", "properties.items.1.sku",
	"properties.items.2", "properties.items.2.2.0", "properties.items.3", "properties.items.x",
	"properties.nested.a.b.c", "properties.nested.a.b.c.d", "properties.emoji", "properties.lone",
	`properties.q"uote`, "properties.", "properties.missing", "missing", "user.uid.more", "type.x",
}

// Needles are compared with every string found at Paths.
var Needles = []string{"", "c", "Checkout", `"Error"`, "u-42", "https://", "café", "/cart", "\U0001F600", "!", "\ufffdx", "deep", "A-1", `B\2`}

// Malformed are documents that end inside a value, or hold no value where
// one must be: a lookup of "a" in each is malformed (-1), never read past
// the document's end.
var Malformed = []string{``, `{"a":"unterminated`, `{"a":[1,2`, `{"a" 1}`, `{"b":1 "a":2}`, `{"a":"x\`, `{1:2}`, `{"a":}`, `nonsense`}

// FuzzInput says whether a fuzzer's input is one Agree applies to: a valid
// UTF-8 JSON document, path and needle (a filter's are string literals and
// its config's), of the sizes a filter meets (an event of up to 64
// KiB, a needle from a config: the SDKs' searches are the plain ones).
func FuzzInput(doc []byte, path, needle string) bool {
	return len(doc) <= 64<<10 && len(needle) <= 256 && json.Valid(doc) && utf8.Valid(doc) &&
		strings.IndexByte(path, 0) < 0 && utf8.ValidString(path) && utf8.ValidString(needle)
}

// Seeds are the fuzz targets' starting inputs: doc, path, needle.
var Seeds = [][3]string{
	{Event, "properties.items.1.sku", "B"},
	{`{"a\u0062":"\u00e9\n"}`, "ab", "é"},
	{`[0,{"x":-0.0e-5}]`, "1.x", ""},
}

// rfc3339 is RFC 3339's date-time (section 5.6), which the SDKs' millis
// read; Go's time.Parse also takes forms outside it (a one-digit hour, a
// comma before the fraction, an offset of +24:00).
var rfc3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

// Timestamps are times in and near RFC 3339: hookwire's form, fractions,
// offsets, leap years, values out of range, forms only Go takes.
var Timestamps = []string{
	"2026-11-27T12:00:00.123Z", "2026-11-27T12:00:00Z", "2026-11-27T12:00:00.1Z", "2026-11-27T12:00:00.98765Z",
	"2026-11-27T12:00:00.123456789123Z", "2026-11-27T12:00:00.123+01:00", "2026-11-27T12:00:00-09:30",
	"2024-02-29T23:59:59.999Z", "2026-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
	"0000-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999-23:59", "1970-01-01T00:00:00Z",
	"2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-27T24:00:00Z",
	"2026-11-27T23:60:00Z", "2026-11-27T23:59:60Z", "2026-11-27T12:00:00+24:00", "2026-11-27T12:00:00+01:60",
	"2026-11-27t12:00:00Z", "2026-11-27T12:00:00z", "2026-11-27 12:00:00Z", "2026-11-27T12:00:00,123Z",
	"2026-11-27T1:00:00Z", "2026-11-27T12:00:00.Z", "2026-11-27T12:00:00", "2026-11-27T12:00:00+0100",
	"2026-11-27", "", "not a time", "+2026-11-27T12:00:00Z", "2026-11-27T12:00:00.123Z<", "２026-11-27T12:00:00Z",
}

// AgreeOnMillis looks up ts in a document (JSON-encoded, so <, > and & come
// escaped) and checks the probe's millis of it against time.Parse: the
// same Unix milliseconds for a time in RFC 3339's grammar that Go reads,
// NaN for anything else.
func AgreeOnMillis(t *testing.T, p *Probe, ts string) {
	t.Helper()
	doc, _ := json.Marshal(map[string]any{"t": ts, "n": 1764244800123})
	got, want := p.Millis(t, doc, "t"), math.NaN()
	if parsed, err := time.Parse(time.RFC3339, ts); err == nil && rfc3339.MatchString(ts) {
		want = float64(parsed.UnixMilli())
	}
	if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
		t.Fatalf("millis of %q = %v, want %v", ts, got, want)
	}
	if n := p.Millis(t, doc, "n"); !math.IsNaN(n) {
		t.Fatalf("millis of a number: %v, want NaN", n)
	}
}

// ReadsTimesAsGoDoes checks AgreeOnMillis for every one of Timestamps.
func ReadsTimesAsGoDoes(t *testing.T, p *Probe) {
	for _, ts := range Timestamps {
		AgreeOnMillis(t, p, ts)
	}
}

// FuzzMillis runs a fuzz target of AgreeOnMillis over p, from Timestamps.
func FuzzMillis(f *testing.F, p *Probe) {
	for _, ts := range Timestamps {
		f.Add(ts)
	}
	f.Fuzz(func(t *testing.T, ts string) { AgreeOnMillis(t, p, ts) })
}

// InputBytes is the size of a Module's buffer for inputs.
const InputBytes = 1 << 20

// Module is a probe module in wazero with a buffer for inputs, taken once
// from its hw_alloc.
type Module struct {
	Mod api.Module
	Buf uint32
	// funcs caches the exports called: each ExportedFunction makes a
	// call engine of its own, with its own stack.
	funcs map[string]api.Function
}

// Instantiate runs wasm (which must import nothing) in a runtime closed
// when the test ends.
func Instantiate(t testing.TB, wasm []byte) *Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	res, err := mod.ExportedFunction("hw_alloc").Call(ctx, InputBytes)
	if err != nil || res[0] == 0 {
		t.Fatalf("hw_alloc(%d): %v %v", InputBytes, res, err)
	}
	return &Module{Mod: mod, Buf: uint32(res[0]), funcs: map[string]api.Function{}}
}

// Put writes the inputs one after another into the buffer, each followed
// by a NUL (C strings), and returns where each starts.
func (m *Module) Put(t testing.TB, inputs ...[]byte) []uint32 {
	t.Helper()
	at, offsets := m.Buf, make([]uint32, len(inputs))
	for i, in := range inputs {
		if !m.Mod.Memory().Write(at, in) || !m.Mod.Memory().WriteByte(at+uint32(len(in)), 0) {
			t.Fatalf("inputs over %d bytes", InputBytes)
		}
		offsets[i] = at
		at += uint32(len(in)) + 1
	}
	return offsets
}

// Call calls an export whose result is an i32 (0 for none).
func (m *Module) Call(t testing.TB, name string, args ...uint64) int64 {
	t.Helper()
	res := m.call(t, name, args...)
	if len(res) == 0 {
		return 0
	}
	return int64(int32(res[0]))
}

// call calls an export through the cache of exports and returns its raw
// results.
func (m *Module) call(t testing.TB, name string, args ...uint64) []uint64 {
	t.Helper()
	fn := m.funcs[name]
	if fn == nil {
		fn = m.Mod.ExportedFunction(name)
		m.funcs[name] = fn
	}
	res, err := fn.Call(context.Background(), args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// Result reads what a probe's probe_find recorded at probe_result(), the
// same record in every SDK's probe: kind, the value's offset from the
// document's start and its length, escaped, the text's length (i64),
// number ok, padding, the number (f64).
func (m *Module) Result(t testing.TB, doc []byte, status int64) Found {
	t.Helper()
	r, ok := m.Mod.Memory().Read(uint32(m.Call(t, "probe_result")), 40)
	if !ok {
		t.Fatal("probe_result out of memory")
	}
	f := Found{Status: status, Kind: Kind(binary.LittleEndian.Uint32(r[0:])),
		Escaped:  binary.LittleEndian.Uint32(r[12:]) != 0,
		TextLen:  int64(binary.LittleEndian.Uint64(r[16:])),
		NumberOK: binary.LittleEndian.Uint32(r[24:]) != 0,
		Number:   math.Float64frombits(binary.LittleEndian.Uint64(r[32:]))}
	if status == 1 {
		offset, n := binary.LittleEndian.Uint32(r[4:]), binary.LittleEndian.Uint32(r[8:])
		f.Raw = doc[offset : offset+n]
	}
	return f
}

// ReadsAsEncodingJSON looks up every path of Paths in Event, and members
// named twice (at several depths, spelt with escapes, named again in a
// value), through p.
func ReadsAsEncodingJSON(t *testing.T, p Lookups) {
	for _, path := range Paths {
		Agree(t, p, []byte(Event), path, Needles...)
	}
	for _, twice := range []struct{ doc, path string }{
		{" { \"a\" : [ 1 , { \"b\" : \"x\" } ] , \"a\" : 2 } ", "a.1.b"},
		{`{"a":1,"a":2}`, "a"},
		{`{"a":"a","b":1}`, "a"}, // the name again, in a value: still the only one
		{`{"p":{"x":1},"q":"p","p":{"y":2}}`, "p.x"},
		{`{"p":{"x":1},"q":"p","p":{"y":2}}`, "p.y"},
		{`{"a":1,"\u0061":2}`, "a"},
		{`{"\u0061":1,"a":2,"b":{"a":3}}`, "a"},
		{`{"a":[{"b":1,"b":"last"}],"a":[{"b":2},{"b":3}],"c":"a b"}`, "a.0.b"},
		{`{"properties":{"plan":"free","plan":"pro"},"user":{"uid":"u"}}`, "properties.plan"},
	} {
		Agree(t, p, []byte(twice.doc), twice.path, "x", "pro", "last", "a")
	}
}

// RefusesMalformed looks up "a" in each of Malformed through p: each must
// be malformed (-1).
func RefusesMalformed(t *testing.T, p Lookups) {
	for _, doc := range Malformed {
		if got := p.Find(t, []byte(doc), "a"); got.Status != -1 {
			t.Errorf("a in %q: status %d (kind %d), want -1", doc, got.Status, got.Kind)
		}
	}
}

// Fuzz runs a fuzz target of Agree over p, from Seeds.
func Fuzz(f *testing.F, p Lookups) {
	for _, seed := range Seeds {
		f.Add([]byte(seed[0]), seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, doc []byte, path, needle string) {
		if FuzzInput(doc, path, needle) {
			Agree(t, p, doc, path, needle)
		}
	})
}

// BenchmarkFind times probe_find on Event for a member near its start,
// two in its middle and one near its end.
func BenchmarkFind(b *testing.B, p *Probe) {
	for _, path := range []string{"type", "url", "properties.items.1.sku", "user.display_name"} {
		b.Run(path, func(b *testing.B) {
			at := p.Put(b, []byte(Event), []byte(path))
			args := append([]uint64{uint64(at[0]), uint64(len(Event))}, p.str(at[1], path)...)
			for b.Loop() {
				if p.Call(b, "probe_find", args...) != 1 {
					b.Fatal("not found")
				}
			}
		})
	}
}
