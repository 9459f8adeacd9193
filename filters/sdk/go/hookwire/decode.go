package hookwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeEvent reads an event as json.Unmarshal into an Event does, without
// it: in a wasip1 guest encoding/json's scanner, a function call per byte,
// took ~420 µs for a 300-byte event (json.Valid alone ~120 µs): the Go
// example cost thirty times the C one. This reads the bytes in plain
// loops. It refuses what json.Unmarshal would fail on (malformed JSON, a
// member of the wrong type, a number out of float64's range); member names
// match the fields exactly or, as encoding/json's do, case-insensitively.
func decodeEvent(data []byte) (Event, error) {
	d := decoder{b: data}
	var e Event
	if !d.null() { // null leaves the event as it is, as json.Unmarshal does
		if err := d.object(func(name string) error { return d.eventMember(&e, name) }); err != nil {
			return Event{}, err
		}
	}
	if d.space(); d.i != len(d.b) {
		return Event{}, errSyntax
	}
	if d.typeErr != nil {
		return Event{}, d.typeErr
	}
	return e, nil
}

var (
	errSyntax = errors.New("hookwire: the event is not valid JSON")
	errType   = errors.New("hookwire: an event member has the wrong type")
	errRange  = errors.New("hookwire: a number is out of float64's range")
)

type decoder struct {
	b []byte
	i int
	// typeErr is the first member of the wrong type (or time or number
	// out of range): json.Unmarshal reads the rest and then fails, so the
	// decoder does too.
	typeErr error
}

func (d *decoder) eventMember(e *Event, name string) error {
	switch {
	case fold(name, "id"):
		return d.stringInto(&e.ID)
	case fold(name, "session_id"):
		return d.stringInto(&e.SessionID)
	case fold(name, "type"):
		return d.stringInto(&e.Type)
	case fold(name, "name"):
		return d.stringInto(&e.Name)
	case fold(name, "url"):
		return d.stringInto(&e.URL)
	case fold(name, "timestamp"):
		return d.timeInto(&e.Timestamp)
	case fold(name, "properties"):
		return d.mapInto(&e.Properties)
	case fold(name, "user"):
		if d.null() {
			e.User = nil
			return nil
		}
		if d.peek() != '{' {
			return d.wrongType()
		}
		if e.User == nil {
			e.User = &User{}
		}
		u := e.User
		return d.object(func(name string) error {
			switch {
			case fold(name, "uid"):
				return d.stringInto(&u.UID)
			case fold(name, "email"):
				return d.stringInto(&u.Email)
			case fold(name, "display_name"):
				return d.stringInto(&u.DisplayName)
			case fold(name, "properties"):
				return d.mapInto(&u.Properties)
			}
			return d.skip()
		})
	}
	return d.skip()
}

// skip steps over a member no field takes: json.Unmarshal only checks its
// syntax (a number out of range there is no error).
func (d *decoder) skip() error {
	noted := d.typeErr
	_, err := d.value()
	d.typeErr = noted
	return err
}

// fold reports whether a member name matches a field's, as encoding/json
// matches them: exactly, or equal under Unicode case folding.
func fold(name, field string) bool { return name == field || strings.EqualFold(name, field) }

func (d *decoder) space() {
	for d.i < len(d.b) && (d.b[d.i] == ' ' || d.b[d.i] == '\t' || d.b[d.i] == '\n' || d.b[d.i] == '\r') {
		d.i++
	}
}

func (d *decoder) peek() byte {
	d.space()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) null() bool {
	if d.peek() == 'n' && bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// wrongType notes a member of the wrong type and steps over its value.
func (d *decoder) wrongType() error {
	if d.typeErr == nil {
		d.typeErr = errType
	}
	_, err := d.value()
	return err
}

func (d *decoder) stringInto(dst *string) error {
	if d.null() {
		return nil
	}
	if d.peek() != '"' {
		return d.wrongType()
	}
	s, err := d.str()
	*dst = s
	return err
}

func (d *decoder) timeInto(dst *time.Time) error {
	if d.null() {
		return nil
	}
	if d.peek() != '"' {
		return d.wrongType()
	}
	start := d.i
	if _, err := d.str(); err != nil {
		return err
	}
	if err := dst.UnmarshalJSON(d.b[start:d.i]); err != nil && d.typeErr == nil {
		d.typeErr = err
	}
	return nil
}

func (d *decoder) mapInto(dst *map[string]any) error {
	if d.null() {
		*dst = nil
		return nil
	}
	if d.peek() != '{' {
		return d.wrongType()
	}
	if *dst == nil {
		*dst = map[string]any{}
	}
	m := *dst
	return d.object(func(name string) error {
		v, err := d.value()
		m[name] = v
		return err
	})
}

// object reads the object at the cursor, calling member with each name
// and the cursor on its value, which member must read.
func (d *decoder) object(member func(name string) error) error {
	if d.peek() != '{' {
		return errSyntax
	}
	d.i++
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		if d.peek() != '"' {
			return errSyntax
		}
		name, err := d.str()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return errSyntax
		}
		d.i++
		if err := member(name); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// value reads any value as encoding/json reads it into an interface:
// string, float64, bool, nil, []any or map[string]any.
func (d *decoder) value() (any, error) {
	switch c := d.peek(); {
	case c == '"':
		return d.str()
	case c == '{':
		m := map[string]any{}
		err := d.object(func(name string) error {
			v, err := d.value()
			m[name] = v
			return err
		})
		return m, err
	case c == '[':
		d.i++
		list := []any{}
		if d.peek() == ']' {
			d.i++
			return list, nil
		}
		for {
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			switch d.peek() {
			case ',':
				d.i++
			case ']':
				d.i++
				return list, nil
			default:
				return nil, errSyntax
			}
		}
	case c == 't' && bytes.HasPrefix(d.b[d.i:], []byte("true")):
		d.i += 4
		return true, nil
	case c == 'f' && bytes.HasPrefix(d.b[d.i:], []byte("false")):
		d.i += 5
		return false, nil
	case d.null():
		return nil, nil
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	return nil, errSyntax
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? as float64.
func (d *decoder) number() (any, error) {
	start := d.i
	digits := func() bool {
		from := d.i
		for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
			d.i++
		}
		return d.i > from
	}
	if d.b[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if !digits() {
		return nil, errSyntax
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if !digits() {
			return nil, errSyntax
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if !digits() {
			return nil, errSyntax
		}
	}
	f, err := strconv.ParseFloat(string(d.b[start:d.i]), 64)
	if err != nil && d.typeErr == nil {
		d.typeErr = errRange
	}
	return f, nil
}

// str reads the string at the cursor with its escapes decoded; as
// encoding/json does, a byte that is not UTF-8 and a lone surrogate each
// read as U+FFFD.
func (d *decoder) str() (string, error) {
	d.i++ // the opening quote
	start := d.i
	for d.i < len(d.b) {
		d.i = skipPlainWords(d.b, d.i)
		if d.i == len(d.b) {
			break
		}
		c := d.b[d.i]
		if c == '"' {
			if s := d.b[start:d.i]; utf8.Valid(s) {
				d.i++
				return string(s), nil
			}
			break
		}
		if c == '\\' || c < 0x20 {
			break
		}
		d.i++
	}
	// Escapes, controls or bytes that are not UTF-8: decoded from start.
	var b []byte
	for i := start; i < len(d.b); {
		c := d.b[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(b), nil
		case c < 0x20:
			return "", errSyntax
		case c == '\\':
			if i+1 >= len(d.b) {
				return "", errSyntax
			}
			switch e := d.b[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(d.b[i+2:])
				if !ok {
					return "", errSyntax
				}
				i += 4
				if utf16.IsSurrogate(r) {
					if low, ok := hex4(d.b[min(i+4, len(d.b)):]); ok && i+2 < len(d.b) && d.b[i+2] == '\\' && d.b[i+3] == 'u' {
						if pair := utf16.DecodeRune(r, low); pair != utf8.RuneError {
							r = pair
							i += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", errSyntax
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.b[i:])
			b = utf8.AppendRune(b, r) // RuneError for a byte that is not UTF-8
			i += size
		}
	}
	return "", errSyntax
}

// skipPlainWords returns the index of the first byte at or after i that
// is a quote, a backslash or below 0x20, or of the first of the last fewer
// than eight bytes (bytes of 0x80 and up are stepped over: str checks the
// string is UTF-8 at its end). It reads eight bytes as one word and flags
// each such byte in its top bit (a flag can be wrong only above a right
// one: a borrow carries upward). In a Wasm guest every loop step costs the
// host's deadline check and Go's own dispatch. (engine/ingest's decoder
// does the same; a filter cannot import the engine.)
func skipPlainWords(b []byte, i int) int {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := w^(ones*'"'), w^(ones*'\\')
		if flags := ((w - ones*0x20) | (quote - ones) | (backslash - ones)) &^ w & high; flags != 0 {
			return i + bits.TrailingZeros64(flags)/8
		}
	}
	return i
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
