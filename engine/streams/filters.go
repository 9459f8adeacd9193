package streams

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/filters"
	"github.com/hookwire/hookwire/wasm"
)

// MaxFilterBytes bounds an uploaded module (CONTRACT §2).
const MaxFilterBytes = 16 << 20

// Filters lists the uploaded filters by name.
func (c *Catalog) Filters() []*model.Filter {
	snap := c.snapshot.Load()
	out := make([]*model.Filter, 0, len(snap.filters))
	for _, f := range snap.filters {
		out = append(out, f.Meta)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// roomForFilter refuses a new filter (not a replacement) past MaxFilters.
func (c *Catalog) roomForFilter(snap *Snapshot, name string) error {
	if _, replaces := snap.filters[name]; replaces || c.cfg.MaxFilters == 0 || len(snap.filters) < c.cfg.MaxFilters {
		return nil
	}
	return fmt.Errorf("%w: %d of %d filters exist; delete one, or raise --max-filters", model.ErrFilterLimit, len(snap.filters), c.cfg.MaxFilters)
}

// PutFilter validates, stores and loads a filter module under name. When it
// replaces one, every stream using it switches to the new module for later
// events; if the new module refuses a stream's config, nothing changes and
// the error names the stream. created is false for a replacement.
func (c *Catalog) PutFilter(ctx context.Context, name string, binary []byte) (f *model.Filter, created bool, err error) {
	if !filters.ValidFilterName(name) {
		return nil, false, invalid("name", "%q is not a filter name: want [a-z0-9][a-z0-9_.-]{0,63}", name)
	}
	if len(binary) > MaxFilterBytes {
		return nil, false, fmt.Errorf("%w: the module is %d bytes, over the limit of %d", model.ErrTooLarge, len(binary), MaxFilterBytes)
	}
	// Checked before compiling (the costly part), and again once locked.
	if err := c.roomForFilter(c.snapshot.Load(), name); err != nil {
		return nil, false, err
	}
	mod, err := c.custom.Compile(ctx, binary)
	if err != nil {
		return nil, false, invalid("module", "%v", err)
	}
	// Start it once: a module that traps, loops or runs out of memory while
	// initialising is refused now. A refused (empty) config is fine: the
	// config comes with each stream.
	if inst, err := mod.Instantiate(ctx, nil); err == nil {
		inst.Close(ctx)
	} else if !errors.Is(err, wasm.ErrInitRefused) {
		mod.Close(ctx)
		return nil, false, invalid("module", "it does not start: %v", err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapshot.Load()
	if err := c.roomForFilter(snap, name); err != nil {
		mod.Close(ctx)
		return nil, false, err
	}
	now := time.Now().UTC()
	sum := sha256.Sum256(binary)
	f = &model.Filter{Name: name, SHA256: hex.EncodeToString(sum[:]), Size: len(binary), ABI: wasm.ABIVersion,
		CreatedAt: now, UpdatedAt: now}
	prev := snap.filters[name]
	if prev != nil {
		f.CreatedAt = prev.Meta.CreatedAt
	}
	loaded := make(map[string]*LoadedFilter, len(snap.filters)+1)
	for k, v := range snap.filters {
		loaded[k] = v
	}
	loaded[name] = &LoadedFilter{Meta: f, Module: mod}

	// Recompile the streams and segments that use it before anything is
	// stored.
	next := &Snapshot{byID: make(map[string]*Compiled, len(snap.Streams)), filters: loaded}
	var swapped []*Predicate
	undo := func() {
		for _, p := range swapped {
			p.release(ctx)
		}
		mod.Close(ctx)
	}
	for _, cs := range snap.Streams {
		if cs.UsesFilter(name) {
			nc, err := c.compile(ctx, cs.Stream, nil, cs.Faults, loaded, true)
			if err != nil {
				undo()
				return nil, false, invalid("module", "stream %s (%q) cannot use the new module: %v", cs.Stream.ID, cs.Stream.Name, err)
			}
			swapped = append(swapped, nc.Predicate)
			cs = nc
		}
		next.Streams = append(next.Streams, cs)
		next.byID[cs.Stream.ID] = cs
	}
	for _, seg := range snap.Segments {
		if seg.UsesFilter(name) {
			pred, err := c.predicate(ctx, seg.Segment.Triggers, nil, loaded, true)
			if err != nil {
				undo()
				return nil, false, invalid("module", "segment %s (%q) cannot use the new module: %v", seg.Segment.ID, seg.Segment.Name, err)
			}
			swapped = append(swapped, pred)
			seg = &CompiledSegment{Segment: seg.Segment, Predicate: pred, Faults: seg.Faults}
		}
		next.Segments = append(next.Segments, seg)
	}
	if err := c.store.PutFilter(f, binary); err != nil {
		undo()
		return nil, false, err
	}
	c.snapshot.Store(next)
	for _, cs := range snap.Streams {
		if cs.UsesFilter(name) {
			cs.release(ctx)
		}
	}
	for _, seg := range snap.Segments {
		if seg.UsesFilter(name) {
			seg.release(ctx)
		}
	}
	if prev != nil && prev.Module != nil {
		prev.Module.Close(ctx)
	}
	return f, prev == nil, nil
}

// DeleteFilter removes a filter no stream or segment uses.
func (c *Catalog) DeleteFilter(ctx context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapshot.Load()
	lf := snap.filters[name]
	if lf == nil {
		return fmt.Errorf("%w: no filter %q", model.ErrNotFound, name)
	}
	for _, cs := range snap.Streams {
		if cs.UsesFilter(name) {
			return fmt.Errorf("%w: stream %s (%q) uses filter %q; change or delete it first", model.ErrInUse, cs.Stream.ID, cs.Stream.Name, name)
		}
	}
	for _, seg := range snap.Segments {
		if seg.UsesFilter(name) {
			return fmt.Errorf("%w: segment %s (%q) uses filter %q; delete it first", model.ErrInUse, seg.Segment.ID, seg.Segment.Name, name)
		}
	}
	if err := c.store.DeleteFilter(name); err != nil {
		return err
	}
	loaded := make(map[string]*LoadedFilter, len(snap.filters))
	for k, v := range snap.filters {
		if k != name {
			loaded[k] = v
		}
	}
	c.snapshot.Store(&Snapshot{Streams: snap.Streams, Segments: snap.Segments, byID: snap.byID, filters: loaded})
	if lf.Module != nil {
		lf.Module.Close(ctx)
	}
	return nil
}

// Verdict is one event's outcome in a dry run.
type Verdict struct {
	Index   int      `json:"index"`
	Match   bool     `json:"match"`
	Verdict int32    `json:"verdict"`
	Fault   string   `json:"fault,omitempty"`
	Logs    []string `json:"logs,omitempty"`
	// CallMicros is how long hw_match took, host included (wall clock):
	// what a filter costs each event its streams see. Absent when the
	// filter was not called.
	CallMicros float64 `json:"call_us,omitempty"`
}

// EvalFilter runs events through filter name with config, as one session
// would see them (state carries from event to event), without persisting or
// delivering anything.
func (c *Catalog) EvalFilter(ctx context.Context, name string, config json.RawMessage, events []model.Event) ([]Verdict, error) {
	lf := c.snapshot.Load().filters[name]
	if lf == nil {
		return nil, fmt.Errorf("%w: no filter %q", model.ErrNotFound, name)
	}
	if lf.Module == nil {
		return nil, invalid("filter", "filter %q: %s", name, lf.Meta.LoadError)
	}
	return EvalModule(ctx, lf.Module, config, events)
}

// EvalBudget bounds the time one dry run spends calling the filter: 10,000
// events at nearly the 10 ms call budget each would be 100 s of a core.
// A variable for tests.
var EvalBudget = 5 * time.Second

// EvalModule runs events through a compiled module with config, sharing
// one in-memory session state. A fault discards the instance; the next
// event gets a fresh one (with the same state), as in the engine.
func EvalModule(ctx context.Context, mod *wasm.Module, config json.RawMessage, events []model.Event) ([]Verdict, error) {
	cfg, err := compactConfig(config)
	if err != nil {
		return nil, err
	}
	state := &MemoryState{}
	var inst *wasm.Instance
	defer func() {
		if inst != nil {
			inst.Close(ctx)
		}
	}()
	out := make([]Verdict, 0, len(events))
	faultsInARow := 0
	began := time.Now()
	for i := range events {
		v := Verdict{Index: i}
		if spent := time.Since(began); spent > EvalBudget {
			// A request's worth of events each using most of its call
			// budget would hold a core for minutes.
			v.Fault = fmt.Sprintf("not called: the dry run spent its %s budget (%d of %d events evaluated)", EvalBudget, i, len(events))
			out = append(out, v)
			continue
		}
		if faultsInARow >= wasm.QuarantineAfter {
			// As the engine would: it stops calling a filter that faulted
			// this often in a row (a spinning one cost 10 ms per event).
			v.Fault = fmt.Sprintf("%v after %d failed calls in a row: not called", wasm.ErrQuarantined, faultsInARow)
			out = append(out, v)
			continue
		}
		body := events[i].AppendJSON(nil)
		if inst == nil {
			if inst, err = mod.Instantiate(ctx, cfg); err != nil {
				if errors.Is(err, wasm.ErrInitRefused) {
					return nil, invalid("config", "%v", err)
				}
				v.Fault = err.Error()
				out = append(out, v)
				faultsInARow++
				continue
			}
		}
		state.logs = nil
		called := time.Now()
		verdict, err := inst.Match(body, state)
		v.CallMicros = max(math.Round(float64(time.Since(called))/float64(time.Microsecond)*10)/10, 0.1)
		v.Logs = state.logs
		switch {
		case err != nil:
			faultsInARow++
			v.Fault = err.Error()
			inst.Close(ctx)
			inst = nil
		case verdict < 0:
			v.Verdict, v.Fault = verdict, fmt.Sprintf("%v: hw_match returned %d", wasm.ErrGuest, verdict)
			faultsInARow = 0
		case verdict > wasm.VerdictMatch:
			v.Verdict, v.Fault = verdict, fmt.Sprintf("%v: %d (want 1 for a match, 0 for none, negative for an error)", wasm.ErrVerdict, verdict)
			faultsInARow = 0
		default:
			v.Verdict, v.Match = verdict, verdict == wasm.VerdictMatch
			faultsInARow = 0
		}
		out = append(out, v)
	}
	return out, nil
}

func compactConfig(config json.RawMessage) ([]byte, error) {
	config = bytes.TrimSpace(config)
	if len(config) == 0 || string(config) == "null" {
		return nil, nil
	}
	if len(config) > filters.MaxConfigBytes {
		return nil, invalid("config", "at most %d bytes", filters.MaxConfigBytes)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, config); err != nil {
		return nil, invalid("config", "not valid JSON: %v", err)
	}
	return buf.Bytes(), nil
}

// MemoryState is a session's filter state held in memory (dry runs and
// the filter test command). Not safe for concurrent use.
type MemoryState struct {
	values map[string][]byte
	logs   []string
}

// Get implements wasm.CallState.
func (m *MemoryState) Get(key []byte) ([]byte, bool) {
	v, ok := m.values[string(key)]
	return v, ok
}

// Set implements wasm.CallState.
func (m *MemoryState) Set(key, value []byte) bool {
	if m.values == nil {
		m.values = map[string][]byte{}
	}
	m.values[string(key)] = bytes.Clone(value)
	return true
}

// Log implements wasm.CallState.
func (m *MemoryState) Log(line []byte) { m.logs = append(m.logs, string(line)) }
