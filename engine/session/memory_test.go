package session

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
	"github.com/hookwire/hookwire/filters"
)

// BenchmarkIdleSessionMemory measures what a live session costs while it
// waits for its next event: b.N sessions each get one event (the harness's
// ~300-byte event, evaluated against 10 streams that do not match), then the
// heap is measured after a collection. Reported as bytes/session.
func BenchmarkIdleSessionMemory(b *testing.B) {
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cat, err := streams.Open(ctx, streams.Config{MaxStreams: 10, Guard: netguard.Guard{AllowPrivate: true}}, st)
	if err != nil {
		b.Fatal(err)
	}
	defer cat.Close(context.Background())
	for i := range 10 {
		if _, _, err := cat.Create(ctx, &streams.Definition{Name: fmt.Sprintf("s%d", i),
			Triggers: []filters.Trigger{
				{Event: "custom", Where: []filters.Condition{{Field: "name", Op: "eq", Value: json.RawMessage(`"never"`)}}},
				{Event: "click", Where: []filters.Condition{{Field: "properties.target_text", Op: "eq", Value: json.RawMessage(`"never"`)}}},
			},
			Destination: &model.Destination{URL: "http://127.0.0.1:9/hook"}}); err != nil {
			b.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New(metrics.Gauges{LiveSessions: func() float64 { return 0 }, EventsInFlight: func() float64 { return 0 },
		EventsInFlightBytes: func() float64 { return 0 },
		StoreBytes:          func() (float64, float64) { return 0, 0 }})
	var group, commitGroup actors.Group
	commitCtx, stopCommitter := context.WithCancel(context.Background())
	committer := NewCommitter(commitCtx, &commitGroup, st, time.Hour, discard{}, discard{}, m, logger)
	reg := NewRegistry(ctx, &group, &Deps{Config: Config{Idle: time.Hour, Max: 24 * time.Hour, Retention: time.Hour},
		Catalog: cat, Store: st, Committer: committer, Metrics: m, Logger: logger})

	var evaluated sync.WaitGroup
	send := func(id string) {
		evaluated.Add(1)
		reg.Send(id, Message{Event: &model.Event{SessionID: id, Type: "click", Timestamp: time.Now().UTC(),
			URL:        "https://shop.example/products/42?ref=campaign-autumn&utm_source=newsletter",
			Properties: json.RawMessage(`{"target_text":"Add to cart","price":19.99,"sku":"SKU-42","position":1}`),
			User:       &model.User{UID: "user-" + id, Email: "user" + id + "@example.com"}}, Done: done{&evaluated}})
	}
	send("warm-up")
	evaluated.Wait()
	heapNow := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heapNow()
	b.ResetTimer()
	for i := range b.N {
		send(fmt.Sprintf("bench-%d", i))
	}
	evaluated.Wait()
	b.StopTimer()
	after := heapNow()
	if reg.Len() != b.N+1 {
		b.Fatalf("%d live sessions, want %d", reg.Len(), b.N+1)
	}
	b.ReportMetric(float64(after-before)/float64(b.N), "bytes/session")
	cancel()
	group.Wait()
	stopCommitter()
	commitGroup.Wait()
}

type discard struct{}

func (discard) Enqueue(*model.Delivery)           {}
func (discard) Matched(string, string, time.Time) {}

type done struct{ wg *sync.WaitGroup }

func (d done) Done()    { d.wg.Done() }
func (d done) Abandon() { panic("an event of the benchmark was abandoned") }

// TestMergeUserKeepsCopies: a session keeps its own copies of what an
// event says about its user (the event's strings share one allocation with
// the rest of the event, which the session must not hold alive), in one
// allocation, copies nothing when nothing changed, and reports a changed
// uid.
func TestMergeUserKeepsCopies(t *testing.T) {
	batch := `u-1ann@example.comAnn{"plan":"pro"}`
	event := &model.User{UID: batch[:3], Email: batch[3:18], DisplayName: batch[18:21], Properties: []byte(batch[21:])}
	var kept model.User
	if !mergeUser(&kept, event) {
		t.Fatal("a first uid is not reported as a change")
	}
	if kept.UID != "u-1" || kept.Email != "ann@example.com" || kept.DisplayName != "Ann" || string(kept.Properties) != `{"plan":"pro"}` {
		t.Fatalf("merged %+v", kept)
	}
	for name, pair := range map[string][2]string{"uid": {kept.UID, event.UID}, "email": {kept.Email, event.Email},
		"display_name": {kept.DisplayName, event.DisplayName}} {
		if unsafe.StringData(pair[0]) == unsafe.StringData(pair[1]) {
			t.Errorf("the session's %s shares the event's bytes", name)
		}
	}
	if &kept.Properties[0] == &event.Properties[0] {
		t.Error("the session's user properties share the event's bytes")
	}
	sharesOneAllocation := func(u model.User) bool {
		after := func(s string) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), len(s)) }
		return unsafe.Pointer(unsafe.StringData(u.Email)) == after(u.UID) &&
			unsafe.Pointer(unsafe.StringData(u.DisplayName)) == after(u.Email)
	}
	if !sharesOneAllocation(kept) {
		t.Fatalf("the session's user strings are not one allocation: %+v", kept)
	}
	uid := unsafe.StringData(kept.UID)
	if mergeUser(&kept, &model.User{UID: "u-1", Email: "ann@example.com"}) || unsafe.StringData(kept.UID) != uid {
		t.Fatal("an unchanged user is reported as a change or copied again")
	}
	if mergeUser(&kept, &model.User{UID: "u-1", Email: "new@example.com"}) {
		t.Fatal("the same uid is reported as a change")
	}
	if kept.UID != "u-1" || kept.Email != "new@example.com" || kept.DisplayName != "Ann" || !sharesOneAllocation(kept) {
		t.Fatalf("a change is lost or spread over allocations: %+v", kept)
	}
}

// TestMergeUserCopiesALoneField: a user with only one of its strings set
// (the common uid-only event) is copied too. Go's concatenation returns a
// lone non-empty operand as it is, so joining the fields kept the event's
// own bytes: memory lent to the batch and reused for the next one, which
// then rewrote the session's uid (a race the detector found in CI).
func TestMergeUserCopiesALoneField(t *testing.T) {
	for _, field := range []string{"uid", "email", "display_name"} {
		lent := []byte("lent-bytes")
		value := unsafe.String(&lent[0], len(lent))
		event := &model.User{}
		switch field {
		case "uid":
			event.UID = value
		case "email":
			event.Email = value
		case "display_name":
			event.DisplayName = value
		}
		var kept model.User
		mergeUser(&kept, event)
		copy(lent, "next-batch") // the memory lent to the next batch
		if got := kept.UID + kept.Email + kept.DisplayName; got != "lent-bytes" {
			t.Errorf("a user with only its %s set: the session kept %q after the batch's memory was reused, want %q",
				field, got, "lent-bytes")
		}
	}
}

// TestObserveMergesEveryChangeOfUser: over a session's events the user it
// keeps takes every change, including a return to an earlier user's
// fields (what an event leaves out stays), and its uid is noted.
func TestObserveMergesEveryChangeOfUser(t *testing.T) {
	users := &Users{}
	a := &actor{deps: &Deps{Users: users}, id: "s-1", session: &model.Session{ID: "s-1"}}
	ann := model.User{UID: "u-1", Email: "ann@example.com"}
	bob := model.User{UID: "u-2", Email: "bob@example.com", DisplayName: "Bob"}
	steps := []struct {
		user model.User
		want model.User
	}{
		{ann, ann},
		{ann, ann},
		{bob, bob},
		{ann, model.User{UID: "u-1", Email: "ann@example.com", DisplayName: "Bob"}}, // Ann says nothing of the name
		{model.User{UID: "u-1", Email: "ann@example.org"}, model.User{UID: "u-1", Email: "ann@example.org", DisplayName: "Bob"}},
		{model.User{UID: "u-1", Email: "ann@example.org", Properties: []byte(`{"plan":"pro"}`)},
			model.User{UID: "u-1", Email: "ann@example.org", DisplayName: "Bob", Properties: []byte(`{"plan":"pro"}`)}},
	}
	for i, step := range steps {
		u := step.user
		a.observe(&model.Event{SessionID: "s-1", Type: "click", Timestamp: time.Now(), User: &u})
		got := *a.session.User
		if got.UID != step.want.UID || got.Email != step.want.Email || got.DisplayName != step.want.DisplayName ||
			string(got.Properties) != string(step.want.Properties) {
			t.Fatalf("step %d: session user %+v, want %+v", i, got, step.want)
		}
		if latest := users.Resolve(step.want.UID, func(string) bool { return true }); latest != "s-1" {
			t.Fatalf("step %d: uid %s resolves to %q, want the session", i, step.want.UID, latest)
		}
	}
	if a.session.Events != int64(len(steps)) {
		t.Fatalf("%d events counted, want %d", a.session.Events, len(steps))
	}
}
