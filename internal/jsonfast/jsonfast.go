// Package jsonfast appends JSON that encoding/json would write, byte for
// byte, for the values hookwire encodes on hot paths (a webhook's
// delivery record, an event for a custom filter), without reflection or
// re-validating raw messages, and says when a value is one encoding/json
// would refuse. It writes objects of strings, integers, times and raw
// JSON; it is not a general encoder.
package jsonfast

import (
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// appendString appends s quoted as encoding/json writes a string (with
// its HTML escaping): '"' and '\\' escaped, control characters as \b, \f,
// \n, \r, \t or \u00XX, '<', '>' and '&' as \u003c, \u003e and \u0026,
// U+2028 and U+2029 as \u2028 and \u2029, and each byte that is not
// valid UTF-8 as \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendCompact appends raw, a valid JSON text, as encoding/json writes a
// raw message: whitespace outside strings dropped, '<', '>', '&', U+2028
// and U+2029 escaped as in appendString. raw is not validated: callers
// pass JSON that encoding/json or hookwire's decoder checked.
func appendCompact(dst, raw []byte) []byte {
	start, inString := 0, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, raw[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			start = i + 1
		case c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && raw[i+2]&^1 == 0xA8:
			dst = append(dst, raw[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[raw[i+2]&0xF])
			i += 2
			start = i + 1
		case inString && c == '\\':
			i++ // the escaped byte cannot end the string
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			dst = append(dst, raw[start:i]...)
			start = i + 1
		}
	}
	return append(dst, raw[start:]...)
}

// Writer appends one object's members to Buf; OK turns false at a value
// encoding/json would refuse (a time it cannot write), after which what
// Buf holds is not to be used.
type Writer struct {
	Buf []byte
	OK  bool
}

// NewWriter starts an object on buf.
func NewWriter(buf []byte) Writer { return Writer{Buf: append(buf, '{'), OK: true} }

// member writes the member's name (with its comma after the first);
// names are the caller's field names, plain ASCII.
func (w *Writer) member(name string) {
	w.comma()
	w.Buf = append(w.Buf, '"')
	w.Buf = append(w.Buf, name...)
	w.Buf = append(w.Buf, '"', ':')
}

// Key writes a map key (escaped as any string) for the value written
// next with Value, ValueObject or ValueBytes.
func (w *Writer) Key(k string) {
	w.comma()
	w.Buf = appendString(w.Buf, k)
	w.Buf = append(w.Buf, ':')
}

// ValueObject starts an object after Key, which End closes.
func (w *Writer) ValueObject() { w.Buf = append(w.Buf, '{') }

// ValueBytes writes b after Key as encoding/json writes a []byte: its
// standard base64 in quotes.
func (w *Writer) ValueBytes(b []byte) {
	w.Buf = append(w.Buf, '"')
	w.Buf = base64.StdEncoding.AppendEncode(w.Buf, b)
	w.Buf = append(w.Buf, '"')
}

// ValueTime writes t after Key, as Time does.
func (w *Writer) ValueTime(t time.Time) { w.appendTime(t) }

// String writes name: v; with omitEmpty, nothing when v is "".
func (w *Writer) String(name, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	w.member(name)
	w.Buf = appendString(w.Buf, v)
}

// Time writes name: t as time.Time.MarshalJSON does, or turns OK false
// where MarshalJSON fails (its own checks: a four-digit year, a zone
// offset under 24 hours).
func (w *Writer) Time(name string, t time.Time) {
	w.member(name)
	w.appendTime(t)
}

func (w *Writer) appendTime(t time.Time) {
	w.Buf = append(w.Buf, '"')
	start := len(w.Buf)
	w.Buf = t.AppendFormat(w.Buf, time.RFC3339Nano)
	stamp := w.Buf[start:]
	if stamp[len("9999")] != '-' {
		w.OK = false
	} else if stamp[len(stamp)-1] != 'Z' {
		sign, hour := stamp[len(stamp)-len("Z07:00")], stamp[len(stamp)-len("07:00"):]
		if '0' <= sign && sign <= '9' || 10*(hour[0]-'0')+hour[1]-'0' >= 24 {
			w.OK = false
		}
	}
	w.Buf = append(w.Buf, '"')
}

// Raw writes name: raw, a valid JSON text, compacted (appendCompact);
// with omitEmpty, nothing when raw is empty.
func (w *Writer) Raw(name string, raw []byte, omitEmpty bool) {
	if omitEmpty && len(raw) == 0 {
		return
	}
	w.member(name)
	w.Buf = appendCompact(w.Buf, raw)
}

// Int writes name: n.
func (w *Writer) Int(name string, n int64) {
	w.member(name)
	w.Buf = strconv.AppendInt(w.Buf, n, 10)
}

// Uint writes name: n.
func (w *Writer) Uint(name string, n uint64) {
	w.member(name)
	w.Buf = strconv.AppendUint(w.Buf, n, 10)
}

// ValueNull writes null after Key.
func (w *Writer) ValueNull() { w.Buf = append(w.Buf, "null"...) }

// Null writes name: null.
func (w *Writer) Null(name string) {
	w.member(name)
	w.Buf = append(w.Buf, "null"...)
}

// Object writes name and starts a nested object, which End closes.
func (w *Writer) Object(name string) {
	w.member(name)
	w.Buf = append(w.Buf, '{')
}

// Array writes name and starts an array, which EndArray closes; Element
// starts each of its objects, which End closes.
func (w *Writer) Array(name string) {
	w.member(name)
	w.Buf = append(w.Buf, '[')
}

// Element starts an object in the array being written.
func (w *Writer) Element() {
	w.comma()
	w.Buf = append(w.Buf, '{')
}

// End closes the innermost object.
func (w *Writer) End() { w.Buf = append(w.Buf, '}') }

// EndArray closes the innermost array.
func (w *Writer) EndArray() { w.Buf = append(w.Buf, ']') }

func (w *Writer) comma() {
	if last := w.Buf[len(w.Buf)-1]; last != '{' && last != '[' {
		w.Buf = append(w.Buf, ',')
	}
}
