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
//
// With a million sessions every byte per entry counts: the map holds the
// strings the sessions keep anyway, and made-up ids wait in a map of their
// own.
//
// Memory knows only the sessions noted since hookwire started; Remembered
// finds the others (a session not back since a restart) in the store.
type Users struct {
	// Remembered, if set, returns the user's live session from the store
	// when memory has none: asked with the lock held, and only on a miss.
	Remembered func(uid string) (string, bool)

	mu     sync.Mutex
	latest map[string]string // uid → session id
	// made are the session ids Resolve made up and no actor has noted yet,
	// with when: until noted such a session is not live, and events for
	// the user in the same request or the next ones must still join it.
	made map[string]time.Time
}

// madeGrace is how long a made-up session id stands before its actor
// notes it.
const madeGrace = 10 * time.Second

// Note records that session belongs to the user uid. The map keeps both
// strings: pass ones that are kept anyway (the session's own), or copies.
func (u *Users) Note(uid, session string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.note(uid, session)
}

// note is Note with u.mu held.
func (u *Users) note(uid, session string) {
	if u.latest == nil {
		u.latest = map[string]string{}
	}
	delete(u.made, session)
	// Delete first: assigning to an existing key keeps the old key string.
	delete(u.latest, uid)
	u.latest[uid] = session
}

// Forget drops the user uid's entry if it is session's: the session has
// left memory and its record, filed under the user, is in the store,
// where Remembered finds it. So the index holds the users of live
// sessions, not of every session within its idle time: under a flood of
// new users, which --max-live-sessions bounds, it grew by each of them.
func (u *Users) Forget(uid, session string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.latest[uid] == session {
		delete(u.latest, uid)
	}
}

// Len is how many users the index holds.
func (u *Users) Len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.latest)
}

// Lookup returns the user's live session, if it has one.
func (u *Users) Lookup(uid string, live func(string) bool) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lookup(uid, live, time.Now())
}

// lookup is Lookup with u.mu held.
func (u *Users) lookup(uid string, live func(string) bool, now time.Time) (string, bool) {
	if id, ok := u.latest[uid]; ok && u.standing(id, live, now) {
		return id, true
	}
	if u.Remembered != nil {
		if id, ok := u.Remembered(uid); ok {
			u.note(strings.Clone(uid), id)
			return id, true
		}
	}
	return "", false
}

// Resolve returns the user's live session, or a new session id that
// later calls return until it is noted or its grace ends.
func (u *Users) Resolve(uid string, live func(string) bool) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	if id, ok := u.lookup(uid, live, now); ok {
		return id
	}
	if u.latest == nil {
		u.latest = map[string]string{}
	}
	if u.made == nil {
		u.made = map[string]time.Time{}
	}
	id := model.NewID("fs_")
	u.latest[strings.Clone(uid)] = id
	u.made[id] = now
	return id
}

// Sweep forgets users whose latest session has ended. inMemory is cheap
// (the registry); goesOn, asked only of sessions not in memory, may read
// the store (a passivated session goes on), so it is asked without the
// lock, and a user noted again meanwhile is kept.
func (u *Users) Sweep(inMemory, goesOn func(string) bool) {
	type entry struct{ uid, id string }
	var out []entry
	u.mu.Lock()
	now := time.Now()
	for uid, id := range u.latest {
		if !u.standing(id, inMemory, now) {
			out = append(out, entry{uid, id})
		}
	}
	for id, at := range u.made {
		if now.Sub(at) >= madeGrace {
			delete(u.made, id)
		}
	}
	u.mu.Unlock()
	ended := out[:0]
	for _, e := range out {
		if !goesOn(e.id) {
			ended = append(ended, e)
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, e := range ended {
		if u.latest[e.uid] == e.id {
			delete(u.latest, e.uid)
		}
	}
}

func (u *Users) standing(id string, live func(string) bool, now time.Time) bool {
	if live(id) {
		return true
	}
	at, made := u.made[id]
	return made && now.Sub(at) < madeGrace
}
