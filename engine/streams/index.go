package streams

import (
	"cmp"
	"slices"

	"github.com/hookwire/hookwire/filters"
)

// typeIndex is, for one event type, which streams can react to it: those
// that always can (a trigger naming the type alone, or filter triggers
// that see it), and those that can when one field allows it
// (filters.Key): it equals one of some strings, contains one of some
// literals, or is a number past some bound.
type typeIndex struct {
	always   []int32
	equal    []equalIndex
	contains []containsIndex
	bounds   []boundIndex
}

// equalIndex: the streams whose key wants field to equal a string.
type equalIndex struct {
	field  filters.Field
	values map[string][]int32
}

// containsIndex: the streams whose key wants one of some literals in
// field; streams[i] are those of literal i of the automaton.
type containsIndex struct {
	field    filters.Field
	literals []string
	search   *substrings
	streams  [][]int32
	numbered map[string]int // literal → its number, while the index is built
}

// boundIndex: the streams whose key wants field above (or below) a bound,
// ascending by bound.
type boundIndex struct {
	field   filters.Field
	above   bool
	entries []boundEntry
}

type boundEntry struct {
	bound     float64
	inclusive bool
	pos       int32
}

// CandidateBuffer holds the stream index's answer for one event; reuse it
// from event to event.
type CandidateBuffer struct {
	positions []int32
	literals  []int32
}

// Candidates returns, ascending, the positions in Streams of the streams
// whose predicate can react to an event of type t whose fields value
// reports. When fields decide, the result is built in buf; otherwise it is
// the index's own slice. Either way: read it, do not keep or change it.
func (s *Snapshot) Candidates(t string, value func(filters.Field) filters.Value, buf *CandidateBuffer) []int32 {
	s.indexOnce.Do(s.buildIndex)
	ti := s.streamsByType[t]
	if ti == nil {
		return s.streamsAnyType
	}
	if len(ti.equal)+len(ti.contains)+len(ti.bounds) == 0 {
		return ti.always
	}
	out := append(buf.positions[:0], ti.always...)
	for i := range ti.equal {
		fi := &ti.equal[i]
		if v := value(fi.field); v.Kind == filters.KindString {
			out = append(out, fi.values[v.Str]...)
		}
	}
	for i := range ti.contains {
		ci := &ti.contains[i]
		v := value(ci.field)
		if v.Kind != filters.KindString {
			continue
		}
		found := ci.search.find(v.Str, buf.literals[:0])
		for _, lit := range found {
			out = append(out, ci.streams[lit]...)
		}
		buf.literals = found
	}
	for i := range ti.bounds {
		bi := &ti.bounds[i]
		if v := value(bi.field); v.Kind == filters.KindNumber {
			out = bi.admit(v.Num, out)
		}
	}
	buf.positions = out
	slices.Sort(out)
	return slices.Compact(out)
}

// admit appends the streams whose bound x is past.
func (bi *boundIndex) admit(x float64, out []int32) []int32 {
	// The first entry whose bound is not below x.
	i, _ := slices.BinarySearchFunc(bi.entries, x, func(e boundEntry, x float64) int { return cmp.Compare(e.bound, x) })
	j := i // the first entry whose bound is above x
	for j < len(bi.entries) && bi.entries[j].bound == x {
		if bi.entries[j].inclusive {
			out = append(out, bi.entries[j].pos)
		}
		j++
	}
	admitted := bi.entries[j:] // below: bounds above x
	if bi.above {
		admitted = bi.entries[:i] // above: bounds below x
	}
	for _, e := range admitted {
		out = append(out, e.pos)
	}
	return out
}

// SegmentsFor returns the segments whose triggers name event type t.
func (s *Snapshot) SegmentsFor(t string) []*CompiledSegment {
	s.indexOnce.Do(s.buildIndex)
	return s.segmentsByType[t]
}

func (s *Snapshot) buildIndex() {
	shares := literalShares{}
	for _, cs := range s.Streams {
		if cs.Pool != nil {
			shares.count(cs.Program.Keys)
		}
	}
	s.streamsByType = map[string]*typeIndex{}
	at := func(t string) *typeIndex {
		ti := s.streamsByType[t]
		if ti == nil {
			ti = &typeIndex{}
			s.streamsByType[t] = ti
		}
		return ti
	}
	for pos, cs := range s.Streams {
		// Filter triggers see every event, unless each names the one type
		// it sees.
		scoped := true
		for _, run := range cs.Custom {
			scoped = scoped && run.Trigger.Event != ""
		}
		if len(cs.Custom) > 0 && !scoped {
			s.streamsAnyType = append(s.streamsAnyType, int32(pos))
		}
		for _, run := range cs.Custom {
			if scoped {
				ti := at(run.Trigger.Event)
				ti.always = append(ti.always, int32(pos))
			}
		}
		if cs.Pool == nil {
			continue
		}
		for _, k := range cs.Program.Keys {
			at(k.Type).add(shares.leastShared(k), int32(pos))
		}
	}
	// Streams with filter triggers see every event; a stream listed twice
	// under a type is listed once.
	for _, ti := range s.streamsByType {
		ti.always = append(ti.always, s.streamsAnyType...)
		slices.Sort(ti.always)
		ti.always = slices.Compact(ti.always)
		for _, f := range ti.equal {
			for v, list := range f.values {
				f.values[v] = slices.Compact(list)
			}
		}
		for i := range ti.contains {
			ci := &ti.contains[i]
			ci.search = newSubstrings(ci.literals)
			ci.numbered = nil
		}
		for i := range ti.bounds {
			slices.SortStableFunc(ti.bounds[i].entries, func(x, y boundEntry) int { return cmp.Compare(x.bound, y.bound) })
		}
	}
	s.segmentsByType = map[string][]*CompiledSegment{}
	for _, seg := range s.Segments {
		if seg.Pool == nil {
			continue
		}
		for _, t := range seg.Program.EventTypes {
			s.segmentsByType[t] = append(s.segmentsByType[t], seg)
		}
	}
}

// literalShares counts the keys that name each literal, by event type and
// field: the more keys share a literal, the more events likely carry it.
type literalShares map[literalKey]int

type literalKey struct{ typ, field, literal string }

func (ls literalShares) count(keys []filters.Key) {
	for _, k := range keys {
		for _, option := range append([]filters.Key{k}, k.Alternatives...) {
			if option.Kind != filters.KeyContains {
				continue
			}
			for _, lit := range option.Values {
				ls[literalKey{k.Type, option.Field.Text, lit}]++
			}
		}
	}
}

// leastShared returns, of a literal key and its alternatives, the one
// whose most shared literal is shared least (the first on a tie: the
// longest), without alternatives.
func (ls literalShares) leastShared(k filters.Key) filters.Key {
	if k.Kind != filters.KeyContains {
		return k
	}
	share := func(option filters.Key) int {
		most := 0
		for _, lit := range option.Values {
			most = max(most, ls[literalKey{k.Type, option.Field.Text, lit}])
		}
		return most
	}
	best, bestShare := k, share(k)
	for _, alt := range k.Alternatives {
		if n := share(alt); n < bestShare {
			best, bestShare = alt, n
		}
	}
	best.Alternatives = nil
	return best
}

// add lists the stream at pos under its key k.
func (ti *typeIndex) add(k filters.Key, pos int32) {
	switch k.Kind {
	case filters.KeyEqual:
		j := slices.IndexFunc(ti.equal, func(e equalIndex) bool { return e.field.Text == k.Field.Text })
		if j < 0 {
			ti.equal = append(ti.equal, equalIndex{field: k.Field, values: map[string][]int32{}})
			j = len(ti.equal) - 1
		}
		for _, v := range k.Values {
			ti.equal[j].values[v] = append(ti.equal[j].values[v], pos)
		}
	case filters.KeyContains:
		j := slices.IndexFunc(ti.contains, func(c containsIndex) bool { return c.field.Text == k.Field.Text })
		if j < 0 {
			ti.contains = append(ti.contains, containsIndex{field: k.Field, numbered: map[string]int{}})
			j = len(ti.contains) - 1
		}
		ci := &ti.contains[j]
		for _, lit := range k.Values {
			i, seen := ci.numbered[lit]
			if !seen {
				i = len(ci.literals)
				ci.numbered[lit] = i
				ci.literals = append(ci.literals, lit)
				ci.streams = append(ci.streams, nil)
			}
			ci.streams[i] = append(ci.streams[i], pos)
		}
	case filters.KeyAbove, filters.KeyBelow:
		above := k.Kind == filters.KeyAbove
		j := slices.IndexFunc(ti.bounds, func(b boundIndex) bool { return b.field.Text == k.Field.Text && b.above == above })
		if j < 0 {
			ti.bounds = append(ti.bounds, boundIndex{field: k.Field, above: above})
			j = len(ti.bounds) - 1
		}
		ti.bounds[j].entries = append(ti.bounds[j].entries, boundEntry{bound: k.Bound, inclusive: k.Inclusive, pos: pos})
	default:
		ti.always = append(ti.always, pos)
	}
}
