package wasm_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/internal/wasmenc"
	"github.com/hookwire/hookwire/wasm"
)

var (
	i32      = wasmenc.I32
	oneToOne = wasmenc.FuncType{Params: []wasmenc.ValType{i32}, Results: []wasmenc.ValType{i32}}
	twoToOne = wasmenc.FuncType{Params: []wasmenc.ValType{i32, i32}, Results: []wasmenc.ValType{i32}}
)

// guest builds a module exporting memory, hw_alloc (returns 1024) and a
// hw_match with the given body and type.
func guest(matchType wasmenc.FuncType, match *wasmenc.Code, exports ...string) []byte {
	return guestModule(matchType, match, exports...).Encode()
}

// guestModule is guest's module before encoding, for a test to change (its
// memory's size, its data).
func guestModule(matchType wasmenc.FuncType, match *wasmenc.Code, exports ...string) *wasmenc.Module {
	alloc := (&wasmenc.Code{}).I32(1024)
	m := &wasmenc.Module{
		Types:         []wasmenc.FuncType{oneToOne, matchType},
		Funcs:         []wasmenc.Func{{Type: 0, Body: alloc}, {Type: 1, Body: match}},
		MemoryMinPage: 1,
	}
	if exports == nil {
		exports = []string{"memory", "hw_alloc", "hw_match"}
	}
	for _, name := range exports {
		switch name {
		case "memory":
			m.Exports = append(m.Exports, wasmenc.Export{Name: name, Kind: wasmenc.ExportMemory})
		case "hw_alloc":
			m.Exports = append(m.Exports, wasmenc.Export{Name: name, Kind: wasmenc.ExportFunc, Index: 0})
		case "hw_match":
			m.Exports = append(m.Exports, wasmenc.Export{Name: name, Kind: wasmenc.ExportFunc, Index: 1})
		}
	}
	return m
}

// firstByteIsX matches when the input starts with 'x'; traps on '!'.
func firstByteIsX() *wasmenc.Code {
	c := &wasmenc.Code{}
	c.Get(0).LoadU8(0).I32('!').Op(wasmenc.I32Eq).If(wasmenc.BlockEmpty).Op(wasmenc.Unreach).End()
	c.Get(0).LoadU8(0).I32('x').Op(wasmenc.I32Eq)
	return c
}

// firstByteIsXPool is a pool of firstByteIsX's module, closed when the
// test ends.
func firstByteIsXPool(t *testing.T) (context.Context, *wasm.Pool) {
	t.Helper()
	ctx := context.Background()
	rt := newRuntime(t, wasm.Config{})
	mod, err := rt.Compile(ctx, guest(twoToOne, firstByteIsX()))
	if err != nil {
		t.Fatal(err)
	}
	pool := wasm.NewPool(mod, nil, 2)
	t.Cleanup(func() { pool.Close(ctx) })
	return ctx, pool
}

func TestCompileValidatesTheABI(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, wasm.Config{})
	tests := []struct {
		name     string
		binary   []byte
		want     error
		mentions string
	}{
		{"garbage", []byte("this is not wasm at all"), wasm.ErrNotWasm, "not a WebAssembly module"},
		{"truncated", guest(twoToOne, firstByteIsX())[:20], wasm.ErrInvalid, "does not compile"},
		{"no hw_match", guest(twoToOne, firstByteIsX(), "memory", "hw_alloc"), wasm.ErrABI, "hw_match"},
		{"no memory", guest(twoToOne, firstByteIsX(), "hw_alloc", "hw_match"), wasm.ErrABI, "memory"},
		{"hw_match wrong signature", guest(oneToOne, (&wasmenc.Code{}).I32(1)), wasm.ErrABI, "hw_match has the wrong signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rt.Compile(ctx, tc.binary)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.mentions) {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.want, tc.mentions)
			}
		})
	}
}

func TestPoolMatchesAndIsolatesTraps(t *testing.T) {
	ctx, pool := firstByteIsXPool(t)
	for _, tc := range []struct {
		in   string
		want int32
		trap bool
	}{{"xyz", 1, false}, {"abc", 0, false}, {"!boom", 0, true}, {"x after a trap", 1, false}} {
		got, err := pool.Match(ctx, []byte(tc.in), nil)
		if (err != nil) != tc.trap || got != tc.want {
			t.Fatalf("Match(%q) = %d, %v; want %d, trap=%v", tc.in, got, err, tc.want, tc.trap)
		}
	}
}

func TestMemoryCap(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, wasm.Config{MemoryLimitPages: 2})
	// hw_match grows memory by 4 pages: over the cap, memory.grow fails
	// (-1) and the guest reports it by returning a negative verdict.
	grow := (&wasmenc.Code{}).I32(4).MemoryGrow()
	mod, err := rt.Compile(ctx, guest(twoToOne, grow))
	if err != nil {
		t.Fatal(err)
	}
	got, err := wasm.NewPool(mod, nil, 1).Match(ctx, []byte("x"), nil)
	if err != nil || got != -1 {
		t.Fatalf("growing past the cap: %d, %v; want -1 from memory.grow", got, err)
	}
}

// TestFaultsSayWhatStoppedTheCall: a guest that spins is stopped at its
// time budget and says so; one that recurses without end traps on its
// stack, and says that, even when the budget ran out meanwhile; either
// way the pool's next call gets a fresh instance.
func TestFaultsSayWhatStoppedTheCall(t *testing.T) {
	ctx := context.Background()
	spin := (&wasmenc.Code{}).Loop(wasmenc.BlockEmpty).Br(0).End().I32(0)
	recurse := (&wasmenc.Code{}).Get(0).Get(1).Call(1) // hw_match calls itself
	// hw_match(p, n) calls itself twice with n-1 down to 0: 2^n calls, no
	// loop, never deeper than n; the input's length is n.
	callTree := (&wasmenc.Code{}).Get(1).Op(wasmenc.I32Eqz).If(byte(wasmenc.I32)).I32(0).Else().
		Get(0).Get(1).I32(1).Op(wasmenc.I32Sub).Call(1).Op(wasmenc.Drop).
		Get(0).Get(1).I32(1).Op(wasmenc.I32Sub).Call(1).End()
	for _, tc := range []struct {
		name      string
		body      *wasmenc.Code
		budget    time.Duration
		input     string
		deadline  bool
		mentioned string
	}{
		{"spin", spin, 20 * time.Millisecond, "x", true, "time budget"},
		// Running out of stack takes wazero 40-800 ms of growing it.
		{"endless recursion", recurse, 10 * time.Second, "x", false, "stack overflow"},
		{"calls without a loop", callTree, 20 * time.Millisecond, strings.Repeat("x", 60), true, "time budget"},
	} {
		rt := newRuntime(t, wasm.Config{CallTimeout: tc.budget})
		mod, err := rt.Compile(ctx, guest(twoToOne, tc.body))
		if err != nil {
			t.Fatal(err)
		}
		pool := wasm.NewPool(mod, nil, 1)
		for round := range 2 {
			_, err := pool.Match(ctx, []byte(tc.input), nil)
			if err == nil || errors.Is(err, wasm.ErrDeadline) != tc.deadline || !strings.Contains(err.Error(), tc.mentioned) {
				t.Fatalf("%s, call %d: %v; want a fault mentioning %q (time budget: %v)", tc.name, round+1, err, tc.mentioned, tc.deadline)
			}
		}
		pool.Close(ctx)
	}
}

// loggingGuest builds a module that imports hookwire.log (function 0)
// and holds "hello" at address 0, with hw_alloc returning 1024 and the
// given hw_match body.
func loggingGuest(match *wasmenc.Code) []byte {
	logType := wasmenc.FuncType{Params: []wasmenc.ValType{i32, i32}}
	m := &wasmenc.Module{
		Types:         []wasmenc.FuncType{oneToOne, twoToOne, logType},
		Imports:       []wasmenc.Import{{Module: "hookwire", Name: "log", Type: 2}},
		Funcs:         []wasmenc.Func{{Type: 0, Body: (&wasmenc.Code{}).I32(1024)}, {Type: 1, Body: match}},
		MemoryMinPage: 1,
		Exports: []wasmenc.Export{{Name: "memory", Kind: wasmenc.ExportMemory},
			{Name: "hw_alloc", Kind: wasmenc.ExportFunc, Index: 1}, {Name: "hw_match", Kind: wasmenc.ExportFunc, Index: 2}},
		Data: []wasmenc.Data{{Offset: 0, Bytes: []byte("hello")}},
	}
	return m.Encode()
}

// lines is a CallState that keeps what the guest logs.
type lines struct{ got []string }

func (l *lines) Get([]byte) ([]byte, bool) { return nil, false }
func (l *lines) Set(_, _ []byte) bool      { return false }
func (l *lines) Log(line []byte)           { l.got = append(l.got, string(line)) }

// TestLogIsBoundedPerCall: a guest that logs 40 lines in one call gets
// MaxLogLines of them through, then one line saying the rest are dropped;
// the next call starts counting again.
func TestLogIsBoundedPerCall(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, wasm.Config{})
	match := &wasmenc.Code{}
	for range 40 {
		match.I32(0).I32(5).Call(0) // log("hello")
	}
	mod, err := rt.Compile(ctx, loggingGuest(match.I32(0)))
	if err != nil {
		t.Fatal(err)
	}
	pool := wasm.NewPool(mod, nil, 1)
	defer pool.Close(ctx)
	for call := range 2 {
		state := &lines{}
		if _, err := pool.Match(ctx, []byte("{}"), state); err != nil {
			t.Fatal(err)
		}
		if len(state.got) != wasm.MaxLogLines+1 || state.got[0] != "hello" || !strings.Contains(state.got[wasm.MaxLogLines], "dropped") {
			t.Fatalf("call %d logged %d lines (%q ... %q), want %d then one saying the rest are dropped",
				call+1, len(state.got), state.got[0], state.got[len(state.got)-1], wasm.MaxLogLines)
		}
	}
}

func newRuntime(t testing.TB, cfg wasm.Config) *wasm.Runtime {
	t.Helper()
	rt, err := wasm.NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

// TestInstanceMemoryIsOutsideTheGoHeap: a guest that grows its memory to
// 60 MiB does not grow the Go heap by as much: instance memory is mapped
// outside it (and grown in place, without the copy a Go slice's growth
// made), so idle instances do not pace the collector.
func TestInstanceMemoryIsOutsideTheGoHeap(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("instance memory is mapped outside the Go heap on Linux only (wasm/memory_linux.go)")
	}
	ctx := context.Background()
	rt := newRuntime(t, wasm.Config{})
	// hw_match grows memory by 960 pages and writes its last word.
	grow := (&wasmenc.Code{}).I32(960).MemoryGrow().Op(wasmenc.Drop).
		I32(961*65536 - 4).I32('z').StoreI32(0).I32(0)
	mod, err := rt.Compile(ctx, guest(twoToOne, grow))
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	pool := wasm.NewPool(mod, nil, 1)
	defer pool.Close(ctx)
	if got, err := pool.Match(ctx, []byte("x"), nil); err != nil || got != 0 {
		t.Fatalf("warm-up call: %d, %v", got, err)
	}
	before := heap()
	grown, err := mod.Instantiate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer grown.Close(ctx)
	if got, err := grown.Match([]byte("x"), nil); err != nil || got != 0 {
		t.Fatalf("growing to 961 pages: %d, %v", got, err)
	}
	if size := grown.MemoryBytes(); size != 961*65536 {
		t.Fatalf("memory is %d bytes, want %d", size, 961*65536)
	}
	if after := heap(); after > before+16<<20 {
		t.Fatalf("the Go heap grew %d MiB for a guest's 60 MiB", (after-before)>>20)
	}
}

// waiting is a CallState whose Log blocks for a while without using the
// CPU: the call's thread waits, as it does for a core on a saturated
// machine.
type waiting struct{ pause time.Duration }

func (w waiting) Get([]byte) ([]byte, bool) { return nil, false }
func (w waiting) Set(_, _ []byte) bool      { return false }
func (w waiting) Log([]byte)                { time.Sleep(w.pause) }

// TestBudgetIsTimeOnTheCPU: a call that waits three budgets without using
// the CPU keeps its verdict (it was counted as no match when the budget
// was wall-clock time), one that waits past ten budgets is stopped all
// the same, and one that spins is stopped at its budget.
func TestBudgetIsTimeOnTheCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the budget is wall-clock time where a thread's CPU clock is not read")
	}
	ctx := context.Background()
	const budget = 20 * time.Millisecond
	rt := newRuntime(t, wasm.Config{CallTimeout: budget})
	mod, err := rt.Compile(ctx, loggingGuest((&wasmenc.Code{}).I32(0).I32(5).Call(0).I32(1))) // log("hello"), match
	if err != nil {
		t.Fatal(err)
	}
	pool := wasm.NewPool(mod, nil, 1)
	defer pool.Close(ctx)
	if verdict, err := pool.Match(ctx, []byte("{}"), waiting{3 * budget}); err != nil || verdict != 1 {
		t.Fatalf("a call that waited 3 budgets off the CPU: verdict %d, %v; want 1", verdict, err)
	}
	if _, err := pool.Match(ctx, []byte("{}"), waiting{12 * budget}); !errors.Is(err, wasm.ErrDeadline) {
		t.Fatalf("a call that waited 12 budgets: %v; want the time budget's fault", err)
	}

	spin, err := rt.Compile(ctx, guest(twoToOne, (&wasmenc.Code{}).Loop(wasmenc.BlockEmpty).Br(0).End().I32(0)))
	if err != nil {
		t.Fatal(err)
	}
	spinning := wasm.NewPool(spin, nil, 1)
	defer spinning.Close(ctx)
	began := time.Now()
	// Stopped for its CPU time, which needs the call's thread found (at
	// its first yield), not at the wall-clock cap.
	if _, err := spinning.Match(ctx, []byte("x"), nil); !errors.Is(err, wasm.ErrDeadline) || !strings.Contains(err.Error(), "used its budget") {
		t.Fatalf("a spinning call: %v; want the time budget's fault, for the budget it used", err)
	}
	if took := time.Since(began); took > 10*budget { // the wall-clock cap
		t.Fatalf("a spinning call ran %s, past the wall-clock cap", took)
	}
}

// TestPoolQuarantinesAFilterThatKeepsFailing: after 100 failed calls in a
// row a pool stops calling its filter (a call fails at once, even one the
// filter would have matched); after the cooldown one call goes through,
// and its success ends the quarantine.
func TestPoolQuarantinesAFilterThatKeepsFailing(t *testing.T) {
	ctx, pool := firstByteIsXPool(t)
	for i := range 100 {
		if _, err := pool.Match(ctx, []byte("!boom"), nil); err == nil || errors.Is(err, wasm.ErrQuarantined) {
			t.Fatalf("call %d: %v, want the filter's trap", i+1, err)
		}
	}
	began := time.Now()
	got, err := pool.Match(ctx, []byte("xyz"), nil)
	if !errors.Is(err, wasm.ErrQuarantined) || got != 0 || !strings.Contains(err.Error(), "after 100 failed calls in a row") {
		t.Fatalf("the 101st call: %d, %v; want it refused as quarantined", got, err)
	}
	time.Sleep(time.Until(began.Add(1100 * time.Millisecond)))
	if got, err := pool.Match(ctx, []byte("xyz"), nil); err != nil || got != 1 {
		t.Fatalf("the call after the cooldown: %d, %v; want the filter's match", got, err)
	}
	if got, err := pool.Match(ctx, []byte("abc"), nil); err != nil || got != 0 {
		t.Fatalf("after the quarantine: %d, %v; want the filter's answer", got, err)
	}
}

// TestARefusedConfigSaysWhatTheFilterLogged: what hw_init logs before it
// refuses its config is in the refusal (the SDKs log their reason, and
// there is no session to log it with), bounded to about a kilobyte; a
// config taken says nothing.
func TestARefusedConfigSaysWhatTheFilterLogged(t *testing.T) {
	ctx := context.Background()
	module := wat(t, `(module
	  (import "hookwire" "log" (func $log (param i32 i32)))
	  (memory (export "memory") 1)
	  (data (i32.const 0) "config needs min_total")
	  (data (i32.const 64) "`+strings.Repeat("x", 200)+`")
	  (func (export "hw_alloc") (param i32) (result i32) (i32.const 1024))
	  (func (export "hw_match") (param i32 i32) (result i32) (i32.const 0))
	  (func (export "hw_init") (param $p i32) (param $n i32) (result i32)
	    (local $i i32)
	    ;; a config of one byte "1" is taken; "2" logs 20 long lines
	    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x31)) (then (return (i32.const 0))))
	    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x32))
	      (then (loop $more
	        (call $log (i32.const 64) (i32.const 200))
	        (local.set $i (i32.add (local.get $i) (i32.const 1)))
	        (br_if $more (i32.lt_u (local.get $i) (i32.const 20))))))
	    (call $log (i32.const 0) (i32.const 22))
	    (i32.const 1)))`)
	mod, err := newRuntime(t, wasm.Config{CallTimeout: wasm.DefaultCallTimeout}).Compile(ctx, module)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Instantiate(ctx, []byte("0")); !errors.Is(err, wasm.ErrInitRefused) ||
		!strings.HasSuffix(err.Error(), "hw_init returned 1 and logged: config needs min_total") {
		t.Errorf("a refused config: %v, want the refusal with what hw_init logged", err)
	}
	_, err = mod.Instantiate(ctx, []byte("2"))
	if !errors.Is(err, wasm.ErrInitRefused) || !strings.Contains(err.Error(), strings.Repeat("x", 200)) || len(err.Error()) > 1200 {
		t.Errorf("a refusal after 20 lines of 200 bytes: %d bytes, %.300v; want about a kilobyte of them", len(err.Error()), err)
	}
	inst, err := mod.Instantiate(ctx, []byte("1"))
	if err != nil {
		t.Fatalf("a config taken: %v", err)
	}
	inst.Close(ctx)
}
