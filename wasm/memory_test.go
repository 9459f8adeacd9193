package wasm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hookwire/hookwire/internal/wasmenc"
	"github.com/hookwire/hookwire/wasm"
)

// TestMemoryBudgetBoundsAllInstances: instances and their growth share one
// budget; past it a new instance fails with ErrMemoryBudget and a
// memory.grow fails in the guest (-1), and what a closed instance held is
// free again.
func TestMemoryBudgetBoundsAllInstances(t *testing.T) {
	ctx := context.Background()
	const mib = 1 << 20
	rt, err := wasm.NewRuntime(ctx, wasm.Config{MemoryBudget: 3 * mib})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	// hw_match grows the memory by 1 MiB and answers what memory.grow did
	// (the old size in pages, or -1).
	m := guestModule(twoToOne, (&wasmenc.Code{}).I32(16).MemoryGrow())
	m.MemoryMinPage = 16
	mod, err := rt.Compile(ctx, m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	first, err := mod.Instantiate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := mod.Instantiate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := first.Match([]byte("{}"), nil); err != nil || got != 16 {
		t.Fatalf("growing within the budget: %d, %v; want 16 (the old size)", got, err)
	}
	if got, err := second.Match([]byte("{}"), nil); err != nil || got != -1 {
		t.Fatalf("growing past the budget: %d, %v; want -1 in the guest", got, err)
	}
	if used := rt.MemoryUsed(); used != 3*mib {
		t.Fatalf("%d bytes in use, want 3 MiB", used)
	}
	if _, err := mod.Instantiate(ctx, nil); !errors.Is(err, wasm.ErrMemoryBudget) {
		t.Fatalf("an instance past the budget: %v, want ErrMemoryBudget", err)
	}
	first.Close(ctx)
	if used := rt.MemoryUsed(); used != 1*mib {
		t.Fatalf("%d bytes in use after closing a 2 MiB instance, want 1 MiB", used)
	}
	third, err := mod.Instantiate(ctx, nil)
	if err != nil {
		t.Fatalf("an instance once memory was freed: %v", err)
	}
	third.Close(ctx)
	second.Close(ctx)
	if used := rt.MemoryUsed(); used != 0 {
		t.Fatalf("%d bytes in use with every instance closed", used)
	}
}
