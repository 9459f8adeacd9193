package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/filters"
)

// openCatalog opens a catalog of up to maxStreams over a fresh store, both
// closed when the test ends.
func openCatalog(t testing.TB, maxStreams int) *Catalog {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := Open(context.Background(), Config{MaxStreams: maxStreams, Guard: netguard.Guard{AllowPrivate: true}}, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close(context.Background()) })
	return cat
}

// TestCandidatesIndexStreams: an event reaches, in catalog order, exactly
// the streams whose triggers can react to it: by type, and by the string a
// field holds for triggers with eq or in.
func TestCandidatesIndexStreams(t *testing.T) {
	ctx := context.Background()
	cat := openCatalog(t, 10)
	eq := func(field, value string) []filters.Condition {
		return []filters.Condition{{Field: field, Op: "eq", Value: []byte(value)}}
	}
	order := []string{"clicks", "sequence", "changes", "buy", "pages"}
	defs := map[string][]filters.Trigger{
		"clicks":   {{Event: "click"}},
		"sequence": {{Within: "1m", Sequence: []filters.Step{{Event: "navigate"}, {Event: "click"}}}},
		"changes":  {{Event: "change"}, {Event: "custom", Where: eq("name", `"x"`)}},
		"buy":      {{Event: "click", Where: eq("properties.target", `"Buy"`)}, {Event: "custom", Where: eq("name", `"buy"`)}},
		"pages":    {{Event: "navigate", Where: []filters.Condition{{Field: "url", Op: "in", Value: []byte(`["/a","/b"]`)}}}},
	}
	ids := map[string]string{}
	for _, name := range order {
		cs, _, err := cat.Create(ctx, &Definition{Name: name, Triggers: defs[name],
			Destination: &model.Destination{URL: "http://127.0.0.1:9/hook"}})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		ids[cs.Stream.ID] = name
	}
	snap := cat.Snapshot()
	names := func(positions []int32) string {
		var out []string
		for _, p := range positions {
			out = append(out, ids[snap.Streams[p].Stream.ID])
		}
		return fmt.Sprint(out)
	}
	var buf CandidateBuffer
	for _, tc := range []struct {
		typ    string
		fields map[string]string
		want   string
	}{
		{"click", nil, "[clicks sequence]"},
		{"click", map[string]string{"properties.target": "Buy"}, "[clicks sequence buy]"},
		{"click", map[string]string{"properties.target": "Help"}, "[clicks sequence]"},
		{"navigate", map[string]string{"url": "/b"}, "[sequence pages]"},
		{"navigate", map[string]string{"url": "/c"}, "[sequence]"},
		{"change", nil, "[changes]"},
		{"custom", map[string]string{"name": "x"}, "[changes]"},
		{"custom", map[string]string{"name": "buy"}, "[buy]"},
		{"custom", map[string]string{"name": "other"}, "[]"},
		{"scroll", nil, "[]"},
	} {
		value := func(f filters.Field) filters.Value {
			if v, ok := tc.fields[f.Text]; ok {
				return filters.Value{Kind: filters.KindString, Str: v}
			}
			return filters.Value{}
		}
		if got := names(snap.Candidates(tc.typ, value, &buf)); got != tc.want {
			t.Errorf("Candidates(%s, %v) = %s, want %s", tc.typ, tc.fields, got, tc.want)
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
	if got := cat.Snapshot().Candidates("navigate", func(filters.Field) filters.Value { return filters.Value{Kind: filters.KindString, Str: "/a"} }, &buf); names(got) != "[sequence pages]" {
		t.Fatalf("streams after a segment change: %s", names(got))
	}
	if err := cat.DeleteSegment(ctx, seg.Segment.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := cat.Snapshot().SegmentsFor("click"); len(got) != 0 {
		t.Fatalf("SegmentsFor(click) after DeleteSegment = %v", got)
	}
}

// TestFaultsAreLoggedAtIntervals: every fault is counted and kept as the
// last, but only the first is logged, then one per FaultLogEvery saying
// how many were not.
func TestFaultsAreLoggedAtIntervals(t *testing.T) {
	var f Faults
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	type verdict struct {
		logIt    bool
		unlogged int64
	}
	var got []verdict
	for _, after := range []time.Duration{0, time.Second, 2 * time.Second, FaultLogEvery, FaultLogEvery + time.Second, 2*FaultLogEvery + time.Second} {
		logIt, unlogged := f.Record(errors.New("trap"), at.Add(after))
		got = append(got, verdict{logIt, unlogged})
	}
	want := []verdict{{true, 0}, {false, 0}, {false, 0}, {true, 2}, {false, 0}, {true, 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("verdicts %v, want %v", got, want)
	}
	if v := f.View(); v.Count != 6 || v.LastError != "trap" || !v.LastAt.Equal(at.Add(2*FaultLogEvery+time.Second)) {
		t.Fatalf("faults %+v: every one counted, the last kept", v)
	}
}

// storeWithFilterStream opens a store, closed when the test ends, holding
// stream st_1, whose one trigger is the filter named filter.
func storeWithFilterStream(t *testing.T, filter string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stream := &model.Stream{ID: "st_1", Name: "uses " + filter, Enabled: true, Triggers: []filters.Trigger{{Filter: filter}},
		Destination: model.Destination{URL: "http://127.0.0.1:9/"}}
	if err := st.PutStream(stream); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestOpenKeepsAStoredFilterThatNoLongerCompiles: a stored module that
// does not compile (a store damaged, or written by a version that took
// what this one refuses) does not stop the catalogue from opening: the
// filter says why, and the stored stream using it fails each call with
// that reason.
func TestOpenKeepsAStoredFilterThatNoLongerCompiles(t *testing.T) {
	st := storeWithFilterStream(t, "broken")
	if err := st.PutFilter(&model.Filter{Name: "broken"}, []byte("\x00asm\x01\x00\x00\x00garbage")); err != nil {
		t.Fatal(err)
	}
	cat, err := Open(context.Background(), Config{MaxStreams: 10}, st)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer cat.Close(context.Background())
	if fs := cat.Filters(); len(fs) != 1 || !strings.Contains(fs[0].LoadError, "does not load") {
		t.Fatalf("filters: %+v, want broken saying it does not load", fs)
	}
	cs := cat.Snapshot().Lookup("st_1")
	if cs == nil || len(cs.Custom) != 1 {
		t.Fatalf("the stored stream: %+v, want it loaded with its filter trigger", cs)
	}
	if _, err := cs.Custom[0].Pool.Match(context.Background(), []byte(`{}`), nil); err == nil || !strings.Contains(err.Error(), "does not load") {
		t.Fatalf("a call: %v, want the reason the filter did not load", err)
	}
}

// TestOpenRefusesAStoredStreamThatNoLongerCompiles: a stored stream whose
// filter is gone fails the open with an error naming the stream; the
// clean-up used to crash on the nil catalogue instead.
func TestOpenRefusesAStoredStreamThatNoLongerCompiles(t *testing.T) {
	st := storeWithFilterStream(t, "gone")
	cat, err := Open(context.Background(), Config{MaxStreams: 10}, st)
	if err == nil || cat != nil || !strings.Contains(err.Error(), "stored stream st_1 no longer compiles") {
		t.Fatalf("Open: %v, %v; want no catalogue and an error naming the stream", cat, err)
	}
}
