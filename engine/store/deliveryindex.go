package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"slices"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

// Besides the time index (msgtime/) every listing can walk, deliveries
// have two narrower ones, so that the listings operators ask for most do
// not walk every delivery kept (a month of them, by default) for a page:
//
//   - msgfailed/<created><id>: the failed ones — what an operator looks
//     for, and what recover reads. A key is set whenever a delivery is
//     written failed; a retry that makes it pending again leaves it, and
//     the listing checks each delivery's status as it reads it, so nothing
//     is written when a delivery succeeds.
//   - msgstream/<stream id>\x00<created><id>: one stream's, so that a quiet
//     stream among busy ones is one page, not many empty ones.
//
// Both end as the time index's keys do (creation time, then id), so one
// cursor serves any of them, and both expire with their delivery.
//
// A store from before an index gets it built once, in the background; until
// then its listings walk the time index as before.

// deliveryIndex is one of the narrower indexes.
type deliveryIndex struct {
	// builtKey marks a store whose deliveries are all in the index.
	builtKey []byte
	// keyOf is a delivery's key in the index, nil if it has none.
	keyOf func(head *deliveryHead) []byte
	// ready: the index can be read.
	ready atomic.Bool
}

// deliveryHead is what the indexes need of a delivery.
type deliveryHead struct {
	ID        string    `json:"id"`
	StreamID  string    `json:"stream_id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

func msgFailedKey(created time.Time, id string) []byte {
	return append(u64Key(prefixMsgFailed, uint64(created.UnixNano())), id...)
}

// msgStreamPrefix is where stream's keys in msgstream/ begin. A stream id
// holds no NUL byte.
func msgStreamPrefix(stream string) []byte {
	return append(append(append([]byte(nil), prefixMsgStream...), stream...), 0)
}

func msgStreamKey(stream string, created time.Time, id string) []byte {
	k := msgStreamPrefix(stream)
	k = binary.BigEndian.AppendUint64(k, uint64(created.UnixNano()))
	return append(k, id...)
}

// deliveryIndexes are the narrower indexes of a store and their build.
type deliveryIndexes struct {
	failed, byStream *deliveryIndex
	stop             context.CancelFunc
	built            chan struct{} // closed when the build has ended, done or not
}

func newDeliveryIndexes() *deliveryIndexes {
	return &deliveryIndexes{
		failed: &deliveryIndex{builtKey: []byte("meta/msgfailed-index"), keyOf: func(h *deliveryHead) []byte {
			if h.Status != model.StatusFailed {
				return nil
			}
			return msgFailedKey(h.CreatedAt, h.ID)
		}},
		byStream: &deliveryIndex{builtKey: []byte("meta/msgstream-index"), keyOf: func(h *deliveryHead) []byte {
			if h.StreamID == "" {
				return nil
			}
			return msgStreamKey(h.StreamID, h.CreatedAt, h.ID)
		}},
	}
}

func (x *deliveryIndexes) all() []*deliveryIndex { return []*deliveryIndex{x.failed, x.byStream} }

// startDeliveryIndexes finds the indexes that are ready at once (built
// before, or a store with no delivery at all) and builds the others from
// the deliveries in db in the background.
func startDeliveryIndexes(db *badger.DB) (*deliveryIndexes, error) {
	x := newDeliveryIndexes()
	x.built = make(chan struct{})
	var missing []*deliveryIndex
	err := db.Update(func(txn *badger.Txn) error {
		for _, ix := range x.all() {
			switch _, err := txn.Get(ix.builtKey); err {
			case nil:
				ix.ready.Store(true)
			case badger.ErrKeyNotFound:
				missing = append(missing, ix)
			default:
				return err
			}
		}
		if len(missing) == 0 {
			return nil
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixMsg, PrefetchValues: false})
		defer it.Close()
		if it.Rewind(); it.Valid() {
			return nil // deliveries from before the indexes: build them
		}
		for _, ix := range missing {
			if err := txn.Set(ix.builtKey, nil); err != nil {
				return err
			}
		}
		missing = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, ix := range x.all() {
		if !slices.Contains(missing, ix) {
			ix.ready.Store(true)
		}
	}
	if len(missing) == 0 {
		close(x.built)
		return x, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	x.stop = cancel
	go func() {
		defer close(x.built)
		if buildDeliveryIndexes(ctx, db, missing) == nil {
			for _, ix := range missing {
				ix.ready.Store(true)
			}
		}
	}()
	return x, nil
}

// close ends a build still running; the next open starts it again.
func (x *deliveryIndexes) close() {
	if x.stop != nil {
		x.stop()
	}
	<-x.built
}

// buildDeliveryIndexes writes the keys of every delivery in db in the
// indexes given, expiring with it, then the marks that they are complete.
// Deliveries written meanwhile index themselves; one retried meanwhile may
// get a failed key it no longer needs, which the listing skips.
func buildDeliveryIndexes(ctx context.Context, db *badger.DB, indexes []*deliveryIndex) error {
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
			var head deliveryHead
			if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &head) }); err != nil {
				return err
			}
			for _, ix := range indexes {
				k := ix.keyOf(&head)
				if k == nil {
					continue
				}
				e := badger.NewEntry(k, nil)
				e.ExpiresAt = item.ExpiresAt()
				if err := wb.SetEntry(e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, ix := range indexes {
		if err := wb.Set(ix.builtKey, nil); err != nil {
			return err
		}
	}
	return wb.Flush()
}
