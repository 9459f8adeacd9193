package ingest

import (
	"strings"
	"sync"

	"github.com/hookwire/hookwire/engine/model"
)

// userSessions remembers each user's most recent session, so an event that
// names only a user (Fullstory's server API allows it) joins that session
// while it is live. Entries whose session has ended are dropped when looked
// up and by Sweep. Safe for concurrent use.
type userSessions struct {
	mu     sync.RWMutex
	latest map[string]string // uid → session id
}

// note is called for every event that names a user, nearly always with
// what is already known: look under the read lock first.
func (u *userSessions) note(uid, session string) {
	u.mu.RLock()
	known := u.latest[uid] == session
	u.mu.RUnlock()
	if known {
		return
	}
	u.mu.Lock()
	if u.latest == nil {
		u.latest = map[string]string{}
	}
	// Clones: the event's strings view its batch's body.
	u.latest[strings.Clone(uid)] = strings.Clone(session)
	u.mu.Unlock()
}

// resolve returns the user's live session, or a new session id.
func (u *userSessions) resolve(uid string, live func(string) bool) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s, ok := u.latest[uid]; ok {
		if live(s) {
			return s
		}
		delete(u.latest, uid)
	}
	return model.NewID("fs_")
}

// sweep forgets users whose latest session has ended.
func (u *userSessions) sweep(live func(string) bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for uid, s := range u.latest {
		if !live(s) {
			delete(u.latest, uid)
		}
	}
}
