package store

import (
	"log/slog"
	"sync"
	"time"
)

// idWriter remembers the producer ids of durable groups in Badger behind
// the group commit, so that a request is answered once its record is
// synced rather than once Badger has its ids too. With an id on every
// event, that write (~8 ms per group of 64 requests) was most of the sync
// a request waited for (event log sync p50 9.3 ms against 0.75 ms without
// ids), and it held the closed loop's producers below what the CPU
// allowed.
//
// Nothing is lost by answering first: a group's ids stay in the pending
// set, which every lookup checks, until Badger (and the id filter) has
// them; and a log segment is not retired until the ids of its records are
// in Badger (TrimEvents waits for written), so replay can restore the ids
// a crash took from Badger. A write that fails is retried; until it
// succeeds the ids stay pending and no segment after them is retired.
type idWriter struct {
	s      *Store
	logger *slog.Logger
	// write stores one group's ids (rememberIDs; a test's stand-in).
	write func(*Written) error

	mu      sync.Mutex
	changed *sync.Cond
	queue   []*Written // durable groups, in log order
	// written: the ids of every record up to this sequence are in Badger
	// (records logged before the open count: replay remembers theirs
	// before their events are evaluated).
	written uint64
	closed  bool
	done    chan struct{}
}

// maxQueuedIDGroups bounds the groups waiting for their ids' write: past
// it the syncer waits (Badger is behind; pending ids are memory).
const maxQueuedIDGroups = 64

func startIDWriter(s *Store, logger *slog.Logger, opened uint64) *idWriter {
	iw := &idWriter{s: s, logger: logger, written: opened, done: make(chan struct{}),
		write: func(w *Written) error { return s.rememberIDs(w.ids, w.expires) }}
	iw.changed = sync.NewCond(&iw.mu)
	go iw.run()
	return iw
}

// enqueue hands over durable groups' ids, in log order.
func (iw *idWriter) enqueue(groups []*Written) {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	for len(iw.queue) >= maxQueuedIDGroups && !iw.closed {
		iw.changed.Wait()
	}
	iw.queue = append(iw.queue, groups...)
	iw.changed.Broadcast()
}

func (iw *idWriter) run() {
	defer close(iw.done)
	for {
		iw.mu.Lock()
		for len(iw.queue) == 0 && !iw.closed {
			iw.changed.Wait()
		}
		if len(iw.queue) == 0 { // closed and drained
			iw.mu.Unlock()
			return
		}
		groups := iw.queue
		iw.queue = nil
		iw.mu.Unlock()

		last := uint64(0)
		for _, g := range groups {
			if !iw.remember(g) {
				return // closed: the unwritten ids' records stay in the log
			}
			iw.s.release(g.pending)
			last = max(last, g.last)
		}
		iw.mu.Lock()
		iw.written = max(iw.written, last)
		iw.changed.Broadcast()
		iw.mu.Unlock()
	}
}

// remember writes g's held ids (none when a failed sync let them go),
// retrying a failed write until it succeeds or the writer is closed
// (false).
func (iw *idWriter) remember(g *Written) bool {
	if g.pending == nil {
		return true
	}
	for {
		err := iw.write(g)
		if err == nil {
			return true
		}
		iw.logger.Error("remembering producer ids failed; they stay in memory and their log segments stay, retrying", "err", err)
		time.Sleep(time.Second)
		iw.mu.Lock()
		closed := iw.closed
		iw.mu.Unlock()
		if closed {
			return false
		}
	}
}

// waitWritten returns once the ids of every record up to seq are in
// Badger, or the writer is closed (false).
func (iw *idWriter) waitWritten(seq uint64) bool {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	for iw.written < seq && !iw.closed {
		iw.changed.Wait()
	}
	return iw.written >= seq
}

// close writes what is queued, then stops.
func (iw *idWriter) close() {
	iw.mu.Lock()
	iw.closed = true
	iw.changed.Broadcast()
	iw.mu.Unlock()
	<-iw.done
}
