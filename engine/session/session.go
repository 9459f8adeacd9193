package session

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
)

// Completion is told when an event has been evaluated and its effects are
// durable, so the event log can let go of it.
type Completion interface{ Done() }

// Message is what a session actor receives: one accepted event.
type Message struct {
	Event model.Event
	Done  Completion
}

// Outbox takes messages that are durably stored and must be delivered.
// Enqueue is called from many session actors at once.
type Outbox interface{ Enqueue(d *model.Delivery) }

// Config is the session timing.
type Config struct {
	Idle time.Duration
	Max  time.Duration
	// Retention is how long a session's record (and fired markers) is kept
	// after its last event.
	Retention time.Duration
}

// Deps is what every session actor shares. All of it is safe for
// concurrent use.
type Deps struct {
	Config  Config
	Catalog *streams.Catalog
	Store   *store.Store
	Outbox  Outbox
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// NewRegistry returns the registry of session actors.
func NewRegistry(ctx context.Context, group *actors.Group, deps *Deps, mailboxCapacity int) *actors.Registry[string, Message] {
	return actors.NewRegistry(ctx, group, actors.RegistryConfig[string, Message]{
		MailboxCapacity: mailboxCapacity,
		Spawn: func(id string) actors.Behaviour[Message] {
			// Timers start at spawn, so an actor whose reservation was
			// released without a message still passivates.
			now := time.Now()
			return &actor{deps: deps, id: id, firstSeen: now, lastSeen: now}
		},
		Supervisor: func(key any, recovered any, stack []byte) actors.Directive {
			deps.Logger.Error("session actor panicked; its batch stays in the event log for replay",
				"session_id", key, "panic", recovered, "stack", string(stack))
			return actors.Restart
		},
	})
}

type actor struct {
	deps      *Deps
	id        string
	session   *model.Session
	firstSeen time.Time
	lastSeen  time.Time
	dirty     bool
}

// Restart forgets in-memory state; the next batch reloads it.
func (a *actor) Restart() { a.session = nil }

func (a *actor) load() {
	sess, err := a.deps.Store.LoadSession(a.id)
	if err != nil {
		// Fire re-checks the stored markers in its transaction, so carrying
		// on cannot fire twice; it can only skip streams it already knew.
		a.deps.Logger.Error("loading session state", "session_id", a.id, "err", err)
	}
	if sess == nil {
		sess = &model.Session{ID: a.id}
	}
	if sess.Fired == nil {
		sess.Fired = map[string]model.Fired{}
	}
	a.session = sess
}

func (a *actor) Receive(batch []Message) {
	if a.session == nil {
		a.load()
	}
	a.lastSeen = time.Now()
	snap := a.deps.Catalog.Snapshot()
	ev := evaluation{}
	for i := range batch {
		m := &batch[i]
		a.observe(&m.Event)
		if a.evaluate(snap, &ev, &m.Event) {
			m.Done.Done()
		}
		a.deps.Metrics.EventsEvaluated.Inc()
	}
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
			s.User = &model.User{}
		}
		mergeUser(s.User, e.User)
	}
	a.dirty = true
}

func mergeUser(dst, src *model.User) {
	if src.UID != "" {
		dst.UID = src.UID
	}
	if src.Email != "" {
		dst.Email = src.Email
	}
	if src.DisplayName != "" {
		dst.DisplayName = src.DisplayName
	}
	if len(src.Properties) > 0 {
		dst.Properties = src.Properties
	}
}

// evaluate runs the event through every stream that can still fire. It
// reports whether all its effects are durable; if not, the event stays in
// the log and is evaluated again after a restart.
func (a *actor) evaluate(snap *streams.Snapshot, ev *evaluation, e *model.Event) bool {
	ev.reset(e)
	durable := true
	for _, cs := range snap.Streams {
		if !cs.Stream.Enabled {
			continue
		}
		if _, fired := a.session.Fired[cs.Stream.ID]; fired {
			continue
		}
		trigger, err := ev.match(cs)
		if err != nil {
			cs.Faults.Record(err, time.Now().UTC())
			a.deps.Metrics.FilterFaults.WithLabelValues(cs.Stream.ID).Inc()
			a.deps.Logger.Warn("stream predicate failed; counted as no match",
				"stream_id", cs.Stream.ID, "session_id", a.id, "err", err)
			continue
		}
		if trigger == 0 {
			continue
		}
		if !a.fire(cs, e) {
			durable = false
		}
	}
	return durable
}

func (a *actor) fire(cs *streams.Compiled, e *model.Event) bool {
	now := time.Now().UTC()
	id := model.WebhookID(cs.Stream.ID, a.id)
	body, err := payload(cs.Stream, a.session, e)
	if err != nil {
		a.deps.Logger.Error("building webhook payload", "stream_id", cs.Stream.ID, "err", err)
		return false
	}
	d := &model.Delivery{
		ID: id, StreamID: cs.Stream.ID, SessionID: a.id, URL: cs.Stream.Destination.URL,
		Status: model.StatusPending, CreatedAt: now, Payload: body, NextAttemptAt: &now,
	}
	a.session.Fired[cs.Stream.ID] = model.Fired{At: now, WebhookID: id}
	err = a.deps.Store.Fire(a.session, cs.Stream.ID, d, a.deps.Config.Retention)
	switch {
	case errors.Is(err, model.ErrAlreadyFired):
		// Fired before a crash or restart: keep the marker, send nothing new.
		return true
	case err != nil:
		delete(a.session.Fired, cs.Stream.ID)
		a.deps.Logger.Error("recording a match failed; the event will be evaluated again after restart",
			"stream_id", cs.Stream.ID, "session_id", a.id, "err", err)
		return false
	}
	a.dirty = false
	a.deps.Metrics.StreamMatches.WithLabelValues(cs.Stream.ID).Inc()
	a.deps.Outbox.Enqueue(d)
	return true
}

func (a *actor) Deadline() time.Time {
	idle := a.lastSeen.Add(a.deps.Config.Idle)
	if limit := a.firstSeen.Add(a.deps.Config.Max); limit.Before(idle) {
		return limit
	}
	return idle
}

func (a *actor) Timeout(now time.Time) bool { return !now.Before(a.Deadline()) }

func (a *actor) Stopped(actors.StopReason) {
	if a.session == nil || !a.dirty {
		return
	}
	if err := a.deps.Store.SaveSession(a.session, a.deps.Config.Retention); err != nil {
		a.deps.Logger.Error("saving session state", "session_id", a.id, "err", err)
	}
}
