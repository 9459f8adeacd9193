package session

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/streams"
	"github.com/hookwire/hookwire/filters"
)

// fired records the streams of the messages the committer enqueues.
type fired struct {
	mu      sync.Mutex
	streams map[string][]string // session → stream names
	names   map[string]string   // stream id → name
}

func (f *fired) Enqueue(d *model.Delivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.streams[d.SessionID] = append(f.streams[d.SessionID], f.names[d.StreamID])
}

func (f *fired) of(session string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.streams[session])
	sort.Strings(out)
	return out
}

// TestOfferedStreamsHoldOnlyForTheirSnapshot: the streams ingest notes on
// an event (OfferStreams) are what its session evaluates while the catalog
// is unchanged; once a stream is added, the session looks the event up
// again, so the new stream fires too.
func TestOfferedStreamsHoldOnlyForTheirSnapshot(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	cat := openCatalog(t, st)
	out := &fired{streams: map[string][]string{}, names: map[string]string{}}
	create := func(name string) {
		s, _, err := cat.Create(ctx, &streams.Definition{Name: name, Triggers: []filters.Trigger{{Event: "click",
			Where: []filters.Condition{{Field: "properties.target_text", Op: "eq", Value: json.RawMessage(`"Buy"`)}}}},
			Destination: &model.Destination{URL: "http://127.0.0.1:9/hook"}})
		if err != nil {
			t.Fatal(err)
		}
		out.names[s.Stream.ID] = name
	}
	m := testMetrics()
	commitCtx, stopCommitter := context.WithCancel(ctx)
	var commitGroup, group actors.Group
	committer := NewCommitter(commitCtx, &commitGroup, st, time.Hour, out, discard{}, m, quietLogger)
	regCtx, stopSessions := context.WithCancel(ctx)
	reg := NewRegistry(regCtx, &group, &Deps{Config: Config{Idle: time.Hour, Max: 24 * time.Hour, Retention: time.Hour},
		Catalog: cat, Store: st, Committer: committer, Metrics: m, Logger: quietLogger})
	defer func() { stopSessions(); group.Wait(); stopCommitter(); commitGroup.Wait() }()

	click := func(session string) model.Event {
		return model.Event{SessionID: session, Type: "click", Timestamp: time.Now().UTC(),
			Properties: json.RawMessage(`{"target_text":"Buy"}`)}
	}
	evaluate := func(e *model.Event) {
		t.Helper()
		o := make(outcome, 1)
		if err := reg.Send(e.SessionID, Message{Event: e, Done: o}); err != nil {
			t.Fatal(err)
		}
		if got := o.wait(t); got != "done" {
			t.Fatalf("%s: %s", e.SessionID, got)
		}
	}

	create("first")
	offer := OfferStreams(cat)
	batch := []model.Event{click("s-offered"), click("s-unchanged"), {SessionID: "s-other", Type: "navigate"}}
	offer(batch)
	if batch[0].OfferedBy != any(cat.Snapshot()) || !slices.Equal(batch[0].Offered, []int32{0}) || len(batch[2].Offered) != 0 {
		t.Fatalf("offered %v, %v, %v by the current snapshot: %v; want [0], [0], []",
			batch[0].Offered, batch[1].Offered, batch[2].Offered, batch[0].OfferedBy == any(cat.Snapshot()))
	}
	// While the catalog is unchanged, the session takes the list as it is:
	// one emptied here is evaluated against no stream.
	batch[1].Offered = nil
	evaluate(&batch[1])
	if got := out.of("s-unchanged"); len(got) != 0 {
		t.Fatalf("an event offered no stream fired %v", got)
	}
	// A stream added after the lookup: the session looks again.
	create("second")
	evaluate(&batch[0])
	if got := out.of("s-offered"); !slices.Equal(got, []string{"first", "second"}) {
		t.Fatalf("fired %v, want [first second]: a stream added after ingest's lookup must be offered too", got)
	}
}
