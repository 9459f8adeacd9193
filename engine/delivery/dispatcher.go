package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/signing"
	"github.com/hookwire/hookwire/engine/store"
)

// Owner is what delivery needs from the rest of the engine. Its methods are
// called from attempt goroutines, concurrently.
type Owner interface {
	// Destination returns where a delivery's stream (or system endpoint)
	// sends now, and its signing secret; false when it no longer exists.
	// A stream's destination may have changed since the delivery was
	// made: every attempt goes to the current one.
	Destination(d *model.Delivery) (url, secret string, ok bool)
	// Gone is told that a destination answered 410 for d.
	Gone(d *model.Delivery)
	// Serves reports whether a stream or system webhook sends to url now;
	// an endpoint that no longer serves one is retired once idle.
	Serves(url string) bool
}

// Dispatcher routes deliveries to endpoint actors. Safe for concurrent use.
type Dispatcher struct {
	cfg     Config
	ctx     context.Context
	group   *actors.Group
	store   *store.Store
	owner   Owner
	metrics *metrics.Metrics
	logger  *slog.Logger
	client  *fasthttp.Client
	// outbound is shared by every endpoint (see outbound).
	outbound outbound

	mu        sync.Mutex
	endpoints map[string]*endpoint
}

// New returns a dispatcher whose endpoint actors and attempts run on group
// until ctx ends.
func New(ctx context.Context, group *actors.Group, cfg Config, st *store.Store, owner Owner,
	m *metrics.Metrics, logger *slog.Logger) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Dispatcher{cfg: cfg, ctx: ctx, group: group, store: st, owner: owner, metrics: m, logger: logger,
		outbound: outbound{total: cfg.MaxOutbound}, endpoints: map[string]*endpoint{}}
	d.client = newClient(&d.cfg, &d.outbound)
	return d, nil
}

// OpenConnections reports the connections open to receivers.
func (d *Dispatcher) OpenConnections() int64 { return d.outbound.conns.Load() }

func (d *Dispatcher) endpoint(url string) *endpoint {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, ok := d.endpoints[url]
	if !ok {
		ep = newEndpoint(d, url)
		d.endpoints[url] = ep
		actors.Spawn(d.ctx, d.group, url, ep.mailbox, ep, nil)
	}
	return ep
}

// tell hands m to url's endpoint actor. One that was just retired (its
// mailbox closed while idle) is replaced by a new one, so a delivery is
// never handed to an actor that is gone.
func (d *Dispatcher) tell(url string, m endpointMsg) {
	for d.ctx.Err() == nil {
		ep := d.endpoint(url)
		if err := ep.mailbox.PushControl(m); !errors.Is(err, actors.ErrMailboxClosed) {
			return
		}
		d.retire(ep)
	}
}

// retire forgets ep, which has stopped, and its metrics' series.
func (d *Dispatcher) retire(ep *endpoint) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.endpoints[ep.url] == ep {
		delete(d.endpoints, ep.url)
		d.metrics.BreakerState.DeleteLabelValues(ep.label)
		d.metrics.AttemptSeconds.DeleteLabelValues(ep.label)
	}
}

// Enqueue schedules a pending delivery just stored, and takes del over:
// its first attempt starts from it instead of reading it back from the
// store, so the caller must not read or change it after. (At the standard
// load's 250 webhooks a second, that read, a cold Badger lookup and JSON
// decoding, was ~70 µs and 1.2 % of the server's CPU.) A later attempt,
// and one after a restart, read the store: what an attempt or the API
// wrote since is there.
func (d *Dispatcher) Enqueue(del *model.Delivery) {
	d.tell(del.URL, endpointMsg{id: del.ID, del: del, at: firstAttemptAt(del)})
}

func firstAttemptAt(del *model.Delivery) time.Time {
	if del.NextAttemptAt != nil {
		return *del.NextAttemptAt
	}
	return time.Now()
}

// Recover re-queues every undelivered message in the store (at start-up).
func (d *Dispatcher) Recover() (int, error) {
	n := 0
	err := d.store.PendingDeliveries("", func(id, url string) {
		d.tell(url, endpointMsg{id: id, at: time.Now()})
		n++
	})
	return n, err
}

// Retry queues a delivery again with the same webhook-id, for an attempt
// now, starting its retry schedule over: a failed or succeeded one becomes
// pending again; a pending one waiting for a later attempt is attempted at
// once (one in flight, as soon as that attempt ends, unless that attempt
// settles it: a success, or the schedule's last failure, after which a
// retry of the failed delivery sends it again).
func (d *Dispatcher) Retry(id string) (*model.Delivery, error) {
	del, err := d.store.GetDelivery(id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, fmt.Errorf("%w: no delivery %s", model.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	url, _, ok := d.owner.Destination(del)
	if !ok {
		// Queued, it could only fail: say so now, and change nothing.
		return nil, fmt.Errorf("%w: delivery %s cannot be sent again, nothing is left to sign it with", model.ErrOrphaned, id)
	}
	switch {
	case del.Status != model.StatusPending:
		now := time.Now().UTC()
		// To where its stream sends now: the usual reason to retry is a
		// destination fixed since.
		del.URL = url
		del.Status, del.Step, del.NextAttemptAt, del.LastError = model.StatusPending, 0, &now, ""
		if err := d.store.UpdateDelivery(del); err != nil {
			return nil, err
		}
	case del.URL != url:
		if err := d.store.MoveDelivery(del, url); err != nil {
			return nil, err
		}
	}
	// del goes back to the caller, saying what happens next; the attempt
	// reads its own copy, and records its outcome.
	now := time.Now().UTC()
	del.Step, del.NextAttemptAt = 0, &now
	d.tell(del.URL, endpointMsg{id: del.ID, at: time.Now(), restart: true})
	return del, nil
}

// Test sends one signed message right now, outside the outbox (the stream
// test of CONTRACT §2): nothing is stored or retried. It counts against
// the outbound budget like an attempt: each test holds a connection for
// up to the delivery timeout, and every client connection could ask for
// one. With the budget spent it is not sent, and says why.
func (d *Dispatcher) Test(url, secret, id string, body []byte) Outcome {
	signer, err := signing.NewSigner(secret, d.cfg.OrgID)
	if err != nil {
		return Outcome{Err: err}
	}
	if !d.outbound.take(nil) {
		return Outcome{Err: fmt.Errorf("not sent: %d deliveries are in flight, --max-outbound-connections; retry shortly", d.cfg.MaxOutbound)}
	}
	defer d.outbound.release()
	return send(d.client, &d.cfg, url, signer, id, body)
}

// EndpointStats is one destination's state for GET /v1/endpoints.
type EndpointStats struct {
	URL string `json:"url"`
	// Label is how /metrics and the log name the URL (EndpointLabel).
	Label     string `json:"label"`
	State     string `json:"state"`
	InFlight  int64  `json:"in_flight"`
	Pending   int64  `json:"pending"`
	Succeeded int64  `json:"succeeded"`
	Failed    int64  `json:"failed"`
}

// Endpoints reports every endpoint that has had traffic since start and
// still serves a stream or system webhook, or had traffic within
// Config.RetireAfter, by URL. Succeeded and failed count since start (or since
// the endpoint was retired and made again); pending counts what is queued.
func (d *Dispatcher) Endpoints() []EndpointStats {
	d.mu.Lock()
	out := make([]EndpointStats, 0, len(d.endpoints))
	for _, ep := range d.endpoints {
		out = append(out, ep.stats())
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}
