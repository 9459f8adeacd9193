package wasm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Config configures a Runtime.
type Config struct {
	// MemoryLimitPages caps each instance's memory in 64 KiB pages.
	MemoryLimitPages uint32
	// CallTimeout bounds one hw_match call; zero means calls are never
	// interrupted (hookwire's own generated programs need no deadline:
	// their loops are bounded by the input). A non-zero timeout
	// instruments every module with checks at function entries and loop
	// heads (instrument.go).
	CallTimeout time.Duration
	// InitTimeout bounds instantiation work (_initialize, hw_init), which
	// for a language runtime such as Go's takes far longer than a match.
	InitTimeout time.Duration
	// MemoryBudget bounds the linear memory of all instances together, in
	// bytes (0: no bound). Past it, a new instance or a memory.grow fails,
	// which the caller sees as its own filter's fault (ErrMemoryBudget).
	MemoryBudget int64
}

// Defaults of CONTRACT §4.
const (
	DefaultMemoryLimitPages = 1024 // 64 MiB
	DefaultCallTimeout      = 10 * time.Millisecond
	DefaultInitTimeout      = 2 * time.Second
)

func (c *Config) setDefaults() {
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if c.InitTimeout == 0 {
		c.InitTimeout = DefaultInitTimeout
	}
}

// Runtime compiles and instantiates modules. It provides WASI preview 1
// (no filesystem, no network, real clocks) and the hookwire host module.
// It is safe for concurrent use.
type Runtime struct {
	cfg   Config
	cache wazero.CompilationCache
	rt    wazero.Runtime
	// wasi holds the WASI functions the runtime provides, by name.
	wasi map[string]api.FunctionDefinition
	// budget bounds all instances' memory together; nil: no bound.
	budget *memoryBudget
	// compiling lets one module compile at a time: compiling takes
	// hundreds of times a function's size in memory (see
	// maxFunctionBytes), and uploads are rare.
	compiling sync.Mutex
}

// NewRuntime starts a runtime. Compiled code is shared through an in-memory
// compilation cache, so compiling the same bytes twice costs a lookup.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg.setDefaults()
	cache := wazero.NewCompilationCache()
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(cfg.MemoryLimitPages)
	r := &Runtime{cfg: cfg, cache: cache, rt: wazero.NewRuntimeWithConfig(ctx, rc)}
	if cfg.MemoryBudget > 0 {
		r.budget = &memoryBudget{limit: cfg.MemoryBudget}
	}
	wasi, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt)
	if err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("wasm: WASI: %w", err)
	}
	r.wasi = wasi.(api.Module).ExportedFunctionDefinitions()
	if err := instantiateHostModule(ctx, r.rt); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("wasm: host module: %w", err)
	}
	return r, nil
}

// Close releases every module and instance of the runtime.
func (r *Runtime) Close(ctx context.Context) error {
	err := r.rt.Close(ctx)
	if cerr := r.cache.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// Module is a compiled, ABI-checked module. Instantiate it per worker.
type Module struct {
	rt            *Runtime
	compiled      wazero.CompiledModule
	hasInit       bool
	hasInitialize bool // exports _initialize (a WASI reactor)
	// stoppable: instrumented (instrument), so its calls can be stopped
	// through its stop global; its start function, if any, is the
	// exportStart export.
	stoppable bool
	// minMemory is the bytes its memory starts with.
	minMemory uint64
}

// Compile compiles and validates a module: it must be Wasm, export memory,
// hw_alloc and hw_match with their signatures, import only the hookwire
// host functions and WASI, and fit the memory cap.
func (r *Runtime) Compile(ctx context.Context, binary []byte) (*Module, error) {
	binary, err := precheck(binary)
	if err != nil {
		return nil, err
	}
	stoppable := r.cfg.CallTimeout > 0
	if stoppable {
		// Calls with a budget are stopped by the checks instrument adds.
		if binary, err = instrument(binary); err != nil {
			return nil, err
		}
	}
	r.compiling.Lock()
	compiled, err := r.rt.CompileModule(ctx, binary)
	r.compiling.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	m := &Module{rt: r, compiled: compiled, stoppable: stoppable}
	if err := r.check(m); err != nil {
		compiled.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (r *Runtime) check(m *Module) error {
	c := m.compiled
	mem, ok := c.ExportedMemories()[ExportMemory]
	if !ok {
		return fmt.Errorf("%w: no exported memory named %q", ErrABI, ExportMemory)
	}
	if mem.Min() > r.cfg.MemoryLimitPages {
		return fmt.Errorf("%w: its memory starts at %d pages (%d MiB), over the cap of %d MiB",
			ErrABI, mem.Min(), mem.Min()/16, r.cfg.MemoryLimitPages/16)
	}
	m.minMemory = uint64(mem.Min()) << 16
	if len(c.ImportedMemories()) > 0 {
		return fmt.Errorf("%w: it imports a memory; it must define and export its own", ErrABI)
	}
	fns := c.ExportedFunctions()
	for name, shape := range map[string][2]int{ExportAlloc: {1, 1}, ExportMatch: {2, 1}} {
		fn, ok := fns[name]
		if !ok {
			return fmt.Errorf("%w: missing export %s", ErrABI, name)
		}
		if !allI32(fn.ParamTypes(), shape[0]) || !allI32(fn.ResultTypes(), shape[1]) {
			return fmt.Errorf("%w: %s has the wrong signature, want %s", ErrABI, name, signature(shape))
		}
	}
	if fn, ok := fns[ExportInit]; ok {
		if !allI32(fn.ParamTypes(), 2) || !allI32(fn.ResultTypes(), 1) {
			return fmt.Errorf("%w: %s has the wrong signature, want (i32, i32) -> i32", ErrABI, ExportInit)
		}
		m.hasInit = true
	}
	if fn, ok := fns[ExportInitialize]; ok {
		if len(fn.ParamTypes()) != 0 || len(fn.ResultTypes()) != 0 {
			return fmt.Errorf("%w: %s must take and return nothing", ErrABI, ExportInitialize)
		}
		m.hasInitialize = true
	}
	for _, imp := range c.ImportedFunctions() {
		module, name, _ := imp.Import()
		switch module {
		case HostModule:
			shape, ok := hostSignatures[name]
			if !ok {
				return fmt.Errorf("%w: unknown import %s.%s (the host offers state_get, state_set, log)", ErrABI, module, name)
			}
			if !allI32(imp.ParamTypes(), shape[0]) || !allI32(imp.ResultTypes(), shape[1]) {
				return fmt.Errorf("%w: import %s.%s has the wrong signature", ErrABI, module, name)
			}
		case WASIModule:
			if _, ok := r.wasi[name]; !ok {
				return fmt.Errorf("%w: unknown WASI import %s", ErrABI, name)
			}
		default:
			return fmt.Errorf("%w: unknown import %s.%s (only %s and %s are provided)", ErrABI, module, name, HostModule, WASIModule)
		}
	}
	return nil
}

func allI32(types []api.ValueType, n int) bool {
	if len(types) != n {
		return false
	}
	for _, t := range types {
		if t != api.ValueTypeI32 {
			return false
		}
	}
	return true
}

func signature(shape [2]int) string {
	if shape[0] == 1 {
		return "(i32) -> i32"
	}
	return "(i32, i32) -> i32"
}

// Close releases the compiled code. Instances already made keep working
// until closed themselves.
func (m *Module) Close(ctx context.Context) error { return m.compiled.Close(ctx) }
