package store

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store/storetest"
)

func TestTheActiveMemtableFileIsAllocatedAhead(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Logger: quiet})
	mem, _, err := newestMappedFiles(dir)
	if err != nil || mem == "" {
		t.Fatalf("no memtable file in %s (%v)", dir, err)
	}
	// Badger made it sparse; the guard gave every byte a block, so a write
	// into it cannot fault on a full disk.
	var st syscall.Stat_t
	if err := syscall.Stat(mem, &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 < st.Size {
		t.Fatalf("%s: %d of %d bytes allocated", mem, st.Blocks*512, st.Size)
	}
	if sp := s.Space(); sp.Low || sp.Free <= 0 || sp.Need <= 0 {
		t.Fatalf("space %+v on a roomy disk", sp)
	}
}

func TestALowStoreRefusesEventsAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	free, err := freeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A reserve at the flag's limit does not wrap around to "never low".
	huge, err := Open(Options{Dir: t.TempDir(), DiskReserve: math.MaxInt64, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if !huge.Space().Low {
		t.Errorf("a reserve of MaxInt64 bytes left the store writable: %+v", huge.Space())
	}
	huge.Close()
	// A reserve past what the disk has free: the store opens low.
	s, err := Open(Options{Dir: dir, Sync: true, DiskReserve: free + 1<<30, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Space().Low {
		t.Fatalf("not low with a reserve over the free space: %+v", s.Space())
	}
	req := &AppendRequest{Events: []model.Event{ev("s", "")}}
	_, err = s.WriteEvents([]*AppendRequest{req}, time.Hour)
	if !errors.Is(err, model.ErrLowOnSpace) {
		t.Fatalf("write on a low store: %v, want ErrLowOnSpace", err)
	}
	for _, want := range []string{"MiB free", "keeps", "nothing was written"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if !errors.Is(s.RefuseWrites(), model.ErrLowOnSpace) {
		t.Fatalf("RefuseWrites = %v", s.RefuseWrites())
	}

	// Space comes back (here: the reserve is lowered) and the next look
	// lets writes through.
	s.space.mu.Lock()
	s.space.fixedNeed -= free + 1<<30
	s.space.mu.Unlock()
	if err := s.space.check(); err != nil {
		t.Fatal(err)
	}
	if err := appendEvents(s, []*AppendRequest{{Events: []model.Event{ev("t", "")}}}, time.Hour); err != nil {
		t.Fatalf("write after space came back: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sessions := replayedSessions(t, open(t, dir, Options{Sync: true, Logger: quiet}))
	if fmt.Sprint(sessions) != "[t]" {
		t.Fatalf("log holds %v, want only the event written after the refusal", sessions)
	}
}

func TestAnEventLogWriteWithoutSpaceIsTakenBack(t *testing.T) {
	dir := storetest.MountTmpfs(t, 400<<20)
	data := filepath.Join(dir, "data")
	s, err := Open(Options{Dir: data, Sync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := appendEvents(s, []*AppendRequest{{Events: []model.Event{ev("before", "")}}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Another process takes the rest of the disk between two of the
	// guard's looks (its looks are stopped, so the store does not know).
	s.space.close()
	filler := filepath.Join(dir, "filler")
	storetest.FillUp(t, filler, 0)
	big := &AppendRequest{}
	for i := range 2000 {
		big.Events = append(big.Events, ev(fmt.Sprint("refused-", i), ""))
	}
	if _, err := s.WriteEvents([]*AppendRequest{big}, time.Hour); !errors.Is(err, model.ErrLowOnSpace) {
		t.Fatalf("write to a full disk: %v, want ErrLowOnSpace", err)
	}
	if !s.Space().Low {
		t.Fatal("the store is not low after a write found the disk full")
	}

	// Space freed: the log goes on without a restart, at the same place.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.space.check(); err != nil {
		t.Fatal(err)
	}
	if err := appendEvents(s, []*AppendRequest{{Events: []model.Event{ev("after", "")}}}, time.Hour); err != nil {
		t.Fatalf("write once space was freed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// What the refused write got onto the disk before it ran out is gone.
	sessions := replayedSessions(t, open(t, data, Options{Sync: true, Logger: quiet}))
	if fmt.Sprint(sessions) != "[before after]" {
		n := len(sessions)
		t.Fatalf("replayed %d events (first %v), want [before after]", n, sessions[:min(n, 4)])
	}
}
