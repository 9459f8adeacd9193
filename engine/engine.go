package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/delivery"
	"github.com/hookwire/hookwire/engine/httpapi"
	"github.com/hookwire/hookwire/engine/ingest"
	"github.com/hookwire/hookwire/engine/keys"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/session"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
	"github.com/hookwire/hookwire/engine/system"
)

// stage is one layer of the engine that shuts down as a unit.
type stage struct {
	ctx    context.Context
	cancel context.CancelFunc
	group  actors.Group
}

func newStage() *stage {
	s := &stage{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

func (s *stage) stop() {
	s.cancel()
	s.group.Wait()
}

// Engine is one hookwire instance.
type Engine struct {
	cfg Config
	// listener is the --listen socket, with the connection bound.
	listener  *httpapi.Guarded
	store     *store.Store
	catalog   *streams.Catalog
	metrics   *metrics.Metrics
	sessions  *actors.Registry[string, session.Message]
	committer *session.Committer
	// users is which session an event naming only a user joins.
	users  *session.Users
	writer *ingest.Writer
	outbox *delivery.Dispatcher
	system *system.Service
	api    *httpapi.API

	ingestStage, syncStage, sessionStage, commitStage, trimStage, deliveryStage, background *stage
}

// minAdminKeyLength is the length under which an admin key draws a
// warning at start-up.
const minAdminKeyLength = 16

// New opens the store, loads and compiles the streams, and binds the
// listener. Nothing is served until Run.
func New(cfg Config) (e *Engine, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TLSCert != "" {
		// Read now, so that a bad pair stops the start before anything
		// is opened or announced (fasthttp would only find out in Run).
		if _, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("--data %s: %w", cfg.DataDir, err)
	}
	e = &Engine{cfg: cfg, ingestStage: newStage(), syncStage: newStage(), sessionStage: newStage(), commitStage: newStage(), trimStage: newStage(),
		deliveryStage: newStage(), background: newStage()}
	// A failure below returns a nil engine, so the cleanup holds its own.
	opened := e
	defer func() {
		if err != nil {
			opened.closeResources()
		}
	}()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", cfg.Listen, err)
	}
	e.listener = httpapi.GuardedListener(ln, cfg.Logger, cfg.MaxConnections, cfg.TLSCert == "")
	if cfg.PublicURL == "" {
		scheme := "http"
		if cfg.TLSCert != "" {
			scheme = "https"
		}
		cfg.PublicURL = scheme + "://" + e.listener.Addr().String()
		e.cfg.PublicURL = cfg.PublicURL
	}
	if e.store, err = store.Open(store.Options{Dir: cfg.DataDir, Sync: cfg.Durability == "sync",
		EventLogSegmentBytes: cfg.EventLogSegmentBytes, DeliveryRetention: cfg.DeliveryRetention,
		DiskReserve: uint64(cfg.DiskReserveBytes), Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	guard := netguard.Guard{Resolver: cfg.Resolver, AllowPrivate: cfg.AllowPrivateDestinations}
	if e.catalog, err = streams.Open(context.Background(), streams.Config{MaxStreams: cfg.MaxStreams, MaxSegments: cfg.MaxSegments, MaxFilters: cfg.MaxFilters,
		Guard: guard, FilterTimeout: cfg.FilterTimeout,
		FilterMemoryPages: uint32(cfg.FilterMemoryBytes >> 16), FilterMemoryTotal: cfg.FilterMemoryTotal}, e.store); err != nil {
		return nil, err
	}
	for _, f := range e.catalog.Filters() {
		if f.LoadError != "" {
			cfg.Logger.Error("a stored filter did not load; the streams and segments using it count a fault "+
				"per event until it is uploaded again", "filter", f.Name, "err", f.LoadError)
		}
	}
	e.metrics = metrics.New(metrics.Gauges{
		LiveSessions: func() float64 { return float64(e.sessions.Len()) },
		// Set below, before anything is served.
		SessionsAwaitingRestart: func() float64 { return float64(e.committer.SessionsAwaitingRestart()) },
		UserIndex:               func() float64 { return float64(e.users.Len()) },
		EventsInFlight:          func() float64 { return float64(e.writer.InFlight()) },
		EventsInFlightBytes:     func() float64 { return float64(e.writer.InFlightBytes()) },
		StoreBytes: func() (float64, float64) {
			lsm, vlog := e.store.Size()
			return float64(lsm), float64(vlog)
		},
		FilterMemory: func() float64 { return float64(e.catalog.FilterMemoryUsed()) },
		StoreSpace: func() (float64, float64, float64) {
			sp := e.store.Space()
			low := 0.0
			if sp.Low {
				low = 1
			}
			return float64(sp.Free), float64(sp.Need), low
		},
		ConnectionsOpen:    func() float64 { return float64(e.listener.Open()) },
		OutboundOpen:       func() float64 { return float64(e.outbox.OpenConnections()) },
		ConnectionsRefused: func() float64 { return float64(e.listener.Refused()) },
		AcceptWaits:        func() float64 { return float64(e.listener.AcceptWaits()) },
	})
	e.outbox, err = delivery.New(e.deliveryStage.ctx, &e.deliveryStage.group, delivery.Config{
		Schedule: cfg.RetrySchedule, Timeout: cfg.DeliveryTimeout, BreakerFailures: uint32(cfg.BreakerFailures),
		BreakerCooldown: cfg.BreakerCooldown, MaxInFlight: cfg.EndpointConcurrency, MaxOutbound: cfg.MaxOutboundConnections, OrgID: cfg.OrgID,
		UserAgent: "hookwire/" + cfg.Version, Guard: guard,
	}, e.store, owner{e}, e.metrics, cfg.Logger)
	if err != nil {
		return nil, err
	}
	e.system, err = system.New(system.Config{PublicURL: cfg.PublicURL, Guard: guard, AlertInterval: cfg.AlertInterval},
		e.store, e.outbox, func(id string) string {
			if g := e.catalog.Segment(id); g != nil {
				return g.Segment.Name
			}
			return ""
		}, cfg.Logger)
	if err != nil {
		return nil, err
	}
	// An alert kept of a deleted segment (saved by an evaluation as its
	// segment went, before round 17) would be evaluated for nothing.
	for _, a := range e.system.Alerts("") {
		if e.catalog.Segment(a.SegmentID) == nil {
			e.system.ForgetSegment(a.SegmentID)
		}
	}
	e.committer = session.NewCommitter(e.commitStage.ctx, &e.commitStage.group, e.store, cfg.Retention,
		e.outbox, e.system, e.metrics, cfg.Logger)
	e.users = &session.Users{}
	sessionCfg := session.Config{Idle: cfg.SessionIdle, Max: cfg.SessionMax, Retention: cfg.Retention, MaxLive: cfg.MaxLiveSessions}
	e.sessions = session.NewRegistry(e.sessionStage.ctx, &e.sessionStage.group, &session.Deps{
		Config:  sessionCfg,
		Catalog: e.catalog, Store: e.store, Committer: e.committer, Users: e.users, Metrics: e.metrics, Logger: cfg.Logger,
	})
	trim := ingest.StartTrimmer(e.trimStage.ctx, &e.trimStage.group, e.store, cfg.Logger)
	e.writer = ingest.NewWriter(ingest.Stage{Ctx: e.ingestStage.ctx, Group: &e.ingestStage.group},
		ingest.Stage{Ctx: e.syncStage.ctx, Group: &e.syncStage.group}, ingest.Config{
			MaxInFlight: cfg.MaxInFlightEvents, MaxInFlightBytes: cfg.MaxInFlightBytes, MaxEvaluationLag: cfg.MaxEvaluationLag, MaxLiveSessions: cfg.MaxLiveSessions, Sessions: sessionCfg, QueueCapacity: 4096, DedupeTTL: cfg.Retention, Users: e.users,
			Prepare: session.OfferStreams(e.catalog),
		}, e.store, trim, e.sessions, e.metrics, cfg.Logger)
	ring, err := keys.Open(e.store, cfg.AdminKey)
	if err != nil {
		return nil, err
	}
	if n := len(cfg.AdminKey); n > 0 && n < minAdminKeyLength {
		// Allowed (it is the operator's to choose), but said: the key
		// opens everything, and short ones fall to guessing.
		cfg.Logger.Warn("the admin key is short and easy to guess; use one of 32 or more random characters "+
			"(e.g. openssl rand -hex 32)", "length", n)
	}
	e.api = httpapi.New(httpapi.Config{Dev: cfg.Dev, Sessions: sessionCfg, MaxBodyBytes: cfg.MaxBodyBytes,
		IngestRate: cfg.IngestRate, IngestBurst: cfg.IngestBurst,
		MaxEventsPerRequest: cfg.MaxEventsPerRequest}, httpapi.Deps{
		Catalog: e.catalog, Writer: e.writer, Dispatcher: e.outbox, Store: e.store, Sessions: e.sessions, System: e.system,
		Metrics: e.metrics, Keys: ring, Logger: cfg.Logger,
	})
	return e, nil
}

// Addr is the address the engine listens on (useful with port 0).
func (e *Engine) Addr() string { return e.listener.Addr().String() }

// Run serves until ctx ends, then shuts down gracefully. Recovery of the
// previous run's events and deliveries happens first; /readyz turns 200
// when it is done.
func (e *Engine) Run(ctx context.Context) error {
	log := e.cfg.Logger
	server := e.api.Server()
	served := make(chan error, 1)
	ln := httpapi.LingeringListener(e.listener)
	go func() {
		if e.cfg.TLSCert != "" {
			served <- server.ServeTLS(ln, e.cfg.TLSCert, e.cfg.TLSKey)
			return
		}
		served <- server.Serve(ln)
	}()
	log.Info("hookwire listening", "addr", e.Addr(), "data", e.cfg.DataDir, "dev", e.cfg.Dev,
		"streams", len(e.catalog.Snapshot().Streams), "tls", e.cfg.TLSCert != "")

	replayed, err := e.writer.Replay(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("replaying the event log", "err", err)
	}
	pending, err := e.outbox.Recover()
	if err != nil {
		log.Error("re-queuing pending deliveries", "err", err)
	}
	if replayed > 0 || pending > 0 {
		log.Info("recovered from the previous run", "events", replayed, "deliveries", pending)
	}
	e.api.SetReady()
	e.background.group.Go(func() { e.collectGarbage(e.background.ctx) })
	e.background.group.Go(func() { e.system.Run(e.background.ctx) })
	if e.cfg.PprofListen != "" {
		e.servePprof()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	log.Info("shutting down")
	e.api.SetDraining()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
	defer cancel()
	if err := server.ShutdownWithContext(shutdownCtx); err != nil {
		log.Warn("some requests did not finish before the shutdown timeout", "err", err)
	}
	e.closeResources()
	log.Info("stopped")
	return serveErr
}

// closeResources stops the stages in data-path order, then the store.
func (e *Engine) closeResources() {
	e.background.stop()
	e.ingestStage.stop()
	e.syncStage.stop()
	e.sessionStage.stop()
	e.commitStage.stop()
	e.trimStage.stop()
	e.deliveryStage.stop()
	if e.catalog != nil {
		e.catalog.Close(context.Background())
	}
	if e.store != nil {
		if err := e.store.Close(); err != nil {
			e.cfg.Logger.Error("closing the store", "err", err)
		}
	}
	if e.listener != nil {
		e.listener.Close()
	}
}

// collectGarbage runs the periodic clean-ups: Badger's value log, and the
// user → session index of Fullstory-style ingest.
func (e *Engine) collectGarbage(ctx context.Context) {
	vlog := time.NewTicker(5 * time.Minute)
	users := time.NewTicker(time.Minute)
	defer vlog.Stop()
	defer users.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-vlog.C:
			e.store.CollectGarbage()
		case <-users.C:
			e.writer.SweepUsers()
		}
	}
}

// owner gives delivery what it needs from the streams.
type owner struct{ e *Engine }

func (o owner) Destination(d *model.Delivery) (url, secret string, ok bool) {
	if d.SystemWebhookID != "" {
		return o.e.system.Destination(d.SystemWebhookID)
	}
	cs := o.e.catalog.Snapshot().Lookup(d.StreamID)
	if cs == nil {
		return "", "", false
	}
	return cs.Stream.Destination.URL, cs.Stream.Destination.Secret, true
}

func (o owner) Serves(url string) bool {
	for _, cs := range o.e.catalog.Snapshot().Streams {
		if cs.Stream.Destination.URL == url {
			return true
		}
	}
	return o.e.system.Serves(url)
}

func (o owner) Gone(d *model.Delivery) {
	reason := fmt.Sprintf("destination %s answered 410 Gone at %s", d.URL, time.Now().UTC().Format(time.RFC3339))
	if d.SystemWebhookID != "" {
		o.e.system.Disable(d.SystemWebhookID, reason)
		return
	}
	if err := o.e.catalog.Disable(context.Background(), d.StreamID, reason); err != nil && !errors.Is(err, model.ErrNotFound) {
		o.e.cfg.Logger.Error("disabling a stream after 410", "stream_id", d.StreamID, "err", err)
	}
}

// servePprof serves the runtime profiles on their own listener until
// shutdown.
func (e *Engine) servePprof() {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: e.cfg.PprofListen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	e.background.group.Go(func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.cfg.Logger.Error("pprof listener", "addr", e.cfg.PprofListen, "err", err)
		}
	})
	e.background.group.Go(func() {
		<-e.background.ctx.Done()
		srv.Close()
	})
	e.cfg.Logger.Info("pprof listening", "addr", e.cfg.PprofListen)
}
