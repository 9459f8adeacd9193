package store

import (
	"fmt"
	"sync"
)

// groupSync makes concurrent callers share fsyncs (group commit): a caller
// whose commit is in the database asks for a sync; if none is running it
// becomes the leader and syncs everything committed so far; callers who
// arrive meanwhile wait and are covered by the next leader's sync. Many
// session actors committing at once then cost one sync per round, not one
// each (ingest already batches its own commits).
type groupSync struct {
	syncFn func() error

	mu        sync.Mutex
	cond      *sync.Cond
	requested uint64 // sync requests handed out
	done      uint64 // requests covered by a finished sync
	running   bool
	err       error
}

func newGroupSync(syncFn func() error) *groupSync {
	g := &groupSync{syncFn: syncFn}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// sync returns once a sync that started after this call has finished.
func (g *groupSync) sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requested++
	mine := g.requested
	for g.done < mine {
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		covered := g.requested
		g.mu.Unlock()
		err := g.syncFn()
		g.mu.Lock()
		g.running, g.done, g.err = false, covered, err
		g.cond.Broadcast()
	}
	if g.err != nil {
		return fmt.Errorf("store: sync: %w", g.err)
	}
	return nil
}
