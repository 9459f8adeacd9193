package actors

import "sync/atomic"

// cellTable is one registry shard's actors by key: open addressing with
// linear probing over 16-byte slots of (hash, cell).
//
// It replaces a Go map for two reasons. A lookup among 100k live sessions
// misses the cache: a map's control word, then its slot, then the key's
// bytes; here a slot holds the full hash, so a lookup reads one slot line
// and the cell it needs anyway. And its slots are atomics, so Touch may
// read them without the shard lock: a caller about to look up many keys
// touches them all first, and their misses overlap instead of each
// waiting behind the previous lock (which orders memory on x86).
//
// Writers hold the shard lock; so do lookups whose answer matters.
type cellTable[K comparable, M any] struct {
	slots atomic.Pointer[[]cellSlot[K, M]]
	live  int
}

type cellSlot[K comparable, M any] struct {
	hash atomic.Uint64 // 0: empty
	cell atomic.Pointer[cell[K, M]]
}

const (
	minTableSlots = 8
	// A shard is picked by a hash's low bits, a slot by the bits above.
	shardBits = 6
)

// tableHash marks a key's hash as present (never 0, the empty slot).
func tableHash(h uint64) uint64 { return h | 1<<63 }

func home(hash uint64, mask int) int { return int(hash>>shardBits) & mask }

// get returns the actor of key, whose tableHash is hash.
func (t *cellTable[K, M]) get(hash uint64, key K) (*cell[K, M], bool) {
	p := t.slots.Load()
	if p == nil {
		return nil, false
	}
	slots := *p
	mask := len(slots) - 1
	for i := home(hash, mask); ; i = (i + 1) & mask {
		switch h := slots[i].hash.Load(); {
		case h == 0:
			return nil, false
		case h == hash:
			if c := slots[i].cell.Load(); c.key == key {
				return c, true
			}
		}
	}
}

// touchSlot and touchCell read hash's home slot and the cell in it, to
// bring them into the cache ahead of a locked lookup; they may run
// concurrently with writers and what they return means nothing (it is
// returned so that the reads are kept). Neither branches on what missed,
// so a loop of them keeps many misses in flight at once.
func (t *cellTable[K, M]) touchSlot(hash uint64) int {
	p := t.slots.Load()
	if p == nil {
		return 0
	}
	slots := *p
	return int(slots[home(hash, len(slots)-1)].hash.Load())
}

func (t *cellTable[K, M]) touchCell(hash uint64) int {
	p := t.slots.Load()
	if p == nil {
		return 0
	}
	slots := *p
	if c := slots[home(hash, len(slots)-1)].cell.Load(); c != nil {
		return int(c.state.Load())
	}
	return 0
}

// put adds c, whose key is not in the table.
func (t *cellTable[K, M]) put(hash uint64, c *cell[K, M]) {
	p := t.slots.Load()
	if p == nil || (t.live+1)*8 > len(*p)*5 { // load factor 5/8
		size := minTableSlots
		if p != nil {
			size = 2 * len(*p)
		}
		p = t.resize(size)
	}
	insert(*p, hash, c)
	t.live++
}

func insert[K comparable, M any](slots []cellSlot[K, M], hash uint64, c *cell[K, M]) {
	mask := len(slots) - 1
	i := home(hash, mask)
	for slots[i].hash.Load() != 0 {
		i = (i + 1) & mask
	}
	slots[i].cell.Store(c)
	slots[i].hash.Store(hash)
}

// remove drops c if it is in the table under hash, shifting the run after
// it back so that no probe ever crosses a hole (no tombstones).
func (t *cellTable[K, M]) remove(hash uint64, c *cell[K, M]) bool {
	p := t.slots.Load()
	if p == nil {
		return false
	}
	slots := *p
	mask := len(slots) - 1
	i := home(hash, mask)
	for ; slots[i].cell.Load() != c; i = (i + 1) & mask {
		if slots[i].hash.Load() == 0 {
			return false
		}
	}
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		h := slots[j].hash.Load()
		if h == 0 {
			break
		}
		// The entry at j stays when its home lies cyclically in (i, j].
		if k := home(h, mask); (i < j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue
		}
		slots[i].cell.Store(slots[j].cell.Load())
		slots[i].hash.Store(h)
		i = j
	}
	slots[i].hash.Store(0)
	slots[i].cell.Store(nil)
	t.live--
	// A burst's sessions gone: give their slots back.
	if len(slots) > minTableSlots && t.live*8 < len(slots) {
		t.resize(len(slots) / 2)
	}
	return true
}

// resize moves every entry to a new slot array of size (a power of two)
// and publishes it.
func (t *cellTable[K, M]) resize(size int) *[]cellSlot[K, M] {
	grown := make([]cellSlot[K, M], size)
	if p := t.slots.Load(); p != nil {
		for i := range *p {
			if h := (*p)[i].hash.Load(); h != 0 {
				insert(grown, h, (*p)[i].cell.Load())
			}
		}
	}
	t.slots.Store(&grown)
	return &grown
}

// all calls f with every actor in the table.
func (t *cellTable[K, M]) all(f func(*cell[K, M])) {
	p := t.slots.Load()
	if p == nil {
		return
	}
	for i := range *p {
		if c := (*p)[i].cell.Load(); c != nil {
			f(c)
		}
	}
}
