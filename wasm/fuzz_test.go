package wasm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hookwire/hookwire/internal/wasmenc"
	"github.com/hookwire/hookwire/wasm"
)

// FuzzCompileModule feeds arbitrary bytes to module validation: each is
// refused with one of the package's errors or compiles into a module that
// can be instantiated and called; nothing panics or hangs the host.
func FuzzCompileModule(f *testing.F) {
	f.Add(guest(twoToOne, firstByteIsX()))
	f.Add(guest(oneToOne, (&wasmenc.Code{}).I32(1)))
	f.Add(guest(twoToOne, firstByteIsX(), "memory", "hw_alloc"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("garbage"))
	rt, err := wasm.NewRuntime(context.Background(), wasm.Config{CallTimeout: 50_000_000, MemoryLimitPages: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, binary []byte) {
		ctx := context.Background()
		mod, err := rt.Compile(ctx, binary)
		if err != nil {
			if !errors.Is(err, wasm.ErrNotWasm) && !errors.Is(err, wasm.ErrInvalid) && !errors.Is(err, wasm.ErrABI) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		defer mod.Close(ctx)
		inst, err := mod.Instantiate(ctx, nil)
		if err != nil {
			return // a start function that traps or overruns is refused, not fatal
		}
		defer inst.Close(ctx)
		inst.Match([]byte(`{"session_id":"s","type":"click"}`), nil)
	})
}
