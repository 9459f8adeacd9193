package streams

import (
	"context"
	"fmt"
	"testing"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/filters"
)

// TestStreamsForIndexesByEventType: an event reaches, in catalog order,
// exactly the streams whose triggers name its type.
func TestStreamsForIndexesByEventType(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	cat, err := Open(ctx, Config{MaxStreams: 10, Guard: netguard.Guard{AllowPrivate: true}}, st)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close(ctx)
	defs := map[string][]filters.Trigger{
		"clicks":   {{Event: "click"}},
		"sequence": {{Within: "1m", Sequence: []filters.Step{{Event: "navigate"}, {Event: "click"}}}},
		"changes":  {{Event: "change"}, {Event: "custom", Where: []filters.Condition{{Field: "name", Op: "eq", Value: []byte(`"x"`)}}}},
	}
	ids := map[string]string{}
	for _, name := range []string{"clicks", "sequence", "changes"} {
		cs, _, err := cat.Create(ctx, &Definition{Name: name, Triggers: defs[name],
			Destination: &model.Destination{URL: "http://127.0.0.1:9/hook"}})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		ids[cs.Stream.ID] = name
	}
	names := func(list []*Compiled) string {
		var out []string
		for _, cs := range list {
			out = append(out, ids[cs.Stream.ID])
		}
		return fmt.Sprint(out)
	}
	snap := cat.Snapshot()
	for typ, want := range map[string]string{
		"click":    "[clicks sequence]",
		"navigate": "[sequence]",
		"change":   "[changes]",
		"custom":   "[changes]",
		"scroll":   "[]",
	} {
		if got := names(snap.StreamsFor(typ)); got != want {
			t.Errorf("StreamsFor(%q) = %s, want %s", typ, got, want)
		}
	}
	// A segment made after the index was built is found; one deleted is not.
	seg, err := cat.CreateSegment(ctx, &SegmentDefinition{Name: "buyers", Creator: "test",
		Triggers: []filters.Trigger{{Event: "click"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.Snapshot().SegmentsFor("click"); len(got) != 1 || got[0] != seg {
		t.Fatalf("SegmentsFor(click) after CreateSegment = %v", got)
	}
	if got := cat.Snapshot().StreamsFor("navigate"); names(got) != "[sequence]" {
		t.Fatalf("streams after a segment change: %s", names(got))
	}
	if err := cat.DeleteSegment(ctx, seg.Segment.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := cat.Snapshot().SegmentsFor("click"); len(got) != 0 {
		t.Fatalf("SegmentsFor(click) after DeleteSegment = %v", got)
	}
}
