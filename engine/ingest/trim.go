package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/store"
)

// trimFlushEvery bounds how long an evaluated record waits to be deleted;
// deleting in batches keeps trimming off the hot path.
const trimFlushEvery = 200 * time.Millisecond

// Trimmer deletes evaluated event-log records in batches. Session actors
// call it concurrently through the writer's completion records.
type Trimmer struct {
	mailbox *actors.Mailbox[uint64]
	store   *store.Store
	logger  *slog.Logger
	pending []uint64
	due     time.Time
}

// StartTrimmer starts the trimmer; stop it (through ctx) after the session
// actors, so their last completions are trimmed too.
func StartTrimmer(ctx context.Context, group *actors.Group, st *store.Store, logger *slog.Logger) *Trimmer {
	t := &Trimmer{mailbox: actors.NewMailbox[uint64](1 << 16), store: st, logger: logger}
	actors.Spawn(ctx, group, "event-log-trimmer", t.mailbox, t, nil)
	return t
}

// add queues a record for deletion. The queue holds only sequence numbers
// and is drained every flush, so it is not bounded; after shutdown add is a
// no-op and the record is replayed (harmlessly: fired streams stay fired).
func (t *Trimmer) add(seq uint64) { _ = t.mailbox.PushControl(seq) }

func (t *Trimmer) Receive(batch []uint64) {
	if len(t.pending) == 0 {
		t.due = time.Now().Add(trimFlushEvery)
	}
	t.pending = append(t.pending, batch...)
	if len(t.pending) >= 4096 {
		t.flush()
	}
}

func (t *Trimmer) flush() {
	if len(t.pending) == 0 {
		return
	}
	if err := t.store.TrimEvents(t.pending); err != nil {
		t.logger.Warn("trimming the event log failed; records stay and are replayed at start-up", "err", err)
	}
	t.pending = t.pending[:0]
}

func (t *Trimmer) Deadline() time.Time {
	if len(t.pending) == 0 {
		return time.Time{}
	}
	return t.due
}

func (t *Trimmer) Timeout(time.Time) bool {
	t.flush()
	return false
}

func (t *Trimmer) Stopped(actors.StopReason) { t.flush() }
