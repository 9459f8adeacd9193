package wasm_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwire/hookwire/internal/wasmenc"
	"github.com/hookwire/hookwire/wasm"
)

// wat compiles WebAssembly text with wabt's wat2wasm.
func wat(t testing.TB, source string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "module.wat"), filepath.Join(dir, "module.wasm")
	if err := os.WriteFile(in, []byte(source), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("wat2wasm", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInstrumentedModulesComputeTheSame runs testdata/instructions.wat,
// which holds every kind of immediate the instrumenter steps over (SIMD,
// bulk memory, tables, reference types, br_table, typed blocks and
// selects) and a start function, with a budget (instrumented) and without
// (as written): every verdict must be the same, and neither may fail.
func TestInstrumentedModulesComputeTheSame(t *testing.T) {
	source, err := os.ReadFile(filepath.Join("testdata", "instructions.wat"))
	if err != nil {
		t.Fatal(err)
	}
	module := wat(t, string(source))
	ctx := context.Background()
	verdicts := func(cfg wasm.Config) []int32 {
		mod, err := newRuntime(t, cfg).Compile(ctx, module)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := mod.Instantiate(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Close(ctx)
		var got []int32
		for n := range 8 {
			state := &lines{}
			v, err := inst.Match([]byte(strings.Repeat("x", n)), state)
			if err != nil {
				t.Fatalf("budget %v, length %d: %v", cfg.CallTimeout, n, err)
			}
			if len(state.got) != 1 || state.got[0] != "hookwire" {
				t.Fatalf("budget %v, length %d: logged %q, want the data segment's first word", cfg.CallTimeout, n, state.got)
			}
			got = append(got, v)
		}
		return got
	}
	plain, instrumented := verdicts(wasm.Config{}), verdicts(wasm.Config{CallTimeout: time.Second})
	for n := range plain {
		if plain[n] != instrumented[n] {
			t.Fatalf("length %d: %d instrumented, %d as written (all: %v against %v)", n, instrumented[n], plain[n], instrumented, plain)
		}
	}
	if plain[0] == plain[7] {
		t.Fatalf("the verdicts %v do not depend on the input: the comparison would prove little", plain)
	}
}

// TestAStartFunctionRunsUnderTheBudget: a module's start function is run
// by hookwire after instantiation (instrument exports it), within the
// init budget: one that spins is refused as over its time budget.
func TestAStartFunctionRunsUnderTheBudget(t *testing.T) {
	module := wat(t, `(module
  (memory (export "memory") 1)
  (func $spin (loop $l (br $l)))
  (start $spin)
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hw_match") (param i32 i32) (result i32) (i32.const 1)))`)
	ctx := context.Background()
	mod, err := newRuntime(t, wasm.Config{CallTimeout: 10 * time.Millisecond, InitTimeout: 50 * time.Millisecond}).Compile(ctx, module)
	if err != nil {
		t.Fatal(err)
	}
	if inst, err := mod.Instantiate(ctx, nil); !errors.Is(err, wasm.ErrDeadline) || !strings.Contains(err.Error(), "start function") {
		if inst != nil {
			inst.Close(ctx)
		}
		t.Fatalf("instantiating a module whose start function spins: %v, want a time budget fault of its start function", err)
	}
}

// TestInstrumentRefusesReservedExports: the names the instrumented module
// exports for the host cannot be a module's own.
func TestInstrumentRefusesReservedExports(t *testing.T) {
	for _, name := range []string{"hookwire.stop", "hookwire.countdown", "hookwire.start"} {
		module := wat(t, `(module
  (memory (export "memory") 1)
  (global (export "`+name+`") i32 (i32.const 0))
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hw_match") (param i32 i32) (result i32) (i32.const 1)))`)
		_, err := newRuntime(t, wasm.Config{CallTimeout: time.Second}).Compile(context.Background(), module)
		if !errors.Is(err, wasm.ErrABI) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "reserves") {
			t.Fatalf("a module exporting %q: %v, want it refused as a reserved name", name, err)
		}
	}
}

// TestASpinningFilterLetsTheCollectorRun: compiled Wasm has no point where
// Go can preempt it, so a call that never left it would hold up a garbage
// collection, and with it the watchdog that is to stop the call, for good.
// The instrumented loop goes to Go every so often: a collection started
// while a filter spins ends while it still spins.
func TestASpinningFilterLetsTheCollectorRun(t *testing.T) {
	ctx := context.Background()
	spin := (&wasmenc.Code{}).Loop(wasmenc.BlockEmpty).Br(0).End().I32(0)
	mod, err := newRuntime(t, wasm.Config{CallTimeout: 2 * time.Second}).Compile(ctx, guest(twoToOne, spin))
	if err != nil {
		t.Fatal(err)
	}
	pool := wasm.NewPool(mod, nil, 1)
	defer pool.Close(ctx)
	var returned atomic.Bool
	done := make(chan error, 1)
	go func() {
		_, err := pool.Match(ctx, []byte("x"), nil)
		returned.Store(true)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // the call is spinning by now
	runtime.GC()
	collectedWhileSpinning := !returned.Load()
	if err := <-done; !errors.Is(err, wasm.ErrDeadline) {
		t.Fatalf("the spinning call: %v, want it stopped by its budget", err)
	}
	if !collectedWhileSpinning {
		t.Fatal("the collection waited for the spinning call to be stopped")
	}
}
