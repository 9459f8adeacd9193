package store

import (
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

// PutStream stores (creates or replaces) a stream definition.
func (s *Store) PutStream(st *model.Stream) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("store: encode stream: %w", err)
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(key(prefixStream, st.ID), b) })
}

// DeleteStream removes a stream definition. Its fired markers stay until
// they expire, so re-creating nothing can fire twice under the old id.
func (s *Store) DeleteStream(id string) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Delete(key(prefixStream, id)) })
}

// LoadStreams returns every stored stream, in id (creation) order.
func (s *Store) LoadStreams() ([]*model.Stream, error) {
	var out []*model.Stream
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixStream, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			st := new(model.Stream)
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, st) }); err != nil {
				return fmt.Errorf("store: decode stream %s: %w", it.Item().Key(), err)
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}
