package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/session"
	"github.com/hookwire/hookwire/engine/store"
)

// Config bounds what ingest holds in memory.
type Config struct {
	// MaxInFlight is the number of accepted events not yet evaluated above
	// which new requests get 429.
	MaxInFlight int64
	// QueueCapacity bounds requests waiting for the next group commit.
	QueueCapacity int
	// DedupeTTL is how long a producer event id is remembered.
	DedupeTTL time.Duration
	// Users is the user → session index the session actors keep, which
	// events naming only a user are resolved against; nil: a private one.
	Users *session.Users
	// Prepare, if set, runs on each batch before it is accepted, on the
	// request's goroutine (session.OfferStreams).
	Prepare func(events []model.Event)
}

// Result is what a request's events came to.
type Result struct {
	Accepted   int
	Duplicates int
}

// Writer is the single writer of the event log. Accept may be called from
// many goroutines; the events it is given are owned by the writer after.
type Writer struct {
	cfg      Config
	store    *store.Store
	sessions *actors.Registry[string, session.Message]
	metrics  *metrics.Metrics
	logger   *slog.Logger
	mailbox  *actors.Mailbox[*request]
	synced   *actors.Mailbox[*writtenGroup] // written groups, to sync
	trimmer  *Trimmer
	inFlight atomic.Int64
}

// SessionFor is the session an event naming only user uid joins: the
// user's most recent live session, or a new one.
func (w *Writer) SessionFor(uid string) string { return w.cfg.Users.Resolve(uid, w.sessions.Has) }

// SweepUsers forgets users whose latest session has ended; call it now and
// then to bound the memory of user → session.
func (w *Writer) SweepUsers() { w.cfg.Users.Sweep(w.sessions.Has) }

type request struct {
	append store.AppendRequest
	room   *reservations
	memory *batchMemory // the events', if lent; held until they are evaluated
	reply  chan error
}

// reservations are a request's room in its sessions' mailboxes: one slot
// per distinct session, and for each event the slot of its session.
type reservations struct {
	slots   []reservation
	ofEvent []int32
	index   map[string]int32 // session → slot, while grouping
}

type reservation struct {
	session string
	n       int
	mailbox *actors.Mailbox[session.Message]
	spawned bool // the session's actor is new (and its user not yet noted)
}

// rooms lends requests their reservations, given back once the request
// is answered: a request's slots, their growth and a map from session to
// slot were an eighth of the bytes the engine allocated per event, and
// allocation is what paces the collector.
var rooms = sync.Pool{New: func() any { return &reservations{index: map[string]int32{}} }}

// groupBySession counts events per session. The caller gives the result
// back with recycle once nothing uses it.
func groupBySession(events []model.Event) *reservations {
	rs := rooms.Get().(*reservations)
	rs.ofEvent = slices.Grow(rs.ofEvent[:0], len(events))[:len(events)]
	for i := range events {
		id := events[i].SessionID
		slot, ok := rs.index[id]
		if !ok {
			slot = int32(len(rs.slots))
			rs.index[id] = slot
			rs.slots = append(rs.slots, reservation{session: id})
		}
		rs.slots[slot].n++
		rs.ofEvent[i] = slot
	}
	clear(rs.index)
	return rs
}

// recycle gives the reservations back to the pool; its room must have
// been used (dispatch) or released. A burst's large buffers are let go.
func (rs *reservations) recycle() {
	if cap(rs.slots) > 4096 || cap(rs.ofEvent) > 16384 {
		return
	}
	clear(rs.slots) // the sessions' ids and mailboxes
	rs.slots = rs.slots[:0]
	rooms.Put(rs)
}

// release gives back whatever room is held.
func (rs *reservations) release() {
	for _, r := range rs.slots {
		if r.mailbox != nil {
			r.mailbox.Release(r.n)
		}
	}
}

// Stage is where an actor runs: it stops when Ctx ends, and Group waits
// for it.
type Stage struct {
	Ctx   context.Context
	Group *actors.Group
}

// NewWriter starts the writer on write and its syncer on sync, which must
// stop after write (the writer's last groups go to the syncer). Evaluated
// log records go to trim, which must outlive the session actors
// (StartTrimmer).
func NewWriter(write, sync Stage, cfg Config, st *store.Store, trim *Trimmer,
	sessions *actors.Registry[string, session.Message], m *metrics.Metrics, logger *slog.Logger) *Writer {
	if cfg.Users == nil {
		cfg.Users = &session.Users{}
	}
	w := &Writer{cfg: cfg, store: st, sessions: sessions, metrics: m, logger: logger, trimmer: trim,
		mailbox: actors.NewMailbox[*request](cfg.QueueCapacity),
		synced:  actors.NewMailbox[*writtenGroup](cfg.QueueCapacity)}
	actors.Spawn(sync.Ctx, sync.Group, "ingest-syncer", w.synced, &syncerBehaviour{w}, nil)
	actors.Spawn(write.Ctx, write.Group, "ingest-writer", w.mailbox, &writerBehaviour{w}, nil)
	return w
}

// InFlight reports accepted events not yet evaluated: those of every log
// record with an event still to evaluate.
func (w *Writer) InFlight() int64 { return w.inFlight.Load() }

// Accept makes a batch's events durable and queues them for evaluation. It
// returns ErrSaturated without writing anything when sessions or the log
// are behind, and ErrShuttingDown once the writer has stopped. The batch is
// Accept's: the caller must not look at it again. Sessions' messages point
// into its events, so its memory (if lent) goes back once the request is
// answered and the sessions have evaluated it; any other batch is left to
// the collector.
func (w *Writer) Accept(b Batch) (Result, error) {
	events := b.Events
	defer b.Release()
	if w.inFlight.Load()+int64(len(events)) > w.cfg.MaxInFlight {
		return Result{}, fmt.Errorf("%w: %d events await evaluation", model.ErrSaturated, w.inFlight.Load())
	}
	if w.cfg.Prepare != nil {
		w.cfg.Prepare(events)
	}
	r := &request{append: store.AppendRequest{Events: events}, room: groupBySession(events), memory: b.memory,
		reply: make(chan error, 1)}
	// Once answered, nobody else looks at the request's room.
	defer r.room.recycle()
	// Reserve room in every session's mailbox first: once the events are on
	// disk, handing them over must not fail. Touching every session first
	// overlaps their cache misses (a third of a lookup's cost among 100k
	// sessions).
	w.sessions.Touch(len(r.room.slots), func(i int) string { return r.room.slots[i].session })
	for i := range r.room.slots {
		slot := &r.room.slots[i]
		mb, spawned, err := w.sessions.ReserveSpawning(slot.session, slot.n)
		slot.spawned = spawned
		if err != nil {
			r.room.release()
			if errors.Is(err, actors.ErrMailboxClosed) {
				return Result{}, model.ErrShuttingDown
			}
			return Result{}, fmt.Errorf("%w: session %q has too many events waiting", model.ErrSaturated, slot.session)
		}
		slot.mailbox = mb
	}
	if err := w.mailbox.Push(r); err != nil {
		r.room.release()
		if errors.Is(err, actors.ErrMailboxClosed) {
			return Result{}, model.ErrShuttingDown
		}
		return Result{}, fmt.Errorf("%w: the event log writer is behind", model.ErrSaturated)
	}
	if err := <-r.reply; err != nil {
		return Result{}, err
	}
	// A new session's user is known before the answer, so an event naming
	// only that user, sent after it, joins the session. Sessions note
	// later changes of their user themselves. Once per new session, its
	// last uid (the one the session will hold), so from the end.
	for i := len(events) - 1; i >= 0; i-- {
		slot := &r.room.slots[r.room.ofEvent[i]]
		if u := events[i].User; u != nil && u.UID != "" && slot.spawned {
			// Copies: the event's strings share its allocation. The
			// session's first turn notes its own strings over them.
			w.cfg.Users.Note(strings.Clone(u.UID), strings.Clone(slot.session))
			slot.spawned = false
		}
	}
	res := Result{}
	for _, dup := range r.append.Duplicate {
		if dup {
			res.Duplicates++
		} else {
			res.Accepted++
		}
	}
	w.metrics.EventsAccepted.Add(float64(res.Accepted))
	w.metrics.EventsDuplicate.Add(float64(res.Duplicates))
	return res, nil
}

type writerBehaviour struct{ w *Writer }

// Receive writes every queued request to the event log at once, hands
// their events to their sessions, then hands the group to the syncer and
// takes the next: group n+1 is written while group n syncs (a pipelined
// group commit).
//
// The events are evaluated while they sync, not after: they are still in
// the cache (after a sync they were not, and sessions spent a tenth more
// CPU per event). What they cause waits for them: the session committer
// writes a turn's effects, and so sends its webhooks, only once the log
// is durable through its events (store.WaitDurable), and the requests are
// answered once the group is durable, as before.
func (b *writerBehaviour) Receive(batch []*request) {
	w := b.w
	reqs := make([]*store.AppendRequest, len(batch))
	for i, r := range batch {
		reqs[i] = &r.append
	}
	written, err := w.store.WriteEvents(reqs, w.cfg.DedupeTTL)
	if err != nil {
		w.logger.Error("appending to the event log failed; requests answered 500", "err", err)
		for _, r := range batch {
			r.room.release()
		}
		answer(batch, err)
		return
	}
	for _, r := range batch {
		w.dispatch(r.append.Seq, r.append.Events, r.append.Duplicate, r.room, r.memory)
	}
	group := &writtenGroup{requests: slices.Clone(batch), written: written}
	for {
		err := w.synced.Push(group)
		if !errors.Is(err, actors.ErrMailboxFull) {
			if err != nil {
				// Only at shutdown, which stops the syncer after the
				// writer: sync here, so that the events handed over are
				// not left waiting for a sync that never comes.
				w.makeDurable([]*writtenGroup{group})
			}
			return
		}
		time.Sleep(100 * time.Microsecond) // the syncer is behind: hold the line here (429s build up before us)
	}
}

// answer tells every request of batch how its group commit ended.
func answer(batch []*request, err error) {
	for _, r := range batch {
		if err != nil {
			r.reply <- fmt.Errorf("ingest: event log: %w", err)
		} else {
			r.reply <- nil
		}
	}
}

// writtenGroup is one writer turn's requests, in the log, not yet durable.
type writtenGroup struct {
	requests []*request
	written  *store.Written
}

type syncerBehaviour struct{ w *Writer }

// Receive makes every written group durable with one sync and answers the
// requests.
func (b *syncerBehaviour) Receive(groups []*writtenGroup) { b.w.makeDurable(groups) }

func (w *Writer) makeDurable(groups []*writtenGroup) {
	written := make([]*store.Written, len(groups))
	for i, g := range groups {
		written[i] = g.written
	}
	err := w.store.MakeDurable(written)
	if err != nil {
		// The events were handed over already. After a failed sync their
		// effects are never written (the committer's wait fails), and
		// they are evaluated again after a restart if their records made
		// it to the disk. If only their ids could not be remembered, they
		// are durable and their effects written; a retry is accepted and
		// evaluated again (a fired stream stays fired).
		w.logger.Error("making the event log durable failed; requests answered 500", "err", err)
	}
	for _, g := range groups {
		answer(g.requests, err)
	}
}

func (b *syncerBehaviour) Deadline() time.Time       { return time.Time{} }
func (b *syncerBehaviour) Timeout(time.Time) bool    { return false }
func (b *syncerBehaviour) Stopped(actors.StopReason) {}

// dispatch hands a logged request's fresh events to their sessions, using
// the reservations made in Accept; duplicates give theirs back. The
// events' memory, if lent, is held until the last of them is evaluated.
func (w *Writer) dispatch(seq uint64, events []model.Event, dup []bool, room *reservations, memory *batchMemory) {
	fresh := 0
	for _, d := range dup {
		if !d {
			fresh++
		}
	}
	w.inFlight.Add(int64(fresh))
	tracker := &logRecord{seq: seq, trimmer: w.trimmer, inFlight: &w.inFlight, events: int32(fresh)}
	tracker.remaining.Store(int32(fresh))
	if memory != nil && fresh > 0 {
		memory.hold()
		tracker.memory = memory
	}
	// The sessions' cells may have left the cache since Accept touched
	// them (a group's write lies between): touch them again, all at once.
	w.sessions.Touch(len(room.slots), func(i int) string { return room.slots[i].session })
	// Positions count logged events only, as the log record holds them, so
	// that live evaluation and a replay see the same positions.
	logged := uint32(0)
	arrived := time.Now().UnixNano()
	for i := range events {
		mb := room.slots[room.ofEvent[i]].mailbox
		if dup[i] {
			mb.Release(1)
			continue
		}
		pos := model.LogPosition{Seq: seq, Idx: logged}
		logged++
		if err := mb.PushReserved(session.Message{Event: &events[i], Pos: pos, Done: tracker, Arrived: arrived}); err != nil {
			// Only at shutdown: the event is in the log and is replayed.
			w.logger.Warn("session stopped before its event was handed over; it will be replayed",
				"session_id", events[i].SessionID, "seq", seq)
		}
	}
}

func (b *writerBehaviour) Deadline() time.Time       { return time.Time{} }
func (b *writerBehaviour) Timeout(time.Time) bool    { return false }
func (b *writerBehaviour) Stopped(actors.StopReason) {}

// logRecord counts a log record's events still to be evaluated; the last
// of them queues the record for trimming, unless one was abandoned (then
// the record stays for the replay at the next start), and gives the
// batch's memory back and the record's events off the in-flight count
// either way. In flight is counted down per record, not per event: every
// session worker wrote that one shared counter for every event.
type logRecord struct {
	seq       uint64
	events    int32
	remaining atomic.Int32
	abandoned atomic.Bool
	trimmer   *Trimmer
	inFlight  *atomic.Int64
	memory    *batchMemory // nil: the events own theirs
}

func (l *logRecord) Done() { l.finish() }

func (l *logRecord) Abandon() {
	l.abandoned.Store(true)
	l.finish()
}

func (l *logRecord) finish() {
	if l.remaining.Add(-1) != 0 {
		return
	}
	l.inFlight.Add(-int64(l.events))
	if !l.abandoned.Load() {
		l.trimmer.add(l.seq)
	}
	if l.memory != nil {
		l.memory.release()
	}
}

// Replay hands every logged, not yet evaluated event to its session, oldest
// first. It runs before the front door opens, so it waits for room instead
// of refusing.
func (w *Writer) Replay(ctx context.Context) (int, error) {
	total := 0
	err := w.store.ReplayEvents(w.cfg.DedupeTTL, func(b store.LogBatch) error {
		room := groupBySession(b.Events)
		for i := range room.slots {
			slot := &room.slots[i]
			for {
				mb, err := w.sessions.Reserve(slot.session, slot.n)
				if err == nil {
					slot.mailbox = mb
					break
				}
				if errors.Is(err, actors.ErrMailboxClosed) {
					room.release()
					return err
				}
				select {
				case <-ctx.Done():
					room.release()
					return ctx.Err()
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
		w.dispatch(b.Seq, b.Events, make([]bool, len(b.Events)), room, nil)
		room.recycle()
		total += len(b.Events)
		return nil
	})
	w.metrics.EventsReplayed.Add(float64(total))
	return total, err
}
