package filters

import (
	"encoding/binary"
	"fmt"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Limits on the DFA a `matches` pattern compiles to. RE2 guarantees linear
// time; these keep the table small too.
const (
	maxDFAStates     = 4096
	maxDFATableBytes = 1 << 20
	maxProgInsts     = 4096
	// maxDFAWork bounds the closure steps of subset construction, so that a
	// hostile pattern costs milliseconds of a create request, not seconds.
	maxDFAWork = 4 << 20
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
func (b *dfaBuilder) closure(set map[uint32]bool, pc uint32, edges syntax.EmptyOp) {
	b.work++
	if set[pc] {
		return
	}
	set[pc] = true
	inst := &b.prog.Inst[pc]
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

// anyEdge lets a closure pass every assertion.
const anyEdge = syntax.EmptyBeginLine | syntax.EmptyEndLine | syntax.EmptyBeginText | syntax.EmptyEndText |
	syntax.EmptyWordBoundary | syntax.EmptyNoWordBoundary

func (b *dfaBuilder) hasMatch(set map[uint32]bool) bool {
	for pc := range set {
		if b.prog.Inst[pc].Op == syntax.InstMatch {
			return true
		}
	}
	return false
}

// intern returns the state for a thread set after a rune of context prev
// (-1: the start of the text), creating it if new.
func (b *dfaBuilder) intern(set map[uint32]bool, prev rune) (uint32, error) {
	var pcs []uint32
	var waiting syntax.EmptyOp // what the assertions waiting here ask
	for pc := range set {
		switch op := b.prog.Inst[pc].Op; {
		case op == syntax.InstEmptyWidth:
			waiting |= syntax.EmptyOp(b.prog.Inst[pc].Arg)
			pcs = append(pcs, pc)
		case isRuneInst(op) || op == syntax.InstMatch:
			pcs = append(pcs, pc)
		}
	}
	slices.Sort(pcs)
	// An assertion may wait behind another at the same position ((?m)$^
	// after "a\n": ^ is reached once $ holds, at the end): what a waiting
	// one may lead to waits too.
	if waiting != 0 {
		behind := map[uint32]bool{}
		for _, pc := range pcs {
			if b.prog.Inst[pc].Op == syntax.InstEmptyWidth {
				b.closure(behind, pc, anyEdge)
			}
		}
		for pc := range behind {
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
	var key strings.Builder
	key.WriteRune(prev + 1)
	key.WriteByte(':')
	for _, pc := range pcs {
		key.WriteString(strconv.FormatUint(uint64(pc), 36))
		key.WriteByte(',')
	}
	if id, ok := b.index[key.String()]; ok {
		return id, nil
	}
	if len(b.states) >= maxDFAStates {
		return 0, fmt.Errorf("pattern too complex: its automaton exceeds %d states", maxDFAStates)
	}
	atEnd := map[uint32]bool{}
	for _, pc := range pcs {
		b.closure(atEnd, pc, syntax.EmptyOpContext(prev, -1))
	}
	id := uint32(len(b.states))
	b.states = append(b.states, dfaState{pcs: pcs, prev: prev, matchNow: b.hasMatch(set), matchAtEnd: b.hasMatch(atEnd)})
	b.index[key.String()] = id
	return id, nil
}

func (b *dfaBuilder) build() error {
	start := map[uint32]bool{}
	b.closure(start, uint32(b.prog.Start), 0)
	if _, err := b.intern(start, -1); err != nil {
		return err
	}
	for id := 0; id < len(b.states); id++ {
		b.states[id].transitions = make([]uint32, len(b.reps))
		if b.states[id].matchNow {
			continue // the search stops here; transitions are never read
		}
		for class, rep := range b.reps {
			decided := map[uint32]bool{}
			edges := syntax.EmptyOpContext(b.states[id].prev, rep)
			for _, pc := range b.states[id].pcs {
				b.closure(decided, pc, edges)
			}
			next := map[uint32]bool{}
			// A match an assertion allows only once this rune is known
			// (foo\b before a space) is a match here.
			if b.hasMatch(decided) {
				for pc := range decided {
					if b.prog.Inst[pc].Op == syntax.InstMatch {
						next[pc] = true
					}
				}
			} else {
				for pc := range decided {
					inst := &b.prog.Inst[pc]
					if isRuneInst(inst.Op) && inst.MatchRune(rep) {
						b.closure(next, inst.Out, 0)
					}
				}
				b.closure(next, uint32(b.prog.Start), 0) // unanchored: a match may start here
			}
			if b.work > maxDFAWork {
				return errTooComplex
			}
			to, err := b.intern(next, b.context(rep))
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
