//go:build !race

package ingest

// poisonReleased: see poison_race.go.
const poisonReleased = false
