package delivery

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/signing"
)

// endpointMsg is what an endpoint actor receives: a delivery to schedule,
// the end of one of its attempts, or a wake-up from the outbound budget.
type endpointMsg struct {
	id string
	// del, when set, is the delivery as just stored, handed over by
	// Enqueue: the first attempt starts from it (see Dispatcher.Enqueue).
	del *model.Delivery
	at  time.Time
	// restart: a retry from the API, whose attempt starts the retry
	// schedule over (see Receive).
	restart  bool
	finished bool
	// wake: the outbound budget has room again (see outbound.take).
	wake bool
	// next is when to try again after a finished attempt; zero when the
	// delivery reached a final status.
	next time.Time
}

type endpoint struct {
	d   *Dispatcher
	url string
	// label is the URL as /metrics and the log show it (EndpointLabel).
	label   string
	mailbox *actors.Mailbox[endpointMsg]
	breaker *gobreaker.CircuitBreaker[Outcome]
	queue   scheduleQueue
	// known is every delivery queued or in flight here. A delivery asked
	// for earlier than it is queued gets a second queue entry; the first
	// is then stale (its time is not the one known) and dropped when due.
	known  map[string]*tracked
	queued int // known deliveries not in flight
	// lastActive is when the actor last had a message; an endpoint idle
	// for Config.RetireAfter that no stream or system webhook sends to any
	// more is retired.
	lastActive time.Time
	// starved: the outbound budget had no room for an attempt; the actor
	// waits for a wake message instead of its queue's timer.
	starved bool
	// budgetWaiting is the outbound budget's, under its lock: whether
	// this endpoint is to be woken when there is room.
	budgetWaiting bool

	openedAt  atomic.Int64 // unix nanos of the last transition to open
	inFlight  atomic.Int64
	pending   atomic.Int64
	succeeded atomic.Int64
	failed    atomic.Int64
}

func newEndpoint(d *Dispatcher, url string) *endpoint {
	ep := &endpoint{d: d, url: url, label: EndpointLabel(url), known: map[string]*tracked{},
		mailbox: actors.NewMailbox[endpointMsg](4096)}
	ep.breaker = gobreaker.NewCircuitBreaker[Outcome](gobreaker.Settings{
		Name:        url,
		MaxRequests: 1,
		Timeout:     d.cfg.BreakerCooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= d.cfg.BreakerFailures },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				ep.openedAt.Store(time.Now().UnixNano())
			}
			d.metrics.BreakerChanges.WithLabelValues(stateName(to)).Inc()
			d.metrics.BreakerState.WithLabelValues(ep.label).Set(stateValue(to))
			d.logger.Info("endpoint breaker changed state", "endpoint", ep.label, "from", stateName(from), "to", stateName(to))
		},
	})
	d.metrics.BreakerState.WithLabelValues(ep.label).Set(0)
	return ep
}

func stateValue(s gobreaker.State) float64 {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}

func stateName(s gobreaker.State) string {
	switch s {
	case gobreaker.StateOpen:
		return "open"
	case gobreaker.StateHalfOpen:
		return "half_open"
	default:
		return "closed"
	}
}

func (ep *endpoint) stats() EndpointStats {
	return EndpointStats{URL: ep.url, Label: ep.label, State: stateName(ep.breaker.State()), InFlight: ep.inFlight.Load(),
		Pending: ep.pending.Load(), Succeeded: ep.succeeded.Load(), Failed: ep.failed.Load()}
}

// tracked is where a known delivery stands.
type tracked struct {
	at       time.Time // when it is due, while queued
	inFlight bool
	// again: asked for while in flight (a retry); it is attempted again as
	// soon as the attempt ends, which reads the store and so sends nothing
	// if that attempt settled it.
	again bool
	// restart: the next attempt starts the retry schedule over.
	restart bool
}

// Receive takes deliveries, ends of attempts and wake-ups, then starts
// what is due. A delivery comes as a control message (Dispatcher.tell):
// it is already durable, and refusing it here would strand it until
// restart. One already queued here is brought forward to its new time if
// that is earlier; one in flight is attempted again when its attempt
// ends: this is how a retry of a pending delivery takes effect now, and
// how one asked for while the attempt that failed it is still finishing
// is not lost. A message with restart (a retry from the API) starts the
// delivery's retry schedule over: its Step is reset by the attempt, which
// is the only writer of a pending delivery, rather than by the API beside
// an attempt in flight.
func (ep *endpoint) Receive(batch []endpointMsg) {
	ep.lastActive = time.Now()
	for _, m := range batch {
		switch {
		case m.wake:
			ep.starved = false
		case m.finished:
			ep.finished(m)
		default:
			ep.enqueue(m.id, m.del, m.at, m.restart)
		}
	}
	ep.pending.Store(int64(ep.queued))
	ep.dispatch(time.Now())
}

// finished notes the end of an attempt and queues what comes next.
func (ep *endpoint) finished(m endpointMsg) {
	ep.inFlight.Add(-1)
	ep.d.outbound.release()
	// Its own attempt ended: there may be room for the next one (at least
	// its first attempt is), whether or not the budget wakes it.
	ep.starved = false
	t := ep.known[m.id]
	delete(ep.known, m.id)
	switch {
	case t != nil && t.again:
		ep.enqueue(m.id, nil, time.Now(), t.restart)
	case !m.next.IsZero():
		ep.enqueue(m.id, nil, m.next, false)
	}
}

// enqueue queues id at at, or brings it forward to at, or, in flight,
// marks it to be attempted again when its attempt ends.
func (ep *endpoint) enqueue(id string, del *model.Delivery, at time.Time, restart bool) {
	t := ep.known[id]
	if t != nil {
		t.restart = t.restart || restart
	}
	switch {
	case t == nil:
		ep.known[id] = &tracked{at: at, restart: restart}
		ep.queued++
	case t.inFlight:
		t.again = true
		return
	case at.Before(t.at):
		t.at = at
	default:
		return
	}
	heap.Push(&ep.queue, scheduled{id: id, del: del, at: at})
}

// wake tells the actor the outbound budget has room again.
func (ep *endpoint) wake() { _ = ep.mailbox.PushControl(endpointMsg{wake: true}) }

func (ep *endpoint) Deadline() time.Time {
	if ep.idle() {
		return ep.lastActive.Add(ep.d.cfg.RetireAfter)
	}
	if len(ep.queue) == 0 || ep.starved || ep.inFlight.Load() >= int64(ep.d.cfg.MaxInFlight) {
		return time.Time{}
	}
	at := ep.queue[0].at
	if ep.breaker.State() == gobreaker.StateOpen {
		reopen := time.Unix(0, ep.openedAt.Load()).Add(ep.d.cfg.BreakerCooldown)
		if reopen.After(at) {
			at = reopen
		}
	}
	return at
}

// Timeout starts what is due, or, idle for RetireAfter, stops the actor
// if no stream or system webhook sends to its URL any more: endpoints are
// made per URL, and without retiring them each destination a stream ever
// had kept an actor, a breaker and metric series for good.
func (ep *endpoint) Timeout(now time.Time) bool {
	if ep.idle() && !now.Before(ep.lastActive.Add(ep.d.cfg.RetireAfter)) {
		if !ep.d.owner.Serves(ep.url) {
			return true
		}
		ep.lastActive = now // asked again after another RetireAfter
		return false
	}
	ep.dispatch(now)
	return false
}

// idle: nothing queued or in flight.
func (ep *endpoint) idle() bool {
	return ep.queued == 0 && len(ep.queue) == 0 && ep.inFlight.Load() == 0
}

func (ep *endpoint) Stopped(reason actors.StopReason) {
	if reason == actors.StopIdle {
		ep.d.retire(ep)
	}
}

// dispatch starts every due attempt the breaker, the in-flight limit and
// the outbound budget allow.
func (ep *endpoint) dispatch(now time.Time) {
	for len(ep.queue) > 0 && !ep.starved && ep.inFlight.Load() < int64(ep.d.cfg.MaxInFlight) && !ep.queue[0].at.After(now) {
		switch ep.breaker.State() {
		case gobreaker.StateOpen:
			return
		case gobreaker.StateHalfOpen:
			if ep.inFlight.Load() > 0 {
				return // one trial at a time
			}
		}
		head := ep.queue[0]
		t := ep.known[head.id]
		if t == nil || t.inFlight || !t.at.Equal(head.at) {
			heap.Pop(&ep.queue)
			continue // brought forward since: this entry is stale
		}
		if !ep.d.outbound.take(ep) {
			ep.starved = true
			return
		}
		next := heap.Pop(&ep.queue).(scheduled)
		t.inFlight = true
		restart := t.restart
		t.restart = false
		ep.queued--
		ep.pending.Store(int64(ep.queued))
		ep.inFlight.Add(1)
		ep.d.group.Go(func() { ep.attempt(next.id, next.del, restart) })
	}
}

// attempt makes one attempt at a delivery, records it, and tells the actor.
func (ep *endpoint) attempt(id string, del *model.Delivery, restart bool) {
	next := ep.try(id, del, restart)
	_ = ep.mailbox.PushControl(endpointMsg{id: id, finished: true, next: next})
}

// try attempts delivery id, starting from del when given, else from the
// store; restart starts its retry schedule over.
func (ep *endpoint) try(id string, del *model.Delivery, restart bool) (next time.Time) {
	d := ep.d
	if del == nil {
		var err error
		if del, err = d.store.GetDelivery(id); err != nil {
			d.logger.Error("loading a delivery to attempt it", "id", id, "err", err)
			return time.Time{}
		}
	}
	if del.Status != model.StatusPending {
		return time.Time{}
	}
	if restart {
		del.Step = 0
	}
	url, secret, ok := d.owner.Destination(del)
	if !ok {
		return ep.finish(del, model.StatusFailed, "its stream or endpoint was deleted; nothing to sign with")
	}
	switch {
	case del.URL != ep.url:
		return time.Time{} // moved to another endpoint (a retry), which attempts it
	case url != del.URL:
		// Its stream's destination changed since it was queued: it goes
		// there now, through that endpoint's actor and breaker.
		if err := d.store.MoveDelivery(del, url); err != nil {
			d.logger.Error("moving a delivery to its stream's new destination", "id", id, "err", err)
			return time.Now().Add(time.Second)
		}
		d.tell(url, endpointMsg{id: del.ID, at: time.Now(), restart: restart})
		return time.Time{}
	}
	signer, err := signing.NewSigner(secret, d.cfg.OrgID)
	if err != nil {
		return ep.finish(del, model.StatusFailed, err.Error())
	}
	start := time.Now()
	outcome, err := ep.breaker.Execute(func() (Outcome, error) {
		o := send(d.client, &d.cfg, del.URL, signer, del.ID, del.Payload)
		if !o.OK() {
			return o, errors.New(o.Describe())
		}
		return o, nil
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return time.Now().Add(10 * time.Millisecond) // not attempted; the actor waits for the breaker
	}
	d.metrics.AttemptSeconds.WithLabelValues(ep.label).Observe(outcome.Latency.Seconds())
	del.Attempts = append(del.Attempts, model.Attempt{At: start.UTC(), Status: outcome.Status,
		Error: outcome.Describe(), LatencyMS: outcome.Latency.Milliseconds()})
	if over := len(del.Attempts) - d.cfg.MaxAttemptsKept; over > 0 {
		del.Attempts = append(del.Attempts[:0], del.Attempts[over:]...)
	}
	switch {
	case outcome.OK():
		d.metrics.DeliveryAttempts.WithLabelValues("success").Inc()
		return ep.finish(del, model.StatusSucceeded, "")
	case outcome.Status == 410:
		d.metrics.DeliveryAttempts.WithLabelValues("gone").Inc()
		d.owner.Gone(del)
		if del.SystemWebhookID != "" {
			return ep.finish(del, model.StatusFailed, "destination answered 410 Gone; its system webhook was disabled")
		}
		return ep.finish(del, model.StatusFailed, "destination answered 410 Gone; its stream was disabled")
	}
	d.metrics.DeliveryAttempts.WithLabelValues("failure").Inc()
	del.Step++
	if del.Step >= len(d.cfg.Schedule) {
		return ep.finish(del, model.StatusFailed,
			fmt.Sprintf("gave up after %d attempts; last: %s", del.Step, outcome.Describe()))
	}
	wait := jitter(d.cfg.Schedule[del.Step])
	if outcome.RetryAfter > wait {
		wait = outcome.RetryAfter
	}
	at := time.Now().Add(wait).UTC()
	del.NextAttemptAt, del.LastError = &at, outcome.Describe()
	if err := d.store.UpdateDelivery(del); err != nil {
		d.logger.Error("recording a delivery attempt", "id", id, "err", err)
	}
	return at
}

// finish records a final status. A store failure leaves the delivery
// pending in the store, so it is attempted again after a restart.
func (ep *endpoint) finish(del *model.Delivery, status, reason string) time.Time {
	del.Status, del.NextAttemptAt, del.LastError = status, nil, reason
	if err := ep.d.store.UpdateDelivery(del); err != nil {
		ep.d.logger.Error("recording a delivery's final status", "id", del.ID, "err", err)
	}
	if status == model.StatusSucceeded {
		ep.succeeded.Add(1)
	} else {
		ep.failed.Add(1)
		ep.d.logger.Warn("delivery failed", "id", del.ID, "endpoint", ep.label, "reason", reason)
	}
	ep.d.metrics.DeliveriesFinal.WithLabelValues(status).Inc()
	return time.Time{}
}

// jitter spreads a delay by ±20 % so that retries after an outage do not
// arrive as one wave.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

type scheduled struct {
	id  string
	del *model.Delivery // the first attempt's start, when handed over
	at  time.Time
}

// scheduleQueue is a min-heap by time.
type scheduleQueue []scheduled

func (q scheduleQueue) Len() int           { return len(q) }
func (q scheduleQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q scheduleQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *scheduleQueue) Push(x any)        { *q = append(*q, x.(scheduled)) }
func (q *scheduleQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
