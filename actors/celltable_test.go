package actors

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestCellTableAgreesWithAMap puts and removes keys at random, with hashes
// drawn from a handful of values so that runs collide, wrap around the
// end of the slot array and are shifted back on removal, and checks the
// key against a Go map after each step (every key every 50 steps).
func TestCellTableAgreesWithAMap(t *testing.T) {
	for _, distinctHashes := range []int{1, 3, 50, 1 << 20} {
		t.Run(fmt.Sprintf("hashes=%d", distinctHashes), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(distinctHashes)))
			var table cellTable[string, int]
			want := map[string]*cell[string, int]{}
			hashOf := map[string]uint64{}
			keys := make([]string, 300)
			for i := range keys {
				keys[i] = fmt.Sprintf("session-%d", i)
				hashOf[keys[i]] = tableHash(uint64(rng.IntN(distinctHashes)) << shardBits)
			}
			for step := range 3000 {
				key := keys[rng.IntN(len(keys))]
				h := hashOf[key]
				if c, ok := want[key]; ok && rng.IntN(3) > 0 {
					if !table.remove(h, c) {
						t.Fatalf("step %d: remove %s: not found", step, key)
					}
					delete(want, key)
				} else if !ok {
					c := &cell[string, int]{key: key}
					table.put(h, c)
					want[key] = c
				}
				if table.live != len(want) {
					t.Fatalf("step %d: %d live, want %d", step, table.live, len(want))
				}
				checked := keys
				if step%50 != 0 {
					checked = []string{key}
				}
				for _, k := range checked {
					got, ok := table.get(hashOf[k], k)
					if w, present := want[k]; ok != present || got != w {
						t.Fatalf("step %d: get %s = %p, %v; want %p, %v", step, k, got, ok, w, present)
					}
				}
			}
			// Removing a cell that is not there changes nothing.
			stranger := &cell[string, int]{key: "stranger"}
			if table.remove(hashOf[keys[0]], stranger) {
				t.Fatal("removed a cell that was never put")
			}
			seen := 0
			table.all(func(c *cell[string, int]) {
				if want[c.key] != c {
					t.Errorf("all: %s is not the cell put", c.key)
				}
				seen++
			})
			if seen != len(want) {
				t.Fatalf("all saw %d cells, want %d", seen, len(want))
			}
		})
	}
}

// TestCellTableShrinksAfterABurst checks that the slots of sessions gone
// are given back.
func TestCellTableShrinksAfterABurst(t *testing.T) {
	var table cellTable[int, int]
	cells := make([]*cell[int, int], 10000)
	for i := range cells {
		cells[i] = &cell[int, int]{key: i}
		table.put(tableHash(uint64(i)<<shardBits), cells[i])
	}
	peak := len(*table.slots.Load())
	for i := range cells[10:] {
		table.remove(tableHash(uint64(i+10)<<shardBits), cells[i+10])
	}
	if now := len(*table.slots.Load()); now > peak/64 || table.live != 10 {
		t.Fatalf("%d slots for %d live (peak %d slots)", now, table.live, peak)
	}
	for i := range 10 {
		if c, ok := table.get(tableHash(uint64(i)<<shardBits), i); !ok || c != cells[i] {
			t.Fatalf("key %d lost in the shrink", i)
		}
	}
}

// TestRegistryTouchRacesWriters runs Touch against concurrent spawns and
// passivations; under -race it shows that touching needs no lock.
func TestRegistryTouchRacesWriters(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	defer g.Wait()
	defer cancel()
	reg := NewRegistry(ctx, &g, RegistryConfig[string, int]{
		MailboxCapacity: 8,
		SweepInterval:   time.Millisecond,
		Spawn: func(string) Behaviour[int] {
			return &recorder{idleAfter: time.Millisecond, stopped: make(chan StopReason, 1)}
		},
	})
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			reg.Touch(200, func(i int) string { return fmt.Sprint(i) })
		}
	}()
	for round := range 20 {
		for i := range 200 {
			mb, err := reg.Reserve(fmt.Sprint(i), 1)
			if err != nil {
				t.Fatalf("round %d: reserve %d: %v", round, i, err)
			}
			mb.PushReserved(round)
		}
		time.Sleep(5 * time.Millisecond) // some passivate while touched
	}
	close(done)
	wg.Wait()
	if n := reg.Len(); n > 200 {
		t.Fatalf("%d live actors for 200 keys", n)
	}
}
