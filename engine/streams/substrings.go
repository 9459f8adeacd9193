package streams

import (
	"slices"
	"strings"
)

// substrings finds which of a set of literals occur in a text in one pass
// (Aho–Corasick): the stream index's search for contains, starts_with,
// ends_with and the literals of matches conditions, so that an event is
// read once per field however many streams watch that field.
//
// State 0 is the root. The automaton is built as a trie with failure
// links (the root's transitions a dense table, other states' few edges
// sorted by byte), then, unless that would be too large, turned into a
// table of every state's next state by byte class, so that a search is
// one load per byte instead of a binary search and a walk along failure
// links (half the index's time with the harness's catalogue).
type substrings struct {
	// few holds the literals when there are at most fewLiterals: a
	// vectorised strings.Index per literal beats walking the automaton
	// byte by byte.
	few   []string
	root  [256]int32
	edges [][]edge
	fail  []int32
	// out[s] are the literals that end at state s, its failure chain's
	// included.
	out [][]int32
	// next[row+class[b]] is where the state whose row starts at row goes
	// on byte b: that state's row (state*classes), stored as ^row when the
	// state has literals to report; nil when the table would pass
	// maxTableEntries. Bytes no literal has share class 0. Rows rather
	// than state numbers take a multiplication off each byte's chain of
	// dependent loads.
	next    []int32
	class   [256]uint16
	classes int
}

// maxTableEntries bounds the dense table (4 MiB); larger automata (many
// thousands of long literals) are walked by their edges.
var maxTableEntries = 1 << 20

type edge struct {
	b  byte
	to int32
}

func (a *substrings) child(s int32, b byte) (int32, bool) {
	if s == 0 {
		return a.root[b], a.root[b] != 0
	}
	es := a.edges[s]
	i, found := slices.BinarySearchFunc(es, b, func(e edge, b byte) int { return int(e.b) - int(b) })
	if !found {
		return 0, false
	}
	return es[i].to, true
}

// fewLiterals is up to how many literals substrings searches for each
// with strings.Index.
const fewLiterals = 4

// newSubstrings builds the automaton of literals; literal i is reported as
// i. Empty literals are never reported.
func newSubstrings(literals []string) *substrings {
	if len(literals) <= fewLiterals {
		return &substrings{few: literals}
	}
	a := &substrings{edges: [][]edge{nil}, fail: []int32{0}, out: [][]int32{nil}}
	for i, lit := range literals {
		if lit == "" {
			continue
		}
		s := int32(0)
		for j := 0; j < len(lit); j++ {
			next, ok := a.child(s, lit[j])
			if !ok {
				next = int32(len(a.edges))
				a.edges = append(a.edges, nil)
				a.fail = append(a.fail, 0)
				a.out = append(a.out, nil)
				if s == 0 {
					a.root[lit[j]] = next
				} else {
					es := append(a.edges[s], edge{b: lit[j], to: next})
					slices.SortFunc(es, func(x, y edge) int { return int(x.b) - int(y.b) })
					a.edges[s] = es
				}
			}
			s = next
		}
		a.out[s] = append(a.out[s], int32(i))
	}
	// Breadth first, so that a state's failure target is finished before
	// the state.
	var queue []int32
	for b := range 256 {
		if s := a.root[b]; s != 0 {
			queue = append(queue, s)
		}
	}
	order := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		order = append(order, s)
		for _, e := range a.edges[s] {
			f := a.fail[s]
			for {
				if t, ok := a.child(f, e.b); ok {
					a.fail[e.to] = t
					break
				}
				if f == 0 {
					break
				}
				f = a.fail[f]
			}
			a.out[e.to] = append(a.out[e.to], a.out[a.fail[e.to]]...)
			queue = append(queue, e.to)
		}
	}
	a.tabulate(order)
	return a
}

// tabulate fills next from the trie and failure links, visiting states
// breadth first (order) so that a state's failure target's row is done.
func (a *substrings) tabulate(order []int32) {
	var used [256]bool
	for b := range 256 {
		used[b] = a.root[b] != 0
	}
	for _, es := range a.edges {
		for _, e := range es {
			used[e.b] = true
		}
	}
	representative := []int{-1} // class 0: a byte no literal has, if any
	for b := range 256 {
		if used[b] {
			a.class[b] = uint16(len(representative))
			representative = append(representative, b)
		} else if representative[0] < 0 {
			representative[0] = b
		}
	}
	a.classes = len(representative)
	if len(a.edges)*a.classes > maxTableEntries {
		return
	}
	a.next = make([]int32, len(a.edges)*a.classes)
	mark := func(t int32) int32 {
		row := t * int32(a.classes)
		if len(a.out[t]) > 0 {
			return ^row
		}
		return row
	}
	for _, s := range order {
		row := a.next[int(s)*a.classes : int(s+1)*a.classes]
		for c, b := range representative {
			switch {
			case b < 0: // every byte has a class of its own
			case s == 0:
				row[c] = mark(a.root[b])
			default:
				if t, ok := a.child(s, byte(b)); ok {
					row[c] = mark(t)
				} else {
					row[c] = a.next[int(a.fail[s])*a.classes+c] // already marked
				}
			}
		}
	}
	a.edges, a.fail = nil, nil // the table is all a search reads now
}

// find appends to found the literals that occur in text, each at least
// once.
func (a *substrings) find(text string, found []int32) []int32 {
	if a.few != nil {
		for i, lit := range a.few {
			if lit != "" && strings.Contains(text, lit) {
				found = append(found, int32(i))
			}
		}
		return found
	}
	if a.next != nil {
		row := int32(0)
		for i := 0; i < len(text); i++ {
			t := a.next[row+int32(a.class[text[i]])]
			if t < 0 {
				t = ^t
				found = append(found, a.out[int(t)/a.classes]...)
			}
			row = t
		}
		return found
	}
	s := int32(0)
	for i := 0; i < len(text); i++ {
		b := text[i]
		for {
			if t, ok := a.child(s, b); ok {
				s = t
				break
			}
			if s == 0 {
				break
			}
			s = a.fail[s]
		}
		found = append(found, a.out[s]...)
	}
	return found
}
