package ingest

import (
	"sync/atomic"
	"testing"

	"github.com/hookwire/hookwire/actors"
)

// TestLogRecordTrimsOnlyWhatWasEvaluated: a record whose events were all
// Done is queued for trimming; one with an abandoned event stays in the
// log (for the replay at the next start). Either way its events stop
// counting as in flight and its batch's memory goes back once the last
// of them is told.
func TestLogRecordTrimsOnlyWhatWasEvaluated(t *testing.T) {
	for _, tc := range []struct {
		name      string
		abandon   bool
		wantTrims int
	}{
		{"every event done", false, 1},
		{"one event abandoned", true, 0},
	} {
		trimmer := &Trimmer{mailbox: actors.NewMailbox[uint64](16)}
		var inFlight, inFlightBytes atomic.Int64
		inFlight.Store(2)
		inFlightBytes.Store(300)
		mem := lendBatchMemory(64)
		if mem == nil {
			t.Fatal("no memory lent")
		}
		mem.hold() // the request's own hold, let go at its answer
		mem.release()
		record := &logRecord{seq: 7, trimmer: trimmer, inFlight: &inFlight, memory: mem, events: 2,
			inFlightBytes: &inFlightBytes, bodyBytes: 300}
		record.remaining.Store(2)
		if tc.abandon {
			record.Abandon()
		} else {
			record.Done()
		}
		if mem.refs.Load() != 1 || trimmer.mailbox.Len() != 0 || inFlight.Load() != 2 || inFlightBytes.Load() != 300 {
			t.Fatalf("%s: let go after one of two events (%d holders, %d trims queued, %d in flight, %d bytes)",
				tc.name, mem.refs.Load(), trimmer.mailbox.Len(), inFlight.Load(), inFlightBytes.Load())
		}
		record.Done()
		if got := trimmer.mailbox.Len(); got != tc.wantTrims {
			t.Errorf("%s: %d trims queued, want %d", tc.name, got, tc.wantTrims)
		}
		if inFlight.Load() != 0 || inFlightBytes.Load() != 0 || mem.refs.Load() != 0 {
			t.Errorf("%s: %d events (%d bytes) still in flight, %d holders of the memory; want none",
				tc.name, inFlight.Load(), inFlightBytes.Load(), mem.refs.Load())
		}
	}
}

// TestBacklogFindsTheOldestUnevaluatedRecord: records finish in any order;
// the backlog answers with the oldest one still to finish, and nothing
// once all have.
func TestBacklogFindsTheOldestUnevaluatedRecord(t *testing.T) {
	var b backlog
	records := make([]*logRecord, 6)
	for i := range records {
		records[i] = &logRecord{arrived: int64(100 + i)}
		records[i].remaining.Store(1)
		b.add(records[i])
	}
	finish := func(i int) { records[i].remaining.Store(0) }
	for _, step := range []struct {
		finished []int
		oldest   int64
	}{
		{nil, 100},
		{[]int{1, 2}, 100}, // finished after the head: the head still waits
		{[]int{0}, 103},    // the head and the two behind it leave together
		{[]int{4}, 103},
		{[]int{3}, 105},
		{[]int{5}, 0},
	} {
		for _, i := range step.finished {
			finish(i)
		}
		if got := b.oldest(); got != step.oldest {
			t.Fatalf("after finishing %v: oldest %d, want %d", step.finished, got, step.oldest)
		}
	}
	if len(b.records) != 0 || b.head != 0 {
		t.Fatalf("an empty backlog holds %d records from %d", len(b.records), b.head)
	}
	b.add(&logRecord{arrived: 200})
	b.records[0].remaining.Store(1)
	if got := b.oldest(); got != 200 {
		t.Fatalf("after emptying, a new record: oldest %d, want 200", got)
	}
}
