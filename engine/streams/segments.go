package streams

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/filters"
)

// CompiledSegment is a segment with its ready-to-run triggers.
type CompiledSegment struct {
	Segment *model.Segment
	*Predicate
	Faults *Faults
}

// SegmentDefinition is what a client sends to create a segment.
type SegmentDefinition struct {
	Name     string            `json:"name"`
	Creator  string            `json:"creator"`
	Triggers []filters.Trigger `json:"triggers"`
}

// ParseSegment decodes a segment body, refusing unknown members.
func ParseSegment(body []byte) (*SegmentDefinition, error) {
	d := new(SegmentDefinition)
	if err := decodeStrict(body, d); err != nil {
		return nil, err
	}
	return d, nil
}

// Segments lists the segments, oldest first.
func (c *Catalog) Segments() []*CompiledSegment { return c.snapshot.Load().Segments }

// Segment returns the segment with id, or nil.
func (c *Catalog) Segment(id string) *CompiledSegment {
	for _, s := range c.snapshot.Load().Segments {
		if s.Segment.ID == id {
			return s
		}
	}
	return nil
}

// CreateSegment validates, compiles and stores a segment. Its triggers are
// a stream's (CONTRACT §2): declarative ones, counting and sequences
// included, and filter triggers, started once with their config here.
func (c *Catalog) CreateSegment(ctx context.Context, d *SegmentDefinition) (*CompiledSegment, error) {
	name, err := checkName(d.Name, "the segment's name is in its segment.created webhook and its alerts")
	if err != nil {
		return nil, err
	}
	creator := strings.TrimSpace(d.Creator)
	if creator == "" || utf8.RuneCountInString(creator) > MaxNameLength || strings.ContainsFunc(creator, isControl) {
		return nil, invalid("creator", "required, at most %d characters without control characters: who made the segment", MaxNameLength)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapshot.Load()
	if n := len(snap.Segments); c.cfg.MaxSegments > 0 && n >= c.cfg.MaxSegments {
		return nil, fmt.Errorf("%w: %d of %d segments exist; delete one or raise --max-segments", model.ErrSegmentLimit, n, c.cfg.MaxSegments)
	}
	for _, s := range snap.Segments {
		if strings.EqualFold(s.Segment.Name, name) {
			return nil, fmt.Errorf("%w: segment %s is already named %q", model.ErrNameTaken, s.Segment.ID, s.Segment.Name)
		}
	}
	pred, err := c.predicate(ctx, d.Triggers, nil, snap.filters, true)
	if err != nil {
		return nil, err
	}
	seg := &model.Segment{ID: model.NewID("seg_"), Name: name, Creator: creator, Triggers: d.Triggers, CreatedAt: time.Now().UTC()}
	if err := c.store.PutSegment(seg); err != nil {
		pred.release(ctx)
		return nil, err
	}
	cs := &CompiledSegment{Segment: seg, Predicate: pred, Faults: new(Faults)}
	c.snapshot.Store(snap.withSegments(append(append([]*CompiledSegment(nil), snap.Segments...), cs)))
	return cs, nil
}

// DeleteSegment removes a segment (alertIDs are its alerts, removed with it).
func (c *Catalog) DeleteSegment(ctx context.Context, id string, alertIDs []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapshot.Load()
	var kept []*CompiledSegment
	var gone *CompiledSegment
	for _, s := range snap.Segments {
		if s.Segment.ID == id {
			gone = s
			continue
		}
		kept = append(kept, s)
	}
	if gone == nil {
		return fmt.Errorf("%w: no segment %s", model.ErrNotFound, id)
	}
	if err := c.store.DeleteSegment(id, alertIDs); err != nil {
		return err
	}
	c.snapshot.Store(snap.withSegments(kept))
	gone.release(ctx)
	return nil
}
