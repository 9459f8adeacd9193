package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// maxGCPercent bounds how far keepGCHeadroom raises GOGC while the live
// heap is small (at start-up).
const maxGCPercent = 1000

// keepGCHeadroom paces the collector so that the heap may grow by at least
// headroom bytes past the live heap before the next cycle, never by less
// than Go's default (GOGC=100, the live heap again). With 100k sessions the
// live heap is ~140 MB, and Go's default pacing ran a cycle every second
// whose marking slowed the requests it overlapped (the p99 of event to
// webhook in bench/README.md); with a million sessions the live heap is
// over a gigabyte and the default stands. It checks after each collection
// and returns when ctx ends.
func keepGCHeadroom(ctx context.Context, headroom uint64, logger *slog.Logger) {
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var seenCycles uint64
	current := -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		metrics.Read(samples)
		cycles, live := samples[0].Value.Uint64(), samples[1].Value.Uint64()
		if cycles == seenCycles {
			continue
		}
		seenCycles = cycles
		// Retune only on a change of a tenth or more: each call is a
		// little work for the runtime.
		if percent := gcPercentFor(live, headroom); current < 0 || percent*10 < current*9 || percent*10 > current*11 {
			debug.SetGCPercent(percent)
			logger.Debug("gc pacing", "live_heap_bytes", live, "gogc", percent)
			current = percent
		}
	}
}

// gcPercentFor is the GOGC that lets a heap of live bytes grow by
// headroom, within [100, maxGCPercent].
func gcPercentFor(live, headroom uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	return int(min(max(headroom*100/live, 100), maxGCPercent))
}
