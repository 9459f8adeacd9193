package delivery

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(time.RFC1123), 90 * time.Second},
		{now.Add(-time.Hour).Format(time.RFC1123), 0},
		{"999999999", maxRetryAfter},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestJitterStaysWithinTwentyPercent(t *testing.T) {
	if jitter(0) != 0 {
		t.Fatal("an immediate attempt must stay immediate")
	}
	base := 10 * time.Second
	lo, hi := base, base
	for range 2000 {
		d := jitter(base)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 8*time.Second || hi > 12*time.Second {
		t.Fatalf("jitter range [%s, %s] exceeds ±20%%", lo, hi)
	}
	if hi-lo < 2*time.Second {
		t.Fatalf("jitter range [%s, %s] is suspiciously narrow", lo, hi)
	}
}

func TestParseSchedule(t *testing.T) {
	got, err := ParseSchedule(DefaultSchedule)
	if err != nil || len(got) != 8 || got[0] != 0 || got[7] != 10*time.Hour {
		t.Fatalf("default schedule = %v, %v", got, err)
	}
	for _, bad := range []string{"", "5s,,1m", "5x", "-1s"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}
