package wasm

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// CallState is what a guest's hookwire imports reach during one call: the
// calling session's state for the calling stream, and the log. The caller
// of Match owns it; it is used only during that call, from its goroutine.
type CallState interface {
	// Get returns the value for key, and whether there is one.
	Get(key []byte) ([]byte, bool)
	// Set stores value for key (copying both); false when refused (limits).
	Set(key, value []byte) bool
	// Log records a line the guest wrote.
	Log(line []byte)
}

type instanceKey struct{}

// instanceOf finds the Instance a host function is called for: each
// instance's context carries it, so no per-call allocation is needed.
func instanceOf(ctx context.Context) *Instance {
	inst, _ := ctx.Value(instanceKey{}).(*Instance)
	return inst
}

// instantiateHostModule defines the hookwire import module on rt.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	i32 := api.ValueTypeI32
	b := rt.NewHostModuleBuilder(HostModule)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(stateGet),
		[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}).Export(ImportStateGet)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(stateSet),
		[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}).Export(ImportStateSet)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(logLine),
		[]api.ValueType{i32, i32}, nil).Export(ImportLog)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(yieldCall), nil, nil).Export(importYield)
	_, err := b.Instantiate(ctx)
	return err
}

// hostSignatures are the allowed hookwire imports: (params, results).
var hostSignatures = map[string][2]int{
	ImportStateGet: {4, 1},
	ImportStateSet: {4, 1},
	ImportLog:      {2, 0},
	importYield:    {0, 0},
}

// yieldCall is importYield: a trip to Go from an instrumented call, where
// Go's scheduler can stop the goroutine, and where a call that has run a
// while has its thread's CPU clock noted for the watchdog.
func yieldCall(ctx context.Context, _ api.Module, _ []uint64) {
	if inst := instanceOf(ctx); inst != nil {
		inst.attachClock()
	}
}

// stateGet(kptr, klen, vptr, vcap) -> length or -1. Copies at most vcap
// bytes; a guest learns the full length and can call again with room.
func stateGet(ctx context.Context, mod api.Module, stack []uint64) {
	kptr, klen, vptr, vcap := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	stack[0] = api.EncodeI32(-1)
	inst := instanceOf(ctx)
	if inst == nil || inst.state == nil || klen > MaxStateKey {
		return
	}
	key, ok := mod.Memory().Read(kptr, klen)
	if !ok {
		return
	}
	value, found := inst.state.Get(key)
	if !found {
		return
	}
	n := min(uint32(len(value)), vcap)
	if n > 0 && !mod.Memory().Write(vptr, value[:n]) {
		return
	}
	stack[0] = api.EncodeI32(int32(len(value)))
}

// stateSet(kptr, klen, vptr, vlen) -> 0, or -1 when refused.
func stateSet(ctx context.Context, mod api.Module, stack []uint64) {
	kptr, klen, vptr, vlen := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	stack[0] = api.EncodeI32(-1)
	inst := instanceOf(ctx)
	if inst == nil || inst.state == nil || klen == 0 || klen > MaxStateKey || vlen > MaxStateValue {
		return
	}
	key, ok1 := mod.Memory().Read(kptr, klen)
	value, ok2 := mod.Memory().Read(vptr, vlen)
	if !ok1 || !ok2 || !inst.state.Set(key, value) {
		return
	}
	stack[0] = 0
}

// logLine(ptr, len): at most MaxLogLine bytes of each of at most
// MaxLogLines lines per call reach the log, then one line saying that the
// call's further lines are dropped.
func logLine(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, n := uint32(stack[0]), uint32(stack[1])
	inst := instanceOf(ctx)
	if inst == nil || inst.state == nil {
		return
	}
	inst.logged++
	switch {
	case inst.logged == MaxLogLines+1:
		inst.state.Log(fmt.Appendf(nil, "(hookwire: more than %d lines in one call; the rest of this call's are dropped)", MaxLogLines))
		return
	case inst.logged > MaxLogLines:
		return
	}
	line, ok := mod.Memory().Read(ptr, min(n, MaxLogLine))
	if ok {
		inst.state.Log(line)
	}
}
