package filters_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/filters"
	"github.com/hookwire/hookwire/wasm"
)

var benchTriggers = []filters.Trigger{
	{Event: "rage_click", Where: []filters.Condition{where("url", "contains", `"/cart"`)}},
	{Event: "custom", Where: []filters.Condition{where("name", "eq", `"Checkout Error"`)}},
	{Event: "click", Where: []filters.Condition{
		where("properties.target_text", "eq", `"Buy"`),
		where("url", "matches", `"^https://shop\\.example/(cart|checkout)"`),
		where("properties.price", "gt", `40`),
	}},
}

var benchEvent = map[string]filters.Value{
	"type": str("click"), "name": {}, "url": str("https://shop.example/checkout/step-2?coupon=none"),
	"properties.target_text": str("Buy"), "properties.price": num(42.5),
}

// BenchmarkCompiledPredicate is the cost of one stream's predicate on one
// event: building the field record and one Wasm call. "deadline" runs the
// same module in a runtime that can interrupt calls (instrumented, with
// the per-instance watchdog: wasm/instrument.go), which is what uploaded
// filters pay.
func BenchmarkCompiledPredicate(b *testing.B) {
	b.Run("no-deadline", func(b *testing.B) { benchPredicate(b, wasm.Config{}) })
	b.Run("deadline", func(b *testing.B) { benchPredicate(b, wasm.Config{CallTimeout: 10 * time.Millisecond}) })
}

func benchPredicate(b *testing.B, cfg wasm.Config) {
	ctx := context.Background()
	prog, err := filters.Compile("triggers", benchTriggers)
	if err != nil {
		b.Fatal(err)
	}
	rt, err := wasm.NewRuntime(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Compile(ctx, prog.Wasm)
	if err != nil {
		b.Fatal(err)
	}
	inst, err := mod.Instantiate(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	values := make([]filters.Value, len(prog.Slots))
	var record []byte
	b.ReportAllocs()
	for b.Loop() {
		for i, f := range prog.Slots {
			values[i] = benchEvent[f.Text]
		}
		record = filters.AppendRecord(record[:0], values)
		v, err := inst.Match(record, nil)
		if err != nil || v != 3 {
			b.Fatalf("verdict %d, %v", v, err)
		}
	}
}

// BenchmarkCompileStream is the cost of compiling a stream definition
// (validation, code generation, DFA construction) to Wasm bytes.
func BenchmarkCompileStream(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := filters.Compile("triggers", benchTriggers); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPatterns are `matches` values of the kinds streams use, and the
// largest kind the limits admit: an alternation of ~100 words, 1 KiB.
var benchPatterns = map[string]string{
	"url":      `^https://shop\.example/(cart|checkout)/n\d+$`,
	"email":    `(?i)^[a-z0-9._%+-]+@(example|shop)\.(com|org|net)$`,
	"boundary": `\b(refund|cancel|chargeback)\b`,
	"words1k":  wordAlternation(1000),
}

// wordAlternation is (w1|w2|...) of pseudo-random words, size bytes long
// at most; the same every run.
func wordAlternation(size int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789/-_"
	seed := uint32(1)
	next := func(n int) int { seed = seed*1664525 + 1013904223; return int(seed>>8) % n }
	var words []string
	total := 2
	for {
		w := make([]byte, 4+next(7))
		for i := range w {
			w[i] = letters[next(len(letters))]
		}
		if total+len(w)+1 > size {
			break
		}
		words = append(words, string(w))
		total += len(w) + 1
	}
	return "(" + strings.Join(words, "|") + ")"
}

// BenchmarkCompilePattern is the cost of one `matches` condition's DFA,
// which a stream's create (and every start) pays per pattern.
func BenchmarkCompilePattern(b *testing.B) {
	for name, pattern := range benchPatterns {
		b.Run(name, func(b *testing.B) {
			value, _ := json.Marshal(pattern)
			triggers := []filters.Trigger{{Event: "navigate", Where: []filters.Condition{{Field: "url", Op: filters.OpMatches, Value: value}}}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := filters.Compile("triggers", triggers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInstantiate is the cost of one more instance of a compiled
// stream module (what a pool pays when it grows).
func BenchmarkInstantiate(b *testing.B) {
	ctx := context.Background()
	prog, _ := filters.Compile("triggers", benchTriggers)
	rt := newRuntime(b)
	mod, err := rt.Compile(ctx, prog.Wasm)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		inst, err := mod.Instantiate(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		inst.Close(ctx)
	}
}
