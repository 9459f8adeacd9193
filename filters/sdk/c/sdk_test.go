// Package csdk_test checks the C SDK (hookwire.h): testdata/probe.c,
// compiled with clang for wasm32 and run in wazero, must read documents
// as encoding/json reads them.
package csdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// probe is an instance of testdata/probe.c with a buffer for inputs.
type probe struct {
	mod  api.Module
	buf  uint32 // inputBytes from hw_alloc, reused by every call
	find api.Function
}

const inputBytes = 1 << 20

var (
	buildOnce sync.Once
	module    []byte
	buildErr  error
)

func newProbe(t testing.TB) *probe {
	t.Helper()
	buildOnce.Do(func() {
		out := filepath.Join(t.TempDir(), "probe.wasm")
		cmd := exec.Command("clang", "--target=wasm32", "-O2", "-nostdlib", "-Wall", "-Wextra", "-Werror",
			"-Wl,--no-entry", "-I", ".", "-o", out, "testdata/probe.c")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			module = b
			return
		}
		module, buildErr = os.ReadFile(out)
	})
	if buildErr != nil {
		t.Fatalf("clang testdata/probe.c: %v\n%s", buildErr, module)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, module)
	if err != nil {
		t.Fatal(err)
	}
	res, err := mod.ExportedFunction("hw_alloc").Call(ctx, inputBytes)
	if err != nil || res[0] == 0 {
		t.Fatalf("hw_alloc(%d): %v %v", inputBytes, res, err)
	}
	return &probe{mod: mod, buf: uint32(res[0]), find: mod.ExportedFunction("probe_find")}
}

// put writes the inputs one after another into the buffer (strings get a
// NUL) and returns where each starts.
func (p *probe) put(t testing.TB, inputs ...[]byte) []uint32 {
	t.Helper()
	at, offsets := p.buf, make([]uint32, len(inputs))
	for i, in := range inputs {
		if !p.mod.Memory().Write(at, in) || !p.mod.Memory().WriteByte(at+uint32(len(in)), 0) {
			t.Fatalf("inputs over %d bytes", inputBytes)
		}
		offsets[i] = at
		at += uint32(len(in)) + 1
	}
	return offsets
}

func (p *probe) call(t testing.TB, name string, args ...uint64) int64 {
	t.Helper()
	res, err := p.mod.ExportedFunction(name).Call(context.Background(), args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(res) == 0 {
		return 0
	}
	return int64(int32(res[0])) // i32 results; probe_text's i64 is read whole below
}

// found is what probe_find reports.
type found struct {
	status   int64 // 1 found, 0 absent, -1 malformed
	kind     int32
	raw      []byte // the value's bytes (a string's without its quotes)
	escaped  bool
	textLen  int64
	numberOK bool
	number   float64
}

// The C enum hw_kind.
const (
	kindAbsent = iota
	kindString
	kindNumber
	kindTrue
	kindFalse
	kindNull
	kindObject
	kindArray
)

func (p *probe) lookup(t testing.TB, doc []byte, path string) found {
	t.Helper()
	at := p.put(t, doc, []byte(path))
	f := found{status: p.call(t, "probe_find", uint64(at[0]), uint64(len(doc)), uint64(at[1]))}
	ptr := uint32(p.call(t, "probe_result"))
	r, ok := p.mod.Memory().Read(ptr, 40)
	if !ok {
		t.Fatal("probe_result out of memory")
	}
	f.kind = int32(binary.LittleEndian.Uint32(r[0:]))
	offset, n := binary.LittleEndian.Uint32(r[4:]), binary.LittleEndian.Uint32(r[8:])
	f.escaped = binary.LittleEndian.Uint32(r[12:]) != 0
	f.textLen = int64(binary.LittleEndian.Uint64(r[16:]))
	f.numberOK = binary.LittleEndian.Uint32(r[24:]) != 0
	f.number = math.Float64frombits(binary.LittleEndian.Uint64(r[32:]))
	if f.status == 1 {
		f.raw = doc[offset : offset+n]
	}
	return f
}

// text is the found string's decoded text through hw_text.
func (p *probe) text(t testing.TB, doc []byte, path string) (string, bool) {
	t.Helper()
	at := p.put(t, doc, []byte(path))
	dst := at[1] + uint32(len(path)) + 1
	res, err := p.mod.ExportedFunction("probe_text").Call(context.Background(),
		uint64(at[0]), uint64(len(doc)), uint64(at[1]), uint64(dst), uint64(inputBytes-(dst-p.buf)))
	if err != nil {
		t.Fatal(err)
	}
	n := int64(res[0])
	if n < 0 {
		return "", false
	}
	b, _ := p.mod.Memory().Read(dst, uint32(n))
	return string(b), true
}

// compare is probe_compare: op 0 equal, 1 prefix, 2 suffix, 3 contains.
func (p *probe) compare(t testing.TB, doc []byte, path string, op int, s string) int64 {
	t.Helper()
	at := p.put(t, doc, []byte(path), []byte(s))
	return p.call(t, "probe_compare", uint64(at[0]), uint64(len(doc)), uint64(at[1]), uint64(op), uint64(at[2]))
}

// reference finds path in doc as hw_find is documented to: member names
// decoded, a member named twice found at its first, a number stepping
// into an array. It uses encoding/json's tokenizer.
func reference(doc []byte, path string) (json.RawMessage, bool) {
	cur := json.RawMessage(bytes.TrimSpace(doc))
	for _, seg := range strings.Split(path, ".") {
		if len(cur) == 0 || (cur[0] != '{' && cur[0] != '[') {
			return nil, false
		}
		index := -1
		if cur[0] == '[' {
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || len(seg) > 9 || strings.TrimLeft(seg, "0123456789") != "" {
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
			if match && !hit {
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

// agree checks hw_find and everything read from what it found against
// the reference, for a valid document.
func agree(t *testing.T, p *probe, doc []byte, path string, needles ...string) {
	t.Helper()
	got := p.lookup(t, doc, path)
	want, ok := reference(doc, path)
	if !ok {
		if got.status != 0 {
			t.Fatalf("%s in %s: status %d (kind %d %q), want absent", path, doc, got.status, got.kind, got.raw)
		}
		return
	}
	if got.status != 1 {
		t.Fatalf("%s in %s: status %d, want %s", path, doc, got.status, want)
	}
	var value any
	dec := json.NewDecoder(bytes.NewReader(want))
	dec.UseNumber()
	if err := dec.Decode(&value); err != nil {
		t.Fatal(err)
	}
	switch v := value.(type) {
	case string:
		if got.kind != kindString {
			t.Fatalf("%s in %s: kind %d, want a string", path, doc, got.kind)
		}
		if string(got.raw) != string(want[1:len(want)-1]) || got.escaped != bytes.ContainsRune(want, '\\') {
			t.Fatalf("%s in %s: raw %q escaped %v, want %s", path, doc, got.raw, got.escaped, want)
		}
		text, ok := p.text(t, doc, path)
		if !ok || text != v || got.textLen != int64(len(v)) {
			t.Fatalf("%s in %s: text %q (%v, length %d), want %q", path, doc, text, ok, got.textLen, v)
		}
		for _, s := range needles {
			if strings.IndexByte(s, 0) >= 0 {
				continue
			}
			for op, want := range []bool{v == s, strings.HasPrefix(v, s), strings.HasSuffix(v, s), strings.Contains(v, s)} {
				if r := p.compare(t, doc, path, op, s); r != b2i(want) {
					t.Fatalf("%s in %s: comparison %d with %q = %d, want %v (text %q)", path, doc, op, s, r, want, v)
				}
			}
		}
	case json.Number:
		want, _ := strconv.ParseFloat(string(v), 64) // ±Inf past a double's range, as hw_number reads it
		close := got.number == want || !math.IsInf(want, 0) && math.Abs(got.number-want) <= 1e-13*math.Abs(want)+1e-300
		if got.kind != kindNumber || !got.numberOK || !close {
			t.Fatalf("%s in %s: kind %d number %v (%v), want %s = %v", path, doc, got.kind, got.number, got.numberOK, v, want)
		}
	default:
		wantKind := map[string]int32{"true": kindTrue, "false": kindFalse, "null": kindNull}[string(want)]
		switch value.(type) {
		case map[string]any:
			wantKind = kindObject
		case []any:
			wantKind = kindArray
		}
		if got.kind != wantKind || string(got.raw) != string(want) {
			t.Fatalf("%s in %s: kind %d %q, want kind %d %s", path, doc, got.kind, got.raw, wantKind, want)
		}
	}
	if got.kind != kindString {
		if got.textLen != -1 || p.compare(t, doc, path, 0, string(got.raw)) != 0 {
			t.Fatalf("%s in %s: a %d read as text", path, doc, got.kind)
		}
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// event is an event as hookwire hands it to a filter (filters/ABI.md).
const event = `{"id":"e-1","session_id":"s-123","type":"custom","name":"Checkout \"Error\"","timestamp":"2026-11-27T12:00:00.123Z",` +
	`"url":"https://shop.example/caf\u00e9/cart?a=1\u0026b=2","properties":{"price":42.5,"qty":3,"big":1e300,"tiny":-2.5E-7,"ok":true,"no":false,"gone":null,` +
	`"url":"https://elsewhere/pricing","items":[{"sku":"A-1"},{"sku":"B\\2"},[1,2,[3]]],"nested":{"a":{"b":{"c":"deep"}}},"emoji":"\ud83d\ude00!","lone":"\ud800x",` +
	`"q\"uote":"named with a quote","":"empty name","path.with.dots":"unreachable"},"user":{"uid":"u-42","email":"a@example.com","display_name":"Zoë","properties":{}}}`

func TestFindReadsWhatEncodingJSONReads(t *testing.T) {
	p := newProbe(t)
	doc := []byte(event)
	for _, path := range []string{
		"id", "type", "name", "timestamp", "url", "properties", "user", "user.uid", "user.email",
		"user.display_name", "user.properties", "properties.price", "properties.qty", "properties.big",
		"properties.tiny", "properties.ok", "properties.no", "properties.gone", "properties.url",
		"properties.items", "properties.items.0", "properties.items.0.sku", "properties.items.1.sku",
		"properties.items.2", "properties.items.2.2.0", "properties.items.3", "properties.items.x",
		"properties.nested.a.b.c", "properties.nested.a.b.c.d", "properties.emoji", "properties.lone",
		`properties.q"uote`, "properties.", "properties.missing", "missing", "user.uid.more", "type.x",
	} {
		agree(t, p, doc, path, "", "c", "Checkout", `"Error"`, "u-42", "https://", "café", "/cart", "\U0001F600", "!", "\ufffdx", "deep", "A-1", `B\2`)
	}
	// A document whose members have spaces around them, and a member named twice.
	agree(t, p, []byte(" { \"a\" : [ 1 , { \"b\" : \"x\" } ] , \"a\" : 2 } "), "a.1.b", "x")
	agree(t, p, []byte(`{"a":1,"a":2}`), "a")
}

// TestFindRefusesWhatIsNotJSON: a document that ends inside a value is
// malformed (-1), never read past its end.
func TestFindRefusesWhatIsNotJSON(t *testing.T) {
	p := newProbe(t)
	for _, tc := range []struct{ doc, path string }{
		{``, "a"}, {`{"a":"unterminated`, "a"}, {`{"a":[1,2`, "a"}, {`{"a" 1}`, "a"},
		{`{"b":1 "a":2}`, "a"}, {`{"a":"x\`, "a"}, {`{1:2}`, "a"}, {`{"a":}`, "a"}, {`nonsense`, "a"},
	} {
		if got := p.lookup(t, []byte(tc.doc), tc.path); got.status != -1 {
			t.Errorf("%s in %q: status %d (kind %d), want -1", tc.path, tc.doc, got.status, got.kind)
		}
	}
}

func FuzzFindAgreesWithEncodingJSON(f *testing.F) {
	f.Add([]byte(event), "properties.items.1.sku", "B")
	f.Add([]byte(`{"a\u0062":"\u00e9\n"}`), "ab", "é")
	f.Add([]byte(`[0,{"x":-0.0e-5}]`), "1.x", "")
	p := newProbe(f)
	f.Fuzz(func(t *testing.T, doc []byte, path, needle string) {
		// Sizes a filter meets: an event of up to 64 KiB, a needle from a
		// config (the search is the plain one, time in the product of the
		// two lengths).
		if len(doc) > 64<<10 || len(needle) > 256 || !json.Valid(doc) || !utf8.Valid(doc) ||
			strings.IndexByte(path, 0) >= 0 {
			return
		}
		agree(t, p, doc, path, needle)
	})
}
