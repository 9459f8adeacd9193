package filters

import (
	"encoding/binary"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
)

// Limits on the DFA a `matches` pattern compiles to. RE2 guarantees linear
// time; these keep the table small too.
const (
	maxDFAStates     = 4096
	maxDFATableBytes = 1 << 20
	maxProgInsts     = 4096
	// maxDFAWork bounds the steps of subset construction (a thread added
	// to a set, or read to intern it), so that a hostile pattern costs at
	// most ~0.35 s of a create request (an alternation of 100 words, 1 KiB,
	// takes 12.7M steps, ~45 ms; of 200 one-letter words, 12 ms; the worst
	// of 60 random 1 KiB alternations of words with classes and dots, 0.2 s).
	maxDFAWork = 32 << 20
)

var errTooComplex = fmt.Errorf("pattern too complex: its automaton would be too large; simplify it (fewer counted repetitions, smaller classes)")

// compileRegex turns an RE2 pattern into a DFA table that the generated
// module's dfa helper runs over a string's runes (GENERATED.md).
//
// The DFA is built by subset construction over the RE2 program. Runes are
// grouped into classes that every instruction treats alike, so the table is
// states × classes rather than states × 0x110000. The search is unanchored
// (the start state is added at every position) and stops at the first
// match, since a trigger needs a yes or no, not a position.
func compileRegex(pattern string) ([]byte, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("invalid RE2 pattern: %v", err)
	}
	// Counted repetitions multiply: refuse a large program before
	// Simplify expands it.
	if expandedSize(re) > maxProgInsts {
		return nil, errTooComplex
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, fmt.Errorf("invalid RE2 pattern: %v", err)
	}
	if len(prog.Inst) > maxProgInsts {
		return nil, errTooComplex
	}
	b := dfaBuilder{prog: prog, index: map[string]uint32{}}
	for _, inst := range prog.Inst {
		if inst.Op == syntax.InstEmptyWidth {
			b.assertions |= syntax.EmptyOp(inst.Arg)
		}
	}
	b.classify()
	if err := b.build(); err != nil {
		return nil, err
	}
	return b.table()
}

// expandedSize estimates the instruction count of re after counted
// repetitions are expanded, saturating well above maxProgInsts.
func expandedSize(re *syntax.Regexp) int {
	const ceiling = maxProgInsts * 4
	sum := 1
	for _, sub := range re.Sub {
		sum += expandedSize(sub)
	}
	if re.Op == syntax.OpRepeat {
		times := re.Max
		if times < 0 {
			times = re.Min + 1
		}
		sum *= max(times, 1)
	}
	if re.Op == syntax.OpLiteral {
		sum += len(re.Rune)
	}
	return min(sum, ceiling)
}

// A DFA state is the threads waiting at one position of the text, and as
// much as the assertions among them need to know of the rune before it:
// an assertion (^, $, \b, \B and their (?m) forms) is decided between two
// runes, so it waits in the state until the next rune (or the end of the
// text) is known, and is then decided by syntax.EmptyOpContext(prev, next).
// prev is a representative: -1 the start of the text, '\n' after a
// newline, 'a' after a word rune, ' ' after any other rune (or when no
// waiting assertion cares which).
type dfaState struct {
	pcs         []uint32
	prev        rune
	matchNow    bool
	matchAtEnd  bool
	transitions []uint32
}

type dfaBuilder struct {
	prog *syntax.Prog
	// assertions are the empty-width operators the program uses.
	assertions syntax.EmptyOp
	// bounds[i] is the first rune of interval i+1; interval 0 starts at 0.
	bounds []rune
	// classOf[i] is the class of interval i; reps[c] is a rune of class c.
	classOf []uint32
	reps    []rune
	states  []dfaState
	index   map[string]uint32
	work    int

	// startClosure is the threads the unanchored search adds at every
	// position; after[pc] those a rune instruction leads to once its rune
	// is read (closures with no text edge known: assertions wait).
	// Precomputed, each step of the construction is a union of lists.
	startClosure []uint32
	after        [][]uint32
	// Scratch sets, cleared in O(1), and intern's buffers: most of the
	// sets it is given are states it already has.
	decided, next, scratch threadSet
	pcs                    []uint32
	key                    []byte
}

// threadSet is a sparse set of instruction indexes (Briggs and Torczon):
// membership, insertion and clearing in constant time, iteration in
// insertion order. The construction builds one per state and rune class,
// so maps (allocating, hashing) made it the bulk of a create's time.
type threadSet struct {
	dense  []uint32
	sparse []uint32
	// match is whether a Match instruction is in the set.
	match bool
}

func newThreadSet(n int) threadSet {
	return threadSet{dense: make([]uint32, 0, n), sparse: make([]uint32, n)}
}

func (s *threadSet) has(pc uint32) bool {
	i := s.sparse[pc]
	return int(i) < len(s.dense) && s.dense[i] == pc
}

func (s *threadSet) clear() { s.dense, s.match = s.dense[:0], false }

// add puts pc, an instruction of op, in the set; false if it was there.
func (s *threadSet) add(pc uint32, op syntax.InstOp) bool {
	if s.has(pc) {
		return false
	}
	s.sparse[pc] = uint32(len(s.dense))
	s.dense = append(s.dense, pc)
	if op == syntax.InstMatch {
		s.match = true
	}
	return true
}

func isRuneInst(op syntax.InstOp) bool {
	switch op {
	case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
		return true
	}
	return false
}

// classify splits the rune space at every edge any instruction can see and
// merges the intervals that all instructions treat alike.
func (b *dfaBuilder) classify() {
	edges := map[rune]bool{'\n': true, '\n' + 1: true}
	addRange := func(lo, hi rune, fold bool) {
		edges[lo], edges[hi+1] = true, true
		if !fold || hi-lo > 512 {
			return
		}
		for r := lo; r <= hi; r++ {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				edges[f], edges[f+1] = true, true
			}
		}
	}
	// Word-boundary assertions tell word runes from others, so a class
	// must not mix them.
	if b.assertions&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0 {
		for _, word := range [][2]rune{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}} {
			edges[word[0]], edges[word[1]+1] = true, true
		}
	}
	for _, inst := range b.prog.Inst {
		fold := syntax.Flags(inst.Arg)&syntax.FoldCase != 0
		switch inst.Op {
		case syntax.InstRune1:
			addRange(inst.Rune[0], inst.Rune[0], fold)
		case syntax.InstRune:
			if len(inst.Rune) == 1 {
				addRange(inst.Rune[0], inst.Rune[0], fold)
				continue
			}
			for i := 0; i+1 < len(inst.Rune); i += 2 {
				addRange(inst.Rune[i], inst.Rune[i+1], fold)
			}
		}
	}
	for r := range edges {
		if r > 0 && r <= unicode.MaxRune {
			b.bounds = append(b.bounds, r)
		}
	}
	slices.Sort(b.bounds)
	signatures := map[string]uint32{}
	var sig strings.Builder
	for i := 0; i <= len(b.bounds); i++ {
		rep := rune(0)
		if i > 0 {
			rep = b.bounds[i-1]
		}
		sig.Reset()
		sig.WriteRune(b.context(rep))
		for _, inst := range b.prog.Inst {
			if isRuneInst(inst.Op) {
				if inst.MatchRune(rep) {
					sig.WriteByte('1')
				} else {
					sig.WriteByte('0')
				}
			}
		}
		class, ok := signatures[sig.String()]
		if !ok {
			class = uint32(len(b.reps))
			signatures[sig.String()] = class
			b.reps = append(b.reps, rep)
		}
		b.classOf = append(b.classOf, class)
	}
}

// context is what the assertions the program uses can tell of r, as the
// representative rune of dfaState.prev: a newline, a word rune, or other.
func (b *dfaBuilder) context(r rune) rune {
	switch {
	case r == '\n' && b.assertions&(syntax.EmptyBeginLine|syntax.EmptyEndLine) != 0:
		return '\n'
	case syntax.IsWordChar(r) && b.assertions&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0:
		return 'a'
	}
	return ' '
}

// closure adds pc and everything reachable from it without consuming a
// rune, given which text edges hold here.
func (b *dfaBuilder) closure(set *threadSet, pc uint32, edges syntax.EmptyOp) {
	b.work++
	inst := &b.prog.Inst[pc]
	if !set.add(pc, inst.Op) {
		return
	}
	switch inst.Op {
	case syntax.InstAlt, syntax.InstAltMatch:
		b.closure(set, inst.Out, edges)
		b.closure(set, inst.Arg, edges)
	case syntax.InstCapture, syntax.InstNop:
		b.closure(set, inst.Out, edges)
	case syntax.InstEmptyWidth:
		if syntax.EmptyOp(inst.Arg)&^edges == 0 {
			b.closure(set, inst.Out, edges)
		}
	}
}

// union adds the members of a closed list: a closure's members were all
// added with it, so a member already in set brings nothing new.
func (b *dfaBuilder) union(set *threadSet, pcs []uint32) {
	b.work += len(pcs)
	for _, pc := range pcs {
		set.add(pc, b.prog.Inst[pc].Op)
	}
}

// closed is the members of the closure of pc with no text edge known.
func (b *dfaBuilder) closed(pc uint32) []uint32 {
	b.scratch.clear()
	b.closure(&b.scratch, pc, 0)
	return slices.Clone(b.scratch.dense)
}

// anyEdge lets a closure pass every assertion.
const anyEdge = syntax.EmptyBeginLine | syntax.EmptyEndLine | syntax.EmptyBeginText | syntax.EmptyEndText |
	syntax.EmptyWordBoundary | syntax.EmptyNoWordBoundary

// intern returns the state for a thread set after a rune of context prev
// (-1: the start of the text), creating it if new.
func (b *dfaBuilder) intern(set *threadSet, prev rune) (uint32, error) {
	b.work += len(set.dense) // reading, sorting and keying the set
	pcs := b.pcs[:0]
	var waiting syntax.EmptyOp // what the assertions waiting here ask
	for _, pc := range set.dense {
		switch op := b.prog.Inst[pc].Op; {
		case op == syntax.InstEmptyWidth:
			waiting |= syntax.EmptyOp(b.prog.Inst[pc].Arg)
			pcs = append(pcs, pc)
		case isRuneInst(op) || op == syntax.InstMatch:
			pcs = append(pcs, pc)
		}
	}
	slices.Sort(pcs)
	b.pcs = pcs
	// An assertion may wait behind another at the same position ((?m)$^
	// after "a\n": ^ is reached once $ holds, at the end): what a waiting
	// one may lead to waits too.
	if waiting != 0 {
		b.scratch.clear()
		for _, pc := range pcs {
			if b.prog.Inst[pc].Op == syntax.InstEmptyWidth {
				b.closure(&b.scratch, pc, anyEdge)
			}
		}
		for _, pc := range b.scratch.dense {
			if b.prog.Inst[pc].Op == syntax.InstEmptyWidth {
				waiting |= syntax.EmptyOp(b.prog.Inst[pc].Arg)
			}
		}
	}
	// Keep of prev only what a waiting assertion can tell: states that
	// differ in nothing else are one.
	switch {
	case prev < 0:
	case prev == '\n' && waiting&syntax.EmptyBeginLine != 0:
	case prev == 'a' && waiting&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0:
	default:
		prev = ' '
	}
	b.key = binary.LittleEndian.AppendUint32(b.key[:0], uint32(prev+1))
	for _, pc := range pcs {
		b.key = binary.LittleEndian.AppendUint16(b.key, uint16(pc)) // pcs < maxProgInsts
	}
	if id, ok := b.index[string(b.key)]; ok {
		return id, nil
	}
	if len(b.states) >= maxDFAStates {
		return 0, fmt.Errorf("pattern too complex: its automaton exceeds %d states", maxDFAStates)
	}
	b.scratch.clear()
	for _, pc := range pcs {
		b.closure(&b.scratch, pc, syntax.EmptyOpContext(prev, -1))
	}
	id := uint32(len(b.states))
	b.states = append(b.states, dfaState{pcs: slices.Clone(pcs), prev: prev, matchNow: set.match, matchAtEnd: b.scratch.match})
	b.index[string(b.key)] = id
	return id, nil
}

func (b *dfaBuilder) build() error {
	n := len(b.prog.Inst)
	b.decided, b.next, b.scratch = newThreadSet(n), newThreadSet(n), newThreadSet(n)
	b.startClosure = b.closed(uint32(b.prog.Start))
	b.after = make([][]uint32, n)
	for pc, inst := range b.prog.Inst {
		if isRuneInst(inst.Op) {
			b.after[pc] = b.closed(inst.Out)
		}
	}
	b.next.clear()
	b.union(&b.next, b.startClosure)
	if _, err := b.intern(&b.next, -1); err != nil {
		return err
	}
	for id := 0; id < len(b.states); id++ {
		b.states[id].transitions = make([]uint32, len(b.reps))
		if b.states[id].matchNow {
			continue // the search stops here; transitions are never read
		}
		// The assertions waiting in the state are decided by the rune
		// read, and only by its context (newline, word rune, other), of
		// which a program tells at most three apart: decide once per
		// context, not per class.
		decidedFor := rune(-2)
		for class, rep := range b.reps {
			if ctx := b.context(rep); ctx != decidedFor {
				decidedFor = ctx
				b.decided.clear()
				edges := syntax.EmptyOpContext(b.states[id].prev, rep)
				for _, pc := range b.states[id].pcs {
					b.closure(&b.decided, pc, edges)
				}
			}
			b.next.clear()
			// A match an assertion allows only once this rune is known
			// (foo\b before a space) is a match here.
			if b.decided.match {
				for _, pc := range b.decided.dense {
					if b.prog.Inst[pc].Op == syntax.InstMatch {
						b.union(&b.next, []uint32{pc})
					}
				}
			} else {
				for _, pc := range b.decided.dense {
					inst := &b.prog.Inst[pc]
					if isRuneInst(inst.Op) && inst.MatchRune(rep) {
						b.union(&b.next, b.after[pc])
					}
				}
				b.union(&b.next, b.startClosure) // unanchored: a match may start here
			}
			if b.work > maxDFAWork {
				return errTooComplex
			}
			to, err := b.intern(&b.next, b.context(rep))
			if err != nil {
				return err
			}
			b.states[id].transitions[class] = to
		}
	}
	return nil
}

// DFA table layout (all u32 little-endian unless said):
//
//	0  bound count B      4  class count C      8  state count S     12 (zero)
//	16 ascii[128]: the class of each ASCII rune (one load instead of a search)
//	528 bounds[B]         then classOf[B+1]     then next[S*C]       then flags[S] (bytes)
//
// flags bit 0: a match has been seen; bit 1: a match if the text ends here.
const (
	dfaHeader = 16
	dfaASCII  = 4 * 128
)

func (b *dfaBuilder) table() ([]byte, error) {
	size := dfaHeader + dfaASCII + 4*len(b.bounds) + 4*len(b.classOf) + 4*len(b.states)*len(b.reps) + len(b.states)
	if size > maxDFATableBytes {
		return nil, fmt.Errorf("pattern too complex: its automaton needs %d bytes, over %d", size, maxDFATableBytes)
	}
	out := make([]byte, 0, size)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b.bounds)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b.reps)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b.states)))
	out = binary.LittleEndian.AppendUint32(out, 0)
	for r := range rune(128) {
		// The same as the search: the class after the bounds <= r.
		n, _ := slices.BinarySearch(b.bounds, r+1)
		out = binary.LittleEndian.AppendUint32(out, b.classOf[n])
	}
	for _, r := range b.bounds {
		out = binary.LittleEndian.AppendUint32(out, uint32(r))
	}
	for _, c := range b.classOf {
		out = binary.LittleEndian.AppendUint32(out, c)
	}
	for _, s := range b.states {
		for _, to := range s.transitions {
			out = binary.LittleEndian.AppendUint32(out, to)
		}
	}
	for _, s := range b.states {
		var flags byte
		if s.matchNow {
			flags |= 1
		}
		if s.matchAtEnd {
			flags |= 2
		}
		out = append(out, flags)
	}
	return out, nil
}
