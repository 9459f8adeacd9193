package store

import (
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// keyUserSessionIndex marks a store whose sessions are all filed under
// their users.
var keyUserSessionIndex = []byte("meta/usersession-index")

// userSessionKey files a run of a session under its user:
// usersession/<len(uid)><uid><run's first arrival, ns><session id>. The
// length keeps one user's keys from being a prefix of another's (uids are
// any string), and the time orders a user's runs.
func userSessionKey(uid string, first time.Time, id string) []byte {
	k := appendUserSessionPrefix(make([]byte, 0, len(prefixUserSession)+binary.MaxVarintLen64+len(uid)+8+len(id)), uid)
	k = binary.BigEndian.AppendUint64(k, uint64(max(first.UnixNano(), 0)))
	return append(k, id...)
}

func appendUserSessionPrefix(dst []byte, uid string) []byte {
	dst = binary.AppendUvarint(append(dst, prefixUserSession...), uint64(len(uid)))
	return append(dst, uid...)
}

// UserSessions returns the ids of up to n sessions stored for the user uid,
// the latest run first. They are candidates: a session's user may have
// changed since, and its run may have ended.
func (s *Store) UserSessions(uid string, n int) ([]string, error) {
	prefix := appendUserSessionPrefix(nil, uid)
	var ids []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		// First arrivals are positive int64s: their first byte is under 0xff.
		for it.Seek(append(prefix, 0xff)); it.Valid() && len(ids) < n; it.Next() {
			k := it.Item().Key()
			if len(k) < len(prefix)+8 {
				continue
			}
			ids = append(ids, string(k[len(prefix)+8:]))
		}
		return nil
	})
	return ids, err
}

// indexUserSessions files under their users, once, the sessions a store
// kept from before it filed them (round 16): without their keys, an event
// naming only a user whose session was stored by an older hookwire would
// start another session after the upgrade, and fire its streams again.
// It runs before the store is used, so no lookup finds the index
// half-built; a store with no session only gets the mark.
func indexUserSessions(db *badger.DB, logger *slog.Logger) error {
	switch err := db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(keyUserSessionIndex)
		return err
	}); err {
	case nil:
		return nil
	case badger.ErrKeyNotFound:
	default:
		return err
	}
	began := time.Now()
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	filed := 0
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixSession, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			var head struct {
				User *struct {
					UID string `json:"uid"`
				} `json:"user"`
				ArrivedFirst time.Time `json:"arrived_first"`
			}
			if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &head) }); err != nil {
				return err
			}
			// As putSession files them: a record without its run's first
			// arrival does not read as going on, so no lookup wants it.
			if head.User == nil || head.User.UID == "" || head.ArrivedFirst.IsZero() {
				continue
			}
			id := string(item.Key()[len(prefixSession):])
			e := badger.NewEntry(userSessionKey(head.User.UID, head.ArrivedFirst, id), nil)
			e.ExpiresAt = item.ExpiresAt()
			if err := wb.SetEntry(e); err != nil {
				return err
			}
			filed++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := wb.Set(keyUserSessionIndex, nil); err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	if filed > 0 && logger != nil {
		logger.Info("filed the stored sessions under their users", "sessions", filed, "took", time.Since(began))
	}
	return nil
}
