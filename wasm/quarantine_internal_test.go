package wasm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestQuarantineCooldownDoubles: a call after the cooldown that fails too
// doubles it, up to quarantineMaxCooldown; one call at a time goes through
// after a cooldown; a success ends it all.
func TestQuarantineCooldownDoubles(t *testing.T) {
	var q quarantine
	clock := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	for range QuarantineAfter {
		if err := q.admit(now); err != nil {
			t.Fatalf("refused before the quarantine: %v", err)
		}
		q.failed(clock)
	}
	var cooldowns []time.Duration
	for range 8 {
		err := q.admit(now)
		if !errors.Is(err, ErrQuarantined) {
			t.Fatalf("a call during the quarantine: %v", err)
		}
		resume := time.Unix(0, q.until.Load())
		cooldowns = append(cooldowns, resume.Sub(clock))
		clock = resume
		if err := q.admit(now); err != nil {
			t.Fatalf("the call after the cooldown was refused: %v", err)
		}
		if err := q.admit(now); !errors.Is(err, ErrQuarantined) {
			t.Fatalf("a second call beside the one after the cooldown: %v", err)
		}
		q.failed(clock)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i := range want {
		if cooldowns[i] != want[i] {
			t.Fatalf("cooldowns %v, want %v", cooldowns, want)
		}
	}
	if err := q.admit(now); !strings.Contains(err.Error(), "after 108 failed calls in a row") {
		t.Fatalf("the refusal: %v", err)
	}
	q.succeeded()
	if err := q.admit(now); err != nil || q.inARow.Load() != 0 {
		t.Fatalf("after a success: %v, %d failures in a row", err, q.inARow.Load())
	}
}
