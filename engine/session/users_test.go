package session

import "testing"

// TestUsersResolveJoinsTheLatestSession: a user's noted session is
// resolved while live; a made-up session is resolved again before its
// actor notes it (events of one request, or of the next ones, join it);
// ended sessions are forgotten.
func TestUsersResolveJoinsTheLatestSession(t *testing.T) {
	live := map[string]bool{}
	isLive := func(id string) bool { return live[id] }
	var u Users
	u.Note("u-1", "s-1")
	live["s-1"] = true
	if got := u.Resolve("u-1", isLive); got != "s-1" {
		t.Fatalf("Resolve(u-1) = %q, want its noted live session s-1", got)
	}
	made := u.Resolve("u-2", isLive)
	if made == "" || made == "s-1" {
		t.Fatalf("Resolve(u-2) = %q, want a new session id", made)
	}
	if again := u.Resolve("u-2", isLive); again != made {
		t.Fatalf("a second event for u-2 resolved to %q, not the session made for the first, %q", again, made)
	}
	u.Note("u-2", made) // its actor started
	live["s-1"] = false
	u.Sweep(isLive, isLive)
	if _, kept := u.latest["u-1"]; kept {
		t.Fatal("u-1's session ended, yet the user is still indexed")
	}
	if _, kept := u.latest["u-2"]; kept || len(u.made) != 0 {
		t.Fatalf("u-2's session was noted and is not live, yet the user is still indexed (made: %v)", u.made)
	}
	if got := u.Resolve("u-1", isLive); got == "s-1" {
		t.Fatal("an ended session was resolved")
	}

	// A session out of memory that goes on (passivated) keeps its user.
	u.Note("u-3", "s-3")
	passivated := func(id string) bool { return id == "s-3" }
	u.Sweep(isLive, passivated)
	if got := u.Resolve("u-3", passivated); got != "s-3" {
		t.Fatalf("Resolve(u-3) = %q after a sweep, want its passivated session s-3", got)
	}
}
