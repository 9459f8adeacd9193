package hookwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Raw is an event as hookwire hands it to a filter (or a config), JSON
// read where it lies: Find looks a member up without decoding the rest,
// as the C and AssemblyScript SDKs do. A filter that reads a few fields of
// each event pays a fraction of what decoding an Event costs (Handle):
// in a Wasm guest each allocation is ~0.2 µs, and an Event is six.
//
// The bytes are hookwire's input buffer, reused for the next event: a Raw
// and the Values found in it are valid during the call only (Text copies).
type Raw []byte

// HandleRaw registers the filter's decision on the raw event, in place of
// Handle. Call it from init.
func HandleRaw(match func(e Raw) bool) { matchRawFn = match }

var matchRawFn func(Raw) bool

// Kind is what a Value holds.
type Kind int

const (
	Absent    Kind = iota // the path is not there (or leads through a scalar)
	String                // a string: Text, Equal, HasPrefix, HasSuffix, Contains
	Number                // a number: Number
	True                  // true
	False                 // false
	Null                  // null
	Object                // an object: Find on its Raw
	Array                 // an array: Find with an index ("items.0")
	Malformed             // the document is broken on the way
)

// Value is a JSON value where it lies in the document.
type Value struct {
	Kind Kind
	// raw is a string's bytes between its quotes (escapes as written), or
	// the whole value for the other kinds.
	raw     []byte
	escaped bool
}

// Found reports whether the lookup found a value.
func (v Value) Found() bool { return v.Kind != Absent && v.Kind != Malformed }

// Raw is the value's JSON text (a string's without its quotes, escapes as
// written); an Object's or Array's can be searched with Find.
func (v Value) Raw() Raw { return Raw(v.raw) }

// Text is a string value's text, escapes decoded (a copy); false when the
// value is not a string.
func (v Value) Text() (string, bool) {
	if v.Kind != String {
		return "", false
	}
	if v.plain() {
		return string(v.raw), true
	}
	// A string with escapes or bytes that are not UTF-8: the decoder's
	// reading, as encoding/json's (U+FFFD for what is not UTF-8).
	quoted := make([]byte, 0, len(v.raw)+2)
	quoted = append(append(append(quoted, '"'), v.raw...), '"')
	d := decoder{b: quoted, text: string(quoted)}
	s, err := d.str()
	return s, err == nil
}

// plain is whether a string value's bytes are its text.
func (v Value) plain() bool { return !v.escaped && utf8.Valid(v.raw) }

// Equal, HasPrefix, HasSuffix and Contains compare a string value's text
// with s (false when the value is not a string); a string without escapes
// is compared where it lies, without a copy.
func (v Value) Equal(s string) bool {
	return v.compare(s, func(t []byte) bool { return string(t) == s }, func(t string) bool { return t == s })
}

func (v Value) HasPrefix(s string) bool {
	return v.compare(s, func(t []byte) bool { return bytes.HasPrefix(t, []byte(s)) },
		func(t string) bool { return strings.HasPrefix(t, s) })
}

func (v Value) HasSuffix(s string) bool {
	return v.compare(s, func(t []byte) bool { return bytes.HasSuffix(t, []byte(s)) },
		func(t string) bool { return strings.HasSuffix(t, s) })
}

func (v Value) Contains(s string) bool {
	return v.compare(s, func(t []byte) bool { return bytes.Contains(t, []byte(s)) },
		func(t string) bool { return strings.Contains(t, s) })
}

func (v Value) compare(s string, inPlace func([]byte) bool, decoded func(string) bool) bool {
	if v.Kind != String {
		return false
	}
	if v.plain() {
		return inPlace(v.raw)
	}
	t, ok := v.Text()
	return ok && decoded(t)
}

// Number is a number value as a float64 (±Inf past its range); false when
// the value is not a number.
func (v Value) Number() (float64, bool) {
	if v.Kind != Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v.raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// Find looks up a path of member names separated by dots ("type",
// "properties.price", "user.email"; a number steps into an array:
// "properties.items.0.sku"). Member names are compared with their escapes
// decoded; of a member named twice the last counts, as in encoding/json,
// JSON.parse and hookwire's triggers. The walk stops at the member it
// wants (over the bytes before it, and over the found value only to know
// where it ends) unless its name may come again (mayRepeat): then at the
// end of its object.
func (r Raw) Find(path string) Value {
	j := r[space(r, 0):]
	if len(j) > 0 && j[0] != '{' && j[0] != '[' {
		if _, end := rawValue(j, 0); end < 0 {
			return Value{Kind: Malformed}
		}
		return Value{Kind: Absent}
	}
	for {
		seg, rest, more := strings.Cut(path, ".")
		if len(j) == 0 {
			return Value{Kind: Malformed}
		}
		if j[0] != '{' && j[0] != '[' {
			return Value{Kind: Absent}
		}
		object := j[0] == '{'
		index := -1
		if !object {
			if len(seg) == 0 || len(seg) > 9 {
				return Value{Kind: Absent}
			}
			index = 0
			for i := 0; i < len(seg); i++ {
				if seg[i] < '0' || seg[i] > '9' {
					return Value{Kind: Absent}
				}
				index = index*10 + int(seg[i]-'0')
			}
		}
		closing := byte('}')
		if !object {
			closing = ']'
		}
		found := -1 // where the value of the last member matched starts
		k := space(j, 1)
		if k < len(j) && j[k] == closing {
			return Value{Kind: Absent}
		}
		for at := 0; ; at++ {
			match := at == index
			if object {
				name, next := rawValue(j, k)
				if next < 0 || name.Kind != String {
					return Value{Kind: Malformed}
				}
				if name.escaped {
					text, ok := name.Text()
					match = ok && text == seg
				} else {
					match = string(name.raw) == seg
				}
				if k = space(j, next); k >= len(j) || j[k] != ':' {
					return Value{Kind: Malformed}
				}
				k++
			}
			if match {
				found = k
				if !object || !mayRepeat(j[k:], seg) {
					break
				}
			}
			_, next := rawValue(j, k)
			if next < 0 {
				return Value{Kind: Malformed}
			}
			if k = space(j, next); k < len(j) && j[k] == ',' {
				k++
				continue
			}
			if k < len(j) && j[k] == closing {
				if found < 0 {
					return Value{Kind: Absent}
				}
				break
			}
			return Value{Kind: Malformed}
		}
		if !more {
			v, end := rawValue(j, found)
			if end < 0 {
				return Value{Kind: Malformed}
			}
			return v
		}
		j, path = j[space(j, found):], rest
	}
}

func space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// rawValue reads the value at b[i] (after space) and returns it and the
// index past it, or -1 when the document ends inside it or holds no value
// there. It steps over an object or array by counting brackets outside
// strings, so nesting costs no stack: it trusts what it skips to be well
// formed, as what hookwire writes is.
func rawValue(b []byte, i int) (Value, int) {
	i = space(b, i)
	if i >= len(b) {
		return Value{}, -1
	}
	start, c := i, b[i]
	switch {
	case c == '"':
		escaped := false
		for i++; i < len(b); i++ {
			i = skipPlainWords(b, i)
			if i >= len(b) {
				break
			}
			switch b[i] {
			case '\\':
				escaped = true
				i++
			case '"':
				return Value{Kind: String, raw: b[start+1 : i], escaped: escaped}, i + 1
			}
		}
		return Value{}, -1
	case c == '{' || c == '[':
		depth := 0
		for ; i < len(b); i++ {
			switch d := b[i]; {
			case d == '"':
				for i++; i < len(b) && b[i] != '"'; i++ {
					if b[i] == '\\' {
						i++
					}
				}
				if i >= len(b) {
					return Value{}, -1
				}
			case d == '{' || d == '[':
				depth++
			case d == '}' || d == ']':
				if depth--; depth == 0 {
					kind := Object
					if c == '[' {
						kind = Array
					}
					return Value{Kind: kind, raw: b[start : i+1]}, i + 1
				}
			}
		}
		return Value{}, -1
	}
	for _, w := range [...]struct {
		word string
		kind Kind
	}{{"true", True}, {"false", False}, {"null", Null}} {
		if bytes.HasPrefix(b[i:], []byte(w.word)) {
			return Value{Kind: w.kind, raw: b[i : i+len(w.word)]}, i + len(w.word)
		}
	}
	if c == '-' || '0' <= c && c <= '9' {
		for i < len(b) && (b[i] == '-' || b[i] == '+' || b[i] == '.' || b[i] == 'e' || b[i] == 'E' || '0' <= b[i] && b[i] <= '9') {
			i++
		}
		return Value{Kind: Number, raw: b[start:i]}, i
	}
	return Value{}, -1
}

// mayRepeat reports whether a member named name could come again in rest,
// the document after the one found: the name's bytes or an escape are
// there. Most lookups find neither and stop at the member they found; the
// others walk on to the object's end for the last of that name. Eight
// places a step, each tested for a backslash and for the name's first two
// bytes (a letter alone is in most words of text).
func mayRepeat(rest []byte, name string) bool {
	if len(name) == 0 {
		return true
	}
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	second := name[0]
	if len(name) > 1 {
		second = name[1]
	}
	backslashes, firsts, seconds := uint64(ones*'\\'), ones*uint64(name[0]), ones*uint64(second)
	i := 0
	for i < len(rest) {
		for ; i+9 <= len(rest); i += 8 {
			w, next := binary.LittleEndian.Uint64(rest[i:]), binary.LittleEndian.Uint64(rest[i+1:])
			b, f := w^backslashes, w^firsts
			if len(name) > 1 {
				f |= next ^ seconds
			}
			if ((b-ones)&^b|(f-ones)&^f)&highs != 0 {
				break
			}
		}
		for stop := min(i+8, len(rest)); i < stop; i++ {
			if rest[i] == '\\' || bytes.HasPrefix(rest[i:], []byte(name)) {
				return true
			}
		}
	}
	return false
}
