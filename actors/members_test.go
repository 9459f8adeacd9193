package actors

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestMemberTableAgreesWithAMap puts and removes keys at random, with
// hashes drawn from a handful of values so that runs collide, wrap around
// the end of the slot array and are shifted back on removal, and checks
// the key against a Go map after each step (every key every 50 steps).
func TestMemberTableAgreesWithAMap(t *testing.T) {
	for _, distinctHashes := range []int{1, 3, 50, 1 << 20} {
		t.Run(fmt.Sprintf("hashes=%d", distinctHashes), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(distinctHashes)))
			var table memberTable[string, int]
			want := map[string]*member[string, int]{}
			hashOf := map[string]uint64{}
			keys := make([]string, 300)
			for i := range keys {
				keys[i] = fmt.Sprintf("session-%d", i)
				hashOf[keys[i]] = slotHash(uint64(rng.IntN(distinctHashes)) << 16)
			}
			for step := range 3000 {
				key := keys[rng.IntN(len(keys))]
				h := hashOf[key]
				if m, ok := want[key]; ok && rng.IntN(3) > 0 {
					if !table.remove(h, m) {
						t.Fatalf("step %d: remove %s: not found", step, key)
					}
					delete(want, key)
				} else if !ok {
					m := &member[string, int]{key: key, hash: h}
					table.put(h, m)
					want[key] = m
				}
				if table.live != len(want) {
					t.Fatalf("step %d: %d live, want %d", step, table.live, len(want))
				}
				checked := keys
				if step%50 != 0 {
					checked = []string{key}
				}
				for _, k := range checked {
					if got, w := table.get(hashOf[k], k), want[k]; got != w {
						t.Fatalf("step %d: get %s = %p; want %p", step, k, got, w)
					}
				}
			}
			// Removing a member that is not there changes nothing.
			if table.remove(hashOf[keys[0]], &member[string, int]{key: "stranger"}) {
				t.Fatal("removed a member that was never put")
			}
			seen := 0
			table.all(func(m *member[string, int]) {
				if want[m.key] != m {
					t.Errorf("all: %s is not the member put", m.key)
				}
				seen++
			})
			if seen != len(want) {
				t.Fatalf("all saw %d members, want %d", seen, len(want))
			}
		})
	}
}

// TestMemberTableShrinksAfterABurst checks that the slots of sessions gone
// are given back.
func TestMemberTableShrinksAfterABurst(t *testing.T) {
	var table memberTable[int, int]
	members := make([]*member[int, int], 10000)
	hash := func(i int) uint64 { return slotHash(uint64(i) << 16) }
	for i := range members {
		members[i] = &member[int, int]{key: i}
		table.put(hash(i), members[i])
	}
	peak := len(table.slots)
	for i := 10; i < len(members); i++ {
		table.remove(hash(i), members[i])
	}
	if now := len(table.slots); now > peak/64 || table.live != 10 {
		t.Fatalf("%d slots for %d live (peak %d slots)", now, table.live, peak)
	}
	for i := range 10 {
		if m := table.get(hash(i), i); m != members[i] {
			t.Fatalf("key %d lost in the shrink", i)
		}
	}
}
