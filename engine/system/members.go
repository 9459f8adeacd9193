package system

import (
	"sort"
	"time"
)

// segmentMembers is who matched one segment and when, kept so that the
// distinct users of any window up to MaxWindow are counted in O(log n):
// an alert is evaluated every second, and a segment on a common event
// has a member per user. (Counting by a scan of every member, once per
// alert and per match, made a segment on clicks with 100 alerts take
// over 30 s to commit 30,000 sessions, holding the session committer.)
//
// Each match is appended to a log in time order; a user's earlier
// entries are superseded (their mark in the tree cleared), so the live
// entries at or after a time are the distinct users since then.
type segmentMembers struct {
	// horizon is the longest window of the segment's alerts: matches
	// older than that are not kept.
	horizon time.Duration
	latest  map[string]int // user → position of the user's live entry in log
	log     []memberEntry  // from head on: the matches, in time order
	head    int
	live    int     // live entries in log[head:]
	marks   fenwick // 1 at each live entry's position
}

type memberEntry struct {
	user string
	at   int64 // Unix ns
}

func newSegmentMembers() *segmentMembers {
	return &segmentMembers{latest: map[string]int{}}
}

// add records that user matched at at. Matches come nearly in time order
// (each is stamped as its session commits); one stamped before the last
// is counted at the last's time, a difference of milliseconds.
func (m *segmentMembers) add(user string, at time.Time) {
	t := at.UnixNano()
	if n := len(m.log); n > m.head {
		t = max(t, m.log[n-1].at)
	}
	if pos, ok := m.latest[user]; ok {
		m.marks.add(pos, -1)
		m.live--
	}
	pos := len(m.log)
	m.log = append(m.log, memberEntry{user: user, at: t})
	m.marks.grow(len(m.log))
	m.marks.add(pos, 1)
	m.latest[user] = pos
	m.live++
	if held := len(m.log) - m.head; held > 1024 && held > 2*m.live {
		m.compact() // mostly superseded: users matching again and again
	}
}

// since counts the distinct users whose latest match is at or after from.
func (m *segmentMembers) since(from time.Time) int {
	f := from.UnixNano()
	entries := m.log[m.head:]
	first := m.head + sort.Search(len(entries), func(i int) bool { return entries[i].at >= f })
	return m.live - (m.marks.sum(first) - m.marks.sum(m.head))
}

// prune forgets matches before cutoff, and every user whose latest match
// is among them.
func (m *segmentMembers) prune(cutoff time.Time) {
	c := cutoff.UnixNano()
	for m.head < len(m.log) && m.log[m.head].at < c {
		e := m.log[m.head]
		if pos, ok := m.latest[e.user]; ok && pos == m.head {
			delete(m.latest, e.user)
			m.marks.add(m.head, -1)
			m.live--
		}
		m.log[m.head] = memberEntry{}
		m.head++
	}
	if m.head > 1024 && m.head > len(m.log)/2 {
		m.compact()
	}
}

// compact keeps only the live entries, at the start of the log, and
// rebuilds the tree: what prune and superseded matches left behind is
// not kept for good.
func (m *segmentMembers) compact() {
	live := make([]memberEntry, 0, len(m.latest))
	for i := m.head; i < len(m.log); i++ {
		if pos, ok := m.latest[m.log[i].user]; ok && pos == i {
			live = append(live, m.log[i])
		}
	}
	m.log, m.head = live, 0
	m.marks = fenwick{}
	m.marks.grow(len(live))
	for i, e := range live {
		m.latest[e.user] = i
		m.marks.add(i, 1)
	}
	m.live = len(live)
}

// fenwick is a binary indexed tree of counts by position.
type fenwick struct{ tree []int }

// grow makes room for positions below n.
func (f *fenwick) grow(n int) {
	for len(f.tree) < n {
		// Appending position i (1-based in the tree) must carry the sums
		// of the positions it covers, which are all before it.
		i := len(f.tree) + 1
		sum := 0
		for j := i - 1; j > i-(i&-i); j -= j & -j {
			sum += f.tree[j-1]
		}
		f.tree = append(f.tree, sum)
	}
}

func (f *fenwick) add(pos, delta int) {
	for i := pos + 1; i <= len(f.tree); i += i & -i {
		f.tree[i-1] += delta
	}
}

// sum is the total of positions below pos.
func (f *fenwick) sum(pos int) int {
	s := 0
	for i := pos; i > 0; i -= i & -i {
		s += f.tree[i-1]
	}
	return s
}
