package actors

// memberTable is one partition's live actors by key: open addressing with
// linear probing over 16-byte slots of (hash, member).
//
// It replaces a Go map because a worker looks up one actor per message
// among up to a million, and every lookup misses the cache: a map's
// control word, then its slot, then the key's bytes, one after another
// (a tenth of the engine's CPU with 100k sessions). Here a slot holds
// the full hash, the sender has already computed it, and a worker about
// to look up a queue's worth of keys first touches all their slots, then
// all their members and keys, so that their misses overlap.
//
// Only the partition's worker writes it; others read under the
// partition's members lock.
type memberTable[K comparable, M any] struct {
	slots []memberSlot[K, M]
	live  int
}

type memberSlot[K comparable, M any] struct {
	hash   uint64 // 0: empty
	member *member[K, M]
}

const minTableSlots = 8

// slotHash marks a key's hash as present (never 0, the empty slot).
func slotHash(h uint64) uint64 { return h | 1<<63 }

// home is where hash's probe starts. The low bits pick the partition, so
// a slot is picked by the bits above them.
func home(hash uint64, mask int) int { return int(hash>>16) & mask }

// get returns the actor of key, whose slotHash is hash.
func (t *memberTable[K, M]) get(hash uint64, key K) *member[K, M] {
	if len(t.slots) == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := home(hash, mask); ; i = (i + 1) & mask {
		switch h := t.slots[i].hash; {
		case h == 0:
			return nil
		case h == hash && t.slots[i].member.key == key:
			return t.slots[i].member
		}
	}
}

// touchSlot and touchMember read what a lookup of hash reads first, so
// that a loop of them keeps many cache misses in flight at once; what they
// return means nothing (it is returned so that the reads are kept).
// touchMember also compares key with the home slot's key, which brings in
// that key's bytes.
func (t *memberTable[K, M]) touchSlot(hash uint64) uint64 {
	if len(t.slots) == 0 {
		return 0
	}
	return t.slots[home(hash, len(t.slots)-1)].hash
}

func (t *memberTable[K, M]) touchMember(hash uint64, key K) int {
	if len(t.slots) == 0 {
		return 0
	}
	if m := t.slots[home(hash, len(t.slots)-1)].member; m != nil && m.key == key {
		return 1
	}
	return 0
}

// put adds m, whose key is not in the table.
func (t *memberTable[K, M]) put(hash uint64, m *member[K, M]) {
	if len(t.slots) == 0 || (t.live+1)*8 > len(t.slots)*5 { // load factor 5/8
		t.resize(max(minTableSlots, 2*len(t.slots)))
	}
	insert(t.slots, hash, m)
	t.live++
}

func insert[K comparable, M any](slots []memberSlot[K, M], hash uint64, m *member[K, M]) {
	mask := len(slots) - 1
	i := home(hash, mask)
	for slots[i].hash != 0 {
		i = (i + 1) & mask
	}
	slots[i] = memberSlot[K, M]{hash: hash, member: m}
}

// remove drops m if it is in the table under hash, shifting the run after
// it back so that no probe ever crosses a hole (no tombstones).
func (t *memberTable[K, M]) remove(hash uint64, m *member[K, M]) bool {
	slots := t.slots
	if len(slots) == 0 {
		return false
	}
	mask := len(slots) - 1
	i := home(hash, mask)
	for slots[i].member != m {
		if slots[i].hash == 0 {
			return false
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		h := slots[j].hash
		if h == 0 {
			break
		}
		// The entry at j stays when its home lies cyclically in (i, j].
		if k := home(h, mask); (i < j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue
		}
		slots[i] = slots[j]
		i = j
	}
	slots[i] = memberSlot[K, M]{}
	t.live--
	// A burst's sessions gone: give their slots back.
	if len(slots) > minTableSlots && t.live*8 < len(slots) {
		t.resize(len(slots) / 2)
	}
	return true
}

// resize moves every entry to a new slot array of size (a power of two).
func (t *memberTable[K, M]) resize(size int) {
	grown := make([]memberSlot[K, M], size)
	for _, s := range t.slots {
		if s.hash != 0 {
			insert(grown, s.hash, s.member)
		}
	}
	t.slots = grown
}

// all calls f with every actor in the table; f must not change it.
func (t *memberTable[K, M]) all(f func(*member[K, M])) {
	for _, s := range t.slots {
		if s.member != nil {
			f(s.member)
		}
	}
}
