package main

import (
	"runtime"
	"testing"

	"github.com/hookwire/hookwire/engine/streams"
)

// TestAddSpareProcs: serve runs Go with extra Ps beyond the CPUs (the
// session workers and instance pools stay sized by the CPUs), and leaves
// GOMAXPROCS alone when the operator set it.
func TestAddSpareProcs(t *testing.T) {
	before, evaluators := runtime.GOMAXPROCS(0), streams.Evaluators()
	defer runtime.GOMAXPROCS(before)

	addSpareProcs(2)
	if got := runtime.GOMAXPROCS(0); got != before+2 {
		t.Fatalf("GOMAXPROCS %d after adding 2 spare Ps to %d", got, before)
	}
	if got := streams.Evaluators(); got != evaluators {
		t.Fatalf("evaluators %d with spare Ps, want %d (by the CPUs)", got, evaluators)
	}
	runtime.GOMAXPROCS(before)

	t.Setenv("GOMAXPROCS", "1")
	addSpareProcs(2)
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("GOMAXPROCS %d with the variable set, want it left at %d", got, before)
	}
}
