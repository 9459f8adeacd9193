package store

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

var (
	prefixFilter    = []byte("filter/")
	prefixFilterBin = []byte("filterbin/")
)

// PutFilter stores a filter module and its description in one transaction.
func (s *Store) PutFilter(f *model.Filter, binary []byte) error {
	meta, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(key(prefixFilterBin, f.Name), binary); err != nil {
			return err
		}
		return txn.Set(key(prefixFilter, f.Name), meta)
	})
}

// DeleteFilter removes a filter module.
func (s *Store) DeleteFilter(name string) error {
	return s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(key(prefixFilterBin, name)); err != nil {
			return err
		}
		return txn.Delete(key(prefixFilter, name))
	})
}

// LoadFilters calls fn with every stored filter and its module.
func (s *Store) LoadFilters(fn func(f *model.Filter, binary []byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixFilter, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			f := new(model.Filter)
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, f) }); err != nil {
				return fmt.Errorf("store: decode filter %s: %w", it.Item().Key(), err)
			}
			item, err := txn.Get(key(prefixFilterBin, f.Name))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("store: filter %s has no module", f.Name)
			}
			if err != nil {
				return err
			}
			binary, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(f, binary); err != nil {
				return err
			}
		}
		return nil
	})
}
