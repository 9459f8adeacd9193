package store

import (
	"context"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// idFilter keeps a Bloom filter of every producer-id dedupe key in Badger,
// so that the usual answer, "this id was never accepted", costs a cache
// miss instead of a Badger lookup. With an id on every event, the lookups
// took two fifths of the server's CPU (one Get per event, each a walk of
// the memtables' skiplists and the levels' filters, ~2.7 µs): the standard
// load ran at 136k events/s with ids against 800k without.
//
// It answers "maybe" (and the lookup goes to the ids pending, then to
// Badger) for a key it has seen, a false positive (about 0.1 %), and for
// every key while it is not complete: before the keys Badger held at open
// have been read into it, and for good once it would outgrow its memory
// budget. The rule that keeps it sound: a key is added before it is
// pending (its group written, not yet in Badger) or written to Badger.
//
// It grows by filters (generations) each twice the size of the last, up
// to an eighth of its budget, so memory follows the ids remembered; a
// generation goes once every key in it has expired in Badger (keys fill
// generations in the order they are accepted, so the oldest go first).
// When the ids of one retention do not fit in the budget, it drops its
// filters and starts again: lookups go to Badger, as before it, until the
// last id it dropped has expired (one retention at most), and it answers
// again from then on. (It used to stay off until the next start, and a
// start rebuilt it from Badger, over budget again: one burst of ids, a
// backfill say, turned it off for good.)
type idFilter struct {
	seed maphash.Seed

	mu       sync.RWMutex
	filters  []generation
	complete bool // has read every key Badger held at open
	// blindUntil (Unix seconds) is when the last key it dropped over
	// budget expires: until then it cannot answer for Badger.
	blindUntil int64
	bytes      int
	budget     int
	// now is the clock blindUntil is read against (tests move it).
	now func() int64

	stopBuild context.CancelFunc
	built     chan struct{}
}

const (
	// firstFilterKeys is the first filter's capacity: 4 MiB.
	firstFilterKeys = 2 << 20
	// idFilterBudget bounds the filters' memory: 268 million ids. Past
	// it, lookups go to Badger again, as before the filter.
	idFilterBudget = 512 << 20
)

// generation is one filter and when the last of its keys expires.
type generation struct {
	blockedBloom
	expires int64 // Unix seconds
}

func newIDFilter(budget int) *idFilter {
	return &idFilter{seed: maphash.MakeSeed(), budget: budget, built: make(chan struct{}),
		now: func() int64 { return time.Now().Unix() }}
}

// startIDFilter returns a filter that reads the dedupe keys db holds in
// the background and is complete once it has.
func startIDFilter(db *badger.DB) *idFilter {
	f := newIDFilter(idFilterBudget)
	ctx, cancel := context.WithCancel(context.Background())
	f.stopBuild = cancel
	go func() {
		defer close(f.built)
		f.build(ctx, db)
	}()
	return f
}

// build adds every dedupe key in db, then marks the filter complete.
// Keys accepted meanwhile are added as they are accepted.
func (f *idFilter) build(ctx context.Context, db *badger.DB) {
	const chunk = 4096
	keys := make([][]byte, 0, chunk)
	expires := int64(0) // the chunk's latest expiry
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixEvID, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
			expires = max(expires, int64(it.Item().ExpiresAt()))
			if len(keys) == chunk {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				f.add(keys, expires)
				keys, expires = keys[:0], 0
			}
		}
		return nil
	})
	if err != nil {
		return // not complete: every lookup goes to Badger
	}
	f.add(keys, expires)
	f.mu.Lock()
	f.complete = true
	f.mu.Unlock()
}

// stop ends a build still running.
func (f *idFilter) stop() {
	if f.stopBuild != nil {
		f.stopBuild()
		<-f.built
	}
}

// add notes keys as pending or (about to be) in Badger, where they
// expire at expires (Unix seconds; 0: never).
func (f *idFilter) add(keys [][]byte, expires int64) {
	if len(keys) == 0 {
		return
	}
	if expires == 0 {
		expires = math.MaxInt64
	} else {
		expires += 60 // Badger's clock and ours a little apart
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		last := len(f.filters) - 1
		if last < 0 || f.filters[last].keys >= f.filters[last].capacity {
			if !f.grow() {
				return
			}
			last = len(f.filters) - 1
		}
		g := &f.filters[last]
		g.add(maphash.Bytes(f.seed, k))
		g.expires = max(g.expires, expires)
	}
}

// grow drops the generations whose keys have all expired and starts a
// new one. Over budget it drops every generation first, blind until their
// keys have expired; with a budget too small for one generation it keeps
// none, blind for good (false).
func (f *idFilter) grow() bool {
	now := f.now()
	f.filters = slices.DeleteFunc(f.filters, func(g generation) bool {
		if g.expires < now {
			f.bytes -= g.bytes()
			return true
		}
		return false
	})
	capacity := firstFilterKeys
	if n := len(f.filters); n > 0 {
		capacity = min(2*f.filters[n-1].capacity, max(firstFilterKeys, f.budget/8*8/bloomBitsPerKey))
	}
	if f.bytes+capacity*bloomBitsPerKey/8 > f.budget {
		for _, g := range f.filters {
			f.blindUntil = max(f.blindUntil, g.expires)
		}
		f.filters, f.bytes, capacity = nil, 0, firstFilterKeys
		if capacity*bloomBitsPerKey/8 > f.budget {
			f.blindUntil = math.MaxInt64
			return false
		}
	}
	f.filters = append(f.filters, generation{blockedBloom: newBlockedBloom(capacity)})
	f.bytes += capacity * bloomBitsPerKey / 8
	return true
}

// certainlyAbsent reports whether k is certainly not in Badger.
func (f *idFilter) certainlyAbsent(k []byte) bool {
	h := maphash.Bytes(f.seed, k)
	f.mu.RLock()
	defer f.mu.RUnlock()
	if !f.complete || (f.blindUntil != 0 && f.now() <= f.blindUntil) {
		return false
	}
	for i := range f.filters {
		if f.filters[i].mayContain(h) {
			return false
		}
	}
	return true
}

// blockedBloom is a Bloom filter whose probes for a key all fall in one
// 64-byte block, so a test costs one cache miss (a classic Bloom filter's
// k probes are k misses in a filter this size). At 16 bits per key and 7
// probes its false positive rate is a few in a thousand
// (TestBlockedBloomFalsePositives), a little over a classic filter's for
// the locality.
type blockedBloom struct {
	blocks   [][8]uint64
	keys     int
	capacity int
}

const (
	bloomBitsPerKey = 16
	bloomProbes     = 7 // 9 bits each of one 64-bit remix
)

func newBlockedBloom(capacity int) blockedBloom {
	return blockedBloom{blocks: make([][8]uint64, capacity*bloomBitsPerKey/512), capacity: capacity}
}

func (b *blockedBloom) bytes() int { return len(b.blocks) * 64 }

// block is where h's probes fall, picked by h's high bits; probeBits is
// h remixed, whose 9-bit pieces are the probes' bit numbers (0–511).
func (b *blockedBloom) block(h uint64) *[8]uint64 {
	i, _ := bits.Mul64(h, uint64(len(b.blocks)))
	return &b.blocks[i]
}

func probeBits(h uint64) uint64 { return h*0x9E3779B97F4A7C15 ^ h>>29 }

func (b *blockedBloom) add(h uint64) {
	blk, p := b.block(h), probeBits(h)
	for range bloomProbes {
		bit := p & 511
		blk[bit>>6] |= 1 << (bit & 63)
		p >>= 9
	}
	b.keys++
}

func (b *blockedBloom) mayContain(h uint64) bool {
	blk, p := b.block(h), probeBits(h)
	for range bloomProbes {
		bit := p & 511
		if blk[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
		p >>= 9
	}
	return true
}
