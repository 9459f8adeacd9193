package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	// MaxInFlightBytes bounds the same by the size of the request bodies
	// they came in (0: no bound). The event bound alone let a backlog of
	// large events (behind a slow filter, say) hold a million of them in
	// memory, 64 KiB of properties each.
	MaxInFlightBytes int64
	// MaxEvaluationLag, if positive, refuses requests while the oldest
	// accepted event not yet evaluated has waited longer.
	MaxEvaluationLag time.Duration
	// MaxLiveSessions, if positive, refuses requests while more than a
	// tenth over it are live: passivating them (session.Config.MaxLive)
	// writes each one's record, and a producer sending new session ids
	// faster than that would otherwise still fill the memory.
	MaxLiveSessions int
	// QueueCapacity bounds requests waiting for the next group commit.
	QueueCapacity int
	// DedupeTTL is how long a producer event id is remembered.
	DedupeTTL time.Duration
	// Users is the user → session index the session actors keep, which
	// events naming only a user are resolved against; nil: a private one.
	Users *session.Users
	// Sessions says when a session out of memory has ended (Users joins
	// events naming only a user to a passivated session that goes on).
	Sessions session.Config
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
	// inFlightBytes is the body bytes of the requests inFlight counts.
	inFlightBytes atomic.Int64
	sender        *actors.Sender[string, session.Message] // the writer goroutine's
	// waiting counts requests queued or written and not yet answered.
	waiting atomic.Int64
	// unevaluated holds the log records handed to the sessions, oldest
	// first, when MaxEvaluationLag is set.
	unevaluated backlog
}

// backlog is the log records handed over for evaluation in the order they
// were, so that the oldest one with an event still to evaluate is found at
// its head. Records finish in any order; a finished one stays until those
// before it have finished too, and leaves when the head is next looked at.
type backlog struct {
	mu      sync.Mutex
	records []*logRecord
	head    int
}

func (b *backlog) add(l *logRecord) {
	b.mu.Lock()
	b.records = append(b.records, l)
	b.mu.Unlock()
}

// oldest is when the oldest record with an event still to evaluate was
// handed over (Unix ns), or 0 if every one has finished.
func (b *backlog) oldest() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.head < len(b.records) && b.records[b.head].remaining.Load() == 0 {
		b.records[b.head] = nil
		b.head++
	}
	if b.head == len(b.records) {
		b.records, b.head = b.records[:0], 0
		return 0
	}
	if b.head > len(b.records)/2 { // keep the finished prefix from growing
		n := copy(b.records, b.records[b.head:])
		clear(b.records[n:])
		b.records, b.head = b.records[:n], 0
	}
	return b.records[b.head].arrived
}

// SessionFinder returns what one request's events that name only a user
// use to find the session they join: the user's most recent live
// session, or a new one.
//
// A session notes its user when it evaluates its events, which may be
// after their request was answered. So before a user is taken for new,
// the sessions catch up with every event handed over so far (at most
// settleWait): an event for the user that was answered is then noted.
// They catch up at most once per request: after the first wait,
// everything answered before the request began is evaluated, so a batch
// of events for many new users waits once, not once per user.
func (w *Writer) SessionFinder() func(uid string) string {
	settled := false
	return func(uid string) string {
		if !settled {
			if id, ok := w.cfg.Users.Lookup(uid, w.goesOn); ok {
				return id
			}
			ctx, cancel := context.WithTimeout(context.Background(), settleWait)
			_ = w.sessions.Settle(ctx) // behind for longer: the user is taken for new
			cancel()
			settled = true
		}
		return w.cfg.Users.Resolve(uid, w.goesOn)
	}
}

// goesOn reports whether a session is live: in memory, or out of it
// (passivated past --max-live-sessions, or not back since a restart) and
// still within its idle and maximum times by its stored record.
func (w *Writer) goesOn(id string) bool {
	if w.sessions.Has(id) {
		return true
	}
	rec, err := w.store.LoadSession(id)
	return err == nil && rec != nil && session.GoesOn(rec, w.cfg.Sessions, time.Now())
}

// rememberedSession finds the user's live session among those the store
// files under the user (session.Users asks when memory has none): after a
// restart the user index starts empty, and an event naming only the user
// would otherwise start another session, which fires the user's streams
// again. The session's record must still name the user: a session whose
// user changed stays filed under the old one.
func (w *Writer) rememberedSession(uid string) (string, bool) {
	ids, err := w.store.UserSessions(uid, rememberedRuns)
	if err != nil {
		w.logger.Error("looking up a user's sessions", "err", err)
		return "", false
	}
	now := time.Now()
	for _, id := range ids {
		rec, err := w.store.LoadSession(id)
		if err != nil || rec == nil || rec.User == nil || rec.User.UID != uid {
			continue
		}
		if w.sessions.Has(id) || session.GoesOn(rec, w.cfg.Sessions, now) {
			return id, true
		}
	}
	return "", false
}

// rememberedRuns bounds the stored sessions rememberedSession reads for a
// user: the latest runs are the ones that can still go on.
const rememberedRuns = 4

// settleWait bounds how long a SessionFinder waits for the sessions.
const settleWait = 2 * time.Second

// SweepUsers forgets users whose latest session has ended; call it now and
// then to bound the memory of user → session.
func (w *Writer) SweepUsers() { w.cfg.Users.Sweep(w.sessions.Has, w.goesOn) }

type request struct {
	append store.AppendRequest
	memory *batchMemory // the events', if lent; held until they are evaluated
	// bodyBytes is the request body's size, counted in flight.
	bodyBytes int64
	reply     chan error
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
		synced:  actors.NewMailbox[*writtenGroup](cfg.QueueCapacity), sender: sessions.NewSender()}
	if cfg.Users.Remembered == nil {
		cfg.Users.Remembered = w.rememberedSession
	}
	actors.Spawn(sync.Ctx, sync.Group, "ingest-syncer", w.synced, &syncerBehaviour{w: w}, nil)
	actors.Spawn(write.Ctx, write.Group, "ingest-writer", w.mailbox, &writerBehaviour{w}, nil)
	return w
}

// Saturated returns ErrSaturated while the engine could take no request
// at all, or nil. Ingest asks before it reads and decodes a body: a
// saturated engine then turns a request away for the price of a look.
// Under a flood of new session ids, decoding the bodies it refused took
// the CPU that passivation needed to catch up. The bounds that do not
// depend on a batch (live sessions, the evaluation lag) are checked here
// only; Accept checks those a batch's size can pass.
func (w *Writer) Saturated() error {
	if err := w.fits(1, 1); err != nil {
		return err
	}
	if bound := w.cfg.MaxLiveSessions; bound > 0 {
		if live := w.sessions.Len(); live-bound > bound/10 { // not bound+bound/10: a bound near MaxInt would wrap
			return fmt.Errorf("%w: %d sessions are live, over --max-live-sessions %d; the least recently active are being passivated",
				model.ErrSaturated, live, bound)
		}
	}
	if bound := w.cfg.MaxEvaluationLag; bound > 0 {
		if since := w.unevaluated.oldest(); since != 0 {
			if lag := time.Duration(time.Now().UnixNano() - since); lag > bound {
				return fmt.Errorf("%w: the oldest accepted event has waited %s for evaluation, over --max-evaluation-lag %s",
					model.ErrSaturated, lag.Round(time.Millisecond), bound)
			}
		}
	}
	return nil
}

// fits refuses a batch of n events from bodyBytes of body with
// ErrSaturated while taking it would pass the bound on events or on body
// bytes awaiting evaluation.
func (w *Writer) fits(n, bodyBytes int64) error {
	if w.inFlight.Load()+n > w.cfg.MaxInFlight {
		return fmt.Errorf("%w: %d events await evaluation", model.ErrSaturated, w.inFlight.Load())
	}
	if held := w.inFlightBytes.Load(); w.cfg.MaxInFlightBytes > 0 && held+bodyBytes > w.cfg.MaxInFlightBytes {
		return fmt.Errorf("%w: events from %d bytes of requests await evaluation", model.ErrSaturated, held)
	}
	return nil
}

// InFlight reports accepted events not yet evaluated: those of every log
// record with an event still to evaluate.
func (w *Writer) InFlight() int64 { return w.inFlight.Load() }

// InFlightBytes reports the body bytes of the requests whose events
// InFlight counts.
func (w *Writer) InFlightBytes() int64 { return w.inFlightBytes.Load() }

// Accept makes a batch's events durable and queues them for evaluation;
// bodyBytes is the size of the request body they came in. Call
// Saturated first. It returns ErrSaturated without writing anything when
// the batch would pass the in-flight bounds or the log's writer is
// behind, and ErrShuttingDown once the writer has stopped. The batch is
// Accept's: the caller must not look at it again. Sessions' messages point
// into its events, so its memory (if lent) goes back once the request is
// answered and the sessions have evaluated it; any other batch is left to
// the collector.
func (w *Writer) Accept(b Batch, bodyBytes int) (Result, error) {
	events := b.Events
	defer b.Release()
	if err := w.fits(int64(len(events)), int64(bodyBytes)); err != nil {
		return Result{}, err
	}
	if w.cfg.Prepare != nil {
		w.cfg.Prepare(events)
	}
	r := &request{append: store.AppendRequest{Events: events}, memory: b.memory, bodyBytes: int64(bodyBytes),
		reply: make(chan error, 1)}
	w.waiting.Add(1)
	defer w.waiting.Add(-1)
	if err := w.mailbox.Push(r); err != nil {
		if errors.Is(err, actors.ErrMailboxClosed) {
			return Result{}, model.ErrShuttingDown
		}
		return Result{}, fmt.Errorf("%w: the event log writer is behind", model.ErrSaturated)
	}
	if err := <-r.reply; err != nil {
		return Result{}, err
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
		answer(batch, err)
		return
	}
	for _, r := range batch {
		w.dispatch(w.sender, r.append.Seq, r.append.Events, r.append.Duplicate, r.memory, r.bodyBytes)
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

type syncerBehaviour struct {
	w        *Writer
	lastSync time.Time
	all      []*writtenGroup // this turn's groups, reused
}

// minSyncInterval is the least time between the starts of two syncs of
// the event log while other requests are on their way. Requests that
// arrive one at a time (steady producers at half the maximum rate) each
// had a sync of their own: fdatasync was 0.31 µs of the server's 3.5 µs
// per event at 300k events/s (0.11 under saturation, where groups are
// large). Waiting up to this long lets the groups written meanwhile share
// the next one. A sync that would cover every request waiting does not
// wait: a lone producer sending one request at a time would only be
// slowed.
const minSyncInterval = time.Millisecond

// Receive makes every written group durable with one sync and answers the
// requests.
func (b *syncerBehaviour) Receive(groups []*writtenGroup) {
	covered := 0
	for _, g := range groups {
		covered += len(g.requests)
	}
	if wait := minSyncInterval - time.Since(b.lastSync); wait > 0 && b.w.waiting.Load() > int64(covered) {
		time.Sleep(wait)
	}
	all := b.w.synced.Drain(append(b.all[:0], groups...))
	b.lastSync = time.Now()
	b.w.makeDurable(all)
	clear(all)
	b.all = all[:0]
}

func (w *Writer) makeDurable(groups []*writtenGroup) {
	written := make([]*store.Written, len(groups))
	for i, g := range groups {
		written[i] = g.written
	}
	began := time.Now()
	err := w.store.MakeDurable(written)
	w.metrics.EventLogSync.Observe(time.Since(began).Seconds())
	if err != nil {
		// The events were handed over already. After a failed sync their
		// effects are never written (the committer's wait fails), and
		// they are evaluated again after a restart if their records made
		// it to the disk. (Their ids are remembered after the answer, and
		// retried until they are: see store.idWriter.)
		w.logger.Error("making the event log durable failed; requests answered 500", "err", err)
	}
	for _, g := range groups {
		answer(g.requests, err)
	}
}

func (b *syncerBehaviour) Deadline() time.Time       { return time.Time{} }
func (b *syncerBehaviour) Timeout(time.Time) bool    { return false }
func (b *syncerBehaviour) Stopped(actors.StopReason) {}

// dispatch hands a logged request's fresh events to their sessions. The
// events' memory, if lent, is held until the last of them is evaluated,
// and bodyBytes counted in flight until then.
func (w *Writer) dispatch(to *actors.Sender[string, session.Message], seq uint64, events []model.Event, dup []bool,
	memory *batchMemory, bodyBytes int64) {
	fresh := 0
	for _, d := range dup {
		if !d {
			fresh++
		}
	}
	if fresh == 0 {
		return
	}
	w.inFlight.Add(int64(fresh))
	w.inFlightBytes.Add(bodyBytes)
	arrived := time.Now().UnixNano()
	tracker := &logRecord{seq: seq, trimmer: w.trimmer, inFlight: &w.inFlight, events: int32(fresh),
		inFlightBytes: &w.inFlightBytes, bodyBytes: bodyBytes, arrived: arrived}
	tracker.remaining.Store(int32(fresh))
	if w.cfg.MaxEvaluationLag > 0 {
		w.unevaluated.add(tracker)
	}
	if memory != nil {
		memory.hold()
		tracker.memory = memory
	}
	// Positions count logged events only, as the log record holds them, so
	// that live evaluation and a replay see the same positions.
	logged := uint32(0)
	for i := range events {
		if dup[i] {
			continue
		}
		pos := model.LogPosition{Seq: seq, Idx: logged}
		logged++
		to.Add(events[i].SessionID, session.Message{Event: &events[i], Pos: pos, Done: tracker, Arrived: arrived})
	}
	if err := to.Flush(); err != nil {
		// Only at shutdown: the events are in the log and are replayed.
		w.logger.Warn("sessions stopped before their events were handed over; they will be replayed", "seq", seq)
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
	// bodyBytes of the request are counted in inFlightBytes meanwhile.
	inFlightBytes *atomic.Int64
	bodyBytes     int64
	arrived       int64 // when it was handed over, Unix ns
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
	l.inFlightBytes.Add(-l.bodyBytes)
	if !l.abandoned.Load() {
		l.trimmer.add(l.seq)
	}
	if l.memory != nil {
		l.memory.release()
	}
}

// replayBacklog bounds the replayed events waiting for their sessions.
const replayBacklog = 1 << 16

// Replay hands every logged, not yet evaluated event to its session, oldest
// first. It runs before the front door opens, so it waits for the sessions
// to catch up instead of refusing.
func (w *Writer) Replay(ctx context.Context) (int, error) {
	total := 0
	to := w.sessions.NewSender()
	err := w.store.ReplayEvents(w.cfg.DedupeTTL, func(b store.LogBatch) error {
		for w.sessions.Pending() > replayBacklog {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		w.dispatch(to, b.Seq, b.Events, make([]bool, len(b.Events)), nil, 0)
		total += len(b.Events)
		return nil
	})
	w.metrics.EventsReplayed.Add(float64(total))
	return total, err
}
