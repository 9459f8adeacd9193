// Package metrics defines every counter hookwire exports on /metrics
// (CONTRACT §5.6: every event, match, attempt and fault is counted).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is the engine's set of collectors, registered on their own
// registry so that tests and several engines in one process do not clash.
type Metrics struct {
	Registry *prometheus.Registry

	EventsAccepted   prometheus.Counter
	IngestSeconds    prometheus.Histogram
	EventsDuplicate  prometheus.Counter
	RequestsRejected *prometheus.CounterVec // reason
	HandlerPanics    prometheus.Counter
	EventsEvaluated  prometheus.Counter
	EventLogSync     prometheus.Histogram // one observation per sync
	SessionCommit    prometheus.Histogram // one observation per Badger transaction of sessions' effects
	EventsReplayed   prometheus.Counter
	EventsAbandoned  prometheus.Counter
	SessionsEvicted  prometheus.Counter
	StreamMatches    *prometheus.CounterVec // stream_id
	FilterFaults     *prometheus.CounterVec // stream_id
	SegmentFaults    *prometheus.CounterVec // segment_id
	DeliveryAttempts *prometheus.CounterVec // outcome: success, failure, gone
	DeliveriesFinal  *prometheus.CounterVec // status: succeeded, failed
	AttemptSeconds   *prometheus.HistogramVec
	BreakerChanges   *prometheus.CounterVec // to
	BreakerState     *prometheus.GaugeVec   // endpoint: 0 closed, 1 half-open, 2 open
}

// Gauges are read at scrape time from the parts that own the figures.
type Gauges struct {
	LiveSessions func() float64
	// UserIndex is the users the in-memory user index holds.
	UserIndex      func() float64
	EventsInFlight func() float64 // accepted, not yet evaluated (all mailboxes)
	// EventsInFlightBytes is the body bytes of the requests those came in.
	EventsInFlightBytes func() float64
	StoreBytes          func() (lsm, vlog float64)
	// FilterMemory is the linear memory uploaded filters' instances hold.
	FilterMemory func() float64
	// StoreSpace is the data directory's free space, what the store keeps
	// free, and 1 while it is under that (writes refused).
	StoreSpace func() (free, need, low float64)
	// Connections open now, refused past --max-connections, and accepts
	// that found no file descriptor, since start.
	ConnectionsOpen, ConnectionsRefused, AcceptWaits func() float64
	// OutboundOpen is the connections open to receivers.
	OutboundOpen func() float64
	// SessionsAwaitingRestart is the sessions a failed commit keeps out of
	// evaluation until a restart.
	SessionsAwaitingRestart func() float64
}

// diskBuckets time what waits for the disk: a sync takes well under a
// millisecond on a quiet SSD, and one over the 25 ms latency target is
// what an operator (and the benchmark report) looks for.
var diskBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

// New builds and registers the collectors.
func New(g Gauges) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		EventsAccepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookwire_events_accepted_total",
			Help: "Events durably accepted (202), excluding duplicates."}),
		IngestSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hookwire_ingest_request_seconds",
			Help:    "Time from an ingest request's arrival to its answer, for accepted requests (durable acceptance).",
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 15)}),
		EventsDuplicate: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookwire_events_duplicate_total",
			Help: "Events accepted but not evaluated again: their (session_id, id) was seen before."}),
		RequestsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookwire_event_requests_rejected_total",
			Help: "Event requests rejected, by reason (invalid, saturated, shutting_down, error)."}, []string{"reason"}),
		HandlerPanics: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookwire_http_handler_panics_total",
			Help: "HTTP requests whose handler panicked (answered 500; the panic is logged)."}),
		EventLogSync: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hookwire_event_log_sync_seconds",
			Help:    "Time each sync of the event log took: its fdatasync, then the write of the groups' producer ids to Badger when events carry ids. Each makes every group written before it durable, and the requests in them wait for it.",
			Buckets: diskBuckets}),
		SessionCommit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hookwire_session_commit_seconds",
			Help:    "Time each Badger transaction recording sessions' matches and deliveries took; webhooks are sent only after it.",
			Buckets: diskBuckets}),
		EventsEvaluated: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookwire_events_evaluated_total",
			Help: "Events evaluated by their session actor."}),
		EventsReplayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookwire_events_replayed_total",
			Help: "Events re-read from the log at start-up because their evaluation was not recorded."}),
		SessionsEvicted: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookwire_sessions_evicted_total",
			Help: "Live sessions passivated before their idle time because --max-live-sessions were live; each comes back from the store with its next event."}),
		EventsAbandoned: prometheus.NewCounter(prometheus.CounterOpts{Name: "hookwire_events_abandoned_total",
			Help: "Events whose evaluation could not be recorded (a failed commit, a panicking turn); they stay in the log and are evaluated again at the next start."}),
		StreamMatches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookwire_stream_matches_total",
			Help: "Sessions that fired a stream (messages created)."}, []string{"stream_id"}),
		FilterFaults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookwire_filter_faults_total",
			Help: "Wasm predicate calls that trapped, timed out or failed, counted as no match."}, []string{"stream_id"}),
		SegmentFaults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookwire_segment_faults_total",
			Help: "Segments' Wasm predicate calls that trapped, timed out or failed, counted as no match."}, []string{"segment_id"}),
		DeliveryAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookwire_delivery_attempts_total",
			Help: "Webhook delivery attempts by outcome."}, []string{"outcome"}),
		DeliveriesFinal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookwire_deliveries_total",
			Help: "Deliveries that reached a final status."}, []string{"status"}),
		AttemptSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hookwire_delivery_attempt_seconds",
			Help: "Latency of delivery attempts.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}, []string{"endpoint"}),
		BreakerChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookwire_breaker_transitions_total",
			Help: "Endpoint circuit breaker state changes, by new state."}, []string{"to"}),
		BreakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hookwire_endpoint_breaker_state",
			Help: "Each endpoint's circuit breaker: 0 closed, 1 half-open, 2 open."}, []string{"endpoint"}),
	}
	m.Registry.MustRegister(m.EventsAccepted, m.IngestSeconds, m.EventsDuplicate, m.RequestsRejected, m.HandlerPanics, m.EventsEvaluated, m.EventLogSync, m.SessionCommit,
		m.EventsReplayed, m.EventsAbandoned, m.SessionsEvicted, m.StreamMatches, m.FilterFaults, m.SegmentFaults, m.DeliveryAttempts, m.DeliveriesFinal,
		m.AttemptSeconds, m.BreakerChanges, m.BreakerState,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_live_sessions",
			Help: "Session actors currently live."}, g.LiveSessions),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_sessions_awaiting_restart",
			Help: "Sessions a failed commit keeps out of evaluation: their events wait in the event log, evaluated again at the next start (non-zero: look at the log, then restart)."},
			g.SessionsAwaitingRestart),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_user_index_entries",
			Help: "Users the in-memory user index holds: those of live sessions, and new users' sessions not yet started (the store files the others)."}, g.UserIndex),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_events_in_flight",
			Help: "Events accepted and not yet evaluated (a request's events leave the count together, when its last is evaluated)."}, g.EventsInFlight),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_events_in_flight_bytes",
			Help: "Body bytes of the requests whose events hookwire_events_in_flight counts (bounded by --max-in-flight-bytes)."}, g.EventsInFlightBytes),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_http_connections_open",
			Help: "Client connections open (bounded by --max-connections)."}, g.ConnectionsOpen),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_outbound_connections_open",
			Help: "Connections open to webhook receivers (attempts in flight bounded by --max-outbound-connections)."}, g.OutboundOpen),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "hookwire_http_connections_refused_total",
			Help: "Client connections answered 503 and closed because --max-connections were open."}, g.ConnectionsRefused),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "hookwire_http_accept_waits_total",
			Help: "Accepts that found no file descriptor or socket memory; the connection waited in the listen queue."}, g.AcceptWaits),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_store_lsm_bytes",
			Help: "Badger LSM tree size."}, func() float64 { l, _ := g.StoreBytes(); return l }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_store_vlog_bytes",
			Help: "Badger value log size."}, func() float64 { _, v := g.StoreBytes(); return v }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_filter_memory_bytes",
			Help: "Linear memory held by uploaded filters' instances (bounded by --filter-memory-total)."}, g.FilterMemory),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_store_free_bytes",
			Help: "Free space in the data directory, as the store last looked."}, func() float64 { f, _, _ := g.StoreSpace(); return f }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_store_needed_free_bytes",
			Help: "Free space the store keeps in the data directory for Badger's memory-mapped writes and --disk-reserve-bytes."},
			func() float64 { _, n, _ := g.StoreSpace(); return n }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hookwire_store_low_on_space",
			Help: "1 while the data directory has less free space than needed: events and changes are refused (507)."},
			func() float64 { _, _, l := g.StoreSpace(); return l }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
