package session

import (
	"strings"
	"sync"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// Users remembers each user's most recent session, so an event that names
// only a user (Fullstory's server API allows it) joins that session while
// it is live. A session actor notes its user when it first sees it (not
// every event: a lookup per event in a map of every user was 6 % of the
// engine's CPU); entries whose session has ended are dropped when looked
// up and by Sweep. Safe for concurrent use.
type Users struct {
	mu     sync.Mutex
	latest map[string]userSession // uid → session
}

type userSession struct {
	id string
	// resolvedAt is when Resolve made up the id, zero once the session's
	// actor noted it: until then the session is not live yet, and events
	// for the user in the same request or the next ones must still join it.
	resolvedAt time.Time
}

// resolvedGrace is how long a made-up session id stands before its actor
// notes it.
const resolvedGrace = 10 * time.Second

// Note records that session belongs to the user uid (both are copied).
func (u *Users) Note(uid, session string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.latest == nil {
		u.latest = map[string]userSession{}
	}
	if cur, ok := u.latest[uid]; ok && cur.id == session {
		u.latest[uid] = userSession{id: cur.id}
		return
	}
	u.latest[strings.Clone(uid)] = userSession{id: strings.Clone(session)}
}

// Resolve returns the user's live session, or a new session id that
// later calls return until it is noted or its grace ends.
func (u *Users) Resolve(uid string, live func(string) bool) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s, ok := u.latest[uid]; ok && s.standing(live, time.Now()) {
		return s.id
	}
	if u.latest == nil {
		u.latest = map[string]userSession{}
	}
	id := model.NewID("fs_")
	u.latest[strings.Clone(uid)] = userSession{id: id, resolvedAt: time.Now()}
	return id
}

// Sweep forgets users whose latest session has ended.
func (u *Users) Sweep(live func(string) bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	for uid, s := range u.latest {
		if !s.standing(live, now) {
			delete(u.latest, uid)
		}
	}
}

func (s userSession) standing(live func(string) bool, now time.Time) bool {
	return live(s.id) || !s.resolvedAt.IsZero() && now.Sub(s.resolvedAt) < resolvedGrace
}
