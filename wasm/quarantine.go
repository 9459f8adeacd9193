package wasm

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrQuarantined: the pool did not call its filter, whose last calls all
// failed; the call counts as a failed one.
var ErrQuarantined = errors.New("wasm: the filter is quarantined")

// A filter whose calls keep failing costs the engine, not only itself: a
// trap discards the instance, and each event then pays for a new one (60
// µs of CPU per event, against 2.5 µs for the rest of its evaluation); a
// filter that spins uses its whole budget (10 ms) per event, and two of
// them stall a two-core engine. After QuarantineAfter failed calls in a
// row a pool stops calling its filter: each call fails at once with
// ErrQuarantined (a fault, as a failed call would be), and after a
// cooldown one call goes through to see whether the filter recovered. A
// call that succeeds ends the quarantine; one that fails doubles the
// cooldown, up to quarantineMaxCooldown.
const (
	// QuarantineAfter is the failed calls in a row that start one.
	QuarantineAfter         = 100
	quarantineFirstCooldown = time.Second
	quarantineMaxCooldown   = time.Minute
)

// quarantine is a pool's record of its filter's failures in a row.
type quarantine struct {
	// until is when calls go through again (Unix ns; 0: no quarantine),
	// inARow the failures since the last success: read on every call.
	until  atomic.Int64
	inARow atomic.Int64
	// refusal is the error calls fail with meanwhile, built once.
	refusal atomic.Pointer[error]

	mu       sync.Mutex
	cooldown time.Duration
	probing  bool // the call after a cooldown is under way
}

// admit says whether a call may go through (nil), or the error it fails
// with at once: outside a quarantine it may (without reading the clock);
// during one, a single call at a time once the cooldown is over.
func (q *quarantine) admit(now func() time.Time) error {
	until := q.until.Load()
	if until == 0 {
		return nil
	}
	refusal := *q.refusal.Load()
	if now().UnixNano() < until {
		return refusal
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.probing {
		return refusal
	}
	q.probing = true
	return nil
}

// succeeded ends a quarantine, or a run of failures short of one.
func (q *quarantine) succeeded() {
	if q.inARow.Load() == 0 && q.until.Load() == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inARow.Store(0)
	q.until.Store(0)
	q.cooldown, q.probing = 0, false
}

// failed counts a failed call, starting a quarantine at the threshold and
// lengthening it when the call after a cooldown fails too.
func (q *quarantine) failed(now time.Time) {
	n := q.inARow.Add(1)
	if n < QuarantineAfter {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.probing:
		q.probing = false
		q.cooldown = min(2*q.cooldown, quarantineMaxCooldown)
	case q.until.Load() == 0:
		q.cooldown = quarantineFirstCooldown
	default:
		return // a call under way when the quarantine began
	}
	until := now.Add(q.cooldown)
	refusal := fmt.Errorf("%w after %d failed calls in a row; calls resume at %s",
		ErrQuarantined, n, until.UTC().Format(time.RFC3339))
	q.refusal.Store(&refusal)
	q.until.Store(until.UnixNano())
}
