//go:build race

package ingest

// poisonReleased: under the race detector (make test), a batch's memory
// is overwritten when it is given back, so that anything still viewing
// it after its last holder let go reads garbage, and the detector sees a
// write racing the read, whether or not another batch reuses the memory.
const poisonReleased = true
