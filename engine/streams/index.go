package streams

import (
	"cmp"
	"maps"
	"slices"

	"github.com/hookwire/hookwire/filters"
)

// typeIndex is, for one event type, which streams can react to it: those
// that always can (a trigger naming the type alone, or filter triggers
// that see it), and those that can when their fields allow it
// (filters.Key): one equals one of some strings, or is a number past some
// bound, or each of one or more sets of literals has one in its field.
type typeIndex struct {
	always   []int32
	equal    []equalIndex
	contains []containsIndex
	bounds   []boundIndex
	// literalKeys are the keys of kind KeyContains: literalKeys[k] is the
	// stream and how many literal sets (the key's and its alternatives')
	// must each have a literal found before the stream is offered.
	literalKeys []literalKey
}

type literalKey struct {
	pos  int32
	sets int
	// anchored has bit j set when set j is looked up as an anchored
	// literal; searches has bit i set when the key has a set searched for
	// in contains[i]'s text. A key whose anchored sets are not all found
	// needs no search.
	anchored uint32
	searches uint64
}

// A key's sets are bits of a mask (filters.MaxKeyAlternatives keeps them
// within it).
var _ [32 - 1 - filters.MaxKeyAlternatives]struct{}

// equalIndex: the streams whose key wants field to equal a string.
type equalIndex struct {
	field  filters.Field
	values map[string][]int32
}

// containsIndex: the literals looked for in one field. Those anchored at
// its start or end are looked up by the text's first or last bytes
// (prefixes, suffixes); the others are searched for in the whole text,
// sets[i] being the literal sets (key and set number) that literal i of
// the automaton satisfies. The search, a read of every byte, is skipped
// when no key that needs it has had its anchored sets found (an anchored
// URL pattern whose path ends otherwise).
type containsIndex struct {
	field              filters.Field
	prefixes, suffixes affixes
	literals           []string
	search             *substrings
	sets               [][]setRef
	// anchors[i] is where literal i must be: AnchorNone but for anchored
	// literals searched for (see maxAffixLengths), checked when found.
	anchors  []filters.Anchor
	numbered map[anchoredLiteral]int // literal → its number, while the index is built
	// searchAlways: a key that needs the search has no anchored set, or
	// the field's position is past what literalKey.searches holds.
	searchAlways bool
}

// affixes are the literals that must start (or end, as anchor says) a
// field's text, each with the sets it satisfies: one map lookup per
// distinct length.
type affixes struct {
	anchor  filters.Anchor // AnchorStart or AnchorEnd
	lengths []int          // ascending
	sets    map[string]affixRefs
}

// part is the n bytes of text where a's literals are.
func (a *affixes) part(text string, n int) string {
	if a.anchor == filters.AnchorEnd {
		return text[len(text)-n:]
	}
	return text[:n]
}

// affixRefs are the sets an anchored literal satisfies: gates, each its
// key's most telling anchored set (an end before a start, then the
// longer), and the others, counted only for keys whose gate was found. A
// prefix two hundred streams' URLs share then counts for none of them
// when none of their own suffixes is there.
type affixRefs struct{ gates, others []setRef }

// maxAffixLengths is how many distinct lengths of a field's anchored
// literals (per end) are looked up one by one; with more, they are
// searched for with the field's other literals instead.
var maxAffixLengths = 8

type anchoredLiteral struct {
	text   string
	anchor filters.Anchor
}

type setRef struct {
	key int32 // in typeIndex.literalKeys
	set uint8
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
	// found[k] has bit j set when set j of literal key k had a literal in
	// the event; touched lists the keys to clear afterwards.
	found   []uint32
	touched []int32
	// ungated are the anchored sets found that are no key's gate, counted
	// once the gates are.
	ungated [][]setRef
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
	if len(ti.contains) > 0 {
		out = ti.literalCandidates(value, buf, out)
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

// literalCandidates appends the streams of literal keys each of whose sets
// has a literal in the event: anchored literals looked up first, then one
// search per field that a key still needs, over every key's literals; a
// bit per set.
func (ti *typeIndex) literalCandidates(value func(filters.Field) filters.Value, buf *CandidateBuffer, out []int32) []int32 {
	if len(buf.found) < len(ti.literalKeys) {
		buf.found = make([]uint32, len(ti.literalKeys))
	}
	touched := buf.touched[:0]
	mark := func(refs []setRef) {
		for _, ref := range refs {
			if buf.found[ref.key] == 0 {
				touched = append(touched, ref.key)
			}
			buf.found[ref.key] |= 1 << ref.set
		}
	}
	ungated := buf.ungated[:0]
	for i := range ti.contains {
		ci := &ti.contains[i]
		if ci.prefixes.sets == nil && ci.suffixes.sets == nil {
			continue
		}
		v := value(ci.field)
		if v.Kind != filters.KindString {
			continue
		}
		for _, a := range [...]*affixes{&ci.prefixes, &ci.suffixes} {
			for _, n := range a.lengths {
				if n > len(v.Str) {
					break
				}
				refs := a.sets[a.part(v.Str, n)]
				mark(refs.gates)
				if len(refs.others) > 0 {
					ungated = append(ungated, refs.others)
				}
			}
		}
	}
	// A key none of whose gates was found cannot be complete: its other
	// anchored sets are not counted.
	if len(touched) > 0 {
		for _, refs := range ungated {
			for _, ref := range refs {
				if buf.found[ref.key] != 0 {
					buf.found[ref.key] |= 1 << ref.set
				}
			}
		}
	}
	clear(ungated)
	buf.ungated = ungated[:0]
	// A field's search is skipped when no key that needs it can still
	// be complete: wanted has bit i when one needs contains[i] searched.
	// Searches find no anchored set, so it is known before the first.
	wanted, known := uint64(0), false
	for i := range ti.contains {
		ci := &ti.contains[i]
		if ci.search == nil {
			continue
		}
		if !ci.searchAlways {
			if !known {
				wanted, known = ti.stillSearching(touched, buf.found), true
			}
			if wanted&(1<<i) == 0 {
				continue
			}
		}
		v := value(ci.field)
		if v.Kind != filters.KindString {
			continue
		}
		found := ci.search.find(v.Str, buf.literals[:0])
		if len(found) > 1 {
			slices.Sort(found) // a literal found twice counts once
			found = slices.Compact(found)
		}
		for _, lit := range found {
			if a := ci.anchors[lit]; a == filters.AnchorNone || a.Occurs(v.Str, ci.literals[lit]) {
				mark(ci.sets[lit])
			}
		}
		buf.literals = found
	}
	for _, k := range touched {
		lk := ti.literalKeys[k]
		if buf.found[k] == uint32(1)<<lk.sets-1 {
			out = append(out, lk.pos)
		}
		buf.found[k] = 0
	}
	buf.touched = touched
	return out
}

// stillSearching is the fields (bit i for contains[i]) whose search some
// key needs: one whose anchored sets were all found.
func (ti *typeIndex) stillSearching(touched []int32, found []uint32) uint64 {
	var wanted uint64
	for _, k := range touched {
		if lk := &ti.literalKeys[k]; found[k]&lk.anchored == lk.anchored {
			wanted |= lk.searches
		}
	}
	return wanted
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
	if segs, ok := s.segmentsByType[t]; ok {
		return segs
	}
	return s.segmentsAnyType
}

func (s *Snapshot) buildIndex() {
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
			at(k.Type).add(k, int32(pos))
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
		ti.finishContains()
		for i := range ti.bounds {
			slices.SortStableFunc(ti.bounds[i].entries, func(x, y boundEntry) int { return cmp.Compare(x.bound, y.bound) })
		}
	}
	// Segments likewise, in their order: under the types their
	// declarative and scoped filter triggers react to; one with an
	// unscoped filter trigger under every type (and any type no segment
	// names).
	reacts := make([][]string, len(s.Segments))
	everyType := make([]bool, len(s.Segments))
	s.segmentsByType = map[string][]*CompiledSegment{}
	for i, seg := range s.Segments {
		if seg.Pool != nil {
			reacts[i] = slices.Clone(seg.Program.EventTypes)
		}
		for _, run := range seg.Custom {
			everyType[i] = everyType[i] || run.Trigger.Event == ""
			reacts[i] = append(reacts[i], run.Trigger.Event)
		}
		if everyType[i] {
			reacts[i] = nil
		}
		slices.Sort(reacts[i])
		reacts[i] = slices.Compact(reacts[i])
		for _, t := range reacts[i] {
			s.segmentsByType[t] = nil
		}
	}
	for i, seg := range s.Segments {
		if everyType[i] {
			s.segmentsAnyType = append(s.segmentsAnyType, seg)
			for t := range s.segmentsByType {
				s.segmentsByType[t] = append(s.segmentsByType[t], seg)
			}
		}
		for _, t := range reacts[i] {
			s.segmentsByType[t] = append(s.segmentsByType[t], seg)
		}
	}
}

// containsOn returns the literal index of field, made if new.
func (ti *typeIndex) containsOn(field filters.Field) *containsIndex {
	j := slices.IndexFunc(ti.contains, func(c containsIndex) bool { return c.field.Text == field.Text })
	if j < 0 {
		ti.contains = append(ti.contains, containsIndex{field: field, numbered: map[anchoredLiteral]int{},
			prefixes: affixes{anchor: filters.AnchorStart}, suffixes: affixes{anchor: filters.AnchorEnd}})
		j = len(ti.contains) - 1
	}
	return &ti.contains[j]
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
		// Every set is necessary: the stream is offered when each has a
		// literal in the event, so a prefix all streams share narrows
		// nothing but costs nothing either.
		sets := append([]filters.Key{k}, k.Alternatives...)
		key := int32(len(ti.literalKeys))
		ti.literalKeys = append(ti.literalKeys, literalKey{pos: pos, sets: len(sets)})
		for j, set := range sets {
			ci := ti.containsOn(set.Field)
			ref := setRef{key: key, set: uint8(j)}
			for _, lit := range set.Values {
				switch set.Anchor {
				case filters.AnchorStart:
					ci.prefixes.add(lit, ref)
				case filters.AnchorEnd:
					ci.suffixes.add(lit, ref)
				default:
					ci.searchFor(lit, filters.AnchorNone, ref)
				}
			}
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

// searchFor adds lit, which satisfies ref's set where anchor says, to the
// literals searched for in the field.
func (ci *containsIndex) searchFor(lit string, anchor filters.Anchor, ref setRef) {
	i, seen := ci.numbered[anchoredLiteral{lit, anchor}]
	if !seen {
		i = len(ci.literals)
		ci.numbered[anchoredLiteral{lit, anchor}] = i
		ci.literals = append(ci.literals, lit)
		ci.anchors = append(ci.anchors, anchor)
		ci.sets = append(ci.sets, nil)
	}
	ci.sets[i] = append(ci.sets[i], ref)
}

// add notes that lit satisfies ref's set; finishContains sorts gates from
// the others.
func (a *affixes) add(lit string, ref setRef) {
	if a.sets == nil {
		a.sets = map[string]affixRefs{}
	}
	refs := a.sets[lit]
	refs.others = append(refs.others, ref)
	a.sets[lit] = refs
	if i, found := slices.BinarySearch(a.lengths, len(lit)); !found {
		a.lengths = slices.Insert(a.lengths, i, len(lit))
	}
}

// finishContains builds each field's search once every key is added:
// anchored literals of too many lengths join the searched ones (a literal
// at the start is also in the text), then each key learns which sets are
// anchored and which fields' searches it needs.
func (ti *typeIndex) finishContains() {
	for i := range ti.contains {
		ci := &ti.contains[i]
		for _, a := range [...]*affixes{&ci.prefixes, &ci.suffixes} {
			if len(a.lengths) <= maxAffixLengths {
				continue
			}
			for _, lit := range slices.Sorted(maps.Keys(a.sets)) {
				for _, ref := range a.sets[lit].others {
					ci.searchFor(lit, a.anchor, ref)
				}
			}
			a.lengths, a.sets = nil, nil
		}
		if len(ci.literals) > 0 {
			ci.search = newSubstrings(ci.literals)
		}
		ci.numbered = nil
	}
	// Each key's anchored sets, and its gate: the best ranked of them.
	gate, rank := make([]uint8, len(ti.literalKeys)), make([]int, len(ti.literalKeys))
	for i := range ti.contains {
		ci := &ti.contains[i]
		for _, a := range [...]*affixes{&ci.prefixes, &ci.suffixes} {
			for lit, refs := range a.sets {
				for _, ref := range refs.others {
					ti.literalKeys[ref.key].anchored |= 1 << ref.set
					if r := gateRank(a.anchor, lit, ref.set); r > rank[ref.key] {
						gate[ref.key], rank[ref.key] = ref.set, r
					}
				}
			}
		}
	}
	for i := range ti.contains {
		ci := &ti.contains[i]
		for _, a := range [...]*affixes{&ci.prefixes, &ci.suffixes} {
			for lit, refs := range a.sets {
				var sorted affixRefs
				for _, ref := range refs.others {
					if gate[ref.key] == ref.set {
						sorted.gates = append(sorted.gates, ref)
					} else {
						sorted.others = append(sorted.others, ref)
					}
				}
				a.sets[lit] = sorted
			}
		}
	}
	for i := range ti.contains {
		ci := &ti.contains[i]
		for _, refs := range ci.sets {
			for _, ref := range refs {
				lk := &ti.literalKeys[ref.key]
				if lk.anchored == 0 || i >= 64 {
					ci.searchAlways = true
				} else {
					lk.searches |= 1 << i
				}
			}
		}
	}
}

// gateRank orders a key's anchored sets as its gate: one at the end before
// one at the start (sites share URL prefixes, not paths), then the longer
// literal, then the lower set, so that the choice does not depend on the
// order a map gives them in. Always above zero.
func gateRank(anchor filters.Anchor, lit string, set uint8) int {
	r := len(lit)<<8 | int(^set)
	if anchor == filters.AnchorEnd {
		r |= 1 << 48
	}
	return r
}
