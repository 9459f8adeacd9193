package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

func open(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	opts.Dir = dir
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ev(session, id string) model.Event {
	return model.Event{ID: id, SessionID: session, Type: "click", Timestamp: time.Now().UTC()}
}

func TestEventLogDedupeReplayTrim(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Sync: true})
	a := &AppendRequest{Events: []model.Event{ev("s", "1"), ev("s", "2"), ev("s", "1"), ev("t", "1"), ev("s", "")}}
	b := &AppendRequest{Events: []model.Event{ev("s", "2")}}
	if err := appendEvents(s, []*AppendRequest{a, b}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Duplicate) != "[false false true false false]" || fmt.Sprint(b.Duplicate) != "[true]" {
		t.Fatalf("duplicates %v %v", a.Duplicate, b.Duplicate)
	}
	if a.Seq == 0 || b.Seq != 0 {
		t.Fatalf("seqs %d %d: a request of only duplicates logs nothing", a.Seq, b.Seq)
	}
	c := &AppendRequest{Events: []model.Event{ev("u", "9")}}
	appendEvents(s, []*AppendRequest{c}, time.Hour)
	s.Close()

	s = open(t, dir, Options{Sync: true})
	var seqs []uint64
	var counts []int
	s.ReplayEvents(time.Hour, func(b LogBatch) error { seqs = append(seqs, b.Seq); counts = append(counts, len(b.Events)); return nil })
	if len(seqs) != 2 || seqs[0] != a.Seq || seqs[1] != c.Seq || counts[0] != 4 || counts[1] != 1 {
		t.Fatalf("replayed %v %v, want [%d %d] [4 1]", seqs, counts, a.Seq, c.Seq)
	}
	d := &AppendRequest{Events: []model.Event{ev("s", "1")}}
	appendEvents(s, []*AppendRequest{d}, time.Hour)
	if !d.Duplicate[0] {
		t.Fatal("dedupe marks must survive a restart")
	}
	if err := s.TrimEvents([]uint64{a.Seq}); err != nil {
		t.Fatal(err)
	}
	seqs = nil
	s.ReplayEvents(time.Hour, func(b LogBatch) error { seqs = append(seqs, b.Seq); return nil })
	if len(seqs) != 1 || seqs[0] != c.Seq {
		t.Fatalf("after trim replayed %v", seqs)
	}
}

func delivery(id string, created time.Time) *model.Delivery {
	return &model.Delivery{ID: id, StreamID: "st", SessionID: "s", URL: "http://x/", Status: model.StatusPending,
		CreatedAt: created, Payload: []byte(`{}`)}
}

// appendEvents is one whole group commit: written, then durable.
func appendEvents(s *Store, reqs []*AppendRequest, dedupeTTL time.Duration) error {
	written, err := s.WriteEvents(reqs, dedupeTTL)
	if err != nil {
		return err
	}
	return s.MakeDurable([]*Written{written})
}

// withScanBudget lowers listScanBudget for the test, so that a listing
// takes pages of a few deliveries.
func withScanBudget(t *testing.T, budget int) {
	old := listScanBudget
	listScanBudget = budget
	t.Cleanup(func() { listScanBudget = old })
}

// replayedSessions is the session of every event s replays, in order.
func replayedSessions(t *testing.T, s *Store) []string {
	t.Helper()
	var sessions []string
	if err := s.ReplayEvents(time.Hour, func(b LogBatch) error {
		for _, e := range b.Events {
			sessions = append(sessions, e.SessionID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return sessions
}

// commitOne commits one session's effects and returns the messages written.
func commitOne(s *Store, sess *model.Session, msgs []*model.Delivery, retention time.Duration) ([]*model.Delivery, error) {
	rec, err := EncodeSession(sess)
	if err != nil {
		return nil, err
	}
	c := &SessionCommit{Record: rec, Deliveries: msgs}
	if err := s.CommitSessions([]*SessionCommit{c}, retention); err != nil {
		return nil, err
	}
	return c.Written, nil
}

func TestCommitFiresOnce(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: true})
	sess := &model.Session{ID: "s", LastEventAt: time.Now(), Fired: map[string]model.Fired{"st": {WebhookID: "m1"}}}
	written, err := commitOne(s, sess, []*model.Delivery{delivery("m1", time.Now())}, 48*time.Hour)
	if err != nil || len(written) != 1 {
		t.Fatalf("first commit: %v, %d written", err, len(written))
	}
	written, err = commitOne(s, sess, []*model.Delivery{delivery("m2", time.Now())}, 48*time.Hour)
	if err != nil || len(written) != 0 {
		t.Fatalf("second commit for a fired stream: %v, %d written, want none", err, len(written))
	}
	if _, err := s.GetDelivery("m2"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("a refused fire must write no message: %v", err)
	}
	var pending []string
	s.PendingDeliveries("", func(id, url string) { pending = append(pending, id) })
	if len(pending) != 1 || pending[0] != "m1" {
		t.Fatalf("pending = %v", pending)
	}
}

// TestUserSessionsListsTheLatestRunFirst: the sessions filed under a user
// come back latest run first, bounded, and only that user's: "a" is not a
// prefix of "ab"'s, nor is a uid with a NUL in it.
// TestACommitTooBigForATransactionIsWrittenInSteps: one session firing
// 200 streams with 60 KB payloads (12 MB, over what Badger takes in one
// transaction) is written whole; written again after a crash between its
// steps, the messages already there are left as they are (one delivered
// since stays delivered) and not handed out again.
func TestACommitTooBigForATransactionIsWrittenInSteps(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: true})
	now := time.Now()
	big := []byte(`{"blob":"` + strings.Repeat("x", 60000) + `"}`)
	sess := &model.Session{ID: "s", LastEventAt: now, Fired: map[string]model.Fired{}}
	var msgs []*model.Delivery
	for i := range 200 {
		stream := fmt.Sprint("st-", i)
		d := &model.Delivery{ID: model.WebhookID(stream, "s"), StreamID: stream, SessionID: "s", URL: "http://x/",
			Status: model.StatusPending, CreatedAt: now, Payload: big}
		msgs = append(msgs, d)
		sess.Fired[stream] = model.Fired{At: now, WebhookID: d.ID}
	}
	rec, err := EncodeSession(sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.commitSessions([]*SessionCommit{{Record: rec, Deliveries: msgs}}, time.Hour); !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("one transaction: %v; the test's commit is meant to be too big for one", err)
	}

	// A crash after the first steps: 50 messages written, one of them
	// delivered since the restart queued it; no record yet.
	for _, d := range msgs[:50] {
		if err := s.AddDelivery(d); err != nil {
			t.Fatal(err)
		}
	}
	delivered := *msgs[0]
	delivered.Status = model.StatusSucceeded
	if err := s.UpdateDelivery(&delivered); err != nil {
		t.Fatal(err)
	}
	c := &SessionCommit{Record: rec, Deliveries: msgs}
	if err := s.CommitSessions([]*SessionCommit{c}, time.Hour); err != nil {
		t.Fatalf("the commit in steps: %v", err)
	}
	if len(c.Written) != 150 || c.Written[0].ID != msgs[50].ID {
		t.Fatalf("%d messages handed out, want the 150 not written before", len(c.Written))
	}
	if d, err := s.GetDelivery(msgs[0].ID); err != nil || d.Status != model.StatusSucceeded {
		t.Fatalf("the delivered message: %+v, %v; want it left succeeded", d, err)
	}
	for _, d := range msgs[50:] {
		if got, err := s.GetDelivery(d.ID); err != nil || got.Status != model.StatusPending || len(got.Payload) != len(big) {
			t.Fatalf("message %s: %v", d.ID, err)
		}
	}
	stored, err := s.LoadSession("s")
	if err != nil || stored == nil || len(stored.Fired) != 200 {
		t.Fatalf("the record: %v", err)
	}
	// Committed again (a replay that got this far): nothing more goes out.
	again := &SessionCommit{Record: rec, Deliveries: msgs}
	if err := s.CommitSessions([]*SessionCommit{again}, time.Hour); err != nil || len(again.Written) != 0 {
		t.Fatalf("a replay after the record: %d written, %v", len(again.Written), err)
	}
}

func TestUserSessionsListsTheLatestRunFirst(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	base := time.Now().Add(-time.Hour)
	for _, c := range []struct{ uid, id string }{
		{"a", "a-2"}, {"ab", "ab-1"}, {"a", "a-1"}, {"a\x00b", "nul-1"}, {"a", "a-3"}, {"", "anonymous"},
	} {
		// a-1 began first, then a-2, then a-3, whatever the order of commits.
		first := base.Add(time.Duration(map[string]int{"a-1": 1, "a-2": 2, "a-3": 3}[c.id]) * time.Minute)
		sess := &model.Session{ID: c.id, LastEventAt: time.Now(), ArrivedFirst: first, ArrivedLast: time.Now()}
		if c.uid != "" {
			sess.User = &model.User{UID: c.uid}
		}
		if _, err := commitOne(s, sess, nil, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		uid  string
		n    int
		want []string
	}{
		{"a", 10, []string{"a-3", "a-2", "a-1"}},
		{"a", 2, []string{"a-3", "a-2"}},
		{"ab", 10, []string{"ab-1"}},
		{"a\x00b", 10, []string{"nul-1"}},
		{"b", 10, nil},
		{"", 10, nil},
	} {
		got, err := s.UserSessions(c.uid, c.n)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("UserSessions(%q, %d) = %q, %v; want %q", c.uid, c.n, got, err, c.want)
		}
	}
}

// TestAnOlderStoresSessionsAreFiledUnderTheirUsers: sessions a store kept
// from before it filed them under their users (their usersession/ keys
// and the mark missing) are filed at the next open, expiring with their
// records, so an event naming only the user finds them after an upgrade.
func TestAnOlderStoresSessionsAreFiledUnderTheirUsers(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	now := time.Now()
	for i, id := range []string{"ada-1", "ada-2", "grace-1", "anonymous"} {
		sess := &model.Session{ID: id, LastEventAt: now, ArrivedFirst: now.Add(time.Duration(i) * time.Second), ArrivedLast: now}
		if id != "anonymous" {
			sess.User = &model.User{UID: strings.TrimSuffix(strings.TrimSuffix(id, "-1"), "-2")}
		}
		if _, err := commitOne(s, sess, nil, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	// What an older hookwire left: the records alone.
	if err := s.db.DropPrefix(prefixUserSession, keyUserSessionIndex); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserSessions("ada", 10); got != nil {
		t.Fatalf("the test's older store still has ada's sessions filed: %q", got)
	}
	s.Close()
	s = open(t, dir, Options{})
	for uid, want := range map[string][]string{"ada": {"ada-2", "ada-1"}, "grace": {"grace-1"}, "": nil} {
		if got, err := s.UserSessions(uid, 10); err != nil || !slices.Equal(got, want) {
			t.Errorf("after reopening, UserSessions(%q) = %q, %v; want %q", uid, got, err, want)
		}
	}
	err := s.db.View(func(txn *badger.Txn) error {
		record, err := txn.Get(key(prefixSession, "grace-1"))
		if err != nil {
			return err
		}
		filed, err := txn.Get(userSessionKey("grace", now.Add(2*time.Second), "grace-1"))
		if err != nil {
			return err
		}
		if filed.ExpiresAt() != record.ExpiresAt() || filed.ExpiresAt() == 0 {
			t.Errorf("the filed key expires at %d, its record at %d", filed.ExpiresAt(), record.ExpiresAt())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeliveryListingAndRetention(t *testing.T) {
	s := open(t, t.TempDir(), Options{DeliveryRetention: time.Second})
	base := time.Now().Add(-time.Minute)
	for i := range 5 {
		s.AddDelivery(delivery(fmt.Sprintf("m%d", i), base.Add(time.Duration(i)*time.Second)))
	}
	page, next, err := s.ListDeliveries(DeliveryFilter{}, 2, nil)
	if err != nil || len(page) != 2 || page[0].ID != "m4" || page[1].ID != "m3" || next == nil {
		t.Fatalf("page 1: %v %v %v", ids(page), next, err)
	}
	page, next, _ = s.ListDeliveries(DeliveryFilter{}, 2, next)
	if len(page) != 2 || page[0].ID != "m2" || page[1].ID != "m1" {
		t.Fatalf("page 2: %v", ids(page))
	}
	page, next, _ = s.ListDeliveries(DeliveryFilter{}, 2, next)
	if len(page) != 1 || page[0].ID != "m0" || next != nil {
		t.Fatalf("page 3: %v %v", ids(page), next)
	}
	done, _ := s.GetDelivery("m3")
	done.Status = model.StatusSucceeded
	s.UpdateDelivery(done)
	page, _, _ = s.ListDeliveries(DeliveryFilter{Status: model.StatusSucceeded}, 10, nil)
	if len(page) != 1 || page[0].ID != "m3" {
		t.Fatalf("succeeded: %v", ids(page))
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := s.GetDelivery("m3"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("a finished delivery must expire after the retention: %v", err)
	}
	if _, err := s.GetDelivery("m2"); err != nil {
		t.Fatalf("a pending delivery must not expire: %v", err)
	}
	page, _, _ = s.ListDeliveries(DeliveryFilter{}, 10, nil)
	if len(page) != 4 {
		t.Fatalf("listing after expiry: %v", ids(page))
	}
}

func ids(ds []*model.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// listAll follows the cursors of ListDeliveries to the end: the ids listed,
// the pages it took, and how many of them came back empty with a cursor.
func listAll(t *testing.T, s *Store, f DeliveryFilter, limit int) (got []string, pages, empty int) {
	t.Helper()
	var cursor []byte
	for {
		page, next, err := s.ListDeliveries(f, limit, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page) == 0 && next != nil {
			empty++
		}
		got = append(got, ids(page)...)
		if next == nil {
			return got, pages, empty
		}
		cursor = next
	}
}

// reopenWithoutIndex takes the index pick chooses out of s as a store from
// before it would lack it (the keys of the deliveries ids, and the mark
// that it is built), closes s and opens dir again, which must build it.
func reopenWithoutIndex(t *testing.T, s *Store, dir string, pick func(*deliveryIndexes) *deliveryIndex, ids []string) *Store {
	t.Helper()
	ix := pick(s.indexes)
	if err := s.db.Update(func(txn *badger.Txn) error {
		for _, id := range ids {
			d, err := s.GetDelivery(id)
			if err != nil {
				return err
			}
			head := deliveryHead{ID: d.ID, StreamID: d.StreamID, Status: d.Status, CreatedAt: d.CreatedAt}
			if k := ix.keyOf(&head); k != nil {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
		}
		return txn.Delete(ix.builtKey)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, Options{})
	<-s.indexes.built
	if !pick(s.indexes).ready.Load() {
		t.Fatal("the index was not built at open")
	}
	return s
}

// TestDeliveryListingScansABoundedStretch: a page looks at no more than
// listScanBudget deliveries; one whose filter matched none of them comes
// back empty, with a cursor, and following the cursors lists exactly the
// matching deliveries, newest first.
func TestDeliveryListingScansABoundedStretch(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	withScanBudget(t, 3)
	base := time.Now().Add(-time.Minute)
	for i := range 10 {
		d := delivery(fmt.Sprintf("m%d", i), base.Add(time.Duration(i)*time.Second))
		if i == 1 || i == 9 {
			d.Status = model.StatusSucceeded
		}
		if err := s.AddDelivery(d); err != nil {
			t.Fatal(err)
		}
	}
	got, pages, empty := listAll(t, s, DeliveryFilter{Status: model.StatusSucceeded}, 10)
	if !slices.Equal(got, []string{"m9", "m1"}) {
		t.Fatalf("succeeded deliveries over %d pages: %v, want [m9 m1]", pages, got)
	}
	if pages != 4 || empty != 1 {
		t.Fatalf("%d pages, %d of them empty with a cursor; want 4 of at most 3 deliveries looked at, one empty", pages, empty)
	}
}

// TestFailedDeliveriesHaveAnIndex: the failed deliveries are listed from
// an index of their own, a page at once however few they are among the
// rest; one retried since is not listed as failed; a store from before
// the index builds it at open.
func TestFailedDeliveriesHaveAnIndex(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir}) // closed below, to be opened again
	if err != nil {
		t.Fatal(err)
	}
	withScanBudget(t, 3)
	base := time.Now().Add(-time.Minute)
	for i := range 10 {
		d := delivery(fmt.Sprintf("m%d", i), base.Add(time.Duration(i)*time.Second))
		if i == 1 || i == 5 || i == 9 {
			d.Status = model.StatusFailed
		}
		if err := s.AddDelivery(d); err != nil {
			t.Fatal(err)
		}
	}
	failed := func(s *Store) []string {
		t.Helper()
		page, next, err := s.ListDeliveries(DeliveryFilter{Status: model.StatusFailed}, 10, nil)
		if err != nil || next != nil {
			t.Fatalf("failed deliveries: %v, a cursor %x", err, next)
		}
		return ids(page)
	}
	if got := failed(s); !slices.Equal(got, []string{"m9", "m5", "m1"}) {
		t.Fatalf("failed deliveries in one page: %v, want [m9 m5 m1]", got)
	}
	retried, _ := s.GetDelivery("m5")
	retried.Status = model.StatusPending
	if err := s.UpdateDelivery(retried); err != nil {
		t.Fatal(err)
	}
	if got := failed(s); !slices.Equal(got, []string{"m9", "m1"}) {
		t.Fatalf("after m5's retry: %v, want [m9 m1]", got)
	}

	// The same deliveries in a store without the index, as an older
	// version left it.
	s = reopenWithoutIndex(t, s, dir, func(x *deliveryIndexes) *deliveryIndex { return x.failed }, []string{"m1", "m9"})
	if got := failed(s); !slices.Equal(got, []string{"m9", "m1"}) {
		t.Fatalf("from the index built at open: %v, want [m9 m1]", got)
	}
}

// TestDeliveriesHaveAStreamIndex: one stream's deliveries are listed from
// an index of their own — a quiet stream's in one page however many
// deliveries other streams have, a busy one's page by page with cursors,
// with a status filter too — and a store from before the index builds it
// at open.
func TestDeliveriesHaveAStreamIndex(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir}) // closed below, to be opened again
	if err != nil {
		t.Fatal(err)
	}
	withScanBudget(t, 3)
	base := time.Now().Add(-time.Minute)
	for i := range 12 {
		d := delivery(fmt.Sprintf("m%d", i), base.Add(time.Duration(i)*time.Second))
		d.StreamID = "st_busy"
		if i == 2 || i == 7 {
			d.StreamID = "st_quiet"
		}
		if i%3 == 0 {
			d.Status = model.StatusSucceeded
		}
		if err := s.AddDelivery(d); err != nil {
			t.Fatal(err)
		}
	}
	list := func(s *Store, f DeliveryFilter, limit int) (got []string, pages int) {
		t.Helper()
		got, pages, _ = listAll(t, s, f, limit)
		return got, pages
	}
	check := func(s *Store) {
		t.Helper()
		if got, pages := list(s, DeliveryFilter{StreamID: "st_quiet"}, 10); !slices.Equal(got, []string{"m7", "m2"}) || pages != 1 {
			t.Errorf("the quiet stream: %v in %d pages, want [m7 m2] in one", got, pages)
		}
		if got, _ := list(s, DeliveryFilter{StreamID: "st_busy"}, 4); !slices.Equal(got, []string{"m11", "m10", "m9", "m8", "m6", "m5", "m4", "m3", "m1", "m0"}) {
			t.Errorf("the busy stream, 4 a page: %v", got)
		}
		if got, _ := list(s, DeliveryFilter{StreamID: "st_busy", Status: model.StatusSucceeded}, 10); !slices.Equal(got, []string{"m9", "m6", "m3", "m0"}) {
			t.Errorf("the busy stream's succeeded deliveries: %v, want [m9 m6 m3 m0]", got)
		}
	}
	check(s)

	// A pending delivery that succeeds stays listed under its stream.
	d, _ := s.GetDelivery("m7")
	d.Status = model.StatusSucceeded
	if err := s.UpdateDelivery(d); err != nil {
		t.Fatal(err)
	}
	if got, _ := list(s, DeliveryFilter{StreamID: "st_quiet", Status: model.StatusSucceeded}, 10); !slices.Equal(got, []string{"m7"}) {
		t.Errorf("the quiet stream's succeeded deliveries: %v, want [m7]", got)
	}
	d.Status = model.StatusPending // as it was, for the checks below
	if err := s.UpdateDelivery(d); err != nil {
		t.Fatal(err)
	}

	// The same deliveries in a store without the index, as an older
	// version left it.
	all := make([]string, 12)
	for i := range all {
		all[i] = fmt.Sprintf("m%d", i)
	}
	s = reopenWithoutIndex(t, s, dir, func(x *deliveryIndexes) *deliveryIndex { return x.byStream }, all)
	check(s)
}

// BenchmarkListQuietStream lists, to the end, the 10 deliveries of a
// stream among 100,000 of a busy one: from the stream's index, and from
// the time index as before it (and while an older store builds it).
func BenchmarkListQuietStream(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base := time.Now().Add(-time.Hour)
	wb := s.db.NewWriteBatch()
	for i := range 100_010 {
		d := delivery(fmt.Sprintf("m%06d", i), base.Add(time.Duration(i)*time.Millisecond))
		d.Status, d.StreamID, d.Payload = model.StatusSucceeded, "st_busy", []byte(`{"name":"Checkout Friction","event":{"type":"click","url":"https://shop.example/checkout","properties":{"target_text":"Buy now","price":42.5}}}`)
		if i%10_001 == 0 {
			d.StreamID = "st_quiet"
		}
		enc, err := encodeDelivery(d)
		if err != nil {
			b.Fatal(err)
		}
		if err := wb.Set(key(prefixMsg, d.ID), enc); err != nil {
			b.Fatal(err)
		}
		for _, k := range [][]byte{msgTimeKey(d.CreatedAt, d.ID), msgStreamKey(d.StreamID, d.CreatedAt, d.ID)} {
			if err := wb.Set(k, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	for _, indexed := range []bool{true, false} {
		name := map[bool]string{true: "stream-index", false: "time-index"}[indexed]
		b.Run(name, func(b *testing.B) {
			s.indexes.byStream.ready.Store(indexed)
			defer s.indexes.byStream.ready.Store(true)
			for b.Loop() {
				var cursor []byte
				found := 0
				for {
					page, next, err := s.ListDeliveries(DeliveryFilter{StreamID: "st_quiet"}, 100, cursor)
					if err != nil {
						b.Fatal(err)
					}
					found += len(page)
					if next == nil {
						break
					}
					cursor = next
				}
				if found != 10 {
					b.Fatalf("found %d of the quiet stream's 10 deliveries", found)
				}
			}
		})
	}
}
