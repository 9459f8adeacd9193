package wasm

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Instance is one instantiation of a Module. It is not safe for concurrent
// use: a Pool hands each to one caller at a time.
type Instance struct {
	rt     *Runtime
	mod    api.Module
	mem    api.Memory
	alloc  api.Function
	match  api.Function
	buf    uint32
	bufCap uint32
	stack  [2]uint64
}

// Instantiate makes a fresh instance with its own memory.
func (m *Module) Instantiate(ctx context.Context) (*Instance, error) {
	// An empty name lets many instances of one module coexist.
	mod, err := m.rt.rt.InstantiateModule(ctx, m.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return nil, fmt.Errorf("wasm: instantiate: %w", err)
	}
	return &Instance{
		rt:    m.rt,
		mod:   mod,
		mem:   mod.ExportedMemory(ExportMemory),
		alloc: mod.ExportedFunction(ExportAlloc),
		match: mod.ExportedFunction(ExportMatch),
	}, nil
}

// Match copies input into the guest and calls hw_match. The buffer from
// hw_alloc is reused while input fits in it. An error (trap, deadline,
// allocation failure) leaves the instance unusable: close it.
func (i *Instance) Match(ctx context.Context, input []byte) (int32, error) {
	n := uint32(len(input))
	if n > i.bufCap || i.buf == 0 {
		i.stack[0] = uint64(n)
		if err := i.call(ctx, i.alloc); err != nil {
			return 0, err
		}
		i.buf, i.bufCap = uint32(i.stack[0]), n
		if i.buf == 0 {
			return 0, ErrAlloc
		}
	}
	if !i.mem.Write(i.buf, input) {
		return 0, fmt.Errorf("%w: hw_alloc returned %d for %d bytes, outside memory", ErrAlloc, i.buf, n)
	}
	i.stack[0], i.stack[1] = uint64(i.buf), uint64(n)
	if err := i.call(ctx, i.match); err != nil {
		return 0, err
	}
	return int32(uint32(i.stack[0])), nil
}

func (i *Instance) call(ctx context.Context, fn api.Function) error {
	if i.rt.cfg.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, i.rt.cfg.CallTimeout)
		defer cancel()
	}
	return fn.CallWithStack(ctx, i.stack[:])
}

// Close releases the instance's memory.
func (i *Instance) Close(ctx context.Context) error { return i.mod.Close(ctx) }
