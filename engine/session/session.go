package session

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
)

// Completion is told once what became of an event: Done when it has been
// evaluated and its effects are durable, so the event log can let go of
// it; Abandon when its effects could not be made durable (a failed write,
// a panicking turn), so it stays in the log for the replay at the next
// start, but stops counting as in flight and lets its batch's memory go.
type Completion interface {
	Done()
	Abandon()
}

// Message is what a session actor receives: one accepted event and its
// place in the event log, or (Query set) a request for its current view.
type Message struct {
	// Event points into its request's batch, which stays put until the
	// event is Done: a message is 64 bytes to copy, not 192.
	Event *model.Event
	Pos   model.LogPosition
	Done  Completion
	// Arrived is when the event was handed over (Unix ns), read once per
	// request: a clock read per event was 2 % of the engine's CPU, and
	// the idle timer needs no finer time. Zero: now.
	Arrived int64
	Query   chan<- model.Session
	// reload, from the committer, says a commit of generation reload-1
	// failed: forget the in-memory state and start generation reload.
	reload uint64
}

// Query asks a live session actor for its current view of the session; ok
// is false when the session has no live actor.
func Query(sessions *actors.Registry[string, Message], id string, timeout time.Duration) (model.Session, bool) {
	reply := make(chan model.Session, 1)
	if sessions.PushControl(id, Message{Query: reply}) != nil {
		return model.Session{}, false
	}
	select {
	case s, live := <-reply: // closed: no live actor
		return s, live
	case <-time.After(timeout):
		return model.Session{}, false
	}
}

// Outbox takes messages that are durably stored and must be delivered.
type Outbox interface{ Enqueue(d *model.Delivery) }

// SegmentSink is told when a session matched a segment (once per session
// and segment, after the match is committed).
type SegmentSink interface {
	Matched(segmentID, userID string, at time.Time)
}

// Config is the session timing.
type Config struct {
	Idle time.Duration
	Max  time.Duration
	// Retention is how long a session's record (and fired markers) is kept
	// after its last event.
	Retention time.Duration
	// MaxLive bounds the live session actors (0: no bound). Past it the
	// least recently active are passivated early: their record is in the
	// store, and their next event brings them back from it.
	MaxLive int
}

// Deps is what every session actor shares. All of it is safe for
// concurrent use.
type Deps struct {
	Config    Config
	Catalog   *streams.Catalog
	Store     *store.Store
	Committer *Committer
	// Users learns each session's user; nil: nobody asks.
	Users   *Users
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// NewRegistry returns the registry of session actors. Their effects are
// written by deps.Committer, which must outlive them.
func NewRegistry(ctx context.Context, group *actors.Group, deps *Deps) *actors.Registry[string, Message] {
	reg := actors.NewRegistry(ctx, group, actors.RegistryConfig[string, Message]{
		Partitions: streams.Evaluators(),
		// A session ends within a tenth of its idle time (at most a second)
		// of the deadline.
		SweepInterval: min(time.Second, max(deps.Config.Idle/10, 10*time.Millisecond)),
		// The id shares one allocation with the rest of its event
		// (ingest's decoder); the session keeps a copy of its own
		// rather than its first event.
		RetainKey: strings.Clone,
		MaxActors: deps.Config.MaxLive,
		Spawn: func(id string) actors.Behaviour[Message] {
			now := time.Now().UnixNano()
			return &actor{deps: deps, id: id, firstSeen: now, lastSeen: now}
		},
		// A query for a session without an actor is answered at once;
		// a reload for one is moot (its next actor loads the record).
		Undeliverable: func(_ string, m Message) {
			if m.Query != nil {
				close(m.Query)
			}
		},
		Supervisor: func(key any, recovered any, stack []byte) actors.Directive {
			deps.Logger.Error("session actor panicked; its batch stays in the event log for replay",
				"session_id", key, "panic", recovered, "stack", string(stack))
			return actors.Restart
		},
	})
	deps.Committer.sessions, deps.Committer.users = reg, deps.Users
	return reg
}

// actor is one live session. It is one of very many and mostly idle, so it
// keeps no buffers between turns: evaluation borrows them from a pool, and
// what a turn makes (messages, segment matches) is kept there. Its fields
// are in the order a turn reads them, in as few cache lines as they fit:
// among 100k sessions each turn's actor is a miss away.
type actor struct {
	deps *Deps
	// session is &record once loaded; nil: load on the next turn.
	session *model.Session
	// eval is the turn's borrowed evaluation; nil between turns.
	eval     *evaluation
	lastSeen int64 // Unix ns
	id       string
	// dirty: bookkeeping changed since the last commit.
	dirty     bool
	userNoted bool // this actor told deps.Users its session's uid
	// stateBytes is the filter state's keys and values, every stream's
	// (bounded by maxSessionStateBytes); kept in the bools' padding.
	stateBytes int32
	// record is the session's state, kept inside the actor: one object
	// fewer per live session for the collector, and the fields every turn
	// reads next to the actor's own instead of a cache miss away.
	record model.Session
	// user is the record's user, kept here for the same reasons.
	user      model.User
	firstSeen int64 // Unix ns
	// generation counts reloads after a failed commit (see Committer).
	generation uint64
}

// Touch reads the lines of the actor its turn reads first, and its user's
// uid, which the turn compares with its events' (actors.Toucher).
func (a *actor) Touch() uint64 {
	sum := uint64(len(a.record.ID)) + uint64(a.record.Events) + a.record.Evaluated.Seq
	if a.session != nil {
		sum++
	}
	if uid := a.user.UID; uid != "" {
		sum += uint64(uid[0])
	}
	return sum
}

// Restart forgets in-memory state; the next batch reloads it.
func (a *actor) Restart() { a.session = nil }

func (a *actor) load() {
	a.deps.Committer.awaitStop(a.id)
	sess, err := a.deps.Store.LoadSession(a.id)
	if err != nil {
		// The commit re-checks the stored markers in its transaction, so
		// going on cannot fire twice; it can only skip streams it already
		// knew.
		a.deps.Logger.Error("loading session state", "session_id", a.id, "err", err)
	}
	if sess != nil {
		if GoesOn(sess, a.deps.Config, time.Now()) {
			// The same run goes on (it was passivated, or hookwire
			// restarted): --session-max counts from its start.
			a.firstSeen = min(a.firstSeen, sess.ArrivedFirst.UnixNano())
		}
		a.record = *sess
		if sess.User != nil {
			a.user = *sess.User
			a.record.User = &a.user
		}
	} else {
		a.record = model.Session{ID: a.id} // Fired stays nil until a stream fires: most sessions never do
	}
	a.stateBytes = 0
	for _, m := range a.record.State {
		for k, v := range m {
			a.stateBytes += int32(len(k) + len(v))
		}
	}
	a.session = &a.record
}

// GoesOn reports whether a stored session not in memory is still live by
// cfg's clocks: its last event arrived within Idle and its run began
// within Max. A record from before arrivals were kept does not go on.
func GoesOn(s *model.Session, cfg Config, now time.Time) bool {
	return !s.ArrivedLast.IsZero() && now.Sub(s.ArrivedLast) < cfg.Idle && now.Sub(s.ArrivedFirst) < cfg.Max
}

// Receive evaluates a batch, then hands its effects (fired markers, filter
// state, messages) to the committer, which lets the events leave the log
// and the messages go to delivery once they are written. A replayed event
// the stored record already covers is skipped.
func (a *actor) Receive(batch []Message) {
	// Until the completions are handed on, a panic abandons them (the
	// supervisor restarts the actor from its stored record).
	handedOn := false
	defer func() {
		if !handedOn {
			a.abandon(batch)
		}
	}()
	for i := range batch {
		if r := batch[i].reload; r != 0 && r > a.generation {
			a.generation, a.session = r, nil
		}
	}
	if a.session == nil {
		a.load()
	}
	snap := a.deps.Catalog.Snapshot()
	a.eval = evaluations.Get().(*evaluation)
	a.eval.state.actor = a
	evaluated := 0
	for i := range batch {
		m := &batch[i]
		if m.Query != nil {
			m.Query <- a.view() // a look is not activity: the idle timer runs on
			continue
		}
		if m.reload != 0 {
			continue
		}
		if m.Arrived != 0 {
			a.lastSeen = m.Arrived
		} else {
			a.lastSeen = time.Now().UnixNano()
		}
		if !m.Pos.After(a.session.Evaluated) && m.Pos != (model.LogPosition{}) {
			continue // replayed: its effects are in the stored record
		}
		a.observe(m.Event)
		a.evaluate(snap, m.Event)
		evaluated++
		if m.Pos != (model.LogPosition{}) {
			a.session.Evaluated = m.Pos
		}
	}
	outgoing, segments, stateChanged := a.eval.outgoing, a.eval.segments, a.eval.stateChanged
	a.eval.endTurn()
	evaluations.Put(a.eval)
	a.eval = nil
	var cm *commit
	if len(outgoing) > 0 || stateChanged {
		if cm = a.commit(outgoing, segments); cm == nil {
			// The effects cannot be written: the events stay in the log
			// (evaluated again after a restart), and the next turn starts
			// from the stored record.
			a.session = nil
			a.deps.Metrics.EventsEvaluated.Add(float64(evaluated))
			return
		}
	}
	handedOn = true
	for i := range batch {
		if d := batch[i].Done; d != nil {
			if cm != nil {
				cm.done = append(cm.done, d)
			} else {
				d.Done()
			}
		}
	}
	a.deps.Metrics.EventsEvaluated.Add(float64(evaluated))
	if cm != nil {
		a.deps.Committer.submit(cm)
	}
}

// abandon tells every completion of batch that its event stays in the log.
func (a *actor) abandon(batch []Message) {
	n := 0
	for i := range batch {
		if batch[i].Done != nil {
			n++
		}
	}
	a.deps.Metrics.EventsAbandoned.Add(float64(n)) // counted before anyone is told
	for i := range batch {
		if d := batch[i].Done; d != nil {
			d.Abandon()
		}
	}
}

// commit captures the session's record and a turn's effects for the
// committer; nil if the record cannot be encoded (then the events stay in
// the log for a later replay).
func (a *actor) commit(outgoing []*model.Delivery, segments []segmentMatch) *commit {
	a.session.ArrivedFirst, a.session.ArrivedLast = time.Unix(0, a.firstSeen).UTC(), time.Unix(0, a.lastSeen).UTC()
	rec, err := store.EncodeSession(a.session)
	if err != nil {
		a.deps.Logger.Error("encoding a session's record", "session_id", a.id, "err", err)
		return nil
	}
	a.dirty = false
	uid := ""
	if a.session.User != nil {
		uid = a.session.User.UID
	}
	userID := UserID(uid, a.id)
	var members []model.SegmentMember
	for _, s := range segments {
		members = append(members, model.SegmentMember{SegmentID: s.id, UserID: userID, At: s.at})
	}
	return &commit{SessionCommit: store.SessionCommit{Record: rec, Deliveries: outgoing, Members: members},
		logSeq: a.session.Evaluated.Seq, generation: a.generation, userID: userID, segments: segments}
}

// view is a copy of the session safe to hand to another goroutine.
func (a *actor) view() model.Session {
	s := *a.session
	s.Fired = make(map[string]model.Fired, len(a.session.Fired))
	for k, v := range a.session.Fired {
		s.Fired[k] = v
	}
	s.State, s.Segments = nil, nil
	if a.session.User != nil {
		u := *a.session.User
		s.User = &u
	}
	return s
}

// observe updates the session's bookkeeping with an event.
func (a *actor) observe(e *model.Event) {
	s := a.session
	if s.StartedAt.IsZero() || e.Timestamp.Before(s.StartedAt) {
		s.StartedAt = e.Timestamp
	}
	if e.Timestamp.After(s.LastEventAt) {
		s.LastEventAt = e.Timestamp
	}
	s.Events++
	if e.User != nil {
		if s.User == nil {
			a.user = model.User{}
			s.User = &a.user
		}
		uidChanged := mergeUser(s.User, e.User)
		// The user index learns the session's user once per actor and
		// when it changes, not per event; it keeps the session's strings.
		if (uidChanged || !a.userNoted) && s.User.UID != "" && a.deps.Users != nil {
			a.deps.Users.Note(s.User.UID, a.id)
			a.userNoted = true
		}
	}
	a.dirty = true
}

// mergeUser copies what src says about the user into dst and reports
// whether the uid changed. An event's strings share one allocation with
// the rest of the event: dst keeps copies, made only when a value changes.
//
// The three strings are kept in one allocation: one object fewer per live
// session for the collector to mark, and one cache miss fewer per event
// when they are compared.
func mergeUser(dst, src *model.User) (uidChanged bool) {
	uidChanged = src.UID != "" && src.UID != dst.UID
	next, changed := *dst, false
	for _, f := range [...]struct{ next, src *string }{{&next.UID, &src.UID}, {&next.Email, &src.Email}, {&next.DisplayName, &src.DisplayName}} {
		if *f.src != "" && *f.src != *f.next {
			*f.next, changed = *f.src, true
		}
	}
	if changed {
		// Built, not concatenated: a concatenation with one non-empty
		// operand is that operand, the event's bytes, not a copy.
		var b strings.Builder
		b.Grow(len(next.UID) + len(next.Email) + len(next.DisplayName))
		b.WriteString(next.UID)
		b.WriteString(next.Email)
		b.WriteString(next.DisplayName)
		joined := b.String()
		uid, email := len(next.UID), len(next.UID)+len(next.Email)
		dst.UID, dst.Email, dst.DisplayName = joined[:uid], joined[uid:email], joined[email:]
	}
	if len(src.Properties) > 0 && !bytes.Equal(src.Properties, dst.Properties) {
		dst.Properties = bytes.Clone(src.Properties)
	}
	return uidChanged
}

// evaluate runs the event through every enabled stream that can react to
// its type and has not fired for the session; a match marks the stream
// fired and queues its message for the turn's commit.
func (a *actor) evaluate(snap *streams.Snapshot, e *model.Event) {
	a.eval.reset(e)
	offered := e.Offered
	if e.OfferedBy != any(snap) {
		offered = snap.Candidates(e.Type, a.eval.valueOf, &a.eval.candidates)
	}
	for _, pos := range offered {
		cs := snap.Streams[pos]
		if !cs.Stream.Enabled {
			continue
		}
		if _, fired := a.session.Fired[cs.Stream.ID]; fired {
			continue
		}
		a.eval.state.stream = cs.Stream.ID
		matched, err := a.eval.match(cs.Predicate, &a.eval.state)
		if err != nil {
			a.deps.Metrics.FilterFaults.WithLabelValues(cs.Stream.ID).Inc()
			if logIt, unlogged := cs.Faults.Record(err, time.Now().UTC()); logIt {
				a.deps.Logger.Warn("stream predicate failed; counted as no match",
					"stream_id", cs.Stream.ID, "session_id", a.id, "err", err, "faults_not_logged", unlogged)
			}
		}
		if matched {
			a.fire(cs, e)
		}
	}
	for _, seg := range snap.SegmentsFor(e.Type) {
		if _, done := a.session.Segments[seg.Segment.ID]; done {
			continue
		}
		a.eval.state.stream = "segment:" + seg.Segment.ID
		matched, err := a.eval.match(seg.Predicate, &a.eval.state)
		if err != nil {
			a.deps.Metrics.SegmentFaults.WithLabelValues(seg.Segment.ID).Inc()
			if logIt, unlogged := seg.Faults.Record(err, time.Now().UTC()); logIt {
				a.deps.Logger.Warn("segment predicate failed; counted as no match",
					"segment_id", seg.Segment.ID, "session_id", a.id, "err", err, "faults_not_logged", unlogged)
			}
		}
		if matched {
			if a.session.Segments == nil {
				a.session.Segments = map[string]time.Time{}
			}
			at := time.Now().UTC()
			a.session.Segments[seg.Segment.ID] = at
			a.eval.segments = append(a.eval.segments, segmentMatch{id: seg.Segment.ID, at: at})
			a.eval.stateChanged = true
		}
	}
}

func (a *actor) fire(cs *streams.Compiled, e *model.Event) {
	now := time.Now().UTC()
	id := model.WebhookID(cs.Stream.ID, a.id)
	body, err := payload(cs.Stream, a.session, e)
	if err != nil {
		a.deps.Logger.Error("building webhook payload", "stream_id", cs.Stream.ID, "err", err)
		return
	}
	if a.session.Fired == nil {
		a.session.Fired = map[string]model.Fired{}
	}
	a.session.Fired[cs.Stream.ID] = model.Fired{At: now, WebhookID: id}
	a.eval.outgoing = append(a.eval.outgoing, &model.Delivery{
		ID: id, StreamID: cs.Stream.ID, SessionID: a.id, URL: cs.Stream.Destination.URL,
		Status: model.StatusPending, CreatedAt: now, Payload: body, NextAttemptAt: &now,
	})
}

func (a *actor) Deadline() time.Time {
	idle := a.lastSeen + int64(a.deps.Config.Idle)
	if limit := a.firstSeen + int64(a.deps.Config.Max); limit < idle {
		return time.Unix(0, limit)
	}
	return time.Unix(0, idle)
}

func (a *actor) Timeout(now time.Time) bool { return !now.Before(a.Deadline()) }

// Stopped writes the bookkeeping the last commit did not carry, through
// the committer, so it lands after the session's earlier commits.
func (a *actor) Stopped(reason actors.StopReason) {
	if reason == actors.StopEvicted {
		a.deps.Metrics.SessionsEvicted.Inc()
	}
	if a.session == nil {
		return
	}
	if !a.dirty {
		// The stored record is this one: the user index can let go.
		if a.userNoted && a.deps.Users != nil {
			a.deps.Users.Forget(a.user.UID, a.id)
		}
		return
	}
	if cm := a.commit(nil, nil); cm != nil {
		a.deps.Committer.submitStop(cm)
	}
}

// Limits on one (session, stream)'s filter state, and on all of a
// session's: the state is written with the session's record at every turn
// that changes it, and Badger takes no value over its 64 MiB value log
// file, so without a bound for the session 48 streams each keeping 1 MiB
// made a record no commit could write (the session's events abandoned at
// every start), and 20 made every state change a 28 MB write.
const (
	maxStateKeys         = 1024
	maxStateBytes        = 1 << 20
	maxSessionStateBytes = 4 << 20
)

// filterState is what a custom filter's state_get/state_set/log reach: the
// session's state for the stream being evaluated. One per actor, re-aimed
// at each stream, so calls allocate nothing for it.
type filterState struct {
	actor  *actor
	stream string
}

func (f *filterState) Get(key []byte) ([]byte, bool) {
	v, ok := f.actor.session.State[f.stream][string(key)]
	return v, ok
}

func (f *filterState) Set(key, value []byte) bool {
	s := f.actor.session
	if s.State == nil {
		s.State = map[string]map[string][]byte{}
	}
	m := s.State[f.stream]
	if m == nil {
		m = map[string][]byte{}
		s.State[f.stream] = m
	}
	old, had := m[string(key)]
	if had && string(old) == string(value) {
		return true
	}
	if !had && len(m) >= maxStateKeys {
		return false
	}
	size := len(key) + len(value)
	for k, v := range m {
		if k != string(key) {
			size += len(k) + len(v)
		}
	}
	grows := len(value) - len(old)
	if !had {
		grows += len(key)
	}
	if size > maxStateBytes || int(f.actor.stateBytes)+grows > maxSessionStateBytes {
		return false
	}
	m[string(key)] = append([]byte(nil), value...)
	f.actor.stateBytes += int32(grows)
	f.actor.eval.stateChanged, f.actor.dirty = true, true
	return true
}

func (f *filterState) Log(line []byte) {
	f.actor.deps.Logger.Info("filter log", "stream_id", f.stream, "session_id", f.actor.id, "line", string(line))
}
