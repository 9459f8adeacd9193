package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func replayAll(t *testing.T, l *eventLog) (seqs []uint64, payloads []string) {
	t.Helper()
	err := l.replay(func(seq uint64, p []byte) error {
		seqs = append(seqs, seq)
		payloads = append(payloads, string(p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seqs, payloads
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	return names
}

// TestEventLogCutsATornTail: a record the crash cut short, or whose bytes
// are wrong, at the end of the last segment was never acknowledged; it is
// cut off and everything before it replays.
func TestEventLogCutsATornTail(t *testing.T) {
	for name, damage := range map[string]func(path string){
		"cut short": func(path string) {
			fi, _ := os.Stat(path)
			os.Truncate(path, fi.Size()-3)
		},
		"bad checksum": func(path string) {
			b, _ := os.ReadFile(path)
			b[len(b)-1] ^= 0xff
			os.WriteFile(path, b, 0o640)
		},
		"garbage header": func(path string) {
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{1, 2, 3, 4, 5})
			f.Close()
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := openEventLog(dir, true, quiet, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := appendSynced(l, []uint64{1, 2}, frames([]uint64{1, 2}, [][]byte{[]byte("one"), []byte("two")})); err != nil {
				t.Fatal(err)
			}
			if err := appendSynced(l, []uint64{3}, frames([]uint64{3}, [][]byte{[]byte("three")})); err != nil {
				t.Fatal(err)
			}
			l.close()
			files := segmentFiles(t, dir)
			damage(files[len(files)-1])

			l, err = openEventLog(dir, true, quiet, 0)
			if err != nil {
				t.Fatal(err)
			}
			seqs, payloads := replayAll(t, l)
			want := []string{"one", "two", "three"}
			if name != "garbage header" {
				want = want[:2]
			}
			if !slices.Equal(payloads, want) || len(seqs) != len(want) {
				t.Fatalf("replayed %v %q, want %q", seqs, payloads, want)
			}
			if err := appendSynced(l, []uint64{4}, frames([]uint64{4}, [][]byte{[]byte("four")})); err != nil {
				t.Fatal(err)
			}
			l.close()
			l, _ = openEventLog(dir, true, quiet, 0)
			if _, payloads := replayAll(t, l); payloads[len(payloads)-1] != "four" {
				t.Fatalf("after repair the log appends again: %q", payloads)
			}
			l.close()
		})
	}
}

func TestEventLogRefusesCorruptionBeforeTheEnd(t *testing.T) {
	dir := t.TempDir()
	l, _ := openEventLog(dir, true, quiet, 0)
	appendSynced(l, []uint64{1}, frames([]uint64{1}, [][]byte{[]byte("one")}))
	l.close()
	l, _ = openEventLog(dir, true, quiet, 0) // the first segment is now an older one
	appendSynced(l, []uint64{2}, frames([]uint64{2}, [][]byte{[]byte("two")}))
	l.close()
	first := segmentFiles(t, dir)[0]
	b, _ := os.ReadFile(first)
	b[recordHeader] ^= 0xff
	os.WriteFile(first, b, 0o640)
	if _, err := openEventLog(dir, true, quiet, 0); !errors.Is(err, errLogCorrupt) {
		t.Fatalf("open over a damaged older segment: %v, want errLogCorrupt", err)
	}
}

// TestEventLogDeletesEvaluatedSegments: a segment goes once all of its
// records are evaluated (never the active one), and the watermark keeps
// replay to what is outstanding.
func TestEventLogDeletesEvaluatedSegments(t *testing.T) {
	dir := t.TempDir()
	l, _ := openEventLog(dir, true, quiet, 0)
	l.segmentBytes = 64 // a few records per segment
	var seqs []uint64
	for seq := uint64(1); seq <= 20; seq++ {
		if err := appendSynced(l, []uint64{seq}, frames([]uint64{seq}, [][]byte{[]byte(fmt.Sprintf("record %02d with some bytes", seq))})); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	if n := len(segmentFiles(t, dir)); n < 5 {
		t.Fatalf("%d segments, want several", n)
	}
	syncs := 0
	// Everything but 7 is evaluated, out of order.
	done := slices.DeleteFunc(slices.Clone(seqs), func(s uint64) bool { return s == 7 })
	slices.Reverse(done)
	if err := l.trim(done, func() error { syncs++; return nil }); err != nil {
		t.Fatal(err)
	}
	if l.watermark() != 7 || syncs != 1 {
		t.Fatalf("watermark %d after %d syncs, want 7 after 1", l.watermark(), syncs)
	}
	left := segmentFiles(t, dir)
	if len(left) != 2 { // the one holding 7, and the active one
		t.Fatalf("segments left %v, want the one holding 7 and the active one", left)
	}
	if spares, _ := filepath.Glob(filepath.Join(dir, "*"+spareSuffix)); len(spares) != maxSpareSegments {
		t.Fatalf("spares %v, want %d kept for reuse", spares, maxSpareSegments)
	}
	l.close()
	l, _ = openEventLog(dir, true, quiet, 7)
	got, _ := replayAll(t, l)
	if got[0] != 7 || slices.Contains(got, 6) {
		t.Fatalf("replayed %v: want from 7 on, nothing below the watermark", got)
	}
	if err := l.trim(got, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if left := segmentFiles(t, dir); len(left) != 1 {
		t.Fatalf("segments left %v, want only the active one", left)
	}
	l.close()
}

// TestTrimDoesNotHoldUpWritesAndSyncs: while a trim waits for Badger's
// sync before retiring segments, records are still written and synced
// (a trim used to hold the log's lock through it, and every request of
// the groups behind waited), and the segments retire once it returns.
func TestTrimDoesNotHoldUpWritesAndSyncs(t *testing.T) {
	dir := t.TempDir()
	l, _ := openEventLog(dir, true, quiet, 0)
	defer l.close()
	l.segmentBytes = 64 // a few records per segment
	seq := uint64(0)
	write := func() error {
		seq++
		return appendSynced(l, []uint64{seq}, frames([]uint64{seq}, [][]byte{[]byte(fmt.Sprintf("record %02d with some bytes", seq))}))
	}
	for range 10 {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	evaluated := make([]uint64, seq)
	for i := range evaluated {
		evaluated[i] = uint64(i + 1)
	}
	syncing, release := make(chan struct{}), make(chan struct{})
	trimmed := make(chan error, 1)
	go func() {
		trimmed <- l.trim(evaluated, func() error {
			close(syncing)
			<-release
			return nil
		})
	}()
	<-syncing
	wrote := make(chan error, 1)
	go func() {
		for range 10 { // rolling over to new segments too
			if err := write(); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("writes and syncs waited for the trim's Badger sync")
	}
	close(release)
	if err := <-trimmed; err != nil {
		t.Fatal(err)
	}
	if n := loggedRecords(l); l.watermark() != 11 || n != 10 {
		t.Fatalf("watermark %d, %d records in the log: want 11 (the first unevaluated) and only the 10 unevaluated records (the evaluated ones retired)", l.watermark(), n)
	}
}

// TestEventLogReusesRetiredSegments: a retired segment becomes a later
// active one, so the files on disk stay few; what the reused file held
// before never counts as a record of its new segment, after a crash (the
// old records are still there, aligned with the new ones) or a clean close.
func TestEventLogReusesRetiredSegments(t *testing.T) {
	for _, crash := range []bool{true, false} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			dir := t.TempDir()
			l, _ := openEventLog(dir, true, quiet, 0)
			const payloadBytes = 100
			l.segmentBytes = 3 * (recordHeader + payloadBytes) // three records a segment
			inodes := map[uint64]bool{}
			seq := uint64(0)
			write := func() {
				t.Helper()
				seq++
				payload := fmt.Sprintf("%0*d", payloadBytes, seq)
				if err := appendSynced(l, []uint64{seq}, frames([]uint64{seq}, [][]byte{[]byte(payload)})); err != nil {
					t.Fatal(err)
				}
			}
			for range 42 {
				write()
				if err := l.trim([]uint64{seq}, func() error { return nil }); err != nil {
					t.Fatal(err)
				}
				spares, _ := filepath.Glob(filepath.Join(dir, "*"+spareSuffix))
				for _, name := range append(segmentFiles(t, dir), spares...) {
					if fi, err := os.Stat(name); err == nil {
						inodes[inode(fi)] = true
					}
				}
			}
			if n := len(segmentFiles(t, dir)); n != 1 {
				t.Fatalf("%d segment files, want only the active one", n)
			}
			if len(inodes) > 2+maxSpareSegments {
				t.Fatalf("%d files were made for 14 segments: retired segments are not reused", len(inodes))
			}
			// Two records over a reused file of three: its third record,
			// older, stays after them.
			write()
			write()
			want := []uint64{seq - 1, seq}
			if !crash {
				l.close()
			}
			// Watermark 0, as if the hint were lost.
			l, err := openEventLog(dir, true, quiet, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := replayAll(t, l); !slices.Equal(got, want) {
				t.Fatalf("replayed %v, want %v", got, want)
			}
			if n := loggedRecords(l); n != len(want) {
				t.Fatalf("the log counts %d records, want %d: a reused file's old record passed for a new one", n, len(want))
			}
			l.close()
		})
	}
}

// loggedRecords counts the records the log knows of.
func loggedRecords(l *eventLog) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, seg := range l.segments {
		n += seg.records
	}
	return n
}

// TestEventLogCrashAfterReusingASpare: a crash right after a spare was
// renamed to the next segment leaves a file of old records under the new
// name; none of them replays.
func TestEventLogCrashAfterReusingASpare(t *testing.T) {
	dir := t.TempDir()
	l, _ := openEventLog(dir, true, quiet, 0)
	l.segmentBytes = 64
	for seq := uint64(1); seq <= 6; seq++ {
		appendSynced(l, []uint64{seq}, frames([]uint64{seq}, [][]byte{[]byte(fmt.Sprintf("record %02d with some bytes", seq))}))
	}
	if err := l.trim([]uint64{1, 2, 3, 4}, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(l.spares) == 0 {
		t.Fatal("no spare after trimming")
	}
	// What startSegment does first, then the crash.
	spare := sparePath(dir, l.spares[0])
	next := segmentPath(dir, l.segments[len(l.segments)-1].number+1)
	if err := os.Rename(spare, next); err != nil {
		t.Fatal(err)
	}
	l, err := openEventLog(dir, true, quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := replayAll(t, l); !slices.Equal(got, []uint64{5, 6}) {
		t.Fatalf("replayed %v, want only the outstanding 5 and 6", got)
	}
	if _, err := os.Stat(next); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the renamed spare holds no record of its own and goes at open: %v", err)
	}
	l.close()
}

// TestLegacyBadgerRecordsReplay: records kept in Badger by versions before
// the file log are replayed first and trimmed there.
func TestLegacyBadgerRecordsReplay(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	old, _ := json.Marshal([]model.Event{ev("old", "x")})
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(u64Key(prefixEvLog, 5), old) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, Options{})
	fresh := &AppendRequest{Events: []model.Event{ev("new", "y")}}
	if err := appendEvents(s, []*AppendRequest{fresh}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if fresh.Seq <= 5 {
		t.Fatalf("new record seq %d must follow the legacy ones", fresh.Seq)
	}
	s.Close()
	s = open(t, dir, Options{})
	sessions := replayedSessions(t, s)
	if fmt.Sprint(sessions) != "[old new]" {
		t.Fatalf("replayed %v, want [old new]", sessions)
	}
	if err := s.TrimEvents([]uint64{5}); err != nil {
		t.Fatal(err)
	}
	if d := &(AppendRequest{Events: []model.Event{ev("old", "x")}}); appendEvents(s, []*AppendRequest{d}, time.Hour) != nil || !d.Duplicate[0] {
		t.Fatal("a replayed legacy event's id must be remembered")
	}
	sessions = replayedSessions(t, s)
	if fmt.Sprint(sessions) != "[new]" {
		t.Fatalf("after trimming the legacy record replayed %v", sessions)
	}
}

// frames frames payloads as records holding seqs.
func frames(seqs []uint64, payloads [][]byte) []byte {
	var out []byte
	for i, p := range payloads {
		out = appendRecord(out, seqs[i], func(dst []byte) []byte { return append(dst, p...) })
	}
	return out
}

// TestDedupeAcrossGroupsInFlight: a group written but not yet durable
// already counts for dedupe, and a failed sync lets its ids go.
func TestDedupeAcrossGroupsInFlight(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: true})
	first := &AppendRequest{Events: []model.Event{ev("s", "1")}}
	w1, err := s.WriteEvents([]*AppendRequest{first}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	second := &AppendRequest{Events: []model.Event{ev("s", "1"), ev("s", "2")}}
	w2, err := s.WriteEvents([]*AppendRequest{second}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(second.Duplicate) != "[true false]" {
		t.Fatalf("an id of a group still syncing must count: %v", second.Duplicate)
	}
	if err := s.MakeDurable([]*Written{w1, w2}); err != nil {
		t.Fatal(err)
	}
	// Their ids are let go once Badger has them.
	if !s.idWriter.waitWritten(w2.last) {
		t.Fatal("the id writer stopped")
	}
	s.pendingMu.Lock()
	held := len(s.pending)
	s.pendingMu.Unlock()
	if held != 0 {
		t.Fatalf("%d groups' ids held after Badger has them", held)
	}
	third := &AppendRequest{Events: []model.Event{ev("s", "2")}}
	if err := appendEvents(s, []*AppendRequest{third}, time.Hour); err != nil || !third.Duplicate[0] {
		t.Fatalf("a durable group's id is remembered: %v %v", err, third.Duplicate)
	}
	// A failed sync: the log is broken, the group's ids are let go.
	fourth := &AppendRequest{Events: []model.Event{ev("s", "3")}}
	w4, err := s.WriteEvents([]*AppendRequest{fourth}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s.log.mu.Lock()
	s.log.active.Close() // the disk goes away under the log
	s.log.mu.Unlock()
	if err := s.MakeDurable([]*Written{w4}); err == nil {
		t.Fatal("a sync on a closed file must fail")
	}
	if s.pendingID(w4.ids[0]) {
		t.Fatal("a failed group's ids must be let go, so a retry is not called a duplicate")
	}
	if _, err := s.WriteEvents([]*AppendRequest{{Events: []model.Event{ev("s", "4")}}}, time.Hour); err == nil {
		t.Fatal("a broken log refuses writes until a restart")
	}
}

// appendSynced writes records and makes them durable, as a group commit does.
func appendSynced(l *eventLog, seqs []uint64, records []byte) error {
	if err := l.write(seqs, records); err != nil {
		return err
	}
	return l.syncWritten()
}

// BenchmarkEventLogGroupCommit is one group commit of the standard load: a
// 30 KB record written and synced, segments rolling over and retired as
// evaluation keeps up. It runs on the test's temporary directory, so its
// figures are the file system's there.
func BenchmarkEventLogGroupCommit(b *testing.B) {
	l, err := openEventLog(b.TempDir(), true, quiet, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer l.close()
	l.segmentBytes = 4 << 20
	payload := make([]byte, 30<<10)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	var records []byte
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := range b.N {
		seq := uint64(i + 1)
		records = appendRecord(records[:0], seq, func(dst []byte) []byte { return append(dst, payload...) })
		if err := appendSynced(l, []uint64{seq}, records); err != nil {
			b.Fatal(err)
		}
		if err := l.trim([]uint64{seq}, func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
