package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Options configures the store.
type Options struct {
	// Dir is the Badger directory; created if missing.
	Dir string
	// Sync makes the commits that carry a promise (accepted events, fired
	// markers with their messages) reach the disk before they return.
	// hookwire batches those commits (ingest group commit), so this costs a
	// sync per batch, not per event. Bookkeeping writes are never synced.
	Sync bool
	// EventLogSegmentBytes is the size at which the event log starts a
	// new segment (0: DefaultEventLogSegmentBytes).
	EventLogSegmentBytes int64
	// DeliveryRetention is how long a delivery with a final status
	// (succeeded or failed) stays listed; pending ones never expire.
	DeliveryRetention time.Duration
	// DiskReserve is kept free in Dir beyond what Badger's memory-mapped
	// writes need (see space.go; hookwire serve's default is
	// DefaultDiskReserve). Below it the store refuses new events and changes.
	DiskReserve uint64
	// Logger receives Badger's warnings and errors.
	Logger *slog.Logger
}

// DefaultDeliveryRetention keeps finished deliveries listed for 30 days.
const DefaultDeliveryRetention = 30 * 24 * time.Hour

// Store is safe for concurrent use.
type Store struct {
	db                *badger.DB
	seq               *badger.Sequence
	sync              bool
	syncer            *groupSync
	space             *spaceGuard
	deliveryRetention time.Duration
	log               *eventLog
	logDurable        *durableMark
	logBuf            []byte // WriteEvents' records, reused (one writer calls it)
	// pending holds the dedupe ids of groups written to the log whose
	// ids are not yet in Badger.
	pendingMu sync.Mutex
	pending   []*pendingGroup
	// ids spares most dedupe lookups in Badger (see idFilter), and
	// idWriter writes the ids there after their requests are answered.
	ids      *idFilter
	idWriter *idWriter
	// indexes are the deliveries' narrower indexes, and whether each can
	// be read yet.
	indexes *deliveryIndexes
	// legacyMaxSeq is the last event log record kept in Badger by versions
	// before the file log (0: none); they are replayed and trimmed there.
	legacyMaxSeq uint64
}

// Open opens (or creates) the store at opts.Dir.
func Open(opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DeliveryRetention <= 0 {
		opts.DeliveryRetention = DefaultDeliveryRetention
	}
	const memTableSize, numMemtables = 32 << 20, 3
	bo := badger.DefaultOptions(opts.Dir).
		WithSyncWrites(false).
		WithLogger(badgerLogger{opts.Logger}).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(32 << 20).
		// Only values over 1 MiB (filter modules) go to the value log; a
		// small file keeps what the space guard holds free for it small.
		WithValueLogFileSize(64 << 20).
		WithNumCompactors(2)
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", opts.Dir, err)
	}
	// Before anything is written: the guard backs the memtable file first.
	space := newSpaceGuard(opts.Dir, memTableSize, numMemtables, opts.DiskReserve, opts.Logger)
	if err := space.start(); err != nil {
		db.Close()
		return nil, fmt.Errorf("--data %s: the file system is too full to write safely: %w", opts.Dir, err)
	}
	seq, err := db.GetSequence([]byte("meta/evlog-seq"), 1024)
	if err != nil {
		space.close()
		db.Close()
		return nil, fmt.Errorf("store: event sequence: %w", err)
	}
	s := &Store{db: db, seq: seq, sync: opts.Sync, syncer: newGroupSync(db.Sync), deliveryRetention: opts.DeliveryRetention,
		space: space}
	if s.legacyMaxSeq, err = lastLegacyRecord(db); err != nil {
		s.Close()
		return nil, err
	}
	// New records follow the legacy ones (the shared sequence is normally
	// past them already).
	for next := uint64(0); next < s.legacyMaxSeq && err == nil; {
		next, err = s.seq.Next()
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: event sequence: %w", err)
	}
	// Every record logged before this open has a sequence at or below the
	// next one's: those count as durable (the replay treats them so).
	opened, err := s.seq.Next()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: event sequence: %w", err)
	}
	s.logDurable = newDurableMark(opened)
	if s.log, err = openEventLog(filepath.Join(opts.Dir, "eventlog"), opts.Sync, opts.Logger, s.evaluatedWatermark()); err != nil {
		s.Close()
		return nil, err
	}
	if opts.EventLogSegmentBytes > 0 {
		s.log.segmentBytes = opts.EventLogSegmentBytes
	}
	if s.indexes, err = startDeliveryIndexes(db); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: deliveries' indexes: %w", err)
	}
	if err := indexUserSessions(db, opts.Logger); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: filing sessions under their users: %w", err)
	}
	s.ids = startIDFilter(db)
	s.idWriter = startIDWriter(s, opts.Logger, opened)
	return s, nil
}

// lastLegacyRecord finds the newest event log record kept in Badger.
func lastLegacyRecord(db *badger.DB) (uint64, error) {
	var last uint64
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixEvLog, Reverse: true})
		defer it.Close()
		it.Seek(append(slices.Clone(prefixEvLog), 0xff))
		if it.ValidForPrefix(prefixEvLog) {
			last = binary.BigEndian.Uint64(it.Item().Key()[len(prefixEvLog):])
		}
		return nil
	})
	return last, err
}

// Close releases the sequence lease and closes the database.
func (s *Store) Close() error {
	if s.logDurable != nil {
		s.logDurable.fail(ErrClosed)
	}
	var logErr error
	if s.idWriter != nil {
		s.idWriter.close() // before the log: what it writes, a trim waits for
	}
	if s.log != nil {
		logErr = s.log.close()
	}
	if s.ids != nil {
		s.ids.stop()
	}
	if s.indexes != nil {
		s.indexes.close()
	}
	err := s.seq.Release()
	err = errors.Join(logErr, err, s.db.Close())
	s.space.close()
	return err
}

// durable makes earlier commits reach the disk when the store was opened
// with Sync.
func (s *Store) durable() error {
	if !s.sync {
		return nil
	}
	return s.syncer.sync()
}

// CollectGarbage rewrites value-log files that are mostly garbage. Call it
// from time to time; it returns when there is nothing worth rewriting.
func (s *Store) CollectGarbage() {
	for s.db.RunValueLogGC(0.5) == nil {
	}
}

// Size reports the LSM and value-log sizes in bytes.
func (s *Store) Size() (lsm, vlog int64) { return s.db.Size() }

var (
	prefixStream    = []byte("stream/")
	prefixEvLog     = []byte("evlog/")
	prefixEvID      = []byte("evid/")
	prefixSession   = []byte("session/")
	prefixMsg       = []byte("msg/")
	prefixMsgTime   = []byte("msgtime/")
	prefixMsgFailed = []byte("msgfailed/")
	prefixMsgStream = []byte("msgstream/")
	prefixPending   = []byte("pending/")
	// prefixUserSession files sessions under their users (UserSessions).
	prefixUserSession = []byte("usersession/")
)

func key(prefix []byte, parts ...string) []byte {
	k := append([]byte(nil), prefix...)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

func u64Key(prefix []byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), n)
}

// endpointKey is the 64-bit hash that groups pending messages by URL.
func endpointKey(url string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(url))
	return h.Sum64()
}

func pendingKey(url, id string) []byte {
	return append(u64Key(prefixPending, endpointKey(url)), id...)
}

func msgTimeKey(created time.Time, id string) []byte {
	return append(u64Key(prefixMsgTime, uint64(created.UnixNano())), id...)
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Infof(string, ...any)  {}
func (b badgerLogger) Debugf(string, ...any) {}
