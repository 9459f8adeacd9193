package store

import (
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

var prefixKey = []byte("apikey/")

// storedKey is an API key as stored: the record with its hash, which the
// API form leaves out.
type storedKey struct {
	*model.APIKey
	Hash string `json:"hash"`
}

// PutKey stores an API key record (its hash, never the key).
func (s *Store) PutKey(k *model.APIKey) error {
	b, err := json.Marshal(storedKey{APIKey: k, Hash: k.Hash})
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(key(prefixKey, k.ID), b) })
}

// DeleteKey removes an API key record.
func (s *Store) DeleteKey(id string) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Delete(key(prefixKey, id)) })
}

// LoadKeys returns every stored API key record.
func (s *Store) LoadKeys() ([]*model.APIKey, error) {
	var out []*model.APIKey
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixKey, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			sk := storedKey{APIKey: &model.APIKey{}}
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &sk) }); err != nil {
				return fmt.Errorf("store: decode key: %w", err)
			}
			sk.APIKey.Hash = sk.Hash
			out = append(out, sk.APIKey)
		}
		return nil
	})
	return out, err
}
