package session

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookwire/hookwire/filters"
)

// walk is the reference: decode everything, then follow the path.
func walk(raw []byte, path []string) filters.Value {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return filters.Value{}
	}
	for _, key := range path {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[key]
			if !ok {
				return filters.Value{}
			}
			v = next
		case []any:
			i, ok := arrayIndex(key, len(node))
			if !ok {
				return filters.Value{}
			}
			v = node[i]
		default:
			return filters.Value{}
		}
	}
	switch x := v.(type) {
	case nil:
		return filters.Value{Kind: filters.KindNull}
	case bool:
		if x {
			return filters.Value{Kind: filters.KindTrue}
		}
		return filters.Value{Kind: filters.KindFalse}
	case float64:
		return filters.Value{Kind: filters.KindNumber, Num: x}
	case string:
		return filters.Value{Kind: filters.KindString, Str: x}
	case map[string]any:
		return filters.Value{Kind: filters.KindObject}
	case []any:
		return filters.Value{Kind: filters.KindArray}
	}
	return filters.Value{}
}

func TestLookupRaw(t *testing.T) {
	raw := []byte(`{"a":1,"s":"x\"y\u00e9","nested":{"b":[10,{"c":true},null],"k\\ey":"esc"},"a":2,"empty":{},"arr":[],` +
		`"ab":1,"a\u0062":2,"cd":1,"x":{"cd":5},"ef":1,"gh":"ef"}`)
	// Duplicate keys: the last wins, also when it is spelled with an
	// escape ("a\u0062") or the key's text appears later inside a value.
	for _, path := range []string{"a", "s", "nested.b.0", "nested.b.1.c", "nested.b.2", "nested.b.3", "nested.k\\ey",
		"nested", "empty", "arr", "missing", "a.b", "nested.b.x", "nested.b.-1", "ab", "cd", "ef", "gh", "x.cd"} {
		segs := strings.Split(path, ".")
		if got, want := lookupRaw(raw, segs), walk(raw, segs); got != want {
			t.Errorf("%s: %+v, want %+v", path, got, want)
		}
	}
}

// FuzzLookupRaw: the raw walker agrees with decoding everything, on any
// compact JSON object (ingest compacts properties) and any path.
func FuzzLookupRaw(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,"two",{"c":null}]},"d":"e"}`), "a.b.2.c")
	f.Add([]byte(`{"x":"\u263a","y":[true,false]}`), "y.1")
	f.Add([]byte(`{"":{"":1}}`), ".")
	f.Add([]byte(`{"ab":1,"a\u0062":2,"x":{"ab":3}}`), "ab")
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		var v any
		if json.Unmarshal(doc, &v) != nil {
			return
		}
		if _, ok := v.(map[string]any); !ok {
			return
		}
		compact, _ := json.Marshal(v) // valid, compact, like stored properties
		segs := strings.Split(path, ".")
		if got, want := lookupRaw(compact, segs), walk(compact, segs); got != want {
			t.Fatalf("%s in %s: %+v, want %+v", path, compact, got, want)
		}
		// The document as it came, when already compact: duplicate keys
		// and escapes survive there (ingest keeps properties' bytes, made
		// valid UTF-8: a key with an invalid byte is compared as ingest
		// stores it, with U+FFFD, which decoding the whole does too).
		var buf bytes.Buffer
		if json.Compact(&buf, doc) == nil && bytes.Equal(buf.Bytes(), doc) && utf8.Valid(doc) {
			if got, want := lookupRaw(doc, segs), walk(doc, segs); got != want {
				t.Fatalf("%s in %s: %+v, want %+v", path, doc, got, want)
			}
		}
	})
}

// BenchmarkLookupRaw reads the fields the standard catalogue's streams
// read from the harness's properties.
func BenchmarkLookupRaw(b *testing.B) {
	raw := []byte(`{"target_text":"Add to cart","price":19.99,"sku":"SKU-4242","position":17}`)
	for _, key := range []string{"target_text", "price"} {
		b.Run(key, func(b *testing.B) {
			path := []string{key}
			for b.Loop() {
				if v := lookupRaw(raw, path); v.Kind == filters.KindNull {
					b.Fatal(v)
				}
			}
		})
	}
}
