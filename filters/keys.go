package filters

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Key is what an event must have for one trigger (or sequence step) to
// match it, or to count towards it: its type and, when one of the
// trigger's conditions allows it, something about one field that an index
// over many streams can look up without running their modules. An event
// whose fields a key does not admit gets 0 from the module and changes no
// state.
type Key struct {
	Type  string
	Kind  KeyKind
	Field Field // zero Text for KeyType
	// Values, sorted and unique: the strings of KeyEqual, or the literals
	// of KeyContains (one of them occurs in every string the condition
	// accepts, where Anchor says).
	Values []string
	// Anchor of a KeyContains key: where in the field its literal must be.
	Anchor Anchor
	// Bound of KeyAbove and KeyBelow; Inclusive for gte and lte.
	Bound     float64
	Inclusive bool
	// Alternatives of a KeyContains key are the trigger's other literal
	// keys worth checking (literals of at least minAlternativeLiteral
	// bytes, at most MaxKeyAlternatives), each as necessary as the key
	// itself: an index that requires them all is not fooled by a site's
	// URL prefix that every stream's pattern starts with.
	Alternatives []Key
}

// KeyKind says what a Key asks of its field.
type KeyKind uint8

const (
	// KeyType: the event type alone.
	KeyType KeyKind = iota
	// KeyEqual: the field is a string equal to one of Values (eq, in).
	KeyEqual
	// KeyContains: the field is a string in which one of Values occurs
	// (contains, starts_with, ends_with, and matches when its pattern has
	// literals every match must contain).
	KeyContains
	// KeyAbove: the field is a number above Bound (gt; gte when Inclusive).
	KeyAbove
	// KeyBelow: the field is a number below Bound (lt; lte when Inclusive).
	KeyBelow
)

// Anchor says where a KeyContains key's literal occurs in its field. An
// anchored literal is looked up by the text's first or last bytes instead
// of searched for in all of them.
type Anchor uint8

const (
	// AnchorNone: anywhere (contains; literals inside a pattern).
	AnchorNone Anchor = iota
	// AnchorStart: the field starts with it (starts_with; a pattern's
	// literal text right after its leading ^).
	AnchorStart
	// AnchorEnd: the field ends with it (ends_with; a pattern's literal
	// text right before its closing $).
	AnchorEnd
)

// Admits reports whether an event of the key's type whose fields value
// reports fits the key and its alternatives. Indexes must admit at least
// what this admits.
func (k Key) Admits(value func(Field) Value) bool {
	for _, alt := range k.Alternatives {
		if !alt.admits(value(alt.Field)) {
			return false
		}
	}
	return k.admits(value(k.Field))
}

// admits reports whether a field that holds v fits the key itself.
func (k Key) admits(v Value) bool {
	switch k.Kind {
	case KeyEqual:
		_, found := slices.BinarySearch(k.Values, v.Str)
		return v.Kind == KindString && found
	case KeyContains:
		if v.Kind != KindString {
			return false
		}
		for _, lit := range k.Values {
			if k.Anchor.Occurs(v.Str, lit) {
				return true
			}
		}
		return false
	case KeyAbove:
		return v.Kind == KindNumber && (v.Num > k.Bound || k.Inclusive && v.Num == k.Bound)
	case KeyBelow:
		return v.Kind == KindNumber && (v.Num < k.Bound || k.Inclusive && v.Num == k.Bound)
	}
	return true
}

// Occurs reports whether lit is in text where a says.
func (a Anchor) Occurs(text, lit string) bool {
	switch a {
	case AnchorStart:
		return strings.HasPrefix(text, lit)
	case AnchorEnd:
		return strings.HasSuffix(text, lit)
	}
	return strings.Contains(text, lit)
}

// keyOf is the key of a trigger or step, from the condition that narrows
// it most cheaply: a string eq or an all-string in (exact lookups), else
// the condition with the longest necessary literals (a multi-pattern
// search), else a numeric bound, else the type alone.
func keyOf(p triggerPlan) Key {
	k := Key{Type: p.eventType}
	for _, op := range []Op{OpEq, OpIn} {
		for _, c := range p.conditions {
			if c.op != op || c.field.Root == FieldType {
				continue
			}
			if values := stringValues(c.values); len(values) > 0 {
				k.Kind, k.Field, k.Values = KeyEqual, c.field, values
				return k
			}
		}
	}
	var literal []Key
	for _, c := range p.conditions {
		if c.field.Root == FieldType {
			continue
		}
		var sets []literalSet
		switch c.op {
		case OpContains:
			sets = []literalSet{{values: []string{c.values[0].Str}}}
		case OpStartsWith:
			sets = []literalSet{{values: []string{c.values[0].Str}, anchor: AnchorStart}}
		case OpEndsWith:
			sets = []literalSet{{values: []string{c.values[0].Str}, anchor: AnchorEnd}}
		case OpMatches:
			sets = regexLiterals(c.values[0].Str)
		}
		for _, set := range sets {
			if shortest(set.values) > 0 {
				literal = append(literal, Key{Type: p.eventType, Kind: KeyContains, Field: c.field, Values: set.values, Anchor: set.anchor})
			}
		}
	}
	if len(literal) > 0 {
		// The longest literals first: without knowing the catalog, the
		// longer a literal, the rarer.
		slices.SortStableFunc(literal, func(a, b Key) int { return shortest(b.Values) - shortest(a.Values) })
		k = literal[0]
		for _, alt := range literal[1:] {
			// A literal of a byte or two is in most texts: checking it
			// costs more than the predicate calls it saves.
			if shortest(alt.Values) >= minAlternativeLiteral && len(k.Alternatives) < MaxKeyAlternatives {
				k.Alternatives = append(k.Alternatives, alt)
			}
		}
		return k
	}
	for _, c := range p.conditions {
		switch c.op {
		case OpGt, OpGte:
			k.Kind = KeyAbove
		case OpLt, OpLte:
			k.Kind = KeyBelow
		default:
			continue
		}
		k.Field, k.Bound, k.Inclusive = c.field, c.values[0].Num, c.op == OpGte || c.op == OpLte
		return k
	}
	return k
}

// stringValues returns values as sorted unique strings, or nil when one of
// them is not a string.
func stringValues(values []Value) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if v.Kind != KindString {
			return nil
		}
		out = append(out, v.Str)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// shortest is the length of the shortest literal, 0 for none.
func shortest(literals []string) int {
	if len(literals) == 0 {
		return 0
	}
	n := len(literals[0])
	for _, l := range literals[1:] {
		n = min(n, len(l))
	}
	return n
}

// minAlternativeLiteral and MaxKeyAlternatives bound a key's alternatives.
const (
	minAlternativeLiteral = 3
	MaxKeyAlternatives    = 15
)

// maxRegexLiterals bounds the literal set an alternation contributes; a
// larger one is not worth indexing.
const maxRegexLiterals = 16

// literalSet is literals one of which every string a condition accepts
// has, where anchor says.
type literalSet struct {
	values []string
	anchor Anchor
}

// regexLiterals returns sets of literals (each sorted, unique) such that
// every string the RE2 pattern matches contains one literal of each set,
// so that streams with a `matches` condition can be indexed by a
// substring search; none when it finds none. The literal text right after
// a leading ^ is anchored at the start, that right before a closing $ at
// the end (URL patterns usually have both).
func regexLiterals(pattern string) []literalSet {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	var sets []literalSet
	for _, values := range necessaryLiterals(re) {
		slices.Sort(values)
		sets = append(sets, literalSet{values: slices.Compact(values)})
	}
	prefix, suffix := anchoredLiterals(re)
	anchor := func(lit string, at Anchor, from, step int) {
		if lit == "" {
			return
		}
		for i := from; i >= 0 && i < len(sets); i += step {
			if s := &sets[i]; s.anchor == AnchorNone && len(s.values) == 1 && s.values[0] == lit {
				s.anchor = at
				return
			}
		}
		sets = append(sets, literalSet{values: []string{lit}, anchor: at})
	}
	anchor(prefix, AnchorStart, 0, 1)
	anchor(suffix, AnchorEnd, len(sets)-1, -1)
	return sets
}

// anchoredLiterals returns the literal text a pattern's every match starts
// with (what follows its leading ^) and ends with (what precedes its
// closing $), "" for none. Only ^ and $ of the whole pattern count: under
// syntax.Perl (one line) they are the text's start and end; with (?m)
// they are lines' and parse to other operators.
func anchoredLiterals(re *syntax.Regexp) (prefix, suffix string) {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return "", ""
	}
	subs := re.Sub
	if subs[0].Op == syntax.OpBeginText {
		var b strings.Builder
		for _, sub := range subs[1:] {
			s, ok := plainLiteral(sub)
			if !ok {
				break
			}
			b.WriteString(s)
		}
		prefix = b.String()
	}
	if subs[len(subs)-1].Op == syntax.OpEndText {
		start := len(subs) - 1
		for start > 0 {
			if _, ok := plainLiteral(subs[start-1]); !ok {
				break
			}
			start--
		}
		var b strings.Builder
		for _, sub := range subs[start : len(subs)-1] {
			s, _ := plainLiteral(sub)
			b.WriteString(s)
		}
		suffix = b.String()
	}
	return prefix, suffix
}

// necessaryLiterals walks a parsed pattern: a literal must occur; a
// concatenation needs what each of its parts needs (adjacent literals
// joined); an alternation needs one of what its branches need (the
// longest set of each); a repetition of at least one needs what its body
// needs. Everything else (classes, optional parts, case folding) needs
// nothing that can be named.
func necessaryLiterals(re *syntax.Regexp) [][]string {
	switch re.Op {
	case syntax.OpLiteral:
		if s, ok := plainLiteral(re); ok {
			return [][]string{{s}}
		}
	case syntax.OpCapture, syntax.OpPlus:
		return necessaryLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return necessaryLiterals(re.Sub[0])
		}
	case syntax.OpAlternate:
		var any []string
		for _, sub := range re.Sub {
			sets := necessaryLiterals(sub)
			if len(sets) == 0 {
				return nil
			}
			any = append(any, slices.MaxFunc(sets, func(a, b []string) int { return shortest(a) - shortest(b) })...)
		}
		if len(any) <= maxRegexLiterals {
			return [][]string{any}
		}
	case syntax.OpConcat:
		var sets [][]string
		var run strings.Builder
		for _, sub := range re.Sub {
			if s, ok := plainLiteral(sub); ok {
				run.WriteString(s)
				continue
			}
			if run.Len() > 0 {
				sets = append(sets, []string{run.String()})
				run.Reset()
			}
			sets = append(sets, necessaryLiterals(sub)...)
		}
		if run.Len() > 0 {
			sets = append(sets, []string{run.String()})
		}
		return sets
	}
	return nil
}

// plainLiteral is the text of a case-sensitive literal node. A literal
// with U+FFFD is left out: the automaton reads each invalid byte as U+FFFD,
// so such a pattern can match bytes that do not contain it.
func plainLiteral(re *syntax.Regexp) (string, bool) {
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase != 0 {
		return "", false
	}
	s := string(re.Rune)
	return s, !strings.ContainsRune(s, utf8.RuneError)
}
