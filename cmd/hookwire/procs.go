package main

import (
	"os"
	"runtime"
)

// defaultExtraProcs is --extra-procs' default (bench/README.md has the
// measurements behind it).
const defaultExtraProcs = 2

// addSpareProcs raises GOMAXPROCS by extra above the CPUs Go found, unless
// the operator set GOMAXPROCS. A goroutine in a blocking system call (the
// event log's fdatasync, half of the syncer's time under load) keeps its P
// until the runtime's monitor takes it back, which under load it may not
// for a while: with as many Ps as cores, that core's runnable work waits.
func addSpareProcs(extra int) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set || extra == 0 {
		return
	}
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + extra)
}
