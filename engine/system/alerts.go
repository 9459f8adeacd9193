package system

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// Alert limits.
const (
	MaxWindow = 7 * 24 * time.Hour
	// MaxAlertsPerSegment bounds a segment's alerts, each evaluated
	// against its window every second.
	MaxAlertsPerSegment = 100
)

// AlertDefinition is what a client sends to create an alert.
type AlertDefinition struct {
	Description string   `json:"description"`
	Threshold   *float64 `json:"threshold"`
	Direction   string   `json:"direction"`
	Window      string   `json:"window"`
}

// Matched records that a session of userID matched segmentID (called by
// the session committer once the match is stored with the session, so at
// most once per session), and has the alerts evaluated soon: once for
// all the matches that come meanwhile, not once each.
func (s *Service) Matched(segmentID, userID string, at time.Time) {
	s.mu.Lock()
	m := s.members[segmentID]
	if m != nil {
		m.add(userID, at)
	}
	s.mu.Unlock()
	if m == nil {
		return // no alerts: the match is in the store, for one created later
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Value is the number of distinct users whose sessions matched segmentID
// within window before now.
func (s *Service) Value(segmentID string, window time.Duration, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.valueLocked(segmentID, window, now)
}

func (s *Service) valueLocked(segmentID string, window time.Duration, now time.Time) int {
	m := s.members[segmentID]
	if m == nil {
		return 0
	}
	return m.since(now.Add(-window))
}

func beyond(a *model.SegmentAlert, value int) bool {
	if a.Direction == "BELOW" {
		return float64(value) < a.Threshold
	}
	return float64(value) > a.Threshold
}

// CreateAlert validates and stores an alert on a segment. It starts armed
// unless the value is already beyond the threshold (an alert reports a
// crossing, not a state).
func (s *Service) CreateAlert(segmentID string, d *AlertDefinition) (*model.SegmentAlert, error) {
	s.alertChanges.Lock()
	defer s.alertChanges.Unlock()
	if d.Threshold == nil || *d.Threshold < 0 {
		return nil, invalid("threshold", "required: a number of distinct users, 0 or more")
	}
	direction := strings.ToUpper(d.Direction)
	if direction != "ABOVE" && direction != "BELOW" {
		return nil, invalid("direction", "ABOVE or BELOW, got %q", d.Direction)
	}
	window, err := time.ParseDuration(d.Window)
	if err != nil || window <= 0 || window > MaxWindow {
		return nil, invalid("window", "%q is not a duration from 1ms to %s (e.g. \"1h\")", d.Window, MaxWindow)
	}
	if len(d.Description) > 2000 {
		return nil, invalid("description", "at most 2000 characters")
	}
	s.mu.Lock()
	err = s.roomForAlert(segmentID)
	s.mu.Unlock()
	if err != nil {
		return nil, err // before tracking members for an alert that will not be
	}
	if err := s.track(segmentID, window); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	a := &model.SegmentAlert{ID: model.NewID("alert_"), SegmentID: segmentID, Description: d.Description,
		Threshold: *d.Threshold, Direction: direction, Window: d.Window, CreatedAt: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.roomForAlert(segmentID); err != nil {
		return nil, err
	}
	a.Value = s.valueLocked(segmentID, window, now)
	a.Armed = !beyond(a, a.Value)
	if err := s.store.PutAlert(a); err != nil {
		return nil, err
	}
	s.alerts[a.ID] = a
	cp := *a
	return &cp, nil
}

// roomForAlert refuses another alert on a segment that has
// MaxAlertsPerSegment. s.mu held.
func (s *Service) roomForAlert(segmentID string) error {
	n := 0
	for _, other := range s.alerts {
		if other.SegmentID == segmentID {
			n++
		}
	}
	if n >= MaxAlertsPerSegment {
		return fmt.Errorf("%w: segment %s has %d alerts, the most hookwire keeps for one; delete one first",
			model.ErrLimitReached, segmentID, n)
	}
	return nil
}

// Alert returns one of a segment's alerts: its value and whether it is
// armed, as of the last evaluation.
func (s *Service) Alert(segmentID, alertID string) (*model.SegmentAlert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.alertLocked(segmentID, alertID)
	if err != nil {
		return nil, err
	}
	cp := *a
	return &cp, nil
}

// alertLocked returns a segment's alert, or not found. s.mu held.
func (s *Service) alertLocked(segmentID, alertID string) (*model.SegmentAlert, error) {
	a, ok := s.alerts[alertID]
	if !ok || a.SegmentID != segmentID {
		return nil, fmt.Errorf("%w: segment %s has no alert %s", model.ErrNotFound, segmentID, alertID)
	}
	return a, nil
}

// Alerts lists a segment's alerts ("" for all), oldest first.
func (s *Service) Alerts(segmentID string) []*model.SegmentAlert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*model.SegmentAlert
	for _, a := range s.alerts {
		if segmentID == "" || a.SegmentID == segmentID {
			cp := *a
			out = append(out, &cp)
		}
	}
	slices.SortFunc(out, func(a, b *model.SegmentAlert) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// DeleteAlert removes one of a segment's alerts. The segment's members
// kept in memory shrink to what its other alerts' windows need, and go
// with its last alert.
func (s *Service) DeleteAlert(segmentID, alertID string) error {
	s.alertChanges.Lock() // a create in flight has tracked members for its alert
	defer s.alertChanges.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.alertLocked(segmentID, alertID); err != nil {
		return err
	}
	if err := s.store.DeleteAlert(alertID); err != nil {
		return err
	}
	delete(s.alerts, alertID)
	horizon, kept := time.Duration(0), false
	for _, other := range s.alerts {
		if other.SegmentID == segmentID {
			window, _ := time.ParseDuration(other.Window)
			horizon, kept = max(horizon, window), true
		}
	}
	switch m := s.members[segmentID]; {
	case m == nil:
	case !kept:
		delete(s.members, segmentID)
	default:
		m.horizon = horizon // pruned to it at the next evaluation
	}
	return nil
}

// ForgetSegment drops a deleted segment's alerts and members. The
// segment's deletion removed the stored alerts already, but an evaluation
// between that and this call saves an alert whose state it changed: they
// are removed again here, where no evaluation can follow.
func (s *Service) ForgetSegment(segmentID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, a := range s.alerts {
		if a.SegmentID == segmentID {
			delete(s.alerts, id)
			if err := s.store.DeleteAlert(id); err != nil {
				s.logger.Error("removing a deleted segment's alert", "alert_id", id, "err", err)
			}
		}
	}
	delete(s.members, segmentID)
}

// Evaluate checks every alert against its window: an armed alert whose
// value is beyond its threshold fires once and disarms; a disarmed alert
// whose value is back re-arms.
func (s *Service) Evaluate(now time.Time) {
	type firing struct {
		alert model.SegmentAlert
		value int
	}
	var fire []firing
	s.mu.Lock()
	for _, m := range s.members {
		m.prune(now.Add(-m.horizon))
	}
	for _, a := range s.alerts {
		window, _ := time.ParseDuration(a.Window)
		v := s.valueLocked(a.SegmentID, window, now)
		changed := false
		switch {
		case a.Armed && beyond(a, v):
			a.Armed, changed = false, true
			at := now.UTC()
			a.LastFired = &at
			fire = append(fire, firing{*a, v})
		case !a.Armed && !beyond(a, v):
			a.Armed, changed = true, true
		}
		a.Value = v
		if changed {
			if err := s.store.PutAlert(a); err != nil {
				s.logger.Error("saving an alert's state", "alert_id", a.ID, "err", err)
			}
		}
	}
	s.mu.Unlock()
	for _, f := range fire {
		data := map[string]any{
			"id": f.alert.ID, "timestamp": now.UTC().Format(time.RFC3339), "value": f.value,
			"alertConfig": map[string]any{"description": f.alert.Description, "threshold": f.alert.Threshold,
				"direction": f.alert.Direction, "duration": f.alert.Window, "segmentName": s.names(f.alert.SegmentID)},
		}
		if err := s.Emit(model.EventTrendAlert, data); err != nil {
			s.logger.Error("emitting a trend alert", "alert_id", f.alert.ID, "err", err)
		}
	}
}

// Run evaluates alerts every AlertInterval until ctx ends, so values that
// fall as matches leave the window are noticed without new matches, and
// soon after matches (Matched).
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(s.cfg.AlertInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.Evaluate(now)
		case <-s.kick:
			s.Evaluate(time.Now())
		}
	}
}

// SegmentCreated announces a new segment.
func (s *Service) SegmentCreated(g *model.Segment) error {
	return s.Emit(model.EventSegmentCreated, map[string]any{
		"id": g.ID, "creator": g.Creator, "name": g.Name, "url": s.URLOf("/v1/segments/" + g.ID),
		"created": g.CreatedAt.Format(time.RFC3339),
	})
}

// NoteDefinition is what a client sends to write a note.
type NoteDefinition struct {
	SessionID string     `json:"session_id"`
	Author    string     `json:"author"`
	Text      string     `json:"text"`
	NotedTime *time.Time `json:"noted_time"`
}

// CreateNote stores a note on a session and announces it.
func (s *Service) CreateNote(d *NoteDefinition) (*model.Note, error) {
	if err := model.CheckText("session_id", d.SessionID, 1, model.MaxSessionIDLength); err != nil {
		return nil, err // the rule events' session ids follow: a note is on a session that can exist
	}
	switch {
	case strings.TrimSpace(d.Author) == "" || len(d.Author) > 200:
		return nil, invalid("author", "required, at most 200 characters")
	case strings.TrimSpace(d.Text) == "" || len(d.Text) > 10000:
		return nil, invalid("text", "required, at most 10000 characters")
	}
	now := time.Now().UTC()
	n := &model.Note{ID: model.NewID("note_"), SessionID: d.SessionID, Author: d.Author, Text: d.Text, Created: now, NotedTime: now}
	if d.NotedTime != nil {
		n.NotedTime = d.NotedTime.UTC()
	}
	if err := s.store.PutNote(n); err != nil {
		return nil, err
	}
	err := s.Emit(model.EventNoteCreated, map[string]any{
		"id": n.ID, "created": n.Created.Format(time.RFC3339), "author": n.Author, "text": n.Text,
		"sessionUrl": s.URLOf("/v1/sessions/" + url.PathEscape(n.SessionID)), "notedTime": n.NotedTime.Format(time.RFC3339),
	})
	return n, err
}
