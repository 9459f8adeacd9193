package wasm

import (
	"context"
	"sync/atomic"
	"time"
)

// Pool lends instances of one module, initialised with one config, to
// callers: it instantiates on demand and keeps up to a fixed number idle for
// reuse. It is safe for concurrent use. A call that fails discards its
// instance, so a trapped or overrun guest never serves another call.
type Pool struct {
	module *Module
	config []byte
	idle   chan *Instance
	closed atomic.Bool
	// quarantine stops calling a filter whose calls keep failing.
	quarantine quarantine
	// unloadable, if set, is why there is no module: every call fails
	// with it (NewUnloadablePool).
	unloadable error
}

// NewUnloadablePool returns a pool for a module that could not be loaded:
// every call fails with err at once, as a fault of the filter's own, and
// nothing else is affected.
func NewUnloadablePool(err error) *Pool {
	return &Pool{unloadable: err, idle: make(chan *Instance, 1)}
}

// NewPool returns a pool that keeps at most maxIdle instances around, each
// given config through hw_init.
func NewPool(module *Module, config []byte, maxIdle int) *Pool {
	if maxIdle < 1 {
		maxIdle = 1
	}
	return &Pool{module: module, config: config, idle: make(chan *Instance, maxIdle)}
}

// Match runs input through an instance of the pool's module; state is what
// the guest's state imports reach during the call.
func (p *Pool) Match(ctx context.Context, input []byte, state CallState) (int32, error) {
	if p.unloadable != nil {
		return 0, p.unloadable
	}
	if err := p.quarantine.admit(time.Now); err != nil {
		return 0, err
	}
	var inst *Instance
	select {
	case inst = <-p.idle:
	default:
		var err error
		if inst, err = p.module.Instantiate(ctx, p.config); err != nil {
			p.quarantine.failed(time.Now())
			return 0, err
		}
	}
	verdict, err := inst.Match(input, state)
	if err != nil {
		inst.Close(context.WithoutCancel(ctx))
		p.quarantine.failed(time.Now())
		return 0, err
	}
	p.quarantine.succeeded()
	if p.closed.Load() || inst.dead {
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

// Close closes the idle instances. Calls still running keep their instance
// until they return it; it is then closed. The module is not closed: other
// pools may share it (one uploaded filter, many streams).
func (p *Pool) Close(ctx context.Context) {
	p.closed.Store(true)
	for {
		select {
		case inst := <-p.idle:
			inst.Close(ctx)
		default:
			return
		}
	}
}
