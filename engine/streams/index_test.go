package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/hookwire/hookwire/bench/catalog"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/filters"
	"github.com/hookwire/hookwire/wasm"
)

// TestSubstringsFindEveryLiteral: the automaton reports exactly the
// literals that occur in a text, on a small alphabet where literals
// overlap and nest (the failure links' hard cases), through its table and
// through its edges (as when the table would be too large).
func TestSubstringsFindEveryLiteral(t *testing.T) {
	for _, table := range []bool{true, false} {
		t.Run(fmt.Sprintf("table=%v", table), func(t *testing.T) {
			if !table {
				defer func(n int) { maxTableEntries = n }(maxTableEntries)
				maxTableEntries = 0
			}
			substringsAgreeWithContains(t)
		})
	}
}

func substringsAgreeWithContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(maxLen int, alphabet string) string {
		var b strings.Builder
		for range 1 + rng.IntN(maxLen) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for round := range 300 {
		literals := make([]string, 1+rng.IntN(12))
		for i := range literals {
			literals[i] = word(4, "ab/c")
		}
		a := newSubstrings(literals)
		if len(literals) > fewLiterals && (a.next != nil) != (maxTableEntries > 0) {
			t.Fatalf("table built: %v, with room for %d entries", a.next != nil, maxTableEntries)
		}
		for range 20 {
			text := word(16, "ab/cx\xff") // and bytes no literal has
			var want []int32
			got := a.find(text, nil)
			slices.Sort(got)
			got = slices.Compact(got)
			for i, lit := range literals {
				if strings.Contains(text, lit) {
					want = append(want, int32(i))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: literals %q in %q: found %v, want %v", round, literals, text, got, want)
			}
		}
	}
}

// TestCandidatesAgreeWithKeys: over a catalog of streams with every kind
// of key, the index offers an event exactly the streams one of whose keys
// admits it, alternatives and anchors included (filters.Key.Admits;
// TestKeysAdmitEveryMatch shows keys admit every match); with anchored
// literals looked up by length, and with each field's searched for
// instead (as when they come in too many lengths).
func TestCandidatesAgreeWithKeys(t *testing.T) {
	for _, lengths := range []int{maxAffixLengths, 0} {
		t.Run(fmt.Sprintf("affix-lengths=%d", lengths), func(t *testing.T) {
			defer func(n int) { maxAffixLengths = n }(maxAffixLengths)
			maxAffixLengths = lengths
			candidatesAgreeWithKeys(t)
		})
	}
}

func candidatesAgreeWithKeys(t *testing.T) {
	ctx := context.Background()
	cat := openCatalog(t, 200)
	rng := rand.New(rand.NewPCG(3, 4))
	types := []string{"click", "navigate"}
	fields := []string{"url", "properties.price"}
	texts := []string{"/cart", "/cart/7", "/help", "/a/cart", "/x", "cart", "/help/cart"}
	condition := func() filters.Condition {
		field := fields[rng.IntN(len(fields))]
		text, _ := json.Marshal(texts[rng.IntN(len(texts))])
		switch op := []filters.Op{"eq", "in", "contains", "starts_with", "ends_with", "matches", "gt", "gte", "lt", "lte", "exists"}[rng.IntN(11)]; op {
		case "in":
			return filters.Condition{Field: field, Op: op, Value: fmt.Appendf(nil, `[%s, "/x", 3]`, text)}
		case "matches":
			pattern, _ := json.Marshal([]string{`^/(cart|help)`, `c[a-z]+t`, `/\d`, `x?`, `/(cart|help)/\d`, `^/help/.*cart`,
				`^/help/.*cart$`, `/cart/\d$`, `^/cart$`, `(?m)^/x$`}[rng.IntN(10)])
			return filters.Condition{Field: field, Op: op, Value: pattern}
		case "gt", "gte", "lt", "lte":
			return filters.Condition{Field: field, Op: op, Value: fmt.Appendf(nil, "%d", rng.IntN(4))}
		case "exists":
			return filters.Condition{Field: field, Op: op}
		default:
			return filters.Condition{Field: field, Op: op, Value: text}
		}
	}
	for i := range 120 {
		var triggers []filters.Trigger
		for range 1 + rng.IntN(2) {
			where := []filters.Condition{condition()}
			if rng.IntN(2) == 0 {
				where = append(where, condition())
			}
			triggers = append(triggers, filters.Trigger{Event: types[rng.IntN(len(types))], Where: where})
		}
		if _, _, err := cat.Create(ctx, &Definition{Name: fmt.Sprintf("s%d", i), Triggers: triggers,
			Destination: &model.Destination{URL: "http://127.0.0.1:9/hook"}}); err != nil {
			t.Fatalf("stream %d %+v: %v", i, triggers, err)
		}
	}
	snap := cat.Snapshot()
	kinds := map[filters.KeyKind]int{}
	for _, cs := range snap.Streams {
		for _, k := range cs.Program.Keys {
			kinds[k.Kind]++
		}
	}
	alternatives, anchors := 0, map[filters.Anchor]int{}
	for _, cs := range snap.Streams {
		for _, k := range cs.Program.Keys {
			alternatives += len(k.Alternatives)
			for _, set := range append([]filters.Key{k}, k.Alternatives...) {
				if set.Kind == filters.KeyContains {
					anchors[set.Anchor]++
				}
			}
		}
	}
	if len(kinds) != 5 || alternatives == 0 || len(anchors) != 3 {
		t.Fatalf("the catalog's keys cover kinds %v with %d alternatives and anchors %v, want all five kinds, some alternatives, all three anchors",
			kinds, alternatives, anchors)
	}
	values := []filters.Value{{}, {Kind: filters.KindNumber, Num: 0}, {Kind: filters.KindNumber, Num: 1.5},
		{Kind: filters.KindNumber, Num: 2}, {Kind: filters.KindNumber, Num: 9}}
	for _, s := range append(texts, "/help/cart/1", "/zzz", "ca/rt", "/help/x/cart", "/a/cart/7", "/x\n/y") {
		values = append(values, filters.Value{Kind: filters.KindString, Str: s})
	}
	var buf CandidateBuffer
	offered := 0
	for _, typ := range append(types, "scroll") {
		for _, url := range values {
			for _, price := range values {
				event := map[string]filters.Value{"url": url, "properties.price": price}
				value := func(f filters.Field) filters.Value { return event[f.Text] }
				var want []int32
				for pos, cs := range snap.Streams {
					if slices.ContainsFunc(cs.Program.Keys, func(k filters.Key) bool { return k.Type == typ && k.Admits(value) }) {
						want = append(want, int32(pos))
					}
				}
				got := snap.Candidates(typ, value, &buf)
				if !slices.Equal(got, want) {
					t.Fatalf("%s with url %+v, price %+v: offered %v, keys admit %v", typ, url, price, got, want)
				}
				offered += len(got)
			}
		}
	}
	if offered == 0 {
		t.Fatal("no event was offered a stream: the test proves nothing")
	}
}

// TestAnchoredLiteralsGateTheSearch: where every key that needs a field
// searched also has anchored literals, the search runs only for the keys
// whose anchored literals were found, and a stream is offered exactly when
// its anchored and searched literals are all there.
func TestAnchoredLiteralsGateTheSearch(t *testing.T) {
	ctx := context.Background()
	cat := openCatalog(t, 10)
	for name, pattern := range map[string]string{
		"help-cart": `^/help/.*cart`,                    // ^/help/, then cart anywhere
		"shop-step": `^/shop/(cart|checkout)/step-1$`,   // ^/shop/, /step-1$, art or heckout
		"any-faq":   `^[a-z]+\.example/faq-\d+/answer$`, // .example/faq- anywhere, /answer$
	} {
		value, _ := json.Marshal(pattern)
		trigger := filters.Trigger{Event: "navigate", Where: []filters.Condition{{Field: "url", Op: filters.OpMatches, Value: value}}}
		if _, _, err := cat.Create(ctx, &Definition{Name: name, Triggers: []filters.Trigger{trigger},
			Destination: &model.Destination{URL: "http://127.0.0.1:9/hook"}}); err != nil {
			t.Fatal(err)
		}
	}
	snap := cat.Snapshot()
	var buf CandidateBuffer
	for url, want := range map[string]string{
		"/help/x/cart":                    "help-cart",
		"/help/x":                         "",
		"/x/help/cart":                    "",
		"/shop/cart/step-1":               "shop-step",
		"/shop/checkout/step-1":           "shop-step",
		"/shop/cart/step-2":               "",
		"/shop/x/step-1":                  "",
		"/help/cart.example/faq-1/answer": "any-faq help-cart",
		"/help/faq-1/answer":              "",
		"answer":                          "",
	} {
		value := func(filters.Field) filters.Value { return filters.Value{Kind: filters.KindString, Str: url} }
		var got, admitted []string
		for _, pos := range snap.Candidates("navigate", value, &buf) {
			got = append(got, snap.Streams[pos].Stream.Name)
		}
		for _, cs := range snap.Streams {
			if cs.Program.Keys[0].Admits(value) {
				admitted = append(admitted, cs.Stream.Name)
			}
		}
		slices.Sort(got)
		slices.Sort(admitted)
		if strings.Join(got, " ") != want || !slices.Equal(got, admitted) {
			t.Errorf("%s: offered %v, keys admit %v, want %q", url, got, admitted, want)
		}
	}
}

// BenchmarkCandidates: the index's answer for one event against a catalog
// of 10 or 1000 streams shaped like the harness's mixed catalogue (each
// stream its own button, URL step, missing page, price bound or e-mail
// domain), for a navigate event with a ~100-byte URL and a click.
func BenchmarkCandidates(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			ctx := context.Background()
			cat := openCatalog(b, n)
			for i := range n {
				c := catalog.Mixed(i)
				raw, _ := json.Marshal(c.Value)
				trigger := filters.Trigger{Event: c.Event, Where: []filters.Condition{{Field: c.Field, Op: filters.Op(c.Op), Value: raw}}}
				if _, _, err := cat.Create(ctx, &Definition{Name: fmt.Sprintf("s%d", i), Triggers: []filters.Trigger{trigger},
					Destination: &model.Destination{URL: "http://127.0.0.1:9/hook"}}); err != nil {
					b.Fatal(err)
				}
			}
			snap := cat.Snapshot()
			fields := map[string]filters.Value{
				"url":                    {Kind: filters.KindString, Str: "https://shop.example/products/17?ref=campaign-autumn&utm_source=newsletter"},
				"properties.target_text": {Kind: filters.KindString, Str: "Add to cart"},
				"user.email":             {Kind: filters.KindString, Str: "user-17@example.com"},
			}
			value := func(f filters.Field) filters.Value { return fields[f.Text] }
			var buf CandidateBuffer
			b.ReportAllocs()
			offered := 0
			for i := 0; b.Loop(); i++ {
				offered += len(snap.Candidates([]string{"navigate", "click"}[i%2], value, &buf))
			}
			if offered != 0 {
				b.Fatalf("%d streams offered for events none can match", offered)
			}
		})
	}
}

// TestSegmentsForEachType: a segment is offered the types its declarative
// triggers and scoped filter triggers react to; one with an unscoped
// filter trigger every type, including types no segment names; each list
// in the segments' order.
func TestSegmentsForEachType(t *testing.T) {
	segment := func(name string, declared []string, filterTypes ...string) *CompiledSegment {
		p := &Predicate{Program: &filters.Program{EventTypes: declared}}
		if declared != nil {
			p.Pool = &wasm.Pool{}
		}
		for _, ft := range filterTypes {
			p.Custom = append(p.Custom, CustomRun{Trigger: filters.CustomTrigger{Filter: "f", Event: ft}})
		}
		return &CompiledSegment{Segment: &model.Segment{Name: name}, Predicate: p}
	}
	clicks := segment("clicks", []string{"click"})
	anything := segment("anything", nil, "")
	navigations := segment("navigations", []string{"click"}, "navigate", "navigate")
	snap := &Snapshot{Segments: []*CompiledSegment{clicks, anything, navigations}}
	names := func(segs []*CompiledSegment) (out []string) {
		for _, s := range segs {
			out = append(out, s.Segment.Name)
		}
		return out
	}
	for typ, want := range map[string][]string{
		"click":    {"clicks", "anything", "navigations"},
		"navigate": {"anything", "navigations"},
		"custom":   {"anything"},
	} {
		if got := names(snap.SegmentsFor(typ)); !slices.Equal(got, want) {
			t.Errorf("SegmentsFor(%s) = %v, want %v", typ, got, want)
		}
	}
}
