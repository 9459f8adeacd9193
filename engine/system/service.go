package system

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/signing"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
)

// Outbox takes stored pending deliveries.
type Outbox interface{ Enqueue(d *model.Delivery) }

// Config configures the service.
type Config struct {
	// PublicURL is hookwire's own base URL, for the links in system events
	// (a segment's url, a note's sessionUrl).
	PublicURL string
	Guard     netguard.Guard
	// AlertInterval is how often alerts are evaluated against their window.
	AlertInterval time.Duration
}

// Service owns system endpoints, alerts, notes and segment membership.
// Every method is safe for concurrent use.
type Service struct {
	cfg    Config
	store  *store.Store
	outbox Outbox
	logger *slog.Logger

	mu      sync.Mutex
	hooks   map[string]*model.SystemWebhook
	alerts  map[string]*model.SegmentAlert
	members map[string]*segmentMembers
	names   func(segmentID string) string
	// kick asks Run to evaluate the alerts now: a match may have moved a
	// value. Kicks while one is pending are one evaluation.
	kick chan struct{}
	// alertChanges serialises creating and deleting alerts: a create
	// tracks its segment's members (a store read) before it takes mu, and
	// a delete of the segment's last alert meanwhile would drop them.
	alertChanges sync.Mutex
}

// New loads endpoints, alerts and segment members.
func New(cfg Config, st *store.Store, outbox Outbox, segmentName func(string) string, logger *slog.Logger) (*Service, error) {
	if cfg.AlertInterval <= 0 {
		cfg.AlertInterval = time.Second
	}
	s := &Service{cfg: cfg, store: st, outbox: outbox, logger: logger, names: segmentName,
		hooks: map[string]*model.SystemWebhook{}, alerts: map[string]*model.SegmentAlert{}, members: map[string]*segmentMembers{},
		kick: make(chan struct{}, 1)}
	hooks, err := st.LoadSystemWebhooks()
	if err != nil {
		return nil, err
	}
	for _, h := range hooks {
		s.hooks[h.ID] = h
	}
	alerts, err := st.LoadAlerts()
	if err != nil {
		return nil, err
	}
	for _, a := range alerts {
		s.alerts[a.ID] = a
	}
	horizons := map[string]time.Duration{}
	for _, a := range alerts {
		window, _ := time.ParseDuration(a.Window)
		horizons[a.SegmentID] = max(horizons[a.SegmentID], window)
	}
	for segmentID, window := range horizons {
		if err := s.track(segmentID, window); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// track has the matches of segmentID within window counted in memory:
// only a segment with alerts has its members there, as far back as its
// longest window, so that memory follows what alerts need rather than
// every user of every segment for the store's 8 days (1000 segments on
// common events would each have held every user). The first time, and
// when window reaches further back than what is kept, the matches are
// read from the store; those that come meanwhile are counted too.
func (s *Service) track(segmentID string, window time.Duration) error {
	s.mu.Lock()
	m := s.members[segmentID]
	if m != nil && m.horizon >= window {
		s.mu.Unlock()
		return nil
	}
	if m == nil {
		m = newSegmentMembers()
		s.members[segmentID] = m
	}
	m.horizon = window
	s.mu.Unlock()

	stored, err := s.store.LoadSegmentMembers(segmentID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current := s.members[segmentID]
	if current == nil {
		return nil // the segment was deleted meanwhile
	}
	// Both, in time order: a user in both counts once, at the later match.
	all := make([]memberEntry, 0, len(stored)+current.live)
	for _, sm := range stored {
		all = append(all, memberEntry{user: sm.UserID, at: sm.At.UnixNano()})
	}
	for i := current.head; i < len(current.log); i++ {
		if pos, ok := current.latest[current.log[i].user]; ok && pos == i {
			all = append(all, current.log[i])
		}
	}
	slices.SortStableFunc(all, func(a, b memberEntry) int { return cmp.Compare(a.at, b.at) })
	rebuilt := newSegmentMembers()
	rebuilt.horizon = current.horizon
	for _, e := range all {
		rebuilt.add(e.user, time.Unix(0, e.at))
	}
	rebuilt.prune(time.Now().Add(-rebuilt.horizon))
	s.members[segmentID] = rebuilt
	return nil
}

// EndpointDefinition is what a client sends to create a system endpoint.
type EndpointDefinition struct {
	URL        string   `json:"url"`
	Secret     string   `json:"secret"`
	EventTypes []string `json:"event_types"`
}

var eventTypes = []string{model.EventSegmentCreated, model.EventNoteCreated, model.EventTrendAlert}

func invalid(path, format string, args ...any) error {
	return &model.InvalidError{Path: path, Message: fmt.Sprintf(format, args...), Index: -1}
}

// MaxEndpoints bounds the system webhooks: every system event is a
// message to each, so thousands of them made each note thousands of writes.
const MaxEndpoints = 100

// CreateEndpoint validates and stores an endpoint; the secret is generated
// (and returned once, as generated) when the definition has none.
func (s *Service) CreateEndpoint(ctx context.Context, d *EndpointDefinition) (*model.SystemWebhook, string, error) {
	if err := checkDestination(ctx, d.URL, s.cfg.Guard); err != nil {
		return nil, "", err
	}
	types, err := checkEventTypes(d.EventTypes)
	if err != nil {
		return nil, "", err
	}
	generated := ""
	secret := d.Secret
	if secret == "" {
		secret = signing.NewSecret()
		generated = secret
	} else if err := checkSecret(secret); err != nil {
		return nil, "", err
	}
	h := &model.SystemWebhook{ID: model.NewID("sys_"), URL: d.URL, Secret: secret, SecretSet: true,
		EventTypes: types, Enabled: true, CreatedAt: time.Now().UTC()}
	s.mu.Lock() // held over the write, so that two creates cannot both pass the bound
	defer s.mu.Unlock()
	if n := len(s.hooks); n >= MaxEndpoints {
		return nil, "", fmt.Errorf("%w: %d system webhooks exist, the most hookwire keeps; delete one first", model.ErrLimitReached, n)
	}
	if err := s.store.PutSystemWebhook(h); err != nil {
		return nil, "", err
	}
	s.hooks[h.ID] = h
	return h, generated, nil
}

// checkEventTypes validates an endpoint's event types and returns them
// sorted, without repeats.
func checkEventTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, invalid("event_types", "required: one or more of %s", strings.Join(eventTypes, ", "))
	}
	for i, t := range types {
		if !slices.Contains(eventTypes, t) {
			return nil, invalid(fmt.Sprintf("event_types[%d]", i), "%q is not a system event: use %s", t, strings.Join(eventTypes, ", "))
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(types))), nil
}

func checkSecret(secret string) error {
	if err := signing.CheckSecret(secret); err != nil || len(secret) > 512 {
		return invalid("secret", "a secret starting with whsec_ must be base64 after the prefix (at most 512 bytes)")
	}
	return nil
}

// EndpointPatch changes the members of a system endpoint it has: a
// secret rotated, the URL moved, the event types changed, or the endpoint
// enabled again after its URL answered 410.
type EndpointPatch struct {
	URL        *string  `json:"url"`
	Secret     *string  `json:"secret"`
	EventTypes []string `json:"event_types"` // nil: unchanged
	Enabled    *bool    `json:"enabled"`
}

// UpdateEndpoint applies a PATCH. Deliveries not yet made go to the new
// URL, signed with the new secret, as a stream's do.
func (s *Service) UpdateEndpoint(ctx context.Context, id string, p *EndpointPatch) (*model.SystemWebhook, error) {
	if _, err := s.Endpoint(id); err != nil {
		return nil, err // a missing endpoint is a 404 whatever the body says
	}
	if p.URL != nil {
		if err := checkDestination(ctx, *p.URL, s.cfg.Guard); err != nil {
			return nil, err
		}
	}
	var types []string
	if p.EventTypes != nil {
		var err error
		if types, err = checkEventTypes(p.EventTypes); err != nil {
			return nil, err
		}
	}
	if p.Secret != nil {
		if *p.Secret == "" {
			return nil, invalid("secret", "must not be empty: leave it out to keep the current secret")
		}
		if err := checkSecret(*p.Secret); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.hookLocked(id)
	if err != nil {
		return nil, err
	}
	cp := *h
	if p.URL != nil {
		cp.URL = *p.URL
	}
	if p.Secret != nil {
		cp.Secret = *p.Secret
	}
	if types != nil {
		cp.EventTypes = types
	}
	if p.Enabled != nil {
		cp.Enabled = *p.Enabled
		if cp.Enabled {
			cp.DisabledReason = ""
		}
	}
	if err := s.store.PutSystemWebhook(&cp); err != nil {
		return nil, err
	}
	s.hooks[id] = &cp
	return cp.Redacted(), nil
}

// Endpoints lists the endpoints, oldest first, without secrets.
func (s *Service) Endpoints() []*model.SystemWebhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*model.SystemWebhook, 0, len(s.hooks))
	for _, h := range s.hooks {
		out = append(out, h.Redacted())
	}
	slices.SortFunc(out, func(a, b *model.SystemWebhook) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Endpoint returns one endpoint with its secret (for the test message).
func (s *Service) Endpoint(id string) (*model.SystemWebhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.hookLocked(id)
	if err != nil {
		return nil, err
	}
	cp := *h
	return &cp, nil
}

// hookLocked returns the endpoint id, or not found. s.mu held.
func (s *Service) hookLocked(id string) (*model.SystemWebhook, error) {
	h, ok := s.hooks[id]
	if !ok {
		return nil, fmt.Errorf("%w: no system webhook %s", model.ErrNotFound, id)
	}
	return h, nil
}

// DeleteEndpoint removes an endpoint.
func (s *Service) DeleteEndpoint(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.hookLocked(id); err != nil {
		return err
	}
	if err := s.store.DeleteSystemWebhook(id); err != nil {
		return err
	}
	delete(s.hooks, id)
	return nil
}

// Destination returns an endpoint's URL and signing secret (for delivery).
func (s *Service) Destination(id string) (url, secret string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hooks[id]
	if !ok {
		return "", "", false
	}
	return h.URL, h.Secret, true
}

// Serves reports whether a system webhook sends to url.
func (s *Service) Serves(url string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hooks {
		if h.URL == url {
			return true
		}
	}
	return false
}

// Disable turns an endpoint off after its URL answered 410.
func (s *Service) Disable(id, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hooks[id]
	if !ok || !h.Enabled {
		return
	}
	cp := *h
	cp.Enabled, cp.DisabledReason = false, reason
	if err := s.store.PutSystemWebhook(&cp); err != nil {
		s.logger.Error("disabling a system webhook", "id", id, "err", err)
		return
	}
	s.hooks[id] = &cp
}

// Envelope is Fullstory's v1 wrapper of system events.
type Envelope struct {
	EventName string `json:"eventName"`
	Version   int    `json:"version"`
	Data      any    `json:"data"`
}

// Emit creates one message per enabled endpoint subscribed to eventType,
// stores it and queues it for delivery.
func (s *Service) Emit(eventType string, data any) error {
	body, err := json.Marshal(Envelope{EventName: eventType, Version: 1, Data: data})
	if err != nil {
		return err
	}
	s.mu.Lock()
	var targets []*model.SystemWebhook
	for _, h := range s.hooks {
		if h.Enabled && h.Subscribed(eventType) {
			targets = append(targets, h)
		}
	}
	s.mu.Unlock()
	for _, h := range targets {
		now := time.Now().UTC()
		d := &model.Delivery{ID: model.NewID("msg_"), SystemWebhookID: h.ID, EventType: eventType, URL: h.URL,
			Status: model.StatusPending, CreatedAt: now, NextAttemptAt: &now, Payload: body}
		if err := s.store.AddDelivery(d); err != nil {
			return err
		}
		s.outbox.Enqueue(d)
	}
	return nil
}

// TestBody is the test message for an endpoint.
func TestBody() []byte {
	b, _ := json.Marshal(Envelope{EventName: model.EventTest, Version: 1, Data: map[string]any{
		"message": "a test from hookwire", "timestamp": time.Now().UTC().Format(time.RFC3339)}})
	return b
}

// URLOf builds a link into hookwire's own API.
func (s *Service) URLOf(path string) string { return strings.TrimRight(s.cfg.PublicURL, "/") + path }

func checkDestination(ctx context.Context, raw string, guard netguard.Guard) error {
	return streams.CheckURL(ctx, "url", raw, guard)
}
