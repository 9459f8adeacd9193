package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrClosed answers a wait for durability the store can no longer give.
var ErrClosed = errors.New("store: closed")

// durableMark is how far the event log is known to be on disk: every
// record whose sequence is at or below through. Ingest hands events to
// their sessions as soon as they are written, so that they are evaluated
// while their bytes are still in the cache, and the session committer
// waits here before it writes what they caused: no effect of an event
// reaches the store (or a webhook) before the event itself is durable.
type durableMark struct {
	through atomic.Uint64
	mu      sync.Mutex
	err     error         // sticky: a failed sync, or the store closed
	changed chan struct{} // closed, and replaced, when through or err moves
}

func newDurableMark(through uint64) *durableMark {
	d := &durableMark{changed: make(chan struct{})}
	d.through.Store(through)
	return d
}

// advance records that every record up to seq is durable.
func (d *durableMark) advance(seq uint64) {
	if seq <= d.through.Load() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if seq > d.through.Load() {
		d.through.Store(seq)
		close(d.changed)
		d.changed = make(chan struct{})
	}
}

// fail makes every wait for a record not yet durable return err, now and
// later (the first error stays).
func (d *durableMark) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = err
		close(d.changed)
		d.changed = make(chan struct{})
	}
}

// wait returns once every record up to seq is durable, or the error that
// means it never will be, or ctx's error if it ends first.
func (d *durableMark) wait(ctx context.Context, seq uint64) error {
	for {
		if seq <= d.through.Load() {
			return nil
		}
		d.mu.Lock()
		err, changed := d.err, d.changed
		d.mu.Unlock()
		if seq <= d.through.Load() {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("store: waiting for event log record %d to be durable: %w", seq, ctx.Err())
		}
	}
}

// WaitDurable returns once the event log record seq, and every one before
// it, is durable (with durability batch: written), or with the error that
// means it will not be: the log failed, or the store closed; or with ctx's
// error if ctx ends while it waits. Records written before the store was
// opened count as durable.
func (s *Store) WaitDurable(ctx context.Context, seq uint64) error {
	return s.logDurable.wait(ctx, seq)
}
