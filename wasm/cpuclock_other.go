//go:build !linux

package wasm

import "time"

// callClock is wall-clock time where a thread's CPU clock is not read:
// a call that waits for a core uses its budget waiting.
type callClock struct {
	start    time.Time
	attached bool
	settled  bool
}

func startCallClock() callClock {
	return callClock{start: time.Now(), attached: true, settled: true}
}
func (c *callClock) attach()                      {}
func (c *callClock) stop()                        {}
func (c *callClock) settle(charged time.Duration) {}
func (c *callClock) used() time.Duration          { return time.Since(c.start) }
