package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

// LogBatch is one accepted request's events, as appended to the event log.
type LogBatch struct {
	Seq    uint64
	Events []model.Event
}

// AppendRequest asks WriteEvents to log one request's events.
type AppendRequest struct {
	Events []model.Event
	// Duplicate is filled in by WriteEvents: Duplicate[i] is true when
	// Events[i] repeats an (session, id) pair already accepted, in this
	// call or earlier. Duplicates are not logged.
	Duplicate []bool
	// Seq is the log sequence assigned to the request's new events (0 if all
	// were duplicates).
	Seq uint64
}

// Written is a group of requests in the event log, not yet known durable.
type Written struct {
	ids     [][]byte      // dedupe keys, remembered once durable
	pending *pendingGroup // ids held until Badger has them; nil: none to write
	expires int64         // when its ids expire in Badger, Unix seconds
	last    uint64        // the group's last record's sequence (0: none)
}

// WriteEvents is the first half of a group commit: it marks duplicates
// (against the ids remembered and those of groups written but not yet
// durable) and writes each request's new events as one record, without
// waiting for the disk. One goroutine calls it (the ingest writer); another
// may run MakeDurable meanwhile, so the next group is written while the
// last one syncs.
func (s *Store) WriteEvents(reqs []*AppendRequest, dedupeTTL time.Duration) (*Written, error) {
	if err := s.space.refuse(); err != nil {
		return nil, err
	}
	w := &Written{expires: idsExpire(dedupeTTL)}
	withIDs := false
	for _, r := range reqs {
		r.Duplicate = make([]bool, len(r.Events))
		r.Seq = 0
		withIDs = withIDs || slices.ContainsFunc(r.Events, func(e model.Event) bool { return e.ID != "" })
	}
	if withIDs {
		if err := s.lookUpIDs(reqs, w); err != nil {
			return nil, err
		}
	}
	var seqs []uint64
	records := s.logBuf[:0]
	for _, r := range reqs {
		fresh := r.Events
		if slices.Contains(r.Duplicate, true) {
			fresh = nil
			for i := range r.Events {
				if !r.Duplicate[i] {
					fresh = append(fresh, r.Events[i])
				}
			}
		}
		if len(fresh) == 0 {
			continue
		}
		seq, err := s.seq.Next()
		if err != nil {
			return nil, fmt.Errorf("store: event sequence: %w", err)
		}
		r.Seq = seq + 1 // sequences start at 0; keep 0 for "nothing logged"
		seqs = append(seqs, r.Seq)
		w.last = r.Seq
		records = appendRecord(records, r.Seq, func(dst []byte) []byte { return appendLogRecord(dst, fresh) })
	}
	if cap(records) <= 8<<20 { // keep the buffer, unless a burst grew it
		s.logBuf = records[:0]
	}
	if len(seqs) > 0 {
		if err := s.log.write(seqs, records); err != nil {
			if errors.Is(err, errWriteTakenBack) {
				s.space.logger.Error("store: the event log's file system is full", "err", err)
				s.space.full()
				return nil, s.space.refuse()
			}
			return nil, err
		}
		s.space.wrote(len(records))
	}
	w.pending = s.hold(w.ids)
	return w, nil
}

// lookUpIDs marks the requests' events whose producer id was accepted before
// (or is in a group still syncing, or repeats within reqs), and notes the
// new ids in w.
func (s *Store) lookUpIDs(reqs []*AppendRequest, w *Written) error {
	n := 0
	for _, r := range reqs {
		n += len(r.Events)
	}
	seen := make(map[string]bool, n) // sized once: growing it was 3 % of the CPU with ids
	for _, r := range reqs {
		for i := range r.Events {
			ev := &r.Events[i]
			if ev.ID == "" {
				continue
			}
			k := key(prefixEvID, ev.SessionID, ev.ID)
			// The filter holds pending ids too: most ids are new, and for
			// them neither the pending sets nor Badger are searched.
			dup := seen[string(k)]
			if !dup && !s.ids.certainlyAbsent(k) {
				var err error
				if dup, err = s.remembered(k); err != nil {
					return err
				}
			}
			if dup {
				r.Duplicate[i] = true
				continue
			}
			seen[string(k)] = true
			w.ids = append(w.ids, k)
		}
	}
	s.ids.add(w.ids, w.expires) // before they are pending, or in Badger: see idFilter
	return nil
}

// remembered reports whether k is pending or in Badger. Badger is read
// after the pending sets, in a transaction begun then: an id the id
// writer moves from one to the other meanwhile was committed before it
// left the pending sets, so that transaction sees it. (One transaction
// for a whole group, begun before its pending checks, missed an id that
// moved in between: a duplicate taken for new.)
func (s *Store) remembered(k []byte) (bool, error) {
	if s.pendingID(k) {
		return true, nil
	}
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(k)
		return err
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return false, nil
	}
	return false, fmt.Errorf("store: dedupe lookup: %w", err)
}

// MakeDurable is the second half: one sync covers every group written
// before it; WaitDurable then lets their events' effects be written, and
// the groups' ids go to the id writer, which remembers them in Badger
// after (see idWriter: until then they are pending, and lookups see them).
// The ids come after the records: a crash in between loses ids of logged
// events, which replay restores, never an event whose id says it was
// accepted. On error the groups' events are not accepted and their ids
// are let go. A failed sync also fails every wait for them (or a later
// record): the log is broken until a restart.
func (s *Store) MakeDurable(groups []*Written) error {
	err := s.log.syncWritten()
	last := uint64(0)
	for _, w := range groups {
		last = max(last, w.last)
		if err != nil {
			// Not accepted: the ids are let go, and the group passes the
			// id writer only to move its watermark on.
			s.release(w.pending)
			w.pending = nil
		}
	}
	if err != nil {
		s.logDurable.fail(err)
	} else {
		s.logDurable.advance(last)
	}
	s.idWriter.enqueue(groups)
	return err
}

// pendingID reports whether k belongs to a group whose ids are not yet
// in Badger (written to the log, or durable and waiting for the id
// writer).
func (s *Store) pendingID(k []byte) bool {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	for _, g := range s.pending {
		if _, ok := g.ids[string(k)]; ok {
			return true
		}
	}
	return false
}

// pendingGroup is one group's ids while they are pending. A set per
// group, dropped whole, rather than one set of every pending id: with ids
// on every event that set held a hundred thousand ids, each added and
// deleted once, and its upkeep was a tenth of the server's CPU.
type pendingGroup struct {
	ids map[string]struct{}
}

// hold notes a group's ids as pending until release.
func (s *Store) hold(ids [][]byte) *pendingGroup {
	if len(ids) == 0 {
		return nil
	}
	g := &pendingGroup{ids: make(map[string]struct{}, len(ids))}
	for _, k := range ids {
		g.ids[string(k)] = struct{}{}
	}
	s.pendingMu.Lock()
	s.pending = append(s.pending, g)
	s.pendingMu.Unlock()
	return g
}

// release forgets a held group (nil: nothing was held).
func (s *Store) release(g *pendingGroup) {
	if g == nil {
		return
	}
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	if i := slices.Index(s.pending, g); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
}

// idsExpire is when ids accepted now expire in Badger (Unix seconds):
// fixed at acceptance, so that the id filter's generations know it
// before the ids are written.
func idsExpire(ttl time.Duration) int64 {
	return time.Now().Add(ttl).Unix()
}

// rememberIDs stores dedupe keys (not synced: see MakeDurable). The id
// filter must have them already.
func (s *Store) rememberIDs(keys [][]byte, expires int64) error {
	if len(keys) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		e := badger.NewEntry(k, nil)
		e.ExpiresAt = uint64(max(expires, 1)) // 0 would be never
		if err := wb.SetEntry(e); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// TrimEvents forgets log records whose events have all been evaluated.
func (s *Store) TrimEvents(seqs []uint64) error {
	var legacy []uint64
	if s.legacyMaxSeq > 0 {
		legacy = slices.DeleteFunc(slices.Clone(seqs), func(seq uint64) bool { return seq > s.legacyMaxSeq })
		seqs = slices.DeleteFunc(seqs, func(seq uint64) bool { return seq <= s.legacyMaxSeq })
	}
	if len(legacy) > 0 {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for _, seq := range legacy {
			if err := wb.Delete(u64Key(prefixEvLog, seq)); err != nil {
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			return err
		}
	}
	// Before a segment goes, the dedupe keys of its events must be in
	// Badger, and on disk.
	if len(seqs) > 0 && !s.idWriter.waitWritten(slices.Max(seqs)) {
		return ErrClosed
	}
	before := s.log.watermark()
	if err := s.log.trim(seqs, s.durable); err != nil {
		return err
	}
	if after := s.log.watermark(); after != before {
		// A hint for replay (losing it replays evaluated events again,
		// which changes nothing), so it is not synced.
		return s.db.Update(func(txn *badger.Txn) error {
			return txn.Set(keyEvaluatedWatermark, binary.BigEndian.AppendUint64(nil, after))
		})
	}
	return nil
}

var keyEvaluatedWatermark = []byte("meta/evlog-evaluated")

// evaluatedWatermark is the last stored watermark of the event log.
func (s *Store) evaluatedWatermark() uint64 {
	var w uint64
	_ = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyEvaluatedWatermark)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) == 8 {
				w = binary.BigEndian.Uint64(v)
			}
			return nil
		})
	})
	return w
}

// ReplayEvents calls fn with every logged batch, oldest first: the events
// accepted but not yet known to be evaluated when the process last stopped.
// It restores their dedupe keys too. Records that versions before the
// file log kept in Badger come first.
func (s *Store) ReplayEvents(dedupeTTL time.Duration, fn func(LogBatch) error) error {
	replay := func(seq uint64, payload []byte) error {
		events, err := decodeLogRecord(payload)
		if err != nil {
			return fmt.Errorf("store: decode event log record %d: %w", seq, err)
		}
		var ids [][]byte
		for i := range events {
			if events[i].ID != "" {
				ids = append(ids, key(prefixEvID, events[i].SessionID, events[i].ID))
			}
		}
		expires := idsExpire(dedupeTTL)
		s.ids.add(ids, expires) // before Badger has them: see idFilter
		if err := s.rememberIDs(ids, expires); err != nil {
			return err
		}
		return fn(LogBatch{Seq: seq, Events: events})
	}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixEvLog, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			seq := binary.BigEndian.Uint64(it.Item().Key()[len(prefixEvLog):])
			if err := it.Item().Value(func(v []byte) error { return replay(seq, v) }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.log.replay(replay)
}
