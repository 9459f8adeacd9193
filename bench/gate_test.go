package bench

import (
	"testing"
	"time"
)

// TestLoadGatePausesOnlyOnceTheBatchesUnderWayAreAnswered: pause waits for
// the batch let through, holds the next one back until resume, and stop
// ends a producer held by the pause.
func TestLoadGatePausesOnlyOnceTheBatchesUnderWayAreAnswered(t *testing.T) {
	g := newLoadGate()
	if !g.enter() {
		t.Fatal("a fresh gate refused a batch")
	}
	paused := make(chan struct{})
	go func() { g.pause(); close(paused) }()
	select {
	case <-paused:
		t.Fatal("pause returned with a batch under way")
	case <-time.After(50 * time.Millisecond):
	}
	g.leave()
	<-paused

	entered := make(chan bool)
	go func() { entered <- g.enter() }()
	select {
	case <-entered:
		t.Fatal("a paused gate let a batch through")
	case <-time.After(50 * time.Millisecond):
	}
	g.resume()
	if !<-entered {
		t.Fatal("resume did not let the waiting batch through")
	}
	g.leave()

	g.pause()
	go func() { entered <- g.enter() }()
	g.stop()
	if <-entered {
		t.Fatal("a stopped gate let a batch through")
	}
}
