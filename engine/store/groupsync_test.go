package store

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupSyncSharesSyncs: many concurrent callers are covered by far
// fewer syncs, and each returns only after a sync that began after it asked.
func TestGroupSyncSharesSyncs(t *testing.T) {
	var syncs atomic.Int64
	var lastStart atomic.Int64
	g := newGroupSync(func() error {
		lastStart.Store(time.Now().UnixNano())
		syncs.Add(1)
		time.Sleep(2 * time.Millisecond) // a disk's fsync
		return nil
	})
	const callers = 200
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			asked := time.Now().UnixNano()
			if err := g.sync(); err != nil {
				t.Error(err)
			}
			if lastStart.Load() < asked {
				t.Error("returned without a sync that started after the request")
			}
		}()
	}
	wg.Wait()
	if n := syncs.Load(); n >= callers/2 || n < 1 {
		t.Fatalf("%d syncs for %d concurrent callers", n, callers)
	}
	t.Logf("%d syncs for %d callers", syncs.Load(), callers)
}
