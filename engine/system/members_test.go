package system

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSegmentMembersCountLikeAScan: the tree's counts of distinct users
// since a time agree with a scan of every user's latest match, through
// repeated matches, out-of-order stamps, pruning and compaction.
func TestSegmentMembersCountLikeAScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := newSegmentMembers()
	latest := map[string]int64{} // the reference: user → latest match
	base := time.Unix(1_800_000_000, 0)
	last := int64(0)
	check := func(step int) {
		for range 20 {
			from := base.Add(time.Duration(rng.IntN(int(time.Duration(step+10) * time.Second))))
			want := 0
			for _, at := range latest {
				if at >= from.UnixNano() {
					want++
				}
			}
			if got := m.since(from); got != want {
				t.Fatalf("step %d: %d users since %s, a scan counts %d", step, got, from.Sub(base), want)
			}
		}
	}
	for step := range 5000 {
		user := fmt.Sprint("u", rng.IntN(700))
		at := base.Add(time.Duration(step)*time.Second + time.Duration(rng.IntN(3000)-1500)*time.Millisecond)
		m.add(user, at)
		// The reference stamps as add does: never before the last.
		last = max(last, at.UnixNano())
		latest[user] = last
		if step%500 == 499 {
			cutoff := base.Add(time.Duration(step-1500) * time.Second)
			m.prune(cutoff)
			for u, at := range latest {
				if at < cutoff.UnixNano() {
					delete(latest, u)
				}
			}
		}
		if step%97 == 0 {
			check(step)
		}
	}
	check(5000)
	if held := len(m.log) - m.head; held > 2*m.live+1024 {
		t.Fatalf("the log holds %d entries for %d users: superseded ones are kept", held, m.live)
	}
}
