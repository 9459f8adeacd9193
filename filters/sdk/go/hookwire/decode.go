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
//
// A Go guest pays dearly for each allocation (~0.2 µs in a wasip1 guest,
// a fifth of the C example's whole call), so the event's bytes are copied
// into one string and every string without escapes is a piece of it.
func decodeEvent(data []byte) (Event, error) {
	d := decoder{b: data, text: string(data)}
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
	// text is b as a string: a string without escapes is a piece of it.
	text string
	i    int
	// typeErr is the first member of the wrong type (or time or number
	// out of range): json.Unmarshal reads the rest and then fails, so the
	// decoder does too.
	typeErr error
}

func (d *decoder) eventMember(e *Event, name string) error {
	switch name {
	case "id":
		return d.stringInto(&e.ID)
	case "session_id":
		return d.stringInto(&e.SessionID)
	case "type":
		return d.stringInto(&e.Type)
	case "name":
		return d.stringInto(&e.Name)
	case "url":
		return d.stringInto(&e.URL)
	case "timestamp":
		return d.timeInto(&e.Timestamp)
	case "properties":
		return d.mapInto(&e.Properties)
	case "user":
		return d.userInto(&e.User)
	}
	if field := folded(name, eventFields); field != "" {
		return d.eventMember(e, field)
	}
	return d.skip()
}

func (d *decoder) userInto(dst **User) error {
	if d.null() {
		*dst = nil
		return nil
	}
	if d.peek() != '{' {
		return d.wrongType()
	}
	if *dst == nil {
		*dst = &User{}
	}
	u := *dst
	return d.object(func(name string) error { return d.userMember(u, name) })
}

func (d *decoder) userMember(u *User, name string) error {
	switch name {
	case "uid":
		return d.stringInto(&u.UID)
	case "email":
		return d.stringInto(&u.Email)
	case "display_name":
		return d.stringInto(&u.DisplayName)
	case "properties":
		return d.mapInto(&u.Properties)
	}
	if field := folded(name, userFields); field != "" {
		return d.userMember(u, field)
	}
	return d.skip()
}

// The members an Event and a User take, by their JSON names.
var (
	eventFields = []string{"id", "session_id", "type", "name", "url", "timestamp", "properties", "user"}
	userFields  = []string{"uid", "email", "display_name", "properties"}
)

// folded returns the field a member name matches as encoding/json matches
// names that are not exactly a field's (equal under Unicode case
// folding), or "" for none. Exact names, all hookwire sends, never get
// here: strings.EqualFold tried against each field in turn had been a
// third of the Go example's call in a guest.
func folded(name string, fields []string) string {
	for _, f := range fields {
		if strings.EqualFold(name, f) {
			return f
		}
	}
	return ""
}

// skip steps over a member no field takes: json.Unmarshal only checks its
// syntax (a number out of range there is no error).
// Nothing is kept: allocating what is thrown away had cost a Go guest
// more than reading it.
func (d *decoder) skip() error {
	switch c := d.peek(); {
	case c == '"':
		_, err := d.str() // a piece of text unless it has escapes
		return err
	case c == '{':
		return d.object(func(string) error { return d.skip() })
	case c == '[':
		d.i++
		if d.peek() == ']' {
			d.i++
			return nil
		}
		for {
			if err := d.skip(); err != nil {
				return err
			}
			switch d.peek() {
			case ',':
				d.i++
			case ']':
				d.i++
				return nil
			default:
				return errSyntax
			}
		}
	case c == 't' && bytes.HasPrefix(d.b[d.i:], []byte("true")):
		d.i += 4
		return nil
	case c == 'f' && bytes.HasPrefix(d.b[d.i:], []byte("false")):
		d.i += 5
		return nil
	case d.null():
		return nil
	case c == '-' || '0' <= c && c <= '9':
		if !d.numberSyntax() {
			return errSyntax
		}
		return nil
	}
	return errSyntax
}

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
	return d.skip()
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
	if t, ok := utcMillis(d.b[start:d.i]); ok {
		*dst = t
		return nil
	}
	if err := dst.UnmarshalJSON(d.b[start:d.i]); err != nil && d.typeErr == nil {
		d.typeErr = err
	}
	return nil
}

// utcMillis reads the one form hookwire sends a timestamp in,
// "2006-01-02T15:04:05.000Z" quoted, as time.Time.UnmarshalJSON does
// (time.Parse was a ninth of the Go example's call in a guest); ok is
// false for any other form, which UnmarshalJSON then reads.
func utcMillis(quoted []byte) (t time.Time, ok bool) {
	const layout = `"0000-00-00T00:00:00.000Z"`
	if len(quoted) != len(layout) {
		return time.Time{}, false
	}
	var n [7]int // year, month, day, hour, minute, second, millisecond
	field := 0
	for i := 1; i < len(layout)-1; i++ {
		c := quoted[i]
		if layout[i] != '0' {
			if c != layout[i] {
				return time.Time{}, false
			}
			field++
			continue
		}
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n[field] = n[field]*10 + int(c-'0')
	}
	year, month, day, hour, minute, second, milli := n[0], n[1], n[2], n[3], n[4], n[5], n[6]
	if month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, milli*int(time.Millisecond), time.UTC), true
}

// daysIn is the number of days of month in year.
func daysIn(month time.Month, year int) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
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
	if !d.numberSyntax() {
		return nil, errSyntax
	}
	f, err := strconv.ParseFloat(d.text[start:d.i], 64)
	if err != nil && d.typeErr == nil {
		d.typeErr = errRange
	}
	return f, nil
}

// numberSyntax steps over a number's text, reporting whether it is one.
func (d *decoder) numberSyntax() bool {
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
		return false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if !digits() {
			return false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if !digits() {
			return false
		}
	}
	return true
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
				return d.text[start : d.i-1], nil
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
