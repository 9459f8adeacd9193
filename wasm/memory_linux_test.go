package wasm

import (
	"context"
	"testing"

	"github.com/hookwire/hookwire/internal/wasmenc"
)

// TestFailedInstantiationsLeaveNoMemory: a module whose instantiation
// fails after its memory was made (a data segment past the memory's end)
// leaves no mapping behind, however often it is tried, and nothing charged
// to the memory budget; a closed instance leaves neither.
func TestFailedInstantiationsLeaveNoMemory(t *testing.T) {
	ctx := context.Background()
	rt, err := NewRuntime(ctx, Config{MemoryBudget: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	module := func(dataOffset uint32) *Module {
		oneToOne := wasmenc.FuncType{Params: []wasmenc.ValType{wasmenc.I32}, Results: []wasmenc.ValType{wasmenc.I32}}
		twoToOne := wasmenc.FuncType{Params: []wasmenc.ValType{wasmenc.I32, wasmenc.I32}, Results: []wasmenc.ValType{wasmenc.I32}}
		m := &wasmenc.Module{
			Types:         []wasmenc.FuncType{oneToOne, twoToOne},
			Funcs:         []wasmenc.Func{{Type: 0, Body: (&wasmenc.Code{}).I32(1024)}, {Type: 1, Body: (&wasmenc.Code{}).I32(0)}},
			MemoryMinPage: 1,
			Data:          []wasmenc.Data{{Offset: dataOffset, Bytes: []byte("hello")}},
			Exports: []wasmenc.Export{{Name: "memory", Kind: wasmenc.ExportMemory},
				{Name: "hw_alloc", Kind: wasmenc.ExportFunc, Index: 0}, {Name: "hw_match", Kind: wasmenc.ExportFunc, Index: 1}},
		}
		mod, err := rt.Compile(ctx, m.Encode())
		if err != nil {
			t.Fatal(err)
		}
		return mod
	}
	before := mappedMemories.Load()
	outOfBounds := module(70000) // one page is 65536 bytes
	for range 50 {
		if _, err := outOfBounds.Instantiate(ctx, nil); err == nil {
			t.Fatal("a data segment past the memory's end must fail instantiation")
		}
	}
	if got := mappedMemories.Load(); got != before {
		t.Fatalf("%d mappings left by 50 failed instantiations", got-before)
	}
	if used := rt.MemoryUsed(); used != 0 {
		t.Fatalf("50 failed instantiations left %d bytes charged to the memory budget", used)
	}
	inst, err := module(16).Instantiate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := mappedMemories.Load(); got != before+1 {
		t.Fatalf("a live instance has %d mappings, want 1", got-before)
	}
	inst.Close(ctx)
	if got := mappedMemories.Load(); got != before {
		t.Fatalf("%d mappings left after the instance closed", got-before)
	}
	if used := rt.MemoryUsed(); used != 0 {
		t.Fatalf("a closed instance left %d bytes charged to the memory budget", used)
	}
}
