package wasm

import (
	"context"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Config configures a Runtime.
type Config struct {
	// MemoryLimitPages caps each instance's memory in 64 KiB pages.
	MemoryLimitPages uint32
	// CallTimeout bounds one guest call; zero means the runtime does not
	// interrupt calls (hookwire's own generated programs need no deadline:
	// their loops are bounded by the input's length).
	CallTimeout time.Duration
}

// DefaultMemoryLimitPages is 64 MiB.
const DefaultMemoryLimitPages = 1024

func (c *Config) setDefaults() {
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
}

// Runtime compiles and instantiates modules. It is safe for concurrent use.
type Runtime struct {
	cfg   Config
	cache wazero.CompilationCache
	rt    wazero.Runtime
}

// NewRuntime starts a runtime. Compiled code is shared through an in-memory
// compilation cache, so compiling the same bytes twice costs a lookup.
func NewRuntime(ctx context.Context, cfg Config) *Runtime {
	cfg.setDefaults()
	cache := wazero.NewCompilationCache()
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCloseOnContextDone(cfg.CallTimeout > 0)
	return &Runtime{cfg: cfg, cache: cache, rt: wazero.NewRuntimeWithConfig(ctx, rc)}
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
	rt       *Runtime
	compiled wazero.CompiledModule
}

// Compile compiles and validates a module.
func (r *Runtime) Compile(ctx context.Context, binary []byte) (*Module, error) {
	if len(binary) < 8 || string(binary[:4]) != "\x00asm" {
		return nil, ErrNotWasm
	}
	compiled, err := r.rt.CompileModule(ctx, binary)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotWasm, err)
	}
	if err := checkExports(compiled); err != nil {
		compiled.Close(ctx)
		return nil, err
	}
	return &Module{rt: r, compiled: compiled}, nil
}

func checkExports(m wazero.CompiledModule) error {
	if _, ok := m.ExportedMemories()[ExportMemory]; !ok {
		return fmt.Errorf("%w: no exported memory named %q", ErrABI, ExportMemory)
	}
	fns := m.ExportedFunctions()
	want := map[string][2]int{ExportAlloc: {1, 1}, ExportMatch: {2, 1}}
	for name, shape := range want {
		fn, ok := fns[name]
		if !ok {
			return fmt.Errorf("%w: missing export %s", ErrABI, name)
		}
		if !allI32(fn.ParamTypes(), shape[0]) || !allI32(fn.ResultTypes(), shape[1]) {
			return fmt.Errorf("%w: %s has the wrong signature, want %s", ErrABI, name, signature(shape))
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
