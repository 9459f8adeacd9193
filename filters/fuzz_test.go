package filters_test

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/hookwire/hookwire/filters"
)

// FuzzCompile feeds arbitrary trigger definitions to the compiler: it must
// either reject them with a ValidationError or emit a module that wazero
// compiles and that runs on an event without trapping.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		`[{"event":"click","where":[{"field":"url","op":"contains","value":"/cart"}]}]`,
		`[{"event":"custom","where":[{"field":"name","op":"in","value":["a","b",3]}]},{"event":"x"}]`,
		`[{"event":"click","where":[{"field":"properties.a.b","op":"matches","value":"(?i)^a+[^b]*\\d{2,3}$"}]}]`,
		`[{"event":"click","where":[{"field":"timestamp","op":"gt","value":"2026-01-01T00:00:00Z"},{"field":"user.email","op":"exists"}]}]`,
		`[{"event":"click","where":[{"field":"url","op":"matches","value":"\\p{Greek}+|[а-я]+"}]}]`,
	} {
		f.Add([]byte(seed), "https://shop.example/cart", 42.5)
	}
	ctx := context.Background()
	rt := newRuntime(f)
	f.Fuzz(func(t *testing.T, definition []byte, url string, price float64) {
		var triggers []filters.Trigger
		if json.Unmarshal(definition, &triggers) != nil {
			return
		}
		prog, err := filters.Compile("triggers", triggers)
		if err != nil {
			return
		}
		mod, err := rt.Compile(ctx, prog.Wasm)
		if err != nil {
			t.Fatalf("wazero rejected a generated module: %v", err)
		}
		inst, err := mod.Instantiate(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Close(ctx)
		values := make([]filters.Value, len(prog.Slots))
		for i, s := range prog.Slots {
			switch s.Root {
			case filters.FieldType:
				values[i] = str(triggers[0].Event)
			case filters.FieldTimestamp:
				values[i] = num(1795780800123)
			case filters.FieldProperties:
				values[i] = num(price)
			default:
				values[i] = str(toValidUTF8(url))
			}
		}
		if _, err := inst.Match(filters.AppendRecord(nil, values), nil); err != nil {
			t.Fatalf("generated module trapped: %v", err)
		}
	})
}

// toValidUTF8 mirrors what the host guarantees: strings come from JSON
// decoding, which replaces invalid bytes.
func toValidUTF8(s string) string {
	var out string
	json.Unmarshal(mustMarshal(s), &out)
	return out
}

func mustMarshal(s string) []byte { b, _ := json.Marshal(s); return b }

// FuzzRegexAgreesWithGo is a differential test of the generated DFA against
// Go's regexp (RE2 semantics) on arbitrary patterns and inputs.
func FuzzRegexAgreesWithGo(f *testing.F) {
	for _, seed := range [][2]string{
		{`a+b`, "xaab"}, {`^$`, ""}, {`(?i)straße`, "STRASSE"}, {`[^\x00-\x7f]`, "é"},
		{`a{2,4}$`, "baaaaa"}, {`(a|ab)(c|bcd)(d*)`, "abcd"}, {`\pN+\.`, "٣٤."}, {`(?s).`, "\n"},
		{`^https://shop\.example/(cart|checkout)/n\d+$`, "https://shop.example/cart/n1"}, {`(ab)+c?(x|yz)`, "ababyz"},
		{`\bcheckout\b`, "/checkout?x"}, {`\Bout\B`, "routes"}, {`(?m)^b$`, "a\nb\nc"}, {`(?m)$\n^`, "a\n"},
		{`\A/x\z`, "/x"}, {`^/c(?m:$)`, "/c\nx"}, {`(^/h[0-9]+)`, "/h1"}, {`^ab$|^c`, "cd"},
	} {
		f.Add(seed[0], seed[1])
	}
	ctx := context.Background()
	rt := newRuntime(f)
	f.Fuzz(func(t *testing.T, pattern, input string) {
		want, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		input = toValidUTF8(input)
		value, _ := json.Marshal(pattern)
		prog, err := filters.Compile("triggers", []filters.Trigger{{Event: "click",
			Where: []filters.Condition{{Field: "url", Op: filters.OpMatches, Value: value}}}})
		if err != nil {
			return // unsupported construct or too complex: rejected at create time
		}
		mod, err := rt.Compile(ctx, prog.Wasm)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := mod.Instantiate(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Close(ctx)
		got, err := inst.Match(filters.AppendRecord(nil, []filters.Value{str("click"), str(input)}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if (got == 1) != want.MatchString(input) {
			t.Fatalf("pattern %q on %q: wasm %v, Go %v", pattern, input, got == 1, want.MatchString(input))
		}
		// The stream index admits the event by the pattern's literals.
		if key := prog.Keys[0]; want.MatchString(input) && !key.Admits(func(filters.Field) filters.Value { return str(input) }) {
			t.Fatalf("pattern %q matches %q, but its key %+v does not admit it", pattern, input, key)
		}
	})
}
