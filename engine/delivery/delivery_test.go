package delivery

import (
	"net/http"
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
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(80 * time.Second).Format(time.RFC1123), 80 * time.Second},
		{now.Add(-time.Hour).Format(time.RFC1123), 0},
		{"999999999", maxRetryAfter},
		// Seconds past what a time.Duration holds: still the cap, not 0.
		{"10000000000", maxRetryAfter},
		{"99999999999999999999", maxRetryAfter},
		// The other two HTTP-date forms a receiver may send (RFC 9110 §5.6.7).
		{now.Add(2 * time.Minute).Format(time.RFC850), 2 * time.Minute},
		{now.Add(3 * time.Minute).Format(time.ANSIC), 3 * time.Minute},
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
