package ingest

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/hookwire/hookwire/engine/model"
)

// fastDecodeArray decodes the common shape of a batch — an array of event
// objects whose members are spelled exactly, without escapes in names —
// in one pass over the bytes, with no reflection. It answers ok=false
// whenever the body is anything else or anything is wrong; the caller then
// runs the encoding/json decoder, which is the reference for what is
// accepted and words every refusal. FuzzFastDecodeAgrees holds the two
// together: whatever the fast path accepts, the reference accepts with the
// same events.
//
// encoding/json was the largest cost of ingest (a fifth of the engine's
// CPU in the standard scenario).
//
// While an event is scanned its strings and properties view the body; then
// they move into the batch's lent memory (batchMemory: reused once every
// event of the batch is evaluated), or, with none, into one allocation of
// the event's own. The request's buffer itself is reused after the answer.
func fastDecodeArray(body []byte, maxEvents int, now time.Time, mem *batchMemory) (events []model.Event, ok bool) {
	// Typical events are a few hundred bytes: size for that, not by doubling.
	capacity := min(maxEvents, len(body)/256+1)
	s := scanners.Get().(*scanner)
	s.b, s.i = body, 0
	defer s.recycle()
	s.space()
	if !s.consume('[') {
		return nil, false
	}
	events = newEvents(capacity)
	for {
		s.space()
		if len(events) == maxEvents {
			return nil, false
		}
		if events, ok = s.appendEvent(events, now, mem); !ok {
			return nil, false
		}
		s.space()
		if s.consume(',') {
			continue
		}
		if !s.consume(']') {
			return nil, false
		}
		s.space()
		return events, s.i == len(s.b)
	}
}

// fastDecodeLines is fastDecodeArray for NDJSON: one event object per
// line, cut as the reference cuts them (nextLine), blank lines skipped.
// NDJSON went through encoding/json line by line: ten times the CPU of
// the same events in an array.
func fastDecodeLines(body []byte, maxEvents int, now time.Time, mem *batchMemory) (events []model.Event, ok bool) {
	s := scanners.Get().(*scanner)
	defer s.recycle()
	events = newEvents(min(maxEvents, len(body)/256+1))
	for rest := body; len(rest) > 0; {
		var line []byte
		if line, rest = nextLine(rest); len(line) == 0 {
			continue
		}
		if len(events) == maxEvents {
			return nil, false
		}
		s.b, s.i = line, 0
		if events, ok = s.appendEvent(events, now, mem); !ok || s.i != len(s.b) {
			return nil, false
		}
	}
	return events, len(events) > 0
}

// appendEvent reads the event object at the cursor and appends it to
// events, normalised and owning its bytes.
func (s *scanner) appendEvent(events []model.Event, now time.Time, mem *batchMemory) ([]model.Event, bool) {
	var w wireEvent
	if !s.at('{') || !s.event(&w) {
		return events, false
	}
	events = append(events, model.Event{})
	if normalize(&w, &events[len(events)-1], now, mem) != nil {
		return events, false
	}
	own(&events[len(events)-1], mem)
	return events, true
}

// scanner walks JSON bytes strictly (RFC 8259); every method reports false
// on anything it does not expect.
type scanner struct {
	b []byte // never written: strings view it until own copies them
	i int
	// Wire fields point into slabs, so that a batch allocates nothing
	// per string or user, and the scanner with its slabs is reused from
	// batch to batch. Only the wire values point there, and they are gone
	// once the batch is decoded; nothing an event keeps does.
	strs      slab[string]
	wireUsers slab[wireUser]
}

// eventSlices are batches' event slices, given back with the batch's
// lent memory once every event is evaluated (recycleEvents): they were a
// sixth of the bytes the engine allocated per event.
var eventSlices sync.Pool

// newEvents is an empty event slice with room for capacity events.
func newEvents(capacity int) []model.Event {
	if p, ok := eventSlices.Get().(*[]model.Event); ok && cap(*p) >= capacity {
		return (*p)[:0]
	}
	return make([]model.Event, 0, capacity)
}

// recycleEvents gives a batch's event slice back to the pool; nothing may
// use it after.
func recycleEvents(events []model.Event) {
	if cap(events) == 0 || cap(events) > 1024 {
		return
	}
	events = events[:cap(events)]
	clear(events)
	events = events[:0]
	eventSlices.Put(&events)
}

// scanners are reused: their slabs were a fifth of the bytes ingest
// allocated, and allocation is what paces the collector.
var scanners = sync.Pool{New: func() any { return new(scanner) }}

// recycle forgets the body (and the slabs' views of it) and returns the
// scanner to the pool.
func (s *scanner) recycle() {
	s.b, s.i = nil, 0
	keepStrs := s.strs.reset()
	keepUsers := s.wireUsers.reset()
	if keepStrs && keepUsers {
		scanners.Put(s)
	}
}

// own moves an event's strings and properties, which view the request's
// body, into the batch's memory, or (nil, or full) one allocation of the
// event's own. The buffer is sized first, so appending never moves what
// earlier fields already point at.
func own(e *model.Event, mem *batchMemory) {
	n := len(e.ID) + len(e.SessionID) + len(e.Type) + len(e.Name) + len(e.URL) + len(e.Properties)
	if u := e.User; u != nil {
		n += len(u.UID) + len(u.Email) + len(u.DisplayName) + len(u.Properties)
	}
	buf := mem.take(n)
	if buf == nil {
		buf = make([]byte, 0, n)
	}
	str := func(s *string) {
		if at := len(buf); *s != "" {
			buf = append(buf, *s...)
			*s = unsafe.String(&buf[at], len(*s))
		}
	}
	raw := func(r *json.RawMessage) {
		if at := len(buf); len(*r) > 0 {
			buf = append(buf, *r...)
			*r = buf[at:len(buf):len(buf)] // an append cannot reach the next field
		}
	}
	str(&e.ID)
	str(&e.SessionID)
	str(&e.Type)
	str(&e.Name)
	str(&e.URL)
	raw(&e.Properties)
	if u := e.User; u != nil {
		str(&u.UID)
		str(&u.Email)
		str(&u.DisplayName)
		raw(&u.Properties)
	}
}

// slab hands out values from chunks that it keeps from batch to batch.
type slab[T any] struct {
	chunks  [][]T
	filling int // the chunk values come from
}

const slabChunk = 64

func (s *slab[T]) next() *T {
	for s.filling < len(s.chunks) && len(s.chunks[s.filling]) == slabChunk {
		s.filling++
	}
	if s.filling == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, 0, slabChunk))
	}
	c := &s.chunks[s.filling]
	*c = (*c)[:len(*c)+1]
	return &(*c)[len(*c)-1]
}

// reset zeroes the values handed out (they view a body about to be
// reused) and reports whether the slab is worth keeping: not after a
// batch far larger than usual.
func (s *slab[T]) reset() bool {
	for i := range s.chunks[:min(s.filling+1, len(s.chunks))] {
		clear(s.chunks[i])
		s.chunks[i] = s.chunks[i][:0]
	}
	s.filling = 0
	return len(s.chunks) <= 64
}

func (s *scanner) space() {
	// Compact JSON has none: one test for the common case.
	for s.i < len(s.b) && s.b[s.i] <= ' ' {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) at(c byte) bool { return s.i < len(s.b) && s.b[s.i] == c }

func (s *scanner) consume(c byte) bool {
	if s.at(c) {
		s.i++
		return true
	}
	return false
}

// members calls member for each name of the object at the cursor, with the
// cursor on the value, which member must consume. Names with escapes are
// refused (the reference matches them to fields case-insensitively).
func (s *scanner) members(member func(name []byte) bool) bool {
	if !s.consume('{') {
		return false
	}
	s.space()
	if s.consume('}') {
		return true
	}
	for {
		s.space()
		start := s.i
		plain, end := s.str()
		if !plain || end < 0 {
			return false
		}
		name := s.b[start+1 : end-1]
		s.space()
		if !s.consume(':') {
			return false
		}
		s.space()
		if !member(name) {
			return false
		}
		s.space()
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// event reads one event object into w. A member given twice is refused (the
// reference merges repeated objects).
func (s *scanner) event(w *wireEvent) bool {
	var seen memberSet
	once := seen.first
	return s.members(func(name []byte) bool {
		switch string(name) {
		case "id":
			return once(1) && s.optString(&w.ID)
		case "session_id":
			return once(2) && s.optString(&w.SessionID)
		case "type":
			return once(4) && s.optString(&w.Type)
		case "name":
			return once(8) && s.optString(&w.Name)
		case "url":
			return once(16) && s.optString(&w.URL)
		case "timestamp":
			return once(32) && s.scalar(&w.Timestamp)
		case "properties":
			return once(64) && s.object(&w.Properties, &w.propertiesCompact)
		case "user":
			if !once(128) {
				return false
			}
			if s.null() {
				return true
			}
			w.User = s.wireUsers.next()
			return s.user(w.User)
		}
		return false
	})
}

func (s *scanner) user(u *wireUser) bool {
	var seen memberSet
	once := seen.first
	return s.members(func(name []byte) bool {
		switch string(name) {
		case "uid":
			return once(1) && s.optString(&u.UID)
		case "email":
			return once(2) && s.optString(&u.Email)
		case "display_name":
			return once(4) && s.optString(&u.DisplayName)
		case "properties":
			return once(8) && s.object(&u.Properties, &u.propertiesCompact)
		}
		return false
	})
}

// memberSet is the members of one object seen so far, a bit each.
type memberSet uint8

// first reports whether bit is new, and notes it.
func (m *memberSet) first(bit memberSet) bool {
	if *m&bit != 0 {
		return false
	}
	*m |= bit
	return true
}

func (s *scanner) null() bool {
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// optString reads a string, or null (which leaves dst nil, as the reference
// does for a pointer).
func (s *scanner) optString(dst **string) bool {
	if s.null() {
		*dst = nil
		return true
	}
	start := s.i
	plain, end := s.str()
	if end < 0 {
		return false
	}
	p := s.strs.next()
	switch {
	case plain && end-start > 2:
		*p = unsafe.String(&s.b[start+1], end-1-start-1)
	case plain:
	case json.Unmarshal(s.b[start:end], p) != nil:
		// Escapes and non-ASCII text: the reference's own unquoting (it
		// replaces invalid UTF-8 and lone surrogates). Unmarshalling
		// straight into the slab: a local string whose address went to
		// Unmarshal would be allocated on every call, plain or not.
		return false
	}
	*dst = p
	return true
}

// scalar keeps the raw text of a string, number or null (the timestamp,
// which normalize reads either way).
func (s *scanner) scalar(dst *json.RawMessage) bool {
	start := s.i
	switch {
	case s.at('"'):
		if _, end := s.str(); end < 0 {
			return false
		}
	case s.null():
	default:
		if !s.number() {
			return false
		}
	}
	*dst = s.b[start:s.i]
	return true
}

// object keeps the raw text of an object or null; compact reports that it
// holds no whitespace outside strings and nests at most MaxNestingDepth
// levels, so normalize need not compact or measure it again.
func (s *scanner) object(dst *json.RawMessage, compact *bool) bool {
	start := s.i
	if !s.at('{') && !s.null() {
		return false
	}
	if s.at('{') {
		spaced := false
		if !s.value(1, &spaced) {
			return false
		}
		*compact = !spaced
	}
	*dst = s.b[start:s.i]
	return true
}

// value skips one JSON value at nesting level depth (the outermost object
// is level 1), noting whitespace inside it.
func (s *scanner) value(depth int, spaced *bool) bool {
	skip := func() {
		from := s.i
		s.space()
		if s.i != from {
			*spaced = true
		}
	}
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		if depth > MaxNestingDepth {
			return false
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		s.i++
		skip()
		if s.consume(closing) {
			return true
		}
		for {
			skip()
			if c == '{' {
				if _, end := s.str(); end < 0 {
					return false
				}
				skip()
				if !s.consume(':') {
					return false
				}
				skip()
			}
			if !s.value(depth+1, spaced) {
				return false
			}
			skip()
			if s.consume(',') {
				continue
			}
			return s.consume(closing)
		}
	case c == '"':
		_, end := s.str()
		return end >= 0
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.null()
	default:
		return s.number()
	}
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// str skips a string at the cursor and returns the index just past its
// closing quote (-1 if malformed); plain means no escapes and only ASCII,
// so its bytes are its value.
func (s *scanner) str() (plain bool, end int) {
	if !s.consume('"') {
		return false, -1
	}
	plain = true
	for s.i < len(s.b) {
		// Most bytes are plain: step over them before the switch, eight
		// at a time while eight are left.
		s.i = skipPlainWords(s.b, s.i)
		for s.i < len(s.b) && plainStringByte[s.b[s.i]] {
			s.i++
		}
		if s.i == len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return plain, s.i
		case c < 0x20:
			return false, -1
		case c >= 0x80:
			plain = false
			s.i++
		case c == '\\':
			plain = false
			if s.i+1 >= len(s.b) {
				return false, -1
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return false, -1
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHex(h) {
						return false, -1
					}
				}
				s.i += 6
			default:
				return false, -1
			}
		default:
			s.i++
		}
	}
	return false, -1
}

// plainStringByte marks the bytes a string holds as themselves: printable
// ASCII but the quote and the backslash.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipPlainWords returns the index of the first byte at or after i that
// is not plain (plainStringByte), or of the first of the last fewer than
// eight bytes. It reads eight bytes as one word and flags, in each byte's
// top bit, a byte below 0x20, a quote, a backslash or one of 0x80 and up:
// a flag can be wrong only above a right one (a borrow carries upward),
// so the lowest flag is the first byte that is not plain. Stepping one
// table lookup at a time was a quarter of a batch's decoding (the profile
// of BenchmarkDecodeBatch).
func skipPlainWords(b []byte, i int) int {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := w^(ones*'"'), w^(ones*'\\')
		flags := ((w - ones*0x20) | (quote - ones) | (backslash - ones)) &^ w
		flags = (flags | w) & high
		if flags != 0 {
			return i + bits.TrailingZeros64(flags)/8
		}
	}
	return i
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// number skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and fails
// on a number a float64 cannot hold (the reference path refuses it by
// name: numberOutOfRange). Only a number with an exponent or over 300
// characters can be one, so nearly none is parsed.
func (s *scanner) number() bool {
	start := s.i
	inRange := func() bool {
		_, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
		return err == nil
	}
	digits := func() bool {
		from := s.i
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
		}
		return s.i > from
	}
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		digits()
	default:
		return false
	}
	if s.consume('.') && !digits() {
		return false
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		return digits() && inRange()
	}
	return s.i-start <= 300 || inRange()
}
