package actors

import (
	"context"
	"runtime/debug"
	"sync"
	"time"
)

// Behaviour is what an actor does with its messages. The run loop calls its
// methods from the actor's own goroutine only, one at a time, so a behaviour
// needs no locks for its own state.
type Behaviour[M any] interface {
	// Receive handles a batch: a mailbox's in its order, control
	// messages first; a registry actor's in the order they were queued.
	// The batch slice is reused after Receive returns.
	Receive(batch []M)
	// Deadline is when the actor next wants Timeout; zero means never. It
	// may only move later (or from never to a time): a registry reads it
	// again only when the time it read last has passed.
	Deadline() time.Time
	// Timeout runs at or after Deadline. Returning true asks to stop; a
	// standalone actor stops only if its mailbox is empty then (a registry
	// actor has nothing waiting: its worker is the one who would queue it).
	Timeout(now time.Time) (stop bool)
	// Stopped runs once, last, whatever the reason.
	Stopped(reason StopReason)
}

// Toucher is implemented by registry behaviours that can read what their
// next turn reads first, without changing anything: a worker about to run
// many actors' turns touches them all first, so that the cache misses of
// actors spread over a large heap overlap instead of coming one by one.
// What Touch returns means nothing; it keeps its reads from being dropped.
type Toucher interface{ Touch() uint64 }

// Restarter is implemented by behaviours that can reset themselves after a
// panic when the supervisor answers Restart.
type Restarter interface{ Restart() }

// StopReason says why an actor's loop ended.
type StopReason int

const (
	// StopIdle: the behaviour asked to stop and nothing was queued.
	StopIdle StopReason = iota
	// StopShutdown: the runtime's context ended; the mailbox was drained first.
	StopShutdown
	// StopSupervisor: a panic, and the supervisor said Stop.
	StopSupervisor
	// StopEvicted: the registry held more actors than its bound, and this
	// one's deadline came among the first; its next message spawns it
	// again.
	StopEvicted
)

// Directive is a supervisor's answer to a panic inside Receive or Timeout.
type Directive int

const (
	// Resume keeps the behaviour as it is and goes on with the next batch.
	Resume Directive = iota
	// Restart calls the behaviour's Restart (if it has one), then resumes.
	Restart
	// Stop ends the actor.
	Stop
)

// Supervisor decides what happens after a panic. It is called from the
// failing actor's goroutine and may be called by many actors at once.
type Supervisor func(key any, recovered any, stack []byte) Directive

// ResumeAlways is the default supervisor: the failure is the batch's alone.
func ResumeAlways(any, any, []byte) Directive { return Resume }

// Group starts goroutines and waits for all of them, so that nothing runs
// past shutdown unobserved (nats-server's startGoRoutine).
type Group struct{ wg sync.WaitGroup }

// Go runs f in a goroutine the group waits for.
func (g *Group) Go(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

// Wait blocks until every goroutine started by Go has returned.
func (g *Group) Wait() { g.wg.Wait() }

// loop is one actor's run loop. tryStop is asked before an idle stop; it
// closes the mailbox when it agrees.
type loop[M any] struct {
	key        any
	mailbox    *Mailbox[M]
	behaviour  Behaviour[M]
	supervisor Supervisor
	tryStop    func() bool
}

func (l *loop[M]) run(ctx context.Context) {
	var (
		batch []M
		timer *time.Timer
		fire  <-chan time.Time
	)
	arm := func() {
		deadline := l.behaviour.Deadline()
		if deadline.IsZero() {
			if timer != nil {
				timer.Stop()
			}
			fire = nil
			return
		}
		wait := time.Until(deadline)
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		fire = timer.C
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	arm()
	for {
		select {
		case <-l.mailbox.Signal():
			batch = l.mailbox.Drain(batch[:0])
			if len(batch) > 0 && !l.guard(func() { l.behaviour.Receive(batch) }) {
				l.finish(StopSupervisor)
				return
			}
			clear(batch)
			arm()
		case now := <-fire:
			stop := false
			if !l.guard(func() { stop = l.behaviour.Timeout(now) }) {
				l.finish(StopSupervisor)
				return
			}
			if stop && l.tryStop() {
				// Closed while empty: nothing can have arrived since.
				l.behaviour.Stopped(StopIdle)
				return
			}
			arm()
		case <-ctx.Done():
			l.mailbox.Close()
			batch = l.mailbox.Drain(batch[:0])
			if len(batch) > 0 {
				l.guard(func() { l.behaviour.Receive(batch) })
			}
			l.behaviour.Stopped(StopShutdown)
			return
		}
	}
}

func (l *loop[M]) guard(f func()) bool { return guard(l.key, l.behaviour, l.supervisor, f) }

// guard runs f and applies the supervisor to a panic. It reports whether the
// actor should keep running. The key keeps its own type until a panic needs
// it as an interface: boxing a registry's string key cost an allocation per
// turn (1.7 % of the server's CPU under the standard load).
func guard[K, M any](key K, behaviour Behaviour[M], supervisor Supervisor, f func()) (keepRunning bool) {
	defer func() {
		recovered := recover()
		if recovered == nil {
			return
		}
		switch supervisor(key, recovered, debug.Stack()) {
		case Resume:
			keepRunning = true
		case Restart:
			if r, ok := behaviour.(Restarter); ok {
				r.Restart()
			}
			keepRunning = true
		default:
			keepRunning = false
		}
	}()
	f()
	return true
}

func (l *loop[M]) finish(reason StopReason) {
	l.mailbox.Close()
	l.tryStop()
	l.behaviour.Stopped(reason)
}

// Spawn runs a standalone actor (not in a registry) until ctx ends or its
// behaviour stops it. The group waits for it.
func Spawn[M any](ctx context.Context, group *Group, key any, mailbox *Mailbox[M], behaviour Behaviour[M], supervisor Supervisor) {
	if supervisor == nil {
		supervisor = ResumeAlways
	}
	l := &loop[M]{key: key, mailbox: mailbox, behaviour: behaviour, supervisor: supervisor,
		tryStop: mailbox.closeIfIdle}
	group.Go(func() { l.run(ctx) })
}
