package wasm

import (
	"testing"
	"time"
)

// TestFirstLookChargesNoMoreThanPlanned: a call is charged its time awake
// before the watchdog's first look as CPU, but a look that comes late (a
// saturated machine's timers do) charges no more than the look was
// planned for, which had stopped calls that had barely run.
func TestFirstLookChargesNoMoreThanPlanned(t *testing.T) {
	const budget = 10 * time.Millisecond
	for _, c := range []struct{ awake, want time.Duration }{
		{time.Millisecond, time.Millisecond}, // an early look: what passed
		{budget / 4, budget / 4},             // on time
		{30 * time.Millisecond, budget / 4},  // late: the planned quarter
		{time.Hour, budget / 4},              // very late
		{0, 0},                               // asleep throughout
	} {
		if got := firstLookCharge(c.awake, budget); got != c.want {
			t.Errorf("awake %s before the first look: charged %s, want %s", c.awake, got, c.want)
		}
	}
	if got := firstLookCharge(time.Second, 100*time.Microsecond); got != minRecheck {
		t.Errorf("a tiny budget's first look is planned at the recheck floor: charged %s, want %s", got, minRecheck)
	}
}
