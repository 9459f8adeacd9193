package store

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

// The failed deliveries have an index of their own (msgfailed/, keyed as
// msgtime/ is: creation time, then id), so that listing them — what an
// operator asks for, and what recover reads — does not walk every delivery
// kept: over a month of successes that was many pages of nothing. A key is
// set whenever a delivery is written failed and expires with it; a retry
// that makes it pending again leaves the key, and the listing checks each
// delivery's status as it reads it, so nothing is written when a delivery
// succeeds.
//
// A store from before the index gets it built once, in the background;
// until then the failed ones are listed from the time index as before.

// failedIndexBuiltKey marks a store whose failed deliveries are all indexed.
var failedIndexBuiltKey = []byte("meta/msgfailed-index")

func msgFailedKey(created time.Time, id string) []byte {
	return append(u64Key(prefixMsgFailed, uint64(created.UnixNano())), id...)
}

// failedIndex knows whether the index can be read yet.
type failedIndex struct {
	ready atomic.Bool
	stop  context.CancelFunc
	built chan struct{} // closed when the build has ended, done or not
}

// startFailedIndex is ready at once in a store that has the index or no
// delivery at all, and otherwise builds it from the deliveries in db in
// the background.
func startFailedIndex(db *badger.DB) (*failedIndex, error) {
	fi := &failedIndex{built: make(chan struct{})}
	indexed := false
	err := db.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(failedIndexBuiltKey); err != badger.ErrKeyNotFound {
			indexed = err == nil
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixMsg, PrefetchValues: false})
		defer it.Close()
		if it.Rewind(); it.Valid() {
			return nil // deliveries from before the index: build it
		}
		indexed = true
		return txn.Set(failedIndexBuiltKey, nil)
	})
	if err != nil {
		return nil, err
	}
	if indexed {
		fi.ready.Store(true)
		close(fi.built)
		return fi, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	fi.stop = cancel
	go func() {
		defer close(fi.built)
		if buildFailedIndex(ctx, db) == nil {
			fi.ready.Store(true)
		}
	}()
	return fi, nil
}

// close ends a build still running; the next open starts it again.
func (fi *failedIndex) close() {
	if fi.stop != nil {
		fi.stop()
	}
	<-fi.built
}

// buildFailedIndex writes the index key of every failed delivery in db,
// expiring with it, then the mark that the index is complete. Deliveries
// written meanwhile index themselves; one retried meanwhile may get a key
// it no longer needs, which the listing skips.
func buildFailedIndex(ctx context.Context, db *badger.DB) error {
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixMsg, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			item := it.Item()
			var head struct {
				ID        string    `json:"id"`
				Status    string    `json:"status"`
				CreatedAt time.Time `json:"created_at"`
			}
			if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &head) }); err != nil {
				return err
			}
			if head.Status != model.StatusFailed {
				continue
			}
			e := badger.NewEntry(msgFailedKey(head.CreatedAt, head.ID), nil)
			e.ExpiresAt = item.ExpiresAt()
			if err := wb.SetEntry(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := wb.Set(failedIndexBuiltKey, nil); err != nil {
		return err
	}
	return wb.Flush()
}
