package wasm

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// callClock is the CPU time of the thread a call runs on, which the
// watchdog reads from its own goroutine. Once attached, the call's
// goroutine is locked to its thread, so that the thread's time is the
// call's.
//
// It is attached at the call's first trip to Go (an instrumented module's
// yield, every 2^18 instructions as the checks charge them) after 0.1 ms
// of the call (attachAfter), not when the call begins: nearly every call
// ends sooner, and finding the thread (gettid) is a system call (~1 µs on
// the project's VM, more than half of a small filter's call).
// Its baseline is read by the watchdog at its first look, for the same
// reason (reading the clock is a system call too: 8.7 % of the server's
// CPU with a filter keeping state on every click when every call read
// it). Until then the call is charged its wall-clock time as CPU (see
// settle), so it can only be stopped earlier than its CPU alone would
// warrant, never later, and by at most the time before the first look.
type callClock struct {
	clock    int32 // the thread's CPU clock
	start    int64 // its reading, less what the call was charged before it, ns
	attached bool  // the goroutine is locked to the thread of clock
	settled  bool  // start has been read
}

func startCallClock() callClock { return callClock{} }

// attach locks the call's goroutine to its thread and notes the thread's
// clock; it runs on the call's goroutine.
func (c *callClock) attach() {
	runtime.LockOSThread()
	c.clock, c.attached = threadCPUClock(unix.Gettid()), true
}

func (c *callClock) stop() {
	if c.attached {
		runtime.UnlockOSThread()
	}
}

// settle reads the baseline, charging the call charged of CPU time
// before it (its wall-clock time so far, less its sleeps).
func (c *callClock) settle(charged time.Duration) {
	c.start, c.settled = readClock(c.clock)-int64(charged), true
}

// used is the CPU time the call's thread has had since the call began
// (from settle on; what it was charged before). A clock that cannot be
// read gives the thread's whole CPU time, which ends a call at its
// budget of wall-clock time, as without this clock.
func (c *callClock) used() time.Duration { return time.Duration(readClock(c.clock) - c.start) }

// threadCPUClock is the clock id of thread tid's CPU time: the kernel's
// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED), which clock_getcpuclockid
// computes for a thread in C.
func threadCPUClock(tid int) int32 {
	const perThread, sched = 4, 2
	return int32(^uint32(tid)<<3 | perThread | sched)
}

func readClock(clock int32) int64 {
	var ts unix.Timespec
	if unix.ClockGettime(clock, &ts) != nil {
		return 0
	}
	return ts.Nano()
}
