package wasm

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// callClock is the CPU time of the thread a call runs on, which the
// watchdog reads from its own goroutine. The call's goroutine is locked to
// its thread meanwhile, so that the thread's time is the call's.
type callClock struct {
	clock int32 // the thread's CPU clock
	start int64 // its reading when the call began, ns
}

func startCallClock() callClock {
	runtime.LockOSThread()
	clock := threadCPUClock(unix.Gettid())
	return callClock{clock: clock, start: readClock(clock)}
}

func (c callClock) stop() { runtime.UnlockOSThread() }

// used is the CPU time the call's thread has had since the call began. A
// clock that cannot be read gives the thread's whole CPU time, which ends
// a call at its budget of wall-clock time, as without this clock.
func (c callClock) used() time.Duration { return time.Duration(readClock(c.clock) - c.start) }

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
