package bench

import (
	"sync"
	"sync/atomic"
	"time"
)

// loadGate is how the harness holds its producers between batches: paused
// while the ceiling is measured between two stretches of the engine's
// load, stopped at the end. A batch under way is always answered first,
// so a pause leaves nothing in flight.
type loadGate struct {
	mu      sync.Mutex
	changed sync.Cond
	paused  bool
	stopped bool
	sending int // batches let through and not yet answered
}

func newLoadGate() *loadGate {
	g := &loadGate{}
	g.changed.L = &g.mu
	return g
}

// enter lets a producer send its next batch, waiting while the gate is
// paused; false once it is stopped. Every true is followed by leave.
func (g *loadGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.paused && !g.stopped {
		g.changed.Wait()
	}
	if g.stopped {
		return false
	}
	g.sending++
	return true
}

// leave says a batch let through was answered (or given up).
func (g *loadGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sending--
	g.changed.Broadcast()
}

// pause lets no further batch through and returns once those under way
// are answered.
func (g *loadGate) pause() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.paused = true
	for g.sending > 0 {
		g.changed.Wait()
	}
}

// resume lets batches through again.
func (g *loadGate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.paused = false
	g.changed.Broadcast()
}

// stop ends every producer at its next batch.
func (g *loadGate) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	g.changed.Broadcast()
}

// loadClock is how long the load has run in the measured window, the
// pauses between its stretches left out: the time the signals are
// scheduled in (workload.signalAt). Producers read it, RunLoad starts and
// stops it.
type loadClock struct {
	ran     atomic.Int64 // ns run in the stretches that ended
	running atomic.Int64 // UnixNano the current stretch began; 0 while none runs
}

func (c *loadClock) start(at time.Time) { c.running.Store(at.UnixNano()) }

func (c *loadClock) stop(at time.Time) {
	if began := c.running.Swap(0); began != 0 {
		c.ran.Add(at.UnixNano() - began)
	}
}

func (c *loadClock) elapsed(now time.Time) time.Duration {
	ran := c.ran.Load()
	if began := c.running.Load(); began != 0 {
		ran += now.UnixNano() - began
	}
	return time.Duration(ran)
}
