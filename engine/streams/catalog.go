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
	"github.com/hookwire/hookwire/engine/signing"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/filters"
	"github.com/hookwire/hookwire/wasm"
)

// Compiled is a stream with its ready-to-run predicate. It is immutable
// once published, except for Faults.
type Compiled struct {
	Stream  *model.Stream
	Program *filters.Program
	Pool    *wasm.Pool
	Faults  *Faults
}

// Snapshot is the set of streams at one moment. Session actors load the
// current snapshot per batch; writers publish a new one.
type Snapshot struct {
	Streams []*Compiled
	byID    map[string]*Compiled
}

// Lookup returns the stream with id, or nil.
func (s *Snapshot) Lookup(id string) *Compiled { return s.byID[id] }

// Faults counts a stream's predicate failures (trap, deadline, error).
type Faults struct {
	count     atomic.Int64
	mu        sync.Mutex
	lastError string
	lastAt    time.Time
}

// Record notes one failure.
func (f *Faults) Record(err error, at time.Time) {
	f.count.Add(1)
	f.mu.Lock()
	f.lastError, f.lastAt = err.Error(), at
	f.mu.Unlock()
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
	MaxStreams   int
	AllowPrivate bool
}

// Catalog owns the streams. Reads (Snapshot, Get, List) are lock-free and
// safe from any goroutine; writes are serialised.
type Catalog struct {
	cfg     Config
	store   *store.Store
	runtime *wasm.Runtime

	mu       sync.Mutex // serialises writers
	snapshot atomic.Pointer[Snapshot]
}

// Open loads and compiles every stored stream.
func Open(ctx context.Context, cfg Config, st *store.Store, rt *wasm.Runtime) (*Catalog, error) {
	c := &Catalog{cfg: cfg, store: st, runtime: rt}
	stored, err := st.LoadStreams()
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{byID: map[string]*Compiled{}}
	for _, s := range stored {
		compiled, err := c.compile(ctx, s, nil)
		if err != nil {
			return nil, fmt.Errorf("streams: stored stream %s no longer compiles: %w", s.ID, err)
		}
		snap.Streams = append(snap.Streams, compiled)
		snap.byID[s.ID] = compiled
	}
	c.snapshot.Store(snap)
	return c, nil
}

// Close releases every compiled program.
func (c *Catalog) Close(ctx context.Context) {
	for _, s := range c.snapshot.Load().Streams {
		s.Pool.Close(ctx)
	}
}

// Snapshot returns the current streams.
func (c *Catalog) Snapshot() *Snapshot { return c.snapshot.Load() }

func (c *Catalog) compile(ctx context.Context, s *model.Stream, faults *Faults) (*Compiled, error) {
	prog, err := checkTriggers(s.Triggers)
	if err != nil {
		return nil, err
	}
	mod, err := c.runtime.Compile(ctx, prog.Wasm)
	if err != nil {
		return nil, fmt.Errorf("streams: generated module rejected: %w", err)
	}
	if faults == nil {
		faults = new(Faults)
	}
	return &Compiled{Stream: s, Program: prog, Pool: wasm.NewPool(mod, 2*runtime.GOMAXPROCS(0)), Faults: faults}, nil
}

// publish stores s, then swaps it into a new snapshot (replacing the stream
// with the same id, or appending). The old program is released.
func (c *Catalog) publish(ctx context.Context, s *model.Stream, compiled *Compiled) error {
	if err := c.store.PutStream(s); err != nil {
		return err
	}
	old := c.snapshot.Load()
	next := &Snapshot{byID: make(map[string]*Compiled, len(old.Streams)+1)}
	replaced := false
	for _, cs := range old.Streams {
		if cs.Stream.ID == s.ID {
			if cs.Pool != compiled.Pool {
				defer cs.Pool.Close(ctx)
			}
			cs, replaced = compiled, true
		}
		next.Streams = append(next.Streams, cs)
		next.byID[cs.Stream.ID] = cs
	}
	if !replaced {
		next.Streams = append(next.Streams, compiled)
		next.byID[s.ID] = compiled
	}
	c.snapshot.Store(next)
	return nil
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
	s, err := c.validate(ctx, d, nil)
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
	if n := len(c.snapshot.Load().Streams); n >= c.cfg.MaxStreams {
		return nil, "", fmt.Errorf("%w: %d of %d streams exist; delete one or raise --max-streams", model.ErrStreamLimit, n, c.cfg.MaxStreams)
	}
	if err := c.nameTaken(s.Name, ""); err != nil {
		return nil, "", err
	}
	now := time.Now().UTC()
	s.ID, s.SignalVersion, s.CreatedAt, s.UpdatedAt = model.NewID("st_"), 1, now, now
	compiled, err := c.compile(ctx, s, nil)
	if err != nil {
		return nil, "", err
	}
	if err := c.publish(ctx, s, compiled); err != nil {
		compiled.Pool.Close(ctx)
		return nil, "", err
	}
	return compiled, generated, nil
}

// validate turns a definition into a stream (without identity), checking
// everything that does not depend on other streams. prev, for a replace,
// supplies the secret when the definition omits it.
func (c *Catalog) validate(ctx context.Context, d *Definition, prev *model.Stream) (*model.Stream, error) {
	name, err := checkName(d.Name)
	if err != nil {
		return nil, err
	}
	if err := checkDescription(d.Description); err != nil {
		return nil, err
	}
	if _, err := checkTriggers(d.Triggers); err != nil {
		return nil, err
	}
	if err := checkFields(d.Fields); err != nil {
		return nil, err
	}
	if d.Destination == nil {
		return nil, invalid("destination", "required: {\"url\": ..., \"secret\": ...}")
	}
	if err := checkURL(ctx, d.Destination.URL, c.cfg.AllowPrivate); err != nil {
		return nil, err
	}
	secret := d.Destination.Secret
	if secret != "" {
		if err := checkSecret(secret); err != nil {
			return nil, err
		}
	} else if prev != nil {
		secret = prev.Destination.Secret
	}
	enabled := true
	if d.Enabled != nil {
		enabled = *d.Enabled
	}
	return &model.Stream{
		Name: name, Description: d.Description, Enabled: enabled, Triggers: d.Triggers,
		Destination: model.Destination{URL: d.Destination.URL, Secret: secret},
	}, nil
}

// Replace swaps a stream's definition (PUT), keeping its id, creation time
// and, if the definition has none, its secret; signal_version goes up.
func (c *Catalog) Replace(ctx context.Context, id string, d *Definition) (*Compiled, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.snapshot.Load().Lookup(id)
	if old == nil {
		return nil, fmt.Errorf("%w: no stream %s", model.ErrNotFound, id)
	}
	s, err := c.validate(ctx, d, old.Stream)
	if err != nil {
		return nil, err
	}
	if err := c.nameTaken(s.Name, id); err != nil {
		return nil, err
	}
	s.ID, s.CreatedAt, s.UpdatedAt = id, old.Stream.CreatedAt, time.Now().UTC()
	s.SignalVersion = old.Stream.SignalVersion + 1
	s.Destination.SecretSet = true
	compiled, err := c.compile(ctx, s, old.Faults)
	if err != nil {
		return nil, err
	}
	if err := c.publish(ctx, s, compiled); err != nil {
		compiled.Pool.Close(ctx)
		return nil, err
	}
	return compiled, nil
}

// Update applies a PATCH. Changing triggers bumps signal_version, as a
// replace does; enabling, renaming or moving the destination does not.
func (c *Catalog) Update(ctx context.Context, id string, p *Patch) (*Compiled, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.snapshot.Load().Lookup(id)
	if old == nil {
		return nil, fmt.Errorf("%w: no stream %s", model.ErrNotFound, id)
	}
	s := *old.Stream
	s.Triggers = slices.Clone(s.Triggers)
	if p.Name != nil {
		name, err := checkName(*p.Name)
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
	if err := checkFields(p.Fields); err != nil {
		return nil, err
	}
	if p.Destination != nil {
		if p.Destination.URL != "" {
			if err := checkURL(ctx, p.Destination.URL, c.cfg.AllowPrivate); err != nil {
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
	compiled := &Compiled{Stream: &s, Program: old.Program, Pool: old.Pool, Faults: old.Faults}
	if p.Triggers != nil {
		s.Triggers = p.Triggers
		s.SignalVersion++
		var err error
		if compiled, err = c.compile(ctx, &s, old.Faults); err != nil {
			return nil, err
		}
	}
	s.UpdatedAt = time.Now().UTC()
	if err := c.publish(ctx, &s, compiled); err != nil {
		if compiled.Pool != old.Pool {
			compiled.Pool.Close(ctx)
		}
		return nil, err
	}
	return compiled, nil
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
	return c.publish(ctx, &s, &Compiled{Stream: &s, Program: old.Program, Pool: old.Pool, Faults: old.Faults})
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
	next := &Snapshot{byID: make(map[string]*Compiled, len(old.Streams))}
	for _, cs := range old.Streams {
		if cs.Stream.ID != id {
			next.Streams = append(next.Streams, cs)
			next.byID[cs.Stream.ID] = cs
		}
	}
	c.snapshot.Store(next)
	gone.Pool.Close(ctx)
	return nil
}
