package session

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/store"
)

// Committer writes the session actors' effects in group commits: one
// transaction and one sync for everything queued, then the messages go to
// delivery, the segment matches are announced and the events leave the
// log. Session actors hand their effects over and go on, so an fsync never
// holds one of the few workers that run them.
//
// Commits are applied in the order they were queued, so a session's
// commits land in the order it made them.
type Committer struct {
	store     *store.Store
	retention time.Duration
	outbox    Outbox
	segments  SegmentSink
	metrics   *metrics.Metrics
	logger    *slog.Logger
	mailbox   *actors.Mailbox[*commit]
	// stopping ends with the committer's stage. A wait for the event log
	// then gives up rather than hold the shutdown (the ingest stages stop
	// first, so what sessions evaluated is durable by then).
	stopping context.Context
	sessions *actors.Registry[string, Message]
	// users forgets a stopped session's user once its record is written.
	users *Users
	// stops are the sessions whose last commit before leaving memory is
	// queued and not yet settled; a session coming back waits for it
	// (awaitStop).
	stopsMu sync.Mutex
	stops   map[string]chan struct{}
	// failed holds the sessions a commit of which failed. Their later
	// commits are not written either (their events are abandoned) until a
	// restart: a later commit would move the session's evaluated position
	// past the events whose effects were lost, and the replay at the next
	// start would skip them. Kept out, they are all evaluated again then.
	failed map[string]bool
	// awaitingRestart is len(failed), for /metrics (read off the
	// committer's goroutine).
	awaitingRestart atomic.Int64
}

// SessionsAwaitingRestart is how many sessions a failed commit keeps out
// of evaluation until hookwire restarts (their events wait in the log).
func (c *Committer) SessionsAwaitingRestart() int { return int(c.awaitingRestart.Load()) }

// commit is one session turn's effects.
type commit struct {
	store.SessionCommit
	// logSeq is the event log record of the last event the record covers:
	// the commit is written once the log is durable through it.
	logSeq     uint64
	generation uint64
	userID     string
	segments   []segmentMatch
	done       []Completion
	// stopped is set on the session's last commit before its actor leaves
	// memory, and closed once that commit is settled (written or not).
	stopped chan struct{}
}

// abandon tells a turn's completions that its events stay in the log.
func (c *Committer) abandon(cm *commit) {
	c.metrics.EventsAbandoned.Add(float64(len(cm.done))) // counted before anyone is told
	for _, d := range cm.done {
		d.Abandon()
	}
	c.settle(cm)
}

// submitStop queues the commit a session makes as its actor leaves
// memory, noting it for awaitStop.
func (c *Committer) submitStop(cm *commit) {
	cm.stopped = make(chan struct{})
	c.stopsMu.Lock()
	c.stops[cm.Record.ID] = cm.stopped
	c.stopsMu.Unlock()
	c.submit(cm)
}

// settle tells a session waiting to come back that its stop commit is
// done with.
func (c *Committer) settle(cm *commit) {
	if cm.stopped == nil {
		return
	}
	c.stopsMu.Lock()
	if c.stops[cm.Record.ID] == cm.stopped {
		delete(c.stops, cm.Record.ID)
	}
	c.stopsMu.Unlock()
	close(cm.stopped)
}

// awaitStop waits, at most stopWait, until the commit the session id made
// when it last left memory is settled: a session back at once (its next
// event came just after it was passivated or timed out) would otherwise
// read its record from before that commit, and write over it.
func (c *Committer) awaitStop(id string) {
	c.stopsMu.Lock()
	pending := c.stops[id]
	c.stopsMu.Unlock()
	if pending == nil {
		return
	}
	wait := time.NewTimer(stopWait)
	defer wait.Stop()
	select {
	case <-pending:
	case <-wait.C:
	case <-c.stopping.Done():
	}
}

// stopWait bounds awaitStop: a commit waits for its events' sync, then
// one transaction.
const stopWait = 10 * time.Second

type segmentMatch struct {
	id string
	at time.Time
}

// committerCapacity bounds queued commits; a full queue makes session
// actors wait, which backs up into ingest's in-flight limit (429).
const committerCapacity = 1 << 16

// NewCommitter starts the committer on group; it must outlive the session
// actors (their last state is written through it).
func NewCommitter(ctx context.Context, group *actors.Group, st *store.Store, retention time.Duration,
	outbox Outbox, segments SegmentSink, m *metrics.Metrics, logger *slog.Logger) *Committer {
	c := &Committer{store: st, retention: retention, outbox: outbox, segments: segments, metrics: m,
		logger: logger, mailbox: actors.NewMailbox[*commit](committerCapacity), stopping: ctx, failed: map[string]bool{},
		stops: map[string]chan struct{}{}}
	actors.Spawn(ctx, group, "session-committer", c.mailbox, c, nil)
	return c
}

// submit queues a commit, waiting while the queue is full.
func (c *Committer) submit(cm *commit) {
	for {
		err := c.mailbox.Push(cm)
		if !errors.Is(err, actors.ErrMailboxFull) {
			if err != nil {
				c.logger.Error("session effects not written: the committer has stopped; "+
					"their events stay in the log and are evaluated again after a restart",
					"session_id", cm.Record.ID, "err", err)
				c.abandon(cm)
			}
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *Committer) Receive(batch []*commit) {
	todo := make([]*store.SessionCommit, 0, len(batch))
	kept := batch[:0]
	for _, cm := range batch {
		if c.failed[cm.Record.ID] {
			c.abandon(cm)
			continue
		}
		todo = append(todo, &cm.SessionCommit)
		kept = append(kept, cm)
	}
	if len(todo) == 0 {
		return
	}
	// Sessions evaluate events while the log syncs them; what the events
	// caused is written only once they are durable, so that a crash can
	// never leave a webhook (or a fired marker) for an event the log lost.
	through := uint64(0)
	for _, cm := range kept {
		through = max(through, cm.logSeq)
	}
	if err := c.store.WaitDurable(c.stopping, through); err != nil {
		c.fail(kept, "the event log could not make their events durable", err)
		return
	}
	began := time.Now()
	if err := c.store.CommitSessions(todo, c.retention); err != nil {
		c.fail(kept, "recording sessions' matches failed", err)
		return
	}
	c.metrics.SessionCommit.Observe(time.Since(began).Seconds())
	for _, cm := range kept {
		for _, d := range cm.Written {
			c.metrics.StreamMatches.WithLabelValues(d.StreamID).Inc()
			c.outbox.Enqueue(d)
		}
		for _, s := range cm.segments {
			c.segments.Matched(s.id, cm.userID, s.at)
		}
		for _, d := range cm.done {
			d.Done()
		}
		if cm.stopped != nil && c.users != nil && cm.Record.UserID != "" {
			c.users.Forget(cm.Record.UserID, cm.Record.ID)
		}
		c.settle(cm)
	}
}

// fail keeps the sessions of commits that could not be written out until a
// restart, reloads them from their stored records, and abandons the
// commits' events.
func (c *Committer) fail(kept []*commit, why string, err error) {
	c.logger.Error(why+"; their events, and those that follow in these sessions, stay in the log: "+
		"restart hookwire to evaluate them again", "sessions", len(kept), "err", err)
	for _, cm := range kept {
		if !c.failed[cm.Record.ID] {
			c.failed[cm.Record.ID] = true
			c.awaitingRestart.Add(1)
		}
		if c.sessions != nil {
			c.sessions.PushControl(cm.Record.ID, Message{reload: cm.generation + 1})
		}
		c.abandon(cm)
	}
}

func (c *Committer) Deadline() time.Time       { return time.Time{} }
func (c *Committer) Timeout(time.Time) bool    { return false }
func (c *Committer) Stopped(actors.StopReason) {}
