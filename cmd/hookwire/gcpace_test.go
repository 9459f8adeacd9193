package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, headroom uint64
		want           int
	}{
		{140 * mib, 256 * mib, 182},  // 100k sessions: goal 140 + 256 MiB
		{1024 * mib, 256 * mib, 100}, // a million: Go's default
		{mib, 256 * mib, maxGCPercent},
		{0, 256 * mib, maxGCPercent},
	} {
		if got := gcPercentFor(tc.live, tc.headroom); got != tc.want {
			t.Errorf("gcPercentFor(%d MiB, %d MiB) = %d, want %d", tc.live/mib, tc.headroom/mib, got, tc.want)
		}
	}
}

// TestKeepGCHeadroomSetsGOGC: after a collection the pacer sets GOGC from
// the live heap (this test binary's is a few MiB, far below the headroom).
func TestKeepGCHeadroomSetsGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { keepGCHeadroom(ctx, 1<<30, slog.New(slog.NewTextHandler(io.Discard, nil))); close(done) }()
	defer func() { cancel(); <-done }()
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(250 * time.Millisecond)
		if metrics.Read(gogc); gogc[0].Value.Uint64() == maxGCPercent {
			return
		}
	}
	t.Fatalf("GOGC is %d after collections with a small live heap, want %d", gogc[0].Value.Uint64(), maxGCPercent)
}

// TestServeRefusesNegativeHeadroom: a bad --gc-headroom-mib is refused by
// name before anything starts.
func TestServeRefusesNegativeHeadroom(t *testing.T) {
	dir := t.TempDir() + "/data"
	err := serve([]string{"--dev", "--data", dir, "--gc-headroom-mib", "-1"})
	if err == nil || !strings.Contains(err.Error(), "--gc-headroom-mib") {
		t.Fatalf("serve with --gc-headroom-mib -1: %v, want an error naming the flag", err)
	}
	if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
		t.Fatalf("the refused start created its data directory: %v", statErr)
	}
}
