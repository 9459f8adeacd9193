package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// Badger writes its memtables' write-ahead files (*.mem), its value log
// (*.vlog) and, on flush and compaction, its tables through memory maps of
// files sized with ftruncate: sparse files, whose blocks the file system
// allocates when a page is first written. On a full file system that
// allocation fails and the write is a SIGBUS, which no Go code recovers
// from: hookwire died mid-load with "fatal error: fault" in
// badger.(*logFile).writeEntry (badger#1682, #1801, closed unfixed).
//
// The space guard keeps the store from getting there. It allocates the
// active memtable file's blocks ahead (fallocate), so writing into it
// cannot fault, and it keeps free what Badger may still write through
// maps: the active value log's unallocated part, the next memtable file,
// the tables a flush of every memtable writes, and the operator's reserve
// (compactions, the event log). Below that the store is low on space:
// event log appends and the API's writes are refused (model.ErrLowOnSpace,
// 507) until space is freed, while what was accepted is still evaluated
// and delivered.

// spaceCheckInterval is how often the guard looks at the directory. The
// event log, the one writer that can fill a disk quickly, counts what it
// writes between looks.
const spaceCheckInterval = 250 * time.Millisecond

// spaceSlack is how much more than the need must be free before a low
// store writes again, so that it does not flap at the line.
const spaceSlack = 16 << 20

// DefaultDiskReserve is kept free beyond what Badger's maps need.
const DefaultDiskReserve = 64 << 20

type spaceGuard struct {
	dir    string
	logger *slog.Logger
	// fixedNeed is what the guard keeps free whatever the files hold: the
	// next memtable file, a flush of every memtable, the reserve.
	fixedNeed uint64

	mu   sync.Mutex // one look at a time
	low  atomic.Bool
	free atomic.Int64 // at the last look, less what the event log wrote since
	need atomic.Int64

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// Space is the data directory's free space as the guard last saw it.
type Space struct {
	// Free is what the file system has free for hookwire, less what the
	// event log wrote since the guard last looked.
	Free int64
	// Need is what the guard keeps free.
	Need int64
	// Low: Free is under Need, and writes are refused.
	Low bool
}

func newSpaceGuard(dir string, memTableSize, numMemtables int64, reserve uint64, logger *slog.Logger) *spaceGuard {
	return &spaceGuard{dir: dir, logger: logger,
		fixedNeed: uint64(2*memTableSize) + uint64(numMemtables*memTableSize) + reserve,
		stop:      make(chan struct{}), done: make(chan struct{})}
}

// start looks once, then every spaceCheckInterval until close. The first
// look must back the active memtable: if it cannot, no write is safe, and
// the store does not open.
func (g *spaceGuard) start() error {
	if err := g.check(); err != nil {
		return err
	}
	go func() {
		defer close(g.done)
		t := time.NewTicker(spaceCheckInterval)
		defer t.Stop()
		var lastErr string
		var loggedAt time.Time
		for {
			select {
			case <-g.stop:
				return
			case now := <-t.C:
				err := g.check()
				if err == nil {
					lastErr = ""
					continue
				}
				// Four looks a second: say a lasting failure once a minute.
				if err.Error() != lastErr || now.Sub(loggedAt) >= time.Minute {
					g.logger.Error("store: checking the data directory's free space", "err", err)
					lastErr, loggedAt = err.Error(), now
				}
			}
		}
	}()
	return nil
}

// close stops the looks; a store may be closed more than once.
func (g *spaceGuard) close() {
	g.stopOnce.Do(func() { close(g.stop) })
	<-g.done
}

// check allocates the active memtable file, then reads the free space and
// decides whether the store is low. An error means the memtable could not
// be backed.
func (g *spaceGuard) check() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	mem, vlog, err := newestMappedFiles(g.dir)
	if err != nil {
		return err
	}
	var unbacked uint64
	var backErr error
	if mem != "" {
		n, err := allocateAhead(mem)
		unbacked += n
		if err != nil && !errors.Is(err, errNoAllocate) {
			backErr = fmt.Errorf("store: allocating Badger's memtable file %s: %w", mem, err)
		}
	}
	if vlog != "" {
		// Not allocated ahead: the value log holds only values over 1 MiB
		// (filter modules), and allocating its file would take twice
		// ValueLogFileSize of disk for them.
		n, err := unallocated(vlog)
		if err != nil {
			return err
		}
		unbacked += n
	}
	free, err := freeBytes(g.dir)
	if err != nil {
		return fmt.Errorf("store: free space of %s: %w", g.dir, err)
	}
	need := min(unbacked+g.fixedNeed, 1<<62) // a reserve near the int64 limit must not wrap to "never low"
	g.need.Store(int64(need))
	g.free.Store(int64(min(free, 1<<62)))
	g.decide()
	return backErr
}

// decide turns low below the need and back above it plus the slack.
func (g *spaceGuard) decide() {
	free, need := g.free.Load(), g.need.Load()
	switch wasLow := g.low.Load(); {
	case !wasLow && free < need:
		g.low.Store(true)
		g.logger.Error("the data directory is low on space: events and changes are refused (507) until space is freed; "+
			"what was accepted is still evaluated and delivered",
			"dir", g.dir, "free_bytes", free, "needed_bytes", need)
	case wasLow && free >= need+spaceSlack:
		g.low.Store(false)
		g.logger.Info("the data directory has space again: events and changes are accepted",
			"dir", g.dir, "free_bytes", free, "needed_bytes", need)
	}
}

// wrote counts bytes the event log added since the last look.
func (g *spaceGuard) wrote(n int) {
	g.free.Add(-int64(n))
	g.decide()
}

// full is told of a write that failed for want of space: the store is low
// until a look finds otherwise.
func (g *spaceGuard) full() {
	g.free.Store(0)
	g.decide()
}

// refuse is nil while writes are safe, else why not.
func (g *spaceGuard) refuse() error {
	if !g.low.Load() {
		return nil
	}
	return fmt.Errorf("%w: the data directory has %s free, and hookwire keeps %s free there so that its store's "+
		"memory-mapped writes cannot fail; nothing was written: retry once the operator has freed space",
		model.ErrLowOnSpace, mebibytes(g.free.Load()), mebibytes(g.need.Load()))
}

// RefuseWrites is nil while the data directory has the space the store
// keeps free, else an error wrapping model.ErrLowOnSpace that says how much
// is free and needed. Writers of new data (events, changes through the
// API) ask before writing.
func (s *Store) RefuseWrites() error { return s.space.refuse() }

// Space is the data directory's free space as last seen.
func (s *Store) Space() Space { return s.space.space() }

func (g *spaceGuard) space() Space {
	return Space{Free: g.free.Load(), Need: g.need.Load(), Low: g.low.Load()}
}

func mebibytes(n int64) string {
	return strconv.FormatFloat(float64(max(n, 0))/(1<<20), 'f', 1, 64) + " MiB"
}

// newestMappedFiles names the memtable file and the value log file Badger
// writes now: the highest-numbered of each (older ones are only read).
func newestMappedFiles(dir string) (mem, vlog string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("store: %w", err)
	}
	var memID, vlogID uint64
	for _, e := range entries {
		name := e.Name()
		base, ext, ok := strings.Cut(name, ".")
		if !ok || e.IsDir() {
			continue
		}
		id, err := strconv.ParseUint(base, 10, 64)
		if err != nil {
			continue
		}
		switch {
		case ext == "mem" && (mem == "" || id > memID):
			mem, memID = filepath.Join(dir, name), id
		case ext == "vlog" && (vlog == "" || id > vlogID):
			vlog, vlogID = filepath.Join(dir, name), id
		}
	}
	return mem, vlog, nil
}

// errNoAllocate: the file system cannot allocate ahead (fallocate is not
// supported); the file's holes then count as needed space.
var errNoAllocate = errors.New("allocating ahead is not supported here")
