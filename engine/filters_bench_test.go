package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/streams"
	"github.com/hookwire/hookwire/wasm"
)

var exampleConfigs = map[string][]byte{
	"rage3":             nil,
	"pagevisit":         []byte(`{"type":"navigate","url_contains":"/pricing"}`),
	"pricing-then-help": nil,
	"bigspender":        []byte(`{"min_total":1e300}`),
	"failedlogins":      []byte(`{"name":"Login Failed"}`),
}

var benchEvent = []byte(`{"id":"e-1","session_id":"s-123","type":"navigate","timestamp":"2026-11-27T12:00:00.123Z",` +
	`"url":"https://shop.example/products/12345?ref=campaign","properties":{"target_text":"Add to cart","price":19.99},` +
	`"user":{"uid":"u-42","email":"ada@example.com"}}`)

func exampleModule(b *testing.B, name string) (*wasm.Runtime, *wasm.Module) {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{CallTimeout: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Compile(ctx, exampleFilter(&testing.T{}, name))
	if err != nil {
		b.Fatal(err)
	}
	return rt, mod
}

// BenchmarkExampleFilter is one event through each example filter, with the
// engine's 10 ms deadline armed: JSON into guest memory, hw_match, state. A
// call over the deadline is what the engine does with it: counted (as
// "faults"), the instance replaced. Before instance memory was mapped
// (wasm/memory_linux.go) a Go guest's heap growth copied its memory and
// about one call in 15,000 took that long; "faults" shows if any still do.
func BenchmarkExampleFilter(b *testing.B) {
	for _, name := range []string{"wat/rage3", "c/pagevisit", "assemblyscript/pricing-then-help", "go/bigspender", "go/failedlogins"} {
		filter := name[indexByte(name, '/')+1:]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			_, mod := exampleModule(b, filter)
			inst, err := mod.Instantiate(ctx, exampleConfigs[filter])
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Close(ctx)
			state := &streams.MemoryState{}
			faults := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := inst.Match(benchEvent, state); err != nil {
					if !errors.Is(err, wasm.ErrDeadline) {
						b.Fatal(err)
					}
					faults++
					inst.Close(ctx)
					if inst, err = mod.Instantiate(ctx, exampleConfigs[filter]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(faults), "faults")
		})
	}
}

// BenchmarkInstantiateExample is what a pool pays for one more instance
// (and what a fault costs: the faulted instance is replaced).
func BenchmarkInstantiateExample(b *testing.B) {
	for _, name := range []string{"wat/rage3", "c/pagevisit", "assemblyscript/pricing-then-help", "go/bigspender", "go/failedlogins"} {
		filter := name[indexByte(name, '/')+1:]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			_, mod := exampleModule(b, filter)
			b.ReportAllocs()
			for b.Loop() {
				inst, err := mod.Instantiate(ctx, exampleConfigs[filter])
				if err != nil {
					b.Fatal(err)
				}
				inst.Close(ctx)
			}
		})
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
