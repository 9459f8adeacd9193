package bench

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestStallProbeSeesALateWakeUp: a wake-up held up 40 ms (as a stopped
// machine would hold it) is kept with its lateness, in the tenth it was
// due in; on-time wake-ups are not.
func TestStallProbeSeesALateWakeUp(t *testing.T) {
	var calls atomic.Int32
	start := time.Now()
	p := newStallProbe(time.Millisecond, func(d time.Duration) {
		if calls.Add(1) == 20 {
			d += 40 * time.Millisecond
		}
		time.Sleep(d)
	})
	go p.run()
	for calls.Load() < 40 {
		time.Sleep(time.Millisecond)
	}
	stalls := p.stop()
	var held []stallSample
	for _, s := range stalls {
		if s.late >= 35*time.Millisecond {
			held = append(held, s)
		}
	}
	if len(held) != 1 || held[0].late > 200*time.Millisecond {
		t.Fatalf("stalls %v, want the one held-up wake-up, about 40 ms late", stalls)
	}
	window := time.Since(start)
	byTenth := longestStallByTenth(stalls, start, window)
	due := min(int(10*held[0].at.Sub(start)/window), 9)
	if byTenth[due] < 35 {
		t.Fatalf("latest wake-up by tenth %v: want ≥ 35 ms in tenth %d", byTenth, due)
	}
	outside := longestStallByTenth(stalls, start.Add(window), window)
	for _, ms := range outside {
		if ms != 0 {
			t.Fatalf("stalls before the window were counted in it: %v", outside)
		}
	}
}
