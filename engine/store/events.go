package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

// LogBatch is one accepted request's events, as appended to the event log.
type LogBatch struct {
	Seq    uint64
	Events []model.Event
}

// AppendRequest asks AppendEvents to log one request's events.
type AppendRequest struct {
	Events []model.Event
	// Duplicate is filled in by AppendEvents: Duplicate[i] is true when
	// Events[i] repeats an (session, id) pair already accepted, in this
	// call or earlier. Duplicates are not logged.
	Duplicate []bool
	// Seq is the log sequence assigned to the request's new events (0 if all
	// were duplicates).
	Seq uint64
}

// AppendEvents logs several requests in one commit (group commit): each
// request's new events become one log record, and every producer event id is
// remembered for dedupeTTL. On return with nil error, everything is durable
// to the level the store was opened with.
func (s *Store) AppendEvents(reqs []*AppendRequest, dedupeTTL time.Duration) error {
	// The single ingest writer calls this, so there are no write conflicts
	// to retry; a batch too big for one transaction is split in halves.
	err := s.appendEvents(reqs, dedupeTTL)
	if errors.Is(err, badger.ErrTxnTooBig) && len(reqs) > 1 {
		half := len(reqs) / 2
		if err := s.AppendEvents(reqs[:half], dedupeTTL); err != nil {
			return err
		}
		return s.AppendEvents(reqs[half:], dedupeTTL)
	}
	return err
}

func (s *Store) appendEvents(reqs []*AppendRequest, dedupeTTL time.Duration) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	seen := map[string]bool{}
	for _, r := range reqs {
		r.Duplicate = make([]bool, len(r.Events))
		r.Seq = 0
		fresh := make([]model.Event, 0, len(r.Events))
		for i := range r.Events {
			ev := &r.Events[i]
			if ev.ID != "" {
				k := key(prefixEvID, ev.SessionID, ev.ID)
				if seen[string(k)] {
					r.Duplicate[i] = true
					continue
				}
				_, err := txn.Get(k)
				switch {
				case err == nil:
					r.Duplicate[i] = true
					continue
				case !errors.Is(err, badger.ErrKeyNotFound):
					return fmt.Errorf("store: dedupe lookup: %w", err)
				}
				seen[string(k)] = true
				if err := txn.SetEntry(badger.NewEntry(k, nil).WithTTL(dedupeTTL)); err != nil {
					return err
				}
			}
			fresh = append(fresh, *ev)
		}
		if len(fresh) == 0 {
			continue
		}
		seq, err := s.seq.Next()
		if err != nil {
			return fmt.Errorf("store: event sequence: %w", err)
		}
		seq++ // sequences start at 0; keep 0 for "nothing logged"
		if err := txn.Set(u64Key(prefixEvLog, seq), appendLogRecord(nil, fresh)); err != nil {
			return err
		}
		r.Seq = seq
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	return s.durable()
}

// TrimEvents deletes log records whose events have all been evaluated.
func (s *Store) TrimEvents(seqs []uint64) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, seq := range seqs {
		if err := wb.Delete(u64Key(prefixEvLog, seq)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// ReplayEvents calls fn with every logged batch, oldest first: the events
// accepted but not yet known to be evaluated when the process last stopped.
func (s *Store) ReplayEvents(fn func(LogBatch) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixEvLog, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			b := LogBatch{Seq: binary.BigEndian.Uint64(it.Item().Key()[len(prefixEvLog):])}
			err := it.Item().Value(func(v []byte) (err error) {
				b.Events, err = decodeLogRecord(v)
				return err
			})
			if err != nil {
				return fmt.Errorf("store: decode event log record %d: %w", b.Seq, err)
			}
			if err := fn(b); err != nil {
				return err
			}
		}
		return nil
	})
}
