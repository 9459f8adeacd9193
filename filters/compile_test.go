package filters_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hookwire/hookwire/filters"
	"github.com/hookwire/hookwire/wasm"
)

// evaluate compiles triggers and runs one event, given as field text → value,
// through the generated module on a real wazero runtime.
func evaluate(t *testing.T, triggers []filters.Trigger, fields map[string]filters.Value) int32 {
	t.Helper()
	prog, err := filters.Compile("triggers", triggers)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	ctx := context.Background()
	rt := newRuntime(t)
	mod, err := rt.Compile(ctx, prog.Wasm)
	if err != nil {
		t.Fatalf("wazero rejected the generated module: %v", err)
	}
	inst, err := mod.Instantiate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	values := make([]filters.Value, len(prog.Slots))
	for i, f := range prog.Slots {
		values[i] = fields[f.Text]
	}
	verdict, err := inst.Match(filters.AppendRecord(nil, values), nil)
	if err != nil {
		t.Fatalf("match: %v", err)
	}
	return verdict
}

func str(s string) filters.Value   { return filters.Value{Kind: filters.KindString, Str: s} }
func num(n float64) filters.Value  { return filters.Value{Kind: filters.KindNumber, Num: n} }
func raw(s string) json.RawMessage { return json.RawMessage(s) }
func where(field, op, value string) filters.Condition {
	return filters.Condition{Field: field, Op: filters.Op(op), Value: raw(value)}
}

func TestCompiledConditions(t *testing.T) {
	click := map[string]filters.Value{
		"type":                  str("click"),
		"url":                   str("https://shop.example/cart?step=2"),
		"properties.target":     str("Buy now"),
		"properties.price":      num(42.5),
		"properties.flag":       {Kind: filters.KindTrue},
		"properties.gone":       {Kind: filters.KindNull},
		"properties.obj":        {Kind: filters.KindObject},
		"user.email":            str("ada@example.com"),
		"properties.unicode":    str("Grüße, 世界!"),
		"timestamp":             num(1795780800123), // 2026-11-27T12:00:00.123Z
		"user.properties.plan":  str("pro"),
		"properties.deep.a.b.c": str("x"),
	}
	tests := []struct {
		name  string
		cond  filters.Condition
		match bool
	}{
		{"eq string", where("properties.target", "eq", `"Buy now"`), true},
		{"eq string differs", where("properties.target", "eq", `"Buy"`), false},
		{"eq string is prefix of value", where("properties.target", "eq", `"Buy now!"`), false},
		{"eq number", where("properties.price", "eq", `42.5`), true},
		{"eq number vs string field", where("properties.target", "eq", `42.5`), false},
		{"eq true", where("properties.flag", "eq", `true`), true},
		{"eq false", where("properties.flag", "eq", `false`), false},
		{"eq null", where("properties.gone", "eq", `null`), true},
		{"neq", where("properties.target", "neq", `"Sell"`), true},
		{"neq on absent field", where("properties.missing", "neq", `"x"`), true},
		{"contains", where("url", "contains", `"/cart"`), true},
		{"contains at end", where("url", "contains", `"step=2"`), true},
		{"contains whole", where("url", "contains", `"https://shop.example/cart?step=2"`), true},
		{"contains longer than value", where("url", "contains", `"https://shop.example/cart?step=2x"`), false},
		{"contains absent", where("url", "contains", `"/help"`), false},
		{"not_contains", where("url", "not_contains", `"/help"`), true},
		{"not_contains present", where("url", "not_contains", `"/cart"`), false},
		{"starts_with", where("url", "starts_with", `"https://"`), true},
		{"starts_with no", where("url", "starts_with", `"http://"`), false},
		{"ends_with", where("url", "ends_with", `"step=2"`), true},
		{"ends_with no", where("url", "ends_with", `"/cart"`), false},
		{"gt", where("properties.price", "gt", `42`), true},
		{"gt equal", where("properties.price", "gt", `42.5`), false},
		{"gte equal", where("properties.price", "gte", `42.5`), true},
		{"lt", where("properties.price", "lt", `100`), true},
		{"lte no", where("properties.price", "lte", `1`), false},
		{"gt on string field", where("properties.target", "gt", `1`), false},
		{"timestamp gt RFC 3339", where("timestamp", "gt", `"2026-11-27T11:59:59Z"`), true},
		{"timestamp lt RFC 3339", where("timestamp", "lt", `"2026-11-27T11:59:59Z"`), false},
		{"exists", where("properties.price", "exists", ``), true},
		{"exists object", where("properties.obj", "exists", `true`), true},
		{"exists null is absent", where("properties.gone", "exists", ``), false},
		{"exists false", where("properties.missing", "exists", `false`), true},
		{"in strings", where("user.email", "in", `["x@example.com","ada@example.com"]`), true},
		{"in none", where("user.email", "in", `["x@example.com"]`), false},
		{"in mixed number", where("properties.price", "in", `["42.5", 42.5]`), true},
		{"nested property", where("properties.deep.a.b.c", "eq", `"x"`), true},
		{"user property", where("user.properties.plan", "eq", `"pro"`), true},
		{"matches", where("url", "matches", `"/cart\\?step=\\d+$"`), true},
		{"matches anchored start", where("url", "matches", `"^https://shop"`), true},
		{"matches anchored start fails", where("url", "matches", `"^shop"`), false},
		{"matches end anchor fails", where("url", "matches", `"cart$"`), false},
		{"matches alternation", where("properties.target", "matches", `"(Sell|Buy) (now|later)"`), true},
		{"matches case-insensitive", where("properties.target", "matches", `"(?i)BUY NOW"`), true},
		{"matches unicode class", where("properties.unicode", "matches", `"\\p{Han}+!$"`), true},
		{"matches unicode literal", where("properties.unicode", "matches", `"Grüße"`), true},
		{"matches any rune", where("properties.unicode", "matches", `"^Gr.ße"`), true},
		{"matches no", where("properties.unicode", "matches", `"\\p{Greek}"`), false},
		{"matches empty pattern on anything", where("url", "matches", `"x*"`), true},
		{"matches number field", where("properties.price", "matches", `"4"`), false},
		{"name absent", where("name", "eq", `"Checkout"`), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := evaluate(t, []filters.Trigger{{Event: "click", Where: []filters.Condition{tc.cond}}}, click)
			if (got == 1) != tc.match {
				t.Fatalf("verdict %d, want match=%v", got, tc.match)
			}
		})
	}
}

func TestTriggersAreOredAndTypeChecked(t *testing.T) {
	triggers := []filters.Trigger{
		{Event: "rage_click", Where: []filters.Condition{where("url", "contains", `"/cart"`)}},
		{Event: "custom", Where: []filters.Condition{where("name", "eq", `"Checkout Error"`)}},
	}
	tests := []struct {
		name   string
		fields map[string]filters.Value
		want   int32
	}{
		{"first trigger", map[string]filters.Value{"type": str("rage_click"), "url": str("/cart")}, 1},
		{"second trigger", map[string]filters.Value{"type": str("custom"), "name": str("Checkout Error")}, 2},
		{"right type, wrong field", map[string]filters.Value{"type": str("rage_click"), "url": str("/home")}, 0},
		{"wrong type", map[string]filters.Value{"type": str("click"), "url": str("/cart")}, 0},
		{"type is a prefix", map[string]filters.Value{"type": str("rage_clic"), "url": str("/cart")}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := evaluate(t, triggers, tc.fields); got != tc.want {
				t.Fatalf("verdict %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRegexAgreesWithGo runs patterns through the generated DFA and Go's
// regexp on the same inputs.
func TestRegexAgreesWithGo(t *testing.T) {
	patterns := []string{`a+b`, `^a.c$`, `(?i)héllo`, `[0-9]{3}-[0-9]{4}`, `x|y|z`, `^$`, `colou?r`,
		`(?s)a.b`, `a.b`, `\d+\.\d\d$`, `^(ab)*$`, `[^a-z]`, `\pL\PL`,
		// Assertions decided between two runes: word boundaries and the
		// multi-line anchors.
		`\bcheckout\b`, `\Bout`, `\b`, `\B`, `^\b`, `\b$`, `x\b|y\B`, `(?i)\bHELLO\b`, `\b\d+\b`,
		`(?m)^ab$`, `(?m)^c`, `(?m)b$`, `(?m)^$`, `(?m)^\bb`, `(?m)a$\n^b`, `(?s)a.\bb`, `é\b`,
		`(?m)$^`, `$\b`, `(?m)\b$^`, `\B$`}
	inputs := []string{"", "ab", "aab", "abc", "a\nc", "a\nb", "HÉLLO", "call 555-1234 now", "colour", "color",
		"12.50", "abab", "ababa", "ABC", "é1", "z", "x y",
		"/checkout", "/checkouts", "precheckout", "checkout", "out", "about", "hello world", "x", "xy", "y",
		"ab\ncd", "c\nab\n", "\n", "\n\n", "b\n", "a\nb\n", "a b", "éb", "é b", "_b", "a_"}
	for _, p := range patterns {
		want := regexp.MustCompile(p)
		for _, in := range inputs {
			fields := map[string]filters.Value{"type": str("click"), "url": str(in)}
			js, _ := json.Marshal(p)
			got := evaluate(t, []filters.Trigger{{Event: "click", Where: []filters.Condition{where("url", "matches", string(js))}}}, fields)
			if (got == 1) != want.MatchString(in) {
				t.Errorf("pattern %q on %q: wasm says %v, Go says %v", p, in, got == 1, want.MatchString(in))
			}
		}
	}
}

// TestLongAlternationsCompile: a pattern of the largest size allowed made
// of ~100 words, as a list of pages or terms is written, compiles (it was
// refused as too complex when each step of the construction cost a map)
// and agrees with Go's regexp on every word and on near misses.
func TestLongAlternationsCompile(t *testing.T) {
	pattern := wordAlternation(filters.MaxPatternLength)
	words := strings.Split(strings.Trim(pattern, "()"), "|")
	if len(words) < 80 {
		t.Fatalf("%d words in %d bytes: the test would not be the long alternation it means", len(words), len(pattern))
	}
	js, _ := json.Marshal(pattern)
	triggers := []filters.Trigger{{Event: "navigate", Where: []filters.Condition{where("url", "matches", string(js))}}}
	prog, err := filters.Compile("triggers", triggers)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	ctx := context.Background()
	mod, err := newRuntime(t).Compile(ctx, prog.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := mod.Instantiate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(pattern)
	var inputs []string
	for i, w := range words {
		inputs = append(inputs, "/p/"+w+"?q", w[1:], w[:len(w)-1]+"~", words[(i+1)%len(words)][:2]+w[2:])
	}
	matched := 0
	for _, in := range inputs {
		verdict, err := inst.Match(filters.AppendRecord(nil, []filters.Value{str("navigate"), str(in)}), nil)
		if err != nil {
			t.Fatal(err)
		}
		got := verdict == 1
		if got != want.MatchString(in) {
			t.Errorf("%q: wasm says %v, Go says %v", in, got, !got)
		}
		if got {
			matched++
		}
	}
	if matched < len(words) || matched == len(inputs) {
		t.Errorf("%d of %d inputs matched: want every word's and not every near miss", matched, len(inputs))
	}
}

func TestValidationNamesThePath(t *testing.T) {
	tests := []struct {
		name     string
		triggers []filters.Trigger
		path     string
		message  string
	}{
		{"no triggers", nil, "triggers", "at least one"},
		{"no event", []filters.Trigger{{}}, "triggers[0].event", "required"},
		{"bad event", []filters.Trigger{{Event: "Click!"}}, "triggers[0].event", "not an event type"},
		{"bad op", []filters.Trigger{{Event: "click"}, {Event: "click", Where: []filters.Condition{
			where("url", "eq", `"x"`), where("url", "like", `"x"`)}}}, "triggers[1].where[1].op", "unknown operator"},
		{"bad field", []filters.Trigger{{Event: "click", Where: []filters.Condition{where("props.x", "eq", `"x"`)}}},
			"triggers[0].where[0].field", "not a field"},
		{"empty path segment", []filters.Trigger{{Event: "click", Where: []filters.Condition{where("properties..x", "eq", `"x"`)}}},
			"triggers[0].where[0].field", "not a field"},
		{"gt string", []filters.Trigger{{Event: "click", Where: []filters.Condition{where("properties.p", "gt", `"x"`)}}},
			"triggers[0].where[0].value", "needs a number"},
		{"contains number", []filters.Trigger{{Event: "click", Where: []filters.Condition{where("url", "contains", `3`)}}},
			"triggers[0].where[0].value", "must be a string"},
		{"bad regex", []filters.Trigger{{Event: "click", Where: []filters.Condition{where("url", "matches", `"a("`)}}},
			"triggers[0].where[0].value", "invalid RE2"},
		{"in empty", []filters.Trigger{{Event: "click", Where: []filters.Condition{where("url", "in", `[]`)}}},
			"triggers[0].where[0].value", "1 to"},
		{"in nested", []filters.Trigger{{Event: "click", Where: []filters.Condition{where("url", "in", `["a", {"b":1}]`)}}},
			"triggers[0].where[0].value[1]", "must be a string"},
		{"missing value", []filters.Trigger{{Event: "click", Where: []filters.Condition{where("url", "eq", ``)}}},
			"triggers[0].where[0].value", "required"},
		{"timestamp contains", []filters.Trigger{{Event: "click", Where: []filters.Condition{where("timestamp", "contains", `"2026"`)}}},
			"triggers[0].where[0].op", "timestamp"},
		{"negative min_count", []filters.Trigger{{Event: "click", MinCount: new(-1)}}, "triggers[0].min_count", "from 1 to"},
		{"zero min_count", []filters.Trigger{{Event: "click", MinCount: new(0)}}, "triggers[0].min_count", "from 1 to"},
		{"sequence of one", []filters.Trigger{{Sequence: []filters.Step{{Event: "click"}}, Within: "1m"}}, "triggers[0].sequence", "2 to 8 steps"},
		{"sequence without within", []filters.Trigger{{Sequence: []filters.Step{{Event: "a"}, {Event: "b"}}}}, "triggers[0].within", "required"},
		{"sequence bad within", []filters.Trigger{{Sequence: []filters.Step{{Event: "a"}, {Event: "b"}}, Within: "soon"}}, "triggers[0].within", "not a duration"},
		{"sequence with event", []filters.Trigger{{Event: "a", Sequence: []filters.Step{{Event: "a"}, {Event: "b"}}, Within: "1m"}}, "triggers[0]", "only sequence and within"},
		{"within alone", []filters.Trigger{{Event: "a", Within: "1m"}}, "triggers[0].within", "goes with sequence"},
		{"bad step", []filters.Trigger{{Sequence: []filters.Step{{Event: "a"}, {Event: "b", Where: []filters.Condition{where("url", "like", `"x"`)}}}, Within: "1m"}},
			"triggers[0].sequence[1].where[0].op", "unknown operator"},
		{"too many patterns", manyPatterns(17), "triggers[16].where[0]", "at most 16 matches"},
		{"filter bad name", []filters.Trigger{{Filter: "My Filter"}}, "triggers[0].filter", "not a filter name"},
		{"config without filter", []filters.Trigger{{Config: raw(`{}`)}}, "triggers[0].filter", "required"},
		{"filter with where", []filters.Trigger{{Filter: "x", Event: "click", Where: []filters.Condition{where("url", "eq", `"/"`)}}},
			"triggers[0]", "only filter, config and optionally event"},
		{"filter with a bad event", []filters.Trigger{{Filter: "x", Event: "Click"}}, "triggers[0].event", "not an event type"},
		{"filter bad config", []filters.Trigger{{Filter: "x", Config: raw(`{"a":`)}}, "triggers[0].config", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := filters.Compile("triggers", tc.triggers)
			var verr *filters.ValidationError
			if !errors.As(err, &verr) || !errors.Is(err, filters.ErrInvalid) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			if verr.Path != tc.path || !strings.Contains(verr.Message, tc.message) {
				t.Fatalf("got %q: %q, want path %q and a message with %q", verr.Path, verr.Message, tc.path, tc.message)
			}
		})
	}
}

func newRuntime(t testing.TB) *wasm.Runtime {
	t.Helper()
	rt, err := wasm.NewRuntime(context.Background(), wasm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func TestProgramSplitsDeclarativeAndCustom(t *testing.T) {
	prog, err := filters.Compile("triggers", []filters.Trigger{
		{Filter: "rage3", Config: raw(` { "n" : 3 } `)},
		{Event: "click"},
		{Filter: "other", Event: "rage_click"},
		{Event: "custom", Where: []filters.Condition{where("name", "eq", `"x"`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.Declarative) != 2 || prog.Declarative[0] != 1 || prog.Declarative[1] != 3 {
		t.Fatalf("declarative = %v, want [1 3]", prog.Declarative)
	}
	if len(prog.Custom) != 2 || prog.Custom[0].Filter != "rage3" || string(prog.Custom[0].Config) != `{"n":3}` ||
		prog.Custom[1].Index != 2 || prog.Custom[1].Config != nil || prog.Custom[1].Event != "rage_click" {
		t.Fatalf("custom = %+v", prog.Custom)
	}
	if got := evaluate(t, []filters.Trigger{{Filter: "a"}, {Event: "custom"}}, map[string]filters.Value{"type": str("custom")}); got != 1 {
		t.Fatalf("verdict %d: the module numbers only declarative triggers", got)
	}
	only, _ := filters.Compile("triggers", []filters.Trigger{{Filter: "a"}})
	if only.Wasm != nil {
		t.Fatal("a stream of filter triggers only needs no generated module")
	}
}

func manyPatterns(n int) []filters.Trigger {
	out := make([]filters.Trigger, n)
	for i := range out {
		out[i] = filters.Trigger{Event: "click", Where: []filters.Condition{where("url", "matches", `"a+"`)}}
	}
	return out
}

// memState is a session's state for the generated module's counting and
// sequence triggers.
type memState map[string][]byte

func (m memState) Get(k []byte) ([]byte, bool) { v, ok := m[string(k)]; return v, ok }
func (m memState) Set(k, v []byte) bool        { m[string(k)] = append([]byte(nil), v...); return true }
func (m memState) Log([]byte)                  {}

// session runs events (field text → value maps) through one instance with
// one session's state and returns each verdict.
func session(t *testing.T, triggers []filters.Trigger, events []map[string]filters.Value) []int32 {
	t.Helper()
	prog, err := filters.Compile("triggers", triggers)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	inst := instance(t, prog)
	state := memState{}
	var out []int32
	for _, ev := range events {
		v, err := inst.Match(record(prog, ev), state)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// instance compiles prog's module with wazero and instantiates it.
func instance(t *testing.T, prog *filters.Program) *wasm.Instance {
	t.Helper()
	mod, err := newRuntime(t).Compile(context.Background(), prog.Wasm)
	if err != nil {
		t.Fatalf("wazero rejected the generated module: %v", err)
	}
	inst, err := mod.Instantiate(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// record is the field record of an event (field text → value) for prog.
func record(prog *filters.Program, ev map[string]filters.Value) []byte {
	values := make([]filters.Value, len(prog.Slots))
	for i, f := range prog.Slots {
		values[i] = ev[f.Text]
	}
	return filters.AppendRecord(nil, values)
}

func nav(url string, ms float64) map[string]filters.Value {
	return map[string]filters.Value{"type": str("navigate"), "url": str(url), "timestamp": num(ms)}
}

func TestMinCount(t *testing.T) {
	click := map[string]filters.Value{"type": str("click"), "properties.target": str("Buy")}
	other := map[string]filters.Value{"type": str("click"), "properties.target": str("Help")}
	got := session(t, []filters.Trigger{{Event: "click", MinCount: new(3), Where: []filters.Condition{where("properties.target", "eq", `"Buy"`)}}},
		[]map[string]filters.Value{click, other, click, other, other, click})
	if fmt.Sprint(got) != "[0 0 0 0 0 1]" {
		t.Fatalf("verdicts %v: want the third matching event only", got)
	}
}

func TestSequence(t *testing.T) {
	pricingThenHelp := []filters.Trigger{{Within: "2s", Sequence: []filters.Step{
		{Event: "navigate", Where: []filters.Condition{where("url", "contains", `"/pricing"`)}},
		{Event: "navigate", Where: []filters.Condition{where("url", "contains", `"/help"`)}},
	}}}
	three := []filters.Trigger{{Within: "10s", Sequence: []filters.Step{
		{Event: "navigate", Where: []filters.Condition{where("url", "ends_with", `"/a"`)}},
		{Event: "navigate", Where: []filters.Condition{where("url", "ends_with", `"/b"`)}},
		{Event: "navigate", Where: []filters.Condition{where("url", "ends_with", `"/c"`)}},
	}}}
	tests := []struct {
		name     string
		triggers []filters.Trigger
		events   []map[string]filters.Value
		want     string
	}{
		{"in order, inside the window", pricingThenHelp, []map[string]filters.Value{nav("/pricing", 0), nav("/x", 500), nav("/help", 1500)}, "[0 0 1]"},
		{"reversed", pricingThenHelp, []map[string]filters.Value{nav("/help", 0), nav("/pricing", 500)}, "[0 0]"},
		{"too far apart", pricingThenHelp, []map[string]filters.Value{nav("/pricing", 0), nav("/help", 2001)}, "[0 0]"},
		{"exactly the window", pricingThenHelp, []map[string]filters.Value{nav("/pricing", 0), nav("/help", 2000)}, "[0 1]"},
		{"a later start saves it", pricingThenHelp, []map[string]filters.Value{nav("/pricing", 0), nav("/pricing", 1000), nav("/help", 2900)}, "[0 0 1]"},
		{"three steps", three, []map[string]filters.Value{nav("/a", 0), nav("/c", 1), nav("/b", 2), nav("/b", 3), nav("/c", 4)}, "[0 0 0 0 1]"},
		{"one event is one step", three, []map[string]filters.Value{nav("/a", 0), nav("/b", 1), nav("/b", 2)}, "[0 0 0]"},
		{"three steps too slow", three, []map[string]filters.Value{nav("/a", 0), nav("/b", 5000), nav("/c", 10001)}, "[0 0 0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(session(t, tc.triggers, tc.events)); got != tc.want {
				t.Fatalf("verdicts %s, want %s", got, tc.want)
			}
		})
	}
}

// TestEventTypesAreAllTheModuleReactsTo: the engine skips a stream's module
// for events whose type is not in Program.EventTypes, which is exact only
// if the module answers 0 and writes no state for them.
func TestEventTypesAreAllTheModuleReactsTo(t *testing.T) {
	triggers := []filters.Trigger{
		{Event: "click", MinCount: new(2)},
		{Within: "1m", Sequence: []filters.Step{{Event: "navigate"}, {Event: "custom"}}},
		{Event: "change", Where: []filters.Condition{where("properties.price", "gt", "1")}},
		{Filter: "rage3"},
	}
	prog, err := filters.Compile("triggers", triggers)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(prog.EventTypes); got != "[change click custom navigate]" {
		t.Fatalf("event types %s, want every declarative trigger's and step's type", got)
	}
	if !prog.Reacts("click") || prog.Reacts("scroll") || prog.Reacts("") {
		t.Fatal("Reacts disagrees with EventTypes")
	}
	event := func(typ string, ms float64) map[string]filters.Value {
		return map[string]filters.Value{"type": str(typ), "timestamp": num(ms), "name": str("x"),
			"properties.price": num(5)}
	}
	// Other types, many times, then the reacting ones: the others change
	// nothing, so the verdicts are those of the reacting events alone.
	var events []map[string]filters.Value
	for i := range 5 {
		events = append(events, event("scroll", float64(i)), event("rage_click", float64(i)))
	}
	events = append(events, event("click", 10), event("navigate", 11), event("custom", 12), event("click", 13))
	got := session(t, triggers, events)
	if fmt.Sprint(got) != "[0 0 0 0 0 0 0 0 0 0 0 0 2 1]" {
		t.Fatalf("verdicts %v", got)
	}
	inst := instance(t, prog)
	state := memState{}
	for _, ev := range events[:10] {
		if v, err := inst.Match(record(prog, ev), state); v != 0 || err != nil {
			t.Fatalf("an event of another type: verdict %d, %v", v, err)
		}
	}
	if len(state) != 0 {
		t.Fatalf("events of other types wrote state %v", state)
	}
}

func TestValidEventTypeIsThePattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
	for _, s := range []string{"", "a", "click", "rage_click", "a.b_c9", "9a", "_a", "Click", "cl ick", "é",
		"a\x00", strings.Repeat("a", 64), strings.Repeat("a", 65), "a-b", "a/b", "z" + strings.Repeat("9", 63)} {
		if got, want := filters.ValidEventType(s), pattern.MatchString(s); got != want {
			t.Errorf("ValidEventType(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}

// TestKeysAdmitEveryMatch: an event that fits none of a program's keys
// gets 0 and changes no state, so indexing streams by their keys is exact.
func TestKeysAdmitEveryMatch(t *testing.T) {
	triggers := []filters.Trigger{
		{Event: "click", MinCount: new(2), Where: []filters.Condition{where("properties.target", "eq", `"Buy"`)}},
		{Within: "1m", Sequence: []filters.Step{
			{Event: "navigate", Where: []filters.Condition{where("url", "eq", `"/a"`)}},
			{Event: "navigate", Where: []filters.Condition{where("url", "in", `["/c","/b","/c"]`)}},
		}},
		{Event: "custom", Where: []filters.Condition{where("properties.n", "gt", "1"), where("name", "eq", `"x"`)}},
		{Event: "change", Where: []filters.Condition{where("properties.price", "gt", "1")}},
		{Event: "custom", Where: []filters.Condition{where("name", "in", `["y", 2]`)}},
		{Event: "rage_click", Where: []filters.Condition{where("url", "contains", `"/cart"`)}},
		{Event: "error", Where: []filters.Condition{where("url", "matches", `"(help|faq)-\\d"`)}},
		{Event: "scroll", MinCount: new(2), Where: []filters.Condition{where("properties.depth", "lte", "2")}},
		{Event: "submit", Where: []filters.Condition{where("properties.n", "gte", "5"), where("url", "starts_with", `"/x"`)}},
		{Event: "view", Where: []filters.Condition{where("url", "matches", `"(?i)abc"`), where("name", "not_contains", `"q"`)}},
	}
	prog, err := filters.Compile("triggers", triggers)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range prog.Keys {
		switch k.Kind {
		case filters.KeyAbove, filters.KeyBelow:
			got = append(got, fmt.Sprintf("%s/%s%d%v%v", k.Type, k.Field.Text, k.Kind, k.Bound, k.Inclusive))
		default:
			got = append(got, fmt.Sprintf("%s/%s%d%v", k.Type, k.Field.Text, k.Kind, k.Values))
		}
	}
	want := "[click/properties.target1[Buy] navigate/url1[/a] navigate/url1[/b /c] custom/name1[x] change/properties.price31false " +
		"custom/0[] rage_click/url2[/cart] error/url2[faq help] scroll/properties.depth42true submit/url2[/x] view/0[]]"
	if fmt.Sprint(got) != want {
		t.Fatalf("keys %v\nwant %s", got, want)
	}
	admits := func(ev map[string]filters.Value) bool {
		for _, k := range prog.Keys {
			if ev["type"].Str == k.Type && k.Admits(func(f filters.Field) filters.Value { return ev[f.Text] }) {
				return true
			}
		}
		return false
	}
	inst := instance(t, prog)
	state := memState{}
	admitted, matched := 0, 0
	values := []filters.Value{str("Buy"), str("/a"), str("/b"), str("x"), str("y"), str("/cart/7"), str("faq-1"),
		str("/xyz"), str("ABC"), str("help-"), num(0), num(1), num(2), num(5), {}}
	// Every combination of type and value, twice (so counts and sequences
	// could complete), in a fixed order.
	for round := range 2 {
		for _, typ := range []string{"click", "navigate", "custom", "change", "rage_click", "error", "scroll", "submit", "view", "other"} {
			for _, val := range values {
				ev := map[string]filters.Value{"type": str(typ), "timestamp": num(float64(round)), "properties.target": val,
					"url": val, "name": val, "properties.n": val, "properties.price": val, "properties.depth": val}
				before := fmt.Sprint(state)
				v, err := inst.Match(record(prog, ev), state)
				if err != nil {
					t.Fatal(err)
				}
				if admits(ev) {
					admitted++
					if v > 0 {
						matched++
					}
					continue
				}
				if v != 0 || fmt.Sprint(state) != before {
					t.Fatalf("%s with %+v fits no key, yet verdict %d, state %s -> %s", typ, val, v, before, state)
				}
			}
		}
	}
	if admitted == 0 || matched == 0 {
		t.Fatalf("%d events fitted a key and %d matched: the test proves nothing", admitted, matched)
	}
}

// TestRegexKeysNameNecessaryLiterals: a matches condition is indexed by
// sets of literals, every match containing one of each set, longest first
// (after the first, only sets of literals worth checking: 3 bytes or
// more), or by its type when the pattern names none; the literal text
// after a leading ^ must start the field (shown ^lit), that before a
// closing $ end it (lit$). FuzzRegexAgreesWithGo checks the promise on
// arbitrary patterns.
func TestRegexKeysNameNecessaryLiterals(t *testing.T) {
	for pattern, want := range map[string]string{
		`^https://shop\.example/(cart|checkout)/never$`: "[[^https://shop.example/] [/never$] [art heckout]]",
		`(cart|checkout)`: "[[art heckout]]", // the parser factors the common c out; [c] is too short to check
		`x(abc|abd)+`:     "[[ab]]",          // factored to ab[cd]; [x] too short to check
		`(ab)?c`:          "[[c]]",
		`a*`:              "[[]]",
		`(?i)checkout`:    "[[]]",
		`[a-z]+\.example`: "[[.example]]",
		`(a|)b{2}`:        "[[b]]",
		`x{0,3}`:          "[[]]",
		`^/help$`:         "[[^/help] [/help$]]", // one literal, both anchors
		`(^/help/[0-9]+)`: "[[^/help/]]",         // a capture around the whole pattern is seen through
		`\A/cart\z`:       "[[^/cart] [/cart$]]",
		`(?m)^/cart$`:     "[[/cart]]",         // ^ and $ of lines anchor nothing
		`^(/cart)/xyz$`:   "[[/cart] [/xyz$]]", // only literal text right after ^ is a prefix
		`^[a-z]+/cart$`:   "[[/cart$]]",
		`^/x|^/y`:         "[[/x /y]]", // anchors inside an alternation are not used
	} {
		value, _ := json.Marshal(pattern)
		prog, err := filters.Compile("triggers", []filters.Trigger{{Event: "navigate",
			Where: []filters.Condition{{Field: "url", Op: filters.OpMatches, Value: value}}}})
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		var sets [][]string
		for _, k := range append([]filters.Key{prog.Keys[0]}, prog.Keys[0].Alternatives...) {
			var set []string
			for _, lit := range k.Values {
				switch k.Anchor {
				case filters.AnchorStart:
					lit = "^" + lit
				case filters.AnchorEnd:
					lit += "$"
				}
				set = append(set, lit)
			}
			sets = append(sets, set)
		}
		if got := fmt.Sprint(sets); got != want {
			t.Errorf("%s: literals %s, want %s", pattern, got, want)
		}
	}
}
