package wasm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
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

	// ctx carries the instance (for host functions) and is cancelled by
	// the watchdog when a call overruns, which ends a sleep.
	ctx context.Context
	// stop and countdown are the instrumented module's globals
	// (instrument): the watchdog sets stop and zeroes countdown to stop a
	// call that overruns. nil for a module run without a budget.
	stop, countdown api.MutableGlobal
	cancel          context.CancelFunc
	watchdog        *time.Timer
	state           CallState
	logged          int // lines this call has logged
	// dead is set when the watchdog fired just as a call finished: the
	// instance's context is gone.
	dead bool

	// The running call's budget, which the watchdog checks (expire).
	mu      sync.Mutex
	calling bool
	expired bool // the watchdog cancelled the call
	// expiredBy says which limit the watchdog stopped the call at.
	expiredBy string
	budget    time.Duration
	started   time.Duration // monotonic time the call began (sinceStart)
	clock     callClock
	slept     atomic.Int64 // ns the call's finished sleeps took
	sleeping  atomic.Int64 // Unix ns its current sleep began; 0: awake
}

// A call's budget is time on the CPU or asleep, not wall-clock time: on a
// saturated machine a call waits for a core, and a filter that needed a
// fraction of its 10 ms was stopped after 10 ms of waiting and its event
// counted as no match (a lost webhook under the standard load with 64
// producers). Waiting is still bounded: a call is stopped after
// wallCapFactor times its budget whatever it used.
const (
	wallCapFactor = 10
	// minRecheck is the shortest the watchdog waits before it looks again.
	minRecheck = 200 * time.Microsecond
)

// Instantiate makes a fresh instance with its own memory, runs the WASI
// reactor initialiser if there is one, then hw_init with config (if the
// module exports it). ErrInitRefused when hw_init says no.
func (m *Module) Instantiate(ctx context.Context, config []byte) (*Instance, error) {
	inst := &Instance{rt: m.rt}
	base := context.WithValue(context.WithoutCancel(ctx), instanceKey{}, inst)
	// wazero frees a memory with the module it returns; when instantiation
	// fails after the memory was made (a data segment out of bounds, a
	// start function that traps), the memory is ours to free.
	//
	// The memory's minimum is taken from the budget before wazero
	// allocates it: wazero panics when a first allocation fails.
	budget := m.rt.budget
	if !budget.take(m.minMemory) {
		return nil, budget.spent(m.minMemory)
	}
	var memory experimental.LinearMemory
	base = experimental.WithMemoryAllocator(base, experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
		memory = newMemory(capacity, max, budget, m.minMemory)
		return memory
	}))
	inst.ctx, inst.cancel = context.WithCancel(base)
	inst.watchdog = time.AfterFunc(time.Hour, inst.expire)
	inst.watchdog.Stop()

	// Real clocks matter: with wazero's fake clock a Go guest's GC pacing
	// stalls after about a million calls and its heap grows without end.
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithSysNanotime().WithSysWalltime().WithNanosleep(inst.sleep).WithRandSource(rand.Reader).
		WithStdout(io.Discard).WithStderr(io.Discard)
	inst.begin(m.rt.cfg.InitTimeout)
	mod, err := m.rt.rt.InstantiateModule(inst.ctx, m.compiled, mc)
	inst.end()
	if err != nil {
		inst.cancel()
		if memory != nil {
			memory.Free()
		} else {
			budget.give(m.minMemory)
		}
		return nil, fmt.Errorf("wasm: instantiate: %w", inst.explain(err))
	}
	inst.mod = mod
	inst.mem = mod.ExportedMemory(ExportMemory)
	if m.stoppable {
		inst.stop = mod.ExportedGlobal(exportStop).(api.MutableGlobal)
		inst.countdown = mod.ExportedGlobal(exportCountdown).(api.MutableGlobal)
		if start := mod.ExportedFunction(exportStart); start != nil {
			if err := inst.callWith(m.rt.cfg.InitTimeout, start, nil); err != nil {
				inst.Close(ctx)
				return nil, fmt.Errorf("wasm: start function: %w", err)
			}
		}
	}
	inst.alloc = mod.ExportedFunction(ExportAlloc)
	inst.match = mod.ExportedFunction(ExportMatch)
	if m.hasInitialize {
		if err := inst.callWith(m.rt.cfg.InitTimeout, mod.ExportedFunction(ExportInitialize), nil); err != nil {
			inst.Close(ctx)
			return nil, fmt.Errorf("wasm: _initialize: %w", err)
		}
	}
	if m.hasInit {
		if err := inst.init(config); err != nil {
			inst.Close(ctx)
			return nil, err
		}
	}
	return inst, nil
}

// init hands the config to hw_init in a buffer of its own, which the host
// never reuses (a guest may keep pointing into it).
func (i *Instance) init(config []byte) error {
	timeout := i.rt.cfg.InitTimeout
	stack := []uint64{uint64(len(config))}
	if err := i.callWith(timeout, i.alloc, stack); err != nil {
		return fmt.Errorf("wasm: hw_alloc for the config: %w", err)
	}
	ptr := uint32(stack[0])
	if len(config) > 0 && (ptr == 0 || !i.mem.Write(ptr, config)) {
		return fmt.Errorf("%w: for the %d-byte config", ErrAlloc, len(config))
	}
	stack = []uint64{uint64(ptr), uint64(len(config))}
	// What hw_init logs is kept for its refusal: the SDKs log why they
	// refuse a config, and there is no session or stream to log it with.
	var said initLog
	i.state, i.logged = &said, 0
	err := i.callWith(timeout, i.mod.ExportedFunction(ExportInit), stack)
	i.state = nil
	if err != nil {
		return fmt.Errorf("wasm: hw_init: %w", err)
	}
	if status := int32(uint32(stack[0])); status != 0 {
		if len(said.lines) > 0 {
			return fmt.Errorf("%w: hw_init returned %d and logged: %s", ErrInitRefused, status, strings.Join(said.lines, "; "))
		}
		return fmt.Errorf("%w: hw_init returned %d", ErrInitRefused, status)
	}
	return nil
}

// initLog is hw_init's CallState: no session state (state_get finds
// nothing, state_set is refused), and the first lines logged, at most
// initLogBytes of them, for the refusal's message.
type initLog struct {
	lines []string
	bytes int
}

// initLogBytes bounds what of hw_init's lines a refusal quotes: enough for
// a reason, not a dump into an API answer.
const initLogBytes = 1 << 10

func (l *initLog) Get([]byte) ([]byte, bool) { return nil, false }
func (l *initLog) Set(_, _ []byte) bool      { return false }
func (l *initLog) Log(line []byte) {
	if l.bytes >= initLogBytes {
		return
	}
	text := strings.ToValidUTF8(string(line[:min(len(line), initLogBytes-l.bytes)]), "\ufffd")
	l.lines = append(l.lines, text)
	l.bytes += len(text)
}

// Match copies input into the guest and calls hw_match with state reachable
// by the guest's imports (nil: they see no state). The buffer from hw_alloc
// is reused while input fits in it. An error (trap, deadline, allocation
// failure) leaves the instance unusable: close it.
func (i *Instance) Match(input []byte, state CallState) (int32, error) {
	i.state, i.logged = state, 0
	defer func() { i.state = nil }()
	n := uint32(len(input))
	if n > i.bufCap || i.buf == 0 {
		i.stack[0] = uint64(max(n, 1))
		if err := i.callWith(i.rt.cfg.CallTimeout, i.alloc, i.stack[:]); err != nil {
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
	if err := i.callWith(i.rt.cfg.CallTimeout, i.match, i.stack[:]); err != nil {
		return 0, err
	}
	return int32(uint32(i.stack[0])), nil
}

// processStart is a reading of the monotonic clock to measure calls from.
var processStart = time.Now()

// sinceStart is the monotonic time since processStart: one clock read,
// where time.Now reads the wall clock too (time.Now was 18 % of the WAT
// example's call in its profile; 394 → 372 ns a call without it).
func sinceStart() time.Duration { return time.Since(processStart) }

// begin arms the watchdog for a call with the given budget (0: none).
func (i *Instance) begin(budget time.Duration) {
	if budget <= 0 {
		return
	}
	clock := startCallClock()
	i.mu.Lock()
	defer i.mu.Unlock()
	i.calling, i.expired, i.budget, i.started, i.clock = true, false, budget, sinceStart(), clock
	i.slept.Store(0)
	i.watchdog.Reset(firstLook(budget)) // which reads the call's clock
}

// clockSettleFraction: the watchdog first looks at a call (and reads its
// thread's CPU clock) after this fraction of its budget, charging the
// call that much as CPU: a call kept from a core at its start still gets
// most of its budget on the CPU.
const clockSettleFraction = 4

// firstLookCharge is the CPU time a call is charged for what came before
// the watchdog first read its clock: the call's time awake so far, but no
// more than the look was planned for. On a saturated machine the timer
// fires late, and charging all of a late look's wait stopped calls that
// had barely run (a webhook lost with a million sessions); what a call
// that spun meanwhile ran over is bounded by the wall-clock cap.
func firstLookCharge(awake, budget time.Duration) time.Duration {
	return min(awake, firstLook(budget))
}

// attachAfter is how long into a call its trips to Go start attaching its
// clock. Attaching is a system call (~1 µs here) that a call ending
// sooner has no use for: the watchdog first reads the clock at
// firstLook, a quarter of the budget. A Go guest makes a few trips in
// most calls (its code is one loop per function, each pass charged the
// whole function): attaching at the first cost the Go example a fifth of
// its call.
const attachAfter = 100 * time.Microsecond

// firstLook is how long into a call the watchdog first looks at it.
func firstLook(budget time.Duration) time.Duration {
	return max(budget/clockSettleFraction, minRecheck)
}

// attachClock attaches the running call's CPU clock (callClock.attach) at
// its first trip to Go after attachAfter; it runs on the call's goroutine.
func (i *Instance) attachClock() {
	// Only the call's goroutine writes the clock and the start (under the
	// lock, which the watchdog reads them under), so it can read them
	// without.
	if i.clock.attached || sinceStart()-i.started < attachAfter {
		return
	}
	i.mu.Lock()
	if i.calling {
		i.clock.attach()
	}
	i.mu.Unlock()
}

// end disarms the watchdog and reports whether it stopped the call.
func (i *Instance) end() (expired bool) {
	i.mu.Lock()
	if !i.calling {
		i.mu.Unlock()
		return false
	}
	i.calling = false
	i.watchdog.Stop()
	expired = i.expired
	clock := i.clock
	i.mu.Unlock()
	clock.stop()
	return expired
}

// expire is the watchdog: it stops the running call if the call has used
// its budget on the CPU or asleep, or has run wallCapFactor budgets of
// wall-clock time; otherwise it looks again when the rest could be used.
func (i *Instance) expire() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.calling || i.expired {
		return // a call that just ended, or one already stopped
	}
	slept := time.Duration(i.slept.Load())
	if since := i.sleeping.Load(); since != 0 {
		slept += time.Since(time.Unix(0, since))
	}
	if i.clock.attached && !i.clock.settled {
		i.clock.settle(firstLookCharge(sinceStart()-i.started-slept, i.budget))
	}
	// A call whose clock is not attached has not yet made a trip to Go
	// after attachAfter (instrument): it waited for a core, or in a host
	// function. Only its sleeps count; the wall-clock cap bounds it.
	used := slept
	if i.clock.settled {
		used += i.clock.used()
	}
	left := i.budget - used
	if left > 0 && sinceStart()-i.started < wallCapFactor*i.budget {
		i.watchdog.Reset(max(left, minRecheck))
		return
	}
	i.expired = true
	i.expiredBy = "it used its budget"
	if left > 0 {
		i.expiredBy = "it ran past ten budgets of wall-clock time"
	}
	if i.stop != nil {
		// Written while the call runs, from this goroutine: the guest
		// reads the globals' words as the watchdog writes them (they
		// are not Go variables the race detector sees).
		i.stop.Set(1)
		i.countdown.Set(0)
	}
	i.cancel()
}

func (i *Instance) callWith(timeout time.Duration, fn api.Function, stack []uint64) error {
	i.begin(timeout)
	err := fn.CallWithStack(i.ctx, stack)
	if i.end() {
		i.dead = true
		switch {
		case err == nil:
			// It returned, but past its budget (a sleep cut short at
			// the deadline, say): a verdict that late counts as none.
			return fmt.Errorf("%w (returned after it)", ErrDeadline)
		case i.stop != nil && strings.Contains(err.Error(), "wasm error: unreachable"):
			// The trap of a stop check (instrument): the watchdog set
			// the stop global.
			return fmt.Errorf("%w (%s; stopped at a loop or a call)", ErrDeadline, i.expiredBy)
		}
	}
	return i.explain(err)
}

// sleep is the guest's nanosleep (WASI poll_oneoff on a clock, which a
// Go guest's time.Sleep becomes). It ends early when the call's budget
// runs out: wazero's own sleeps without looking at the context, and a
// filter asking for an hour held a session worker for an hour.
func (i *Instance) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	begun := time.Now()
	i.sleeping.Store(begun.UnixNano())
	defer func() {
		i.slept.Add(int64(time.Since(begun)))
		i.sleeping.Store(0)
	}()
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-i.ctx.Done():
	}
}

// explain turns wazero's "module closed" after a watchdog cancel into
// ErrDeadline, so faults say what happened. A trap (a stack overflow, an
// out-of-bounds access) is reported as itself even when the budget ran
// out meanwhile: it is what stopped the call.
func (i *Instance) explain(err error) error {
	if err == nil {
		return nil
	}
	var exit *sys.ExitError
	if !errors.As(err, &exit) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w (%v)", ErrDeadline, err)
		}
		return err
	}
	if code := exit.ExitCode(); code == sys.ExitCodeContextCanceled || code == sys.ExitCodeDeadlineExceeded || i.ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ErrDeadline, err)
	}
	return fmt.Errorf("wasm: the guest exited with code %d", exit.ExitCode())
}

// MemoryBytes is the current size of the instance's memory.
func (i *Instance) MemoryBytes() uint32 { return i.mem.Size() }

// Close releases the instance's memory.
func (i *Instance) Close(ctx context.Context) error {
	i.watchdog.Stop()
	i.cancel()
	if i.mod == nil {
		return nil
	}
	return i.mod.Close(ctx)
}
