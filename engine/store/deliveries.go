package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

// LoadSession returns the remembered session, or nil if there is none.
func (s *Store) LoadSession(id string) (*model.Session, error) {
	var out *model.Session
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		out, err = getSession(txn, id)
		return err
	})
	return out, err
}

func getSession(txn *badger.Txn, id string) (*model.Session, error) {
	item, err := txn.Get(key(prefixSession, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sess := new(model.Session)
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, sess) }); err != nil {
		return nil, fmt.Errorf("store: decode session %s: %w", id, err)
	}
	return sess, nil
}

// SessionRecord is a session's record encoded at one moment, so that it
// can be written later while the session goes on changing.
type SessionRecord struct {
	ID      string
	Encoded []byte
	// LastEventAt starts the retention clock.
	LastEventAt time.Time
	// UserID and ArrivedFirst, when the session has a user, file the
	// session under its user (see UserSessions).
	UserID       string
	ArrivedFirst time.Time
}

// EncodeSession captures sess for a later write.
func EncodeSession(sess *model.Session) (SessionRecord, error) {
	b, err := encodeSession(sess)
	if err != nil {
		return SessionRecord{}, fmt.Errorf("store: encode session %s: %w", sess.ID, err)
	}
	rec := SessionRecord{ID: sess.ID, Encoded: b, LastEventAt: sess.LastEventAt, ArrivedFirst: sess.ArrivedFirst}
	if sess.User != nil {
		rec.UserID = sess.User.UID
	}
	return rec, nil
}

func putSession(txn *badger.Txn, rec SessionRecord, retention time.Duration) error {
	ttl := time.Until(rec.LastEventAt.Add(retention))
	if ttl < retention {
		// A producer clock in the past must not expire the markers early.
		ttl = retention
	}
	if err := txn.SetEntry(badger.NewEntry(key(prefixSession, rec.ID), rec.Encoded).WithTTL(ttl)); err != nil {
		return err
	}
	if rec.UserID == "" || rec.ArrivedFirst.IsZero() {
		return nil
	}
	// The same key each time for one run of the session: a blind write,
	// no read of what the user had before.
	return txn.SetEntry(badger.NewEntry(userSessionKey(rec.UserID, rec.ArrivedFirst, rec.ID), nil).WithTTL(ttl))
}

// SessionCommit is one session's evaluated effects: its record (fired
// markers, filter state, evaluated position) and the messages of the
// streams it fired (the outbox).
type SessionCommit struct {
	Record     SessionRecord
	Deliveries []*model.Delivery
	// Members are the segments the session matched in this turn, recorded
	// with it (system.Service counts them for alerts).
	Members []model.SegmentMember
	// Written is filled in by CommitSessions: the deliveries it stored. A
	// message whose stream the stored record already marks as fired is
	// dropped: this is what makes "once per session" hold across crashes
	// and replays.
	Written []*model.Delivery
}

// CommitSessions writes several sessions' effects in one transaction, in
// order (a later commit of the same session sees the earlier one). When any
// message was written, everything is durable before it returns, so nothing
// is delivered for a marker a crash could lose.
func (s *Store) CommitSessions(commits []*SessionCommit, retention time.Duration) error {
	// A single committer calls this, so there are no conflicts to retry; a
	// batch too big for one transaction is split in halves.
	err := s.commitSessions(commits, retention)
	switch {
	case !errors.Is(err, badger.ErrTxnTooBig):
		return err
	case len(commits) > 1:
		half := len(commits) / 2
		if err := s.CommitSessions(commits[:half], retention); err != nil {
			return err
		}
		return s.CommitSessions(commits[half:], retention)
	}
	return s.commitInSteps(commits[0], retention)
}

// commitInSteps writes one session's commit too big for a transaction
// (Badger takes about 4.8 MB in one: an event with 60 KB of properties
// firing 300 streams made 18 MB of messages): its messages in as many
// transactions as they need, then its segment matches, then its record.
// Not atomic, but in an order a crash cannot turn into a second message:
// until the record is written it marks none of these streams fired and
// its evaluated position is before the events that fired them, so the
// next start evaluates those events again, and they fire the same
// messages (ids derive from stream and session). One found already
// written with the same payload is left as it is (queued at the start if
// pending, perhaps delivered since), not written or handed out again.
func (s *Store) commitInSteps(c *SessionCommit, retention time.Duration) error {
	c.Written = c.Written[:0]
	stored, err := s.LoadSession(c.Record.ID)
	if err != nil {
		return err
	}
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	// step runs put in txn, or, when txn is full, in the next one.
	step := func(put func(*badger.Txn) error) error {
		err := put(txn)
		if !errors.Is(err, badger.ErrTxnTooBig) {
			return err
		}
		if err := txn.Commit(); err != nil {
			return err
		}
		txn = s.db.NewTransaction(true)
		return put(txn) // alone in a transaction: too big now is an error
	}
	for _, d := range c.Deliveries {
		if stored != nil {
			if _, ok := stored.Fired[d.StreamID]; ok {
				continue
			}
		}
		switch earlier, err := s.GetDelivery(d.ID); {
		case err == nil && bytes.Equal(earlier.Payload, d.Payload):
			continue // written by a step before a crash
		case err != nil && !errors.Is(err, model.ErrNotFound):
			return err
		}
		b, err := encodeDelivery(d)
		if err != nil {
			return err
		}
		if err := step(func(txn *badger.Txn) error { return s.putDelivery(txn, d, b) }); err != nil {
			return err
		}
		c.Written = append(c.Written, d)
	}
	for i := range c.Members {
		if err := step(func(txn *badger.Txn) error { return putSegmentMember(txn, &c.Members[i]) }); err != nil {
			return err
		}
	}
	if err := step(func(txn *badger.Txn) error { return putSession(txn, c.Record, retention) }); err != nil {
		return err
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	return s.durable()
}

func (s *Store) commitSessions(commits []*SessionCommit, retention time.Duration) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	wrote := false
	for _, c := range commits {
		c.Written = c.Written[:0]
		if len(c.Deliveries) > 0 {
			stored, err := getSession(txn, c.Record.ID)
			if err != nil {
				return err
			}
			for _, d := range c.Deliveries {
				if stored != nil {
					if _, ok := stored.Fired[d.StreamID]; ok {
						continue
					}
				}
				b, err := encodeDelivery(d)
				if err != nil {
					return err
				}
				if err := s.putDelivery(txn, d, b); err != nil {
					return err
				}
				c.Written = append(c.Written, d)
				wrote = true
			}
		}
		if err := putSession(txn, c.Record, retention); err != nil {
			return err
		}
		for i := range c.Members {
			if err := putSegmentMember(txn, &c.Members[i]); err != nil {
				return err
			}
		}
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	if wrote {
		return s.durable()
	}
	return nil
}

// AddDelivery stores a new pending message that no session marker guards
// (system webhooks, tests of the outbox).
func (s *Store) AddDelivery(d *model.Delivery) error {
	b, err := encodeDelivery(d)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return s.putDelivery(txn, d, b) })
}

// putDelivery writes a delivery and its indexes. A pending delivery never
// expires; one with a final status is kept for the delivery retention from
// now, then its record and listing entries expire together.
func (s *Store) putDelivery(txn *badger.Txn, d *model.Delivery, encoded []byte) error {
	entries := []*badger.Entry{
		badger.NewEntry(key(prefixMsg, d.ID), encoded),
		badger.NewEntry(msgTimeKey(d.CreatedAt, d.ID), nil),
	}
	head := deliveryHead{ID: d.ID, StreamID: d.StreamID, Status: d.Status, CreatedAt: d.CreatedAt}
	for _, ix := range s.indexes.all() {
		if k := ix.keyOf(&head); k != nil {
			entries = append(entries, badger.NewEntry(k, nil))
		}
	}
	pk := pendingKey(d.URL, d.ID)
	if d.Status == model.StatusPending {
		for _, e := range entries {
			if err := txn.SetEntry(e); err != nil {
				return err
			}
		}
		return txn.Set(pk, []byte(d.URL))
	}
	for _, e := range entries {
		if err := txn.SetEntry(e.WithTTL(s.deliveryRetention)); err != nil {
			return err
		}
	}
	return txn.Delete(pk)
}

// MoveDelivery points a pending delivery at url (its stream's destination
// changed), keeping the index of pending deliveries by URL in step.
func (s *Store) MoveDelivery(d *model.Delivery, url string) error {
	old := d.URL
	d.URL = url
	b, err := encodeDelivery(d)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(pendingKey(old, d.ID)); err != nil {
			return err
		}
		return s.putDelivery(txn, d, b)
	})
}

// GetDelivery returns a delivery with its attempts.
func (s *Store) GetDelivery(id string) (*model.Delivery, error) {
	d := new(model.Delivery)
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key(prefixMsg, id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: no delivery %s", model.ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, d) })
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// UpdateDelivery rewrites a delivery (status, attempts, schedule) and keeps
// the pending index in step with its status.
func (s *Store) UpdateDelivery(d *model.Delivery) error {
	b, err := encodeDelivery(d)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return s.putDelivery(txn, d, b) })
}

// DeliveryFilter narrows ListDeliveries.
type DeliveryFilter struct {
	StreamID        string
	SystemWebhookID string
	Status          string
	Since           time.Time // only deliveries created at or after
}

// deliveryFields are what a filter reads of a delivery, without its payload.
type deliveryFields struct {
	StreamID        string `json:"stream_id"`
	SystemWebhookID string `json:"system_webhook_id"`
	Status          string `json:"status"`
}

func (f DeliveryFilter) match(d *deliveryFields) bool {
	return (f.StreamID == "" || d.StreamID == f.StreamID) &&
		(f.SystemWebhookID == "" || d.SystemWebhookID == f.SystemWebhookID) &&
		(f.Status == "" || d.Status == f.Status)
}

// narrows reports whether the filter can refuse a delivery at all.
func (f DeliveryFilter) narrows() bool {
	return f.StreamID != "" || f.SystemWebhookID != "" || f.Status != ""
}

// listScanBudget bounds the deliveries one page looks at. A filter few
// match (failed among millions that succeeded, over a month's retention)
// read the whole history for one page: minutes for one request. A page
// that spends it returns what it found, perhaps nothing, with a cursor to
// go on from. A variable for tests.
var listScanBudget = 50_000

// ListDeliveries returns up to limit deliveries, newest first, after the
// opaque cursor from a previous page. The next cursor is empty at the end;
// a page may hold fewer than limit (none, even) before the end, when it
// has looked at listScanBudget deliveries.
func (s *Store) ListDeliveries(f DeliveryFilter, limit int, cursor []byte) ([]*model.Delivery, []byte, error) {
	out := []*model.Delivery{}
	var next, lastRest []byte
	examined := 0
	// The narrowest index that is built; their keys end as the time
	// index's do, so a cursor serves any (deliveryindex.go). Failures are
	// few, so the failed index goes first.
	index := prefixMsgTime
	switch {
	case f.Status == model.StatusFailed && s.indexes.failed.ready.Load():
		index = prefixMsgFailed
	case f.StreamID != "" && s.indexes.byStream.ready.Load():
		index = msgStreamPrefix(f.StreamID)
	}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: index, Reverse: true})
		defer it.Close()
		start := append(append([]byte(nil), index...), 0xff)
		if len(cursor) > 0 {
			start = append(append([]byte(nil), index...), cursor...)
		}
		for it.Seek(start); it.Valid(); it.Next() {
			k := it.Item().Key()
			rest := k[len(index):]
			if len(cursor) > 0 && string(rest) == string(cursor) {
				continue
			}
			created := time.Unix(0, int64(binary.BigEndian.Uint64(rest[:8])))
			if created.Before(f.Since) {
				break
			}
			if len(out) == limit {
				next = lastRest
				break
			}
			if examined == listScanBudget {
				next = lastRest
				break
			}
			examined++
			lastRest = append(lastRest[:0:0], rest...)
			id := string(rest[8:])
			item, err := txn.Get(key(prefixMsg, id))
			if err != nil {
				continue // expired
			}
			var d *model.Delivery
			if err := item.Value(func(v []byte) error {
				if f.narrows() {
					var fields deliveryFields
					if err := json.Unmarshal(v, &fields); err != nil {
						return err
					}
					if !f.match(&fields) {
						return nil
					}
				}
				d = new(model.Delivery)
				return json.Unmarshal(v, d)
			}); err != nil {
				return err
			}
			if d != nil {
				out = append(out, d)
			}
		}
		return nil
	})
	return out, next, err
}

// PendingDeliveries calls fn with the id and URL of every undelivered
// message, grouped by endpoint; with url set, only that endpoint's.
func (s *Store) PendingDeliveries(url string, fn func(id, url string)) error {
	prefix := prefixPending
	if url != "" {
		prefix = u64Key(prefixPending, endpointKey(url))
	}
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			id := string(it.Item().Key()[len(prefixPending)+8:])
			var u string
			if err := it.Item().Value(func(v []byte) error { u = string(v); return nil }); err != nil {
				return err
			}
			if url == "" || u == url {
				fn(id, u)
			}
		}
		return nil
	})
}
