package wasm

import (
	"context"
	"sync/atomic"
)

// Pool lends instances of one module to callers, instantiating on demand
// and keeping up to a fixed number idle for reuse. It is safe for concurrent
// use. A call that fails discards its instance, so a trapped guest never
// serves another call.
type Pool struct {
	module *Module
	idle   chan *Instance
	closed atomic.Bool
}

// NewPool returns a pool that keeps at most maxIdle instances around.
func NewPool(module *Module, maxIdle int) *Pool {
	if maxIdle < 1 {
		maxIdle = 1
	}
	return &Pool{module: module, idle: make(chan *Instance, maxIdle)}
}

// Match runs input through an instance of the pool's module.
func (p *Pool) Match(ctx context.Context, input []byte) (int32, error) {
	var inst *Instance
	select {
	case inst = <-p.idle:
	default:
		var err error
		if inst, err = p.module.Instantiate(ctx); err != nil {
			return 0, err
		}
	}
	verdict, err := inst.Match(ctx, input)
	if err != nil {
		inst.Close(context.WithoutCancel(ctx))
		return 0, err
	}
	if p.closed.Load() {
		inst.Close(ctx)
		return verdict, nil
	}
	select {
	case p.idle <- inst:
	default:
		inst.Close(ctx)
	}
	return verdict, nil
}

// Close closes the idle instances and the module. Calls still running keep
// their instance until they return it; it is then closed.
func (p *Pool) Close(ctx context.Context) {
	p.closed.Store(true)
	for {
		select {
		case inst := <-p.idle:
			inst.Close(ctx)
		default:
			p.module.Close(ctx)
			return
		}
	}
}
