package store

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

// TestBlockedBloomFalsePositives: every key added is reported, and keys
// never added are taken for added rarely enough that the filter spares
// nearly every lookup.
func TestBlockedBloomFalsePositives(t *testing.T) {
	const n = 200_000
	b := newBlockedBloom(n)
	rng := rand.New(rand.NewPCG(1, 2))
	added := make([]uint64, n)
	for i := range added {
		added[i] = rng.Uint64()
		b.add(added[i])
	}
	for _, h := range added {
		if !b.mayContain(h) {
			t.Fatalf("%x was added and is not reported", h)
		}
	}
	hits := 0
	const tries = 1_000_000
	for range tries {
		if b.mayContain(rng.Uint64()) {
			hits++
		}
	}
	rate := float64(hits) / tries
	t.Logf("false positives at capacity: %.3f %%", 100*rate)
	if rate > 0.005 {
		t.Fatalf("false positive rate %.3f %% at capacity, want under 0.5 %%", 100*rate)
	}
}

// TestIDFilterCoversTheIDsRemembered: once built, the filter spares the
// lookup of an id never accepted, and never of one accepted, whether it
// was remembered before this open (and its log record trimmed) or after.
func TestIDFilterCoversTheIDsRemembered(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Sync: true})
	before := &AppendRequest{Events: []model.Event{ev("s", "before")}}
	if err := appendEvents(s, []*AppendRequest{before}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.TrimEvents([]uint64{before.Seq}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, dir, Options{Sync: true})
	<-s.ids.built
	if s.ids.certainlyAbsent(key(prefixEvID, "s", "before")) {
		t.Fatal("an id remembered before the open was taken for new")
	}
	after := &AppendRequest{Events: []model.Event{ev("s", "after")}}
	if !s.ids.certainlyAbsent(key(prefixEvID, "s", "after")) {
		t.Fatal("the built filter sends an id never seen to Badger")
	}
	if err := appendEvents(s, []*AppendRequest{after}, time.Hour); err != nil {
		t.Fatal(err)
	}
	again := &AppendRequest{Events: []model.Event{ev("s", "before"), ev("s", "after"), ev("s", "new")}}
	if err := appendEvents(s, []*AppendRequest{again}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate[0] || !again.Duplicate[1] || again.Duplicate[2] {
		t.Fatalf("duplicates %v, want [true true false]", again.Duplicate)
	}
}

// TestIDFilterOverBudgetIsBlindUntilItsIDsExpire: a filter over its
// budget drops what it holds and sends lookups to Badger until the last id
// it dropped has expired, then answers again, ids added since included;
// one whose budget holds no filter at all never answers.
func TestIDFilterOverBudgetIsBlindUntilItsIDsExpire(t *testing.T) {
	clock := time.Now().Unix()
	f := newIDFilter(firstFilterKeys * bloomBitsPerKey / 8) // room for one filter
	f.now = func() int64 { return clock }
	f.complete = true
	keys := make([][]byte, firstFilterKeys+1)
	for i := range keys {
		keys[i] = key(prefixEvID, "s", strconv.Itoa(i))
	}
	expires := clock + 3600
	f.add(keys[:1], expires)
	if !f.certainlyAbsent([]byte("evid/never")) {
		t.Fatal("a filter within its budget sends an unseen id to Badger")
	}
	f.add(keys, expires) // one more than it holds
	if f.certainlyAbsent([]byte("evid/never")) || f.certainlyAbsent(keys[0]) {
		t.Fatal("a filter over its budget still answers for Badger")
	}
	later := key(prefixEvID, "s", "later")
	f.add([][]byte{later}, clock+2*3600)
	clock = expires + 61 // the dropped ids have expired (with Badger's clock's slack)
	if !f.certainlyAbsent([]byte("evid/never")) {
		t.Fatal("the filter stays blind after the ids it dropped expired")
	}
	if f.certainlyAbsent(later) || f.certainlyAbsent(keys[len(keys)-1]) {
		t.Fatal("an id added after the filter went over its budget is not in it")
	}

	tiny := newIDFilter(firstFilterKeys*bloomBitsPerKey/8 - 1)
	tiny.complete = true
	tiny.add(keys[:1], expires)
	if tiny.certainlyAbsent([]byte("evid/never")) {
		t.Fatal("a filter with no room for one generation answers for Badger")
	}
}

// TestIDsAreWrittenAfterTheAnswer: a group's sync does not wait for its
// ids' write to Badger; meanwhile the ids count as accepted, and a log
// segment holding their records is not retired until Badger has them
// (replay could not restore them after that).
func TestIDsAreWrittenAfterTheAnswer(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: true})
	<-s.ids.built // lookups answered by the filter where they can be
	gate := make(chan struct{})
	var opened sync.Once
	release := func() { opened.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the store's Close, which waits for the writer
	write := s.idWriter.write
	s.idWriter.write = func(w *Written) error {
		<-gate
		return write(w)
	}
	first := &AppendRequest{Events: []model.Event{ev("s", "1")}}
	if err := appendEvents(s, []*AppendRequest{first}, time.Hour); err != nil {
		t.Fatal(err) // returned with the write held at the gate
	}
	again := &AppendRequest{Events: []model.Event{ev("s", "1")}}
	w, err := s.WriteEvents([]*AppendRequest{again}, time.Hour)
	if err != nil || !again.Duplicate[0] {
		t.Fatalf("an id whose Badger write is pending was taken for new: %v %v", err, again.Duplicate)
	}
	if err := s.MakeDurable([]*Written{w}); err != nil {
		t.Fatal(err)
	}
	trimmed := make(chan error, 1)
	go func() { trimmed <- s.TrimEvents([]uint64{first.Seq}) }()
	select {
	case err := <-trimmed:
		t.Fatalf("the trim went ahead (%v) before the ids of its records were in Badger", err)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if err := <-trimmed; err != nil {
		t.Fatal(err)
	}
	if err := s.db.View(func(txn *badger.Txn) error { _, err := txn.Get(key(prefixEvID, "s", "1")); return err }); err != nil {
		t.Fatalf("after the trim the id is not in Badger: %v", err)
	}
}

// TestIDFilterDropsExpiredGenerations: a generation whose keys have all
// expired in Badger is dropped when the filter grows, so a steady rate of
// ids needs the memory of one retention's ids, not of every id since the
// start.
func TestIDFilterDropsExpiredGenerations(t *testing.T) {
	f := newIDFilter(1 << 30)
	f.complete = true
	expired := make([][]byte, firstFilterKeys)
	for i := range expired {
		expired[i] = key(prefixEvID, "old", strconv.Itoa(i))
	}
	f.add(expired, time.Now().Add(-5*time.Minute).Unix()) // fills the first generation
	if f.certainlyAbsent(expired[7]) {
		t.Fatal("a key added was taken for absent")
	}
	fresh := key(prefixEvID, "new", "1")
	f.add([][]byte{fresh}, idsExpire(time.Hour))
	if len(f.filters) != 1 || f.bytes != firstFilterKeys*bloomBitsPerKey/8 {
		t.Fatalf("%d generations, %d bytes: the expired one was kept", len(f.filters), f.bytes)
	}
	if f.certainlyAbsent(fresh) {
		t.Fatal("the new key was taken for absent")
	}
	absent := 0
	for _, k := range expired[:1000] {
		if f.certainlyAbsent(k) {
			absent++
		}
	}
	if absent < 990 {
		t.Fatalf("%d of 1000 expired keys answered absent, want nearly all", absent)
	}
}
