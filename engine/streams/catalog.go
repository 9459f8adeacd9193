package streams

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/signing"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/filters"
	"github.com/hookwire/hookwire/wasm"
)

// Predicate is a list of OR-ed triggers, ready to run: a stream's or a
// segment's. Immutable.
type Predicate struct {
	Program *filters.Program
	// Pool runs the generated module of the declarative triggers; nil when
	// there are none.
	Pool *wasm.Pool
	// Custom runs each filter trigger through its uploaded module.
	Custom []CustomRun

	declModule *wasm.Module
}

// Compiled is a stream with its ready-to-run triggers. It is immutable
// once published, except for Faults.
type Compiled struct {
	Stream *model.Stream
	*Predicate
	Faults *Faults
}

// CustomRun is one filter trigger of a stream and its instances (each
// initialised with the trigger's config).
type CustomRun struct {
	Trigger filters.CustomTrigger
	Pool    *wasm.Pool
}

// release frees the compiled code when a version is replaced.
func (c *Predicate) release(ctx context.Context) {
	if c.Pool != nil {
		c.Pool.Close(ctx)
		c.declModule.Close(ctx)
	}
	for _, r := range c.Custom {
		r.Pool.Close(ctx)
	}
}

// UsesFilter reports whether a filter trigger names name.
func (c *Predicate) UsesFilter(name string) bool {
	for _, r := range c.Custom {
		if r.Trigger.Filter == name {
			return true
		}
	}
	return false
}

// Snapshot is the set of streams and filters at one moment. Session actors
// load the current snapshot per batch; writers publish a new one.
type Snapshot struct {
	Streams  []*Compiled
	Segments []*CompiledSegment
	byID     map[string]*Compiled
	filters  map[string]*LoadedFilter

	// The index, built on first use: with a thousand streams an event runs
	// only the predicates that can react to it.
	indexOnce       sync.Once
	streamsByType   map[string]*typeIndex
	streamsAnyType  []int32 // positions of the streams with filter triggers
	segmentsByType  map[string][]*CompiledSegment
	segmentsAnyType []*CompiledSegment // segments with a filter trigger that sees every type
}

// Lookup returns the stream with id, or nil.
func (s *Snapshot) Lookup(id string) *Compiled { return s.byID[id] }

// LoadedFilter is an uploaded filter, compiled.
type LoadedFilter struct {
	Meta *model.Filter
	// Module is nil for a stored module that did not load at start
	// (Meta.LoadError says why).
	Module *wasm.Module
}

// Faults counts a stream's predicate failures (trap, deadline, error).
type Faults struct {
	count     atomic.Int64
	mu        sync.Mutex
	lastError string
	lastAt    time.Time
	// loggedAt is when a fault was last logged; unlogged counts those
	// since that were not.
	loggedAt time.Time
	unlogged int64
}

// FaultLogEvery is how often a stream's faults are logged at most: the
// first, then one line per interval saying how many went unlogged. A
// filter that traps on every event logged a line per event: 19 MB of log
// for 100,000 events.
const FaultLogEvery = 10 * time.Second

// Record notes one failure, and reports whether to log it and how many
// faults before it were not.
func (f *Faults) Record(err error, at time.Time) (logIt bool, unlogged int64) {
	f.count.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastError, f.lastAt = err.Error(), at
	if !f.loggedAt.IsZero() && at.Sub(f.loggedAt) < FaultLogEvery {
		f.unlogged++
		return false, 0
	}
	unlogged, f.unlogged, f.loggedAt = f.unlogged, 0, at
	return true, unlogged
}

// FaultsView is the JSON form of Faults.
type FaultsView struct {
	Count     int64      `json:"count"`
	LastError string     `json:"last_error,omitempty"`
	LastAt    *time.Time `json:"last_at,omitempty"`
}

// View returns the current figures.
func (f *Faults) View() FaultsView {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := FaultsView{Count: f.count.Load(), LastError: f.lastError}
	if !f.lastAt.IsZero() {
		at := f.lastAt
		v.LastAt = &at
	}
	return v
}

// Config configures a Catalog.
type Config struct {
	MaxStreams int
	// MaxSegments bounds the segments (0: no bound).
	MaxSegments int
	// MaxFilters bounds the uploaded filters (0: no bound).
	MaxFilters int
	// Guard checks destination hosts.
	Guard netguard.Guard
	// FilterTimeout bounds one call into an uploaded filter.
	FilterTimeout time.Duration
	// FilterMemoryPages caps an uploaded filter instance's memory.
	FilterMemoryPages uint32
	// FilterMemoryTotal caps all uploaded filters' instances' memory
	// together, in bytes (0: no bound). Hookwire's own predicates are not
	// counted: a greedy upload cannot starve them.
	FilterMemoryTotal int64
}

// Catalog owns the streams and the uploaded filters. Reads (Snapshot) are
// lock-free and safe from any goroutine; writes are serialised.
type Catalog struct {
	cfg         Config
	store       *store.Store
	declarative *wasm.Runtime // generated modules: no deadline checks
	custom      *wasm.Runtime // uploaded modules: deadline, memory cap

	mu       sync.Mutex // serialises writers
	snapshot atomic.Pointer[Snapshot]
}

// FilterMemoryUsed is the linear memory uploaded filters' instances hold.
func (c *Catalog) FilterMemoryUsed() int64 { return c.custom.MemoryUsed() }

// Open loads and compiles every stored filter and stream.
func Open(ctx context.Context, cfg Config, st *store.Store) (c *Catalog, err error) {
	c = &Catalog{cfg: cfg, store: st}
	if c.declarative, err = wasm.NewRuntime(ctx, wasm.Config{}); err != nil {
		return nil, err
	}
	if c.custom, err = wasm.NewRuntime(ctx, wasm.Config{CallTimeout: cfg.FilterTimeout,
		MemoryLimitPages: cfg.FilterMemoryPages, MemoryBudget: cfg.FilterMemoryTotal}); err != nil {
		c.declarative.Close(ctx)
		return nil, err
	}
	// A failure below returns a nil catalogue, so the clean-up holds its
	// own runtimes.
	declarative, custom := c.declarative, c.custom
	defer func() {
		if err != nil {
			declarative.Close(ctx)
			custom.Close(ctx)
		}
	}()
	snap := &Snapshot{byID: map[string]*Compiled{}, filters: map[string]*LoadedFilter{}}
	// A stored module that no longer compiles (this version refuses what
	// an older one took, or the store is damaged) is kept without a
	// module, so that hookwire still starts: a bad filter harms only
	// itself, and the operator can upload it again or delete it.
	err = st.LoadFilters(func(f *model.Filter, binary []byte) error {
		mod, err := c.custom.Compile(ctx, binary)
		if err != nil {
			f.LoadError = fmt.Sprintf("the stored module does not load: %v; upload it again", err)
		}
		snap.filters[f.Name] = &LoadedFilter{Meta: f, Module: mod}
		return nil
	})
	if err != nil {
		return nil, err
	}
	stored, err := st.LoadStreams()
	if err != nil {
		return nil, err
	}
	for _, s := range stored {
		compiled, err := c.compile(ctx, s, nil, nil, snap.filters, false)
		if err != nil {
			return nil, fmt.Errorf("streams: stored stream %s no longer compiles: %w", s.ID, err)
		}
		snap.Streams = append(snap.Streams, compiled)
		snap.byID[s.ID] = compiled
	}
	segments, err := st.LoadSegments()
	if err != nil {
		return nil, err
	}
	for _, g := range segments {
		pred, err := c.predicate(ctx, g.Triggers, nil, snap.filters, false)
		if err != nil {
			return nil, fmt.Errorf("streams: stored segment %s no longer compiles: %w", g.ID, err)
		}
		snap.Segments = append(snap.Segments, &CompiledSegment{Segment: g, Predicate: pred, Faults: new(Faults)})
	}
	c.snapshot.Store(snap)
	return c, nil
}

// Close releases every compiled program and both runtimes.
func (c *Catalog) Close(ctx context.Context) {
	for _, s := range c.snapshot.Load().Streams {
		s.release(ctx)
	}
	for _, s := range c.snapshot.Load().Segments {
		s.release(ctx)
	}
	c.declarative.Close(ctx)
	c.custom.Close(ctx)
}

// Snapshot returns the current streams.
func (c *Catalog) Snapshot() *Snapshot { return c.snapshot.Load() }

// Evaluators is how many goroutines run predicates at once: the session
// workers, one per CPU (each owns a partition of the sessions, and more
// partitions only meant smaller batches and more wake-ups: 6 alternating
// pairs, 645k → 685k events/s with 2 instead of 4 on 2 CPUs). Each pool
// keeps that many instances idle, so that no call makes an instance only
// to throw it away after (16 µs and 92 KB each, for a generated module).
func Evaluators() int { return cpus }

// cpus is the CPUs the process may use: GOMAXPROCS as Go sets it, read
// before `hookwire serve` adds spare Ps (--extra-procs) for the goroutines
// that wait in blocking system calls. Evaluators follow the CPUs, not the
// Ps: more would only hold more instances.
var cpus = runtime.GOMAXPROCS(0)

func poolSize() int { return Evaluators() }

// compile builds a stream's runnable form from its triggers' program (nil:
// compiled here). With probe, each filter trigger is instantiated once
// with its config, so a config the filter refuses is a 400 now rather than
// a fault on every event later.
func (c *Catalog) compile(ctx context.Context, s *model.Stream, prog *filters.Program, faults *Faults,
	loaded map[string]*LoadedFilter, probe bool) (*Compiled, error) {
	pred, err := c.predicate(ctx, s.Triggers, prog, loaded, probe)
	if err != nil {
		return nil, err
	}
	if faults == nil {
		faults = new(Faults)
	}
	return &Compiled{Stream: s, Predicate: pred, Faults: faults}, nil
}

// predicate compiles triggers (validated, paths under "triggers").
// A program compiled already (validate's) is used as it is: the DFAs of a
// stream's patterns are most of a create's time.
func (c *Catalog) predicate(ctx context.Context, triggers []filters.Trigger, prog *filters.Program,
	loaded map[string]*LoadedFilter, probe bool) (*Predicate, error) {
	if prog == nil {
		var err error
		if prog, err = checkTriggers(triggers); err != nil {
			return nil, err
		}
	}
	out := &Predicate{Program: prog}
	for _, t := range prog.Custom {
		path := fmt.Sprintf("triggers[%d]", t.Index)
		lf := loaded[t.Filter]
		if lf == nil {
			out.release(ctx)
			return nil, invalid(path+".filter", "no filter named %q: upload it first with PUT /v1/filters/%s", t.Filter, t.Filter)
		}
		if lf.Module == nil {
			if probe { // a stream made or changed now: refused, not broken
				out.release(ctx)
				return nil, invalid(path+".filter", "filter %q: %s", t.Filter, lf.Meta.LoadError)
			}
			out.Custom = append(out.Custom, CustomRun{Trigger: t,
				Pool: wasm.NewUnloadablePool(fmt.Errorf("filter %q: %s", t.Filter, lf.Meta.LoadError))})
			continue
		}
		if probe {
			inst, err := lf.Module.Instantiate(ctx, t.Config)
			if err != nil {
				out.release(ctx)
				return nil, invalid(path+".config", "filter %q does not start with this config: %v", t.Filter, err)
			}
			inst.Close(ctx)
		}
		out.Custom = append(out.Custom, CustomRun{Trigger: t, Pool: wasm.NewPool(lf.Module, t.Config, poolSize())})
	}
	if prog.Wasm != nil {
		mod, err := c.declarative.Compile(ctx, prog.Wasm)
		if err != nil {
			out.release(ctx)
			return nil, fmt.Errorf("streams: generated module rejected: %w", err)
		}
		out.declModule, out.Pool = mod, wasm.NewPool(mod, nil, poolSize())
	}
	return out, nil
}

// publish stores s, then swaps it into a new snapshot (replacing the stream
// with the same id, or appending). The replaced version is released.
func (c *Catalog) publish(ctx context.Context, s *model.Stream, compiled *Compiled) error {
	if err := c.store.PutStream(s); err != nil {
		return err
	}
	old := c.snapshot.Load()
	next := old.with(compiled.Stream.ID, compiled)
	c.snapshot.Store(next)
	if prev := old.Lookup(s.ID); prev != nil && prev.Program != compiled.Program {
		prev.release(ctx)
	}
	return nil
}

// with returns a copy of the snapshot in which stream id is replaced by cs
// (appended if new, removed if cs is nil).
func (s *Snapshot) with(id string, cs *Compiled) *Snapshot {
	next := &Snapshot{byID: make(map[string]*Compiled, len(s.Streams)+1), filters: s.filters, Segments: s.Segments}
	replaced := false
	for _, old := range s.Streams {
		if old.Stream.ID == id {
			replaced = true
			if cs == nil {
				continue
			}
			old = cs
		}
		next.Streams = append(next.Streams, old)
		next.byID[old.Stream.ID] = old
	}
	if !replaced && cs != nil {
		next.Streams = append(next.Streams, cs)
		next.byID[id] = cs
	}
	return next
}

// withSegments is s with other segments (its index is built anew).
func (s *Snapshot) withSegments(segments []*CompiledSegment) *Snapshot {
	return &Snapshot{Streams: s.Streams, Segments: segments, byID: s.byID, filters: s.filters}
}

// nameTaken returns an error naming the stream that already uses name
// (compared case-insensitively), or nil.
func (c *Catalog) nameTaken(name, exceptID string) error {
	for _, cs := range c.snapshot.Load().Streams {
		if cs.Stream.ID != exceptID && strings.EqualFold(cs.Stream.Name, name) {
			return fmt.Errorf("%w: stream %s is already named %q", model.ErrNameTaken, cs.Stream.ID, cs.Stream.Name)
		}
	}
	return nil
}

// Create validates and stores a new stream. The returned secret is the
// generated one when the definition had none (shown to the client once).
func (c *Catalog) Create(ctx context.Context, d *Definition) (*Compiled, string, error) {
	s, prog, err := c.validate(ctx, d, nil)
	if err != nil {
		return nil, "", err
	}
	generated := ""
	if s.Destination.Secret == "" {
		generated = signing.NewSecret()
		s.Destination.Secret = generated
	}
	s.Destination.SecretSet = true
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapshot.Load()
	if n := len(snap.Streams); n >= c.cfg.MaxStreams {
		return nil, "", fmt.Errorf("%w: %d of %d streams exist; delete one or raise --max-streams", model.ErrStreamLimit, n, c.cfg.MaxStreams)
	}
	if err := c.nameTaken(s.Name, ""); err != nil {
		return nil, "", err
	}
	now := time.Now().UTC()
	s.ID, s.SignalVersion, s.CreatedAt, s.UpdatedAt = model.NewID("st_"), 1, now, now
	compiled, err := c.compile(ctx, s, prog, nil, snap.filters, true)
	if err != nil {
		return nil, "", err
	}
	if err := c.publish(ctx, s, compiled); err != nil {
		compiled.release(ctx)
		return nil, "", err
	}
	return compiled, generated, nil
}

// validate turns a definition into a stream (without identity) and its
// triggers' program, checking everything that does not depend on other
// streams. prev, for a replace, supplies the secret when the definition
// omits it.
func (c *Catalog) validate(ctx context.Context, d *Definition, prev *model.Stream) (*model.Stream, *filters.Program, error) {
	name, err := checkName(d.Name, streamNameUse)
	if err != nil {
		return nil, nil, err
	}
	if err := checkDescription(d.Description); err != nil {
		return nil, nil, err
	}
	prog, err := checkTriggers(d.Triggers)
	if err != nil {
		return nil, nil, err
	}
	if err := checkFields(d.Fields); err != nil {
		return nil, nil, err
	}
	if d.Destination == nil {
		return nil, nil, invalid("destination", "required: {\"url\": ..., \"secret\": ...}")
	}
	if err := checkURL(ctx, d.Destination.URL, c.cfg.Guard); err != nil {
		return nil, nil, err
	}
	secret := d.Destination.Secret
	if secret != "" {
		if err := checkSecret(secret); err != nil {
			return nil, nil, err
		}
	} else if prev != nil {
		secret = prev.Destination.Secret
	}
	enabled := true
	if d.Enabled != nil {
		enabled = *d.Enabled
	}
	return &model.Stream{
		Name: name, Description: d.Description, Enabled: enabled, Triggers: d.Triggers, Fields: d.Fields,
		Destination: model.Destination{URL: d.Destination.URL, Secret: secret},
	}, prog, nil
}

// Replace swaps a stream's definition (PUT), keeping its id, creation time
// and, if the definition has none, its secret; signal_version goes up.
func (c *Catalog) Replace(ctx context.Context, id string, d *Definition) (*Compiled, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapshot.Load()
	old := snap.Lookup(id)
	if old == nil {
		return nil, fmt.Errorf("%w: no stream %s", model.ErrNotFound, id)
	}
	s, prog, err := c.validate(ctx, d, old.Stream)
	if err != nil {
		return nil, err
	}
	if err := c.nameTaken(s.Name, id); err != nil {
		return nil, err
	}
	s.ID, s.CreatedAt, s.UpdatedAt = id, old.Stream.CreatedAt, time.Now().UTC()
	s.SignalVersion = old.Stream.SignalVersion + 1
	s.Destination.SecretSet = true
	compiled, err := c.compile(ctx, s, prog, old.Faults, snap.filters, true)
	if err != nil {
		return nil, err
	}
	if err := c.publish(ctx, s, compiled); err != nil {
		compiled.release(ctx)
		return nil, err
	}
	return compiled, nil
}

// Update applies a PATCH. Changing triggers bumps signal_version, as a
// replace does; enabling, renaming or moving the destination does not.
func (c *Catalog) Update(ctx context.Context, id string, p *Patch) (*Compiled, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapshot.Load()
	old := snap.Lookup(id)
	if old == nil {
		return nil, fmt.Errorf("%w: no stream %s", model.ErrNotFound, id)
	}
	s := *old.Stream
	s.Triggers = slices.Clone(s.Triggers)
	if p.Name != nil {
		name, err := checkName(*p.Name, streamNameUse)
		if err != nil {
			return nil, err
		}
		if err := c.nameTaken(name, id); err != nil {
			return nil, err
		}
		s.Name = name
	}
	if p.Description != nil {
		if err := checkDescription(*p.Description); err != nil {
			return nil, err
		}
		s.Description = *p.Description
	}
	if p.Fields != nil {
		if err := checkFields(p.Fields); err != nil {
			return nil, err
		}
		s.Fields = p.Fields
	}
	if p.Destination != nil {
		if p.Destination.URL != "" {
			if err := checkURL(ctx, p.Destination.URL, c.cfg.Guard); err != nil {
				return nil, err
			}
			s.Destination.URL = p.Destination.URL
		}
		if p.Destination.Secret != "" {
			if err := checkSecret(p.Destination.Secret); err != nil {
				return nil, err
			}
			s.Destination.Secret = p.Destination.Secret
		}
	}
	if p.Enabled != nil {
		s.Enabled = *p.Enabled
		if s.Enabled {
			s.DisabledReason = ""
		}
	}
	compiled := old.withStream(&s)
	if p.Triggers != nil {
		s.Triggers = p.Triggers
		s.SignalVersion++
		var err error
		if compiled, err = c.compile(ctx, &s, nil, old.Faults, snap.filters, true); err != nil {
			return nil, err
		}
	}
	s.UpdatedAt = time.Now().UTC()
	if err := c.publish(ctx, &s, compiled); err != nil {
		if compiled.Program != old.Program {
			compiled.release(ctx)
		}
		return nil, err
	}
	return compiled, nil
}

// withStream is the same compiled triggers under a changed definition
// (name, destination, enabled).
func (c *Compiled) withStream(s *model.Stream) *Compiled {
	out := *c
	out.Stream = s
	return &out
}

// Disable turns a stream off on hookwire's own initiative, saying why.
func (c *Catalog) Disable(ctx context.Context, id, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.snapshot.Load().Lookup(id)
	if old == nil {
		return fmt.Errorf("%w: no stream %s", model.ErrNotFound, id)
	}
	if !old.Stream.Enabled {
		return nil
	}
	s := *old.Stream
	s.Enabled, s.DisabledReason, s.UpdatedAt = false, reason, time.Now().UTC()
	return c.publish(ctx, &s, old.withStream(&s))
}

// Delete removes a stream. Messages already created keep being delivered.
func (c *Catalog) Delete(ctx context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.snapshot.Load()
	gone := old.Lookup(id)
	if gone == nil {
		return fmt.Errorf("%w: no stream %s", model.ErrNotFound, id)
	}
	if err := c.store.DeleteStream(id); err != nil {
		return err
	}
	c.snapshot.Store(old.with(id, nil))
	gone.release(ctx)
	return nil
}
