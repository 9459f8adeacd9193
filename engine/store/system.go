package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

var (
	prefixSystemHook = []byte("syshook/")
	prefixSegment    = []byte("segment/")
	prefixAlert      = []byte("segalert/")
	prefixMember     = []byte("segmember/")
	prefixNote       = []byte("note/")
)

// putJSON stores v under prefix+id, with a TTL when ttl > 0.
func (s *Store) putJSON(prefix []byte, id string, v any, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e := badger.NewEntry(key(prefix, id), b)
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.SetEntry(e) })
}

func (s *Store) delete(prefix []byte, id string) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Delete(key(prefix, id)) })
}

// loadJSON decodes every record under prefix, in key order.
func loadJSON[T any](s *Store, prefix []byte) ([]*T, error) {
	var out []*T
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v := new(T)
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, v) }); err != nil {
				return fmt.Errorf("store: decode %s: %w", it.Item().Key(), err)
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// PutSystemWebhook stores a system webhook endpoint (with its secret).
func (s *Store) PutSystemWebhook(w *model.SystemWebhook) error {
	return s.putJSON(prefixSystemHook, w.ID, w, 0)
}

// DeleteSystemWebhook removes an endpoint.
func (s *Store) DeleteSystemWebhook(id string) error { return s.delete(prefixSystemHook, id) }

// LoadSystemWebhooks returns every endpoint.
func (s *Store) LoadSystemWebhooks() ([]*model.SystemWebhook, error) {
	return loadJSON[model.SystemWebhook](s, prefixSystemHook)
}

// PutSegment stores a segment definition.
func (s *Store) PutSegment(g *model.Segment) error { return s.putJSON(prefixSegment, g.ID, g, 0) }

// DeleteSegment removes a segment and its alerts.
func (s *Store) DeleteSegment(id string, alerts []string) error {
	return s.db.Update(func(txn *badger.Txn) error {
		for _, a := range alerts {
			if err := txn.Delete(key(prefixAlert, a)); err != nil {
				return err
			}
		}
		return txn.Delete(key(prefixSegment, id))
	})
}

// LoadSegments returns every segment.
func (s *Store) LoadSegments() ([]*model.Segment, error) {
	return loadJSON[model.Segment](s, prefixSegment)
}

// PutAlert stores an alert with its armed state.
func (s *Store) PutAlert(a *model.SegmentAlert) error { return s.putJSON(prefixAlert, a.ID, a, 0) }

// DeleteAlert removes an alert.
func (s *Store) DeleteAlert(id string) error { return s.delete(prefixAlert, id) }

// LoadAlerts returns every alert.
func (s *Store) LoadAlerts() ([]*model.SegmentAlert, error) {
	return loadJSON[model.SegmentAlert](s, prefixAlert)
}

// putSegmentMember records a user's latest match of a segment in txn (a
// session's commit), kept for model.SegmentMemberTTL.
func putSegmentMember(txn *badger.Txn, m *model.SegmentMember) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return txn.SetEntry(badger.NewEntry(key(prefixMember, m.SegmentID+"\x00"+m.UserID), b).WithTTL(model.SegmentMemberTTL))
}

// LoadSegmentMembers returns the remembered matches of one segment.
func (s *Store) LoadSegmentMembers(segmentID string) ([]*model.SegmentMember, error) {
	return loadJSON[model.SegmentMember](s, key(prefixMember, segmentID+"\x00"))
}

// PutNote stores a note.
func (s *Store) PutNote(n *model.Note) error { return s.putJSON(prefixNote, n.ID, n, 0) }
