package system

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkSegmentMatch is one session's match of a segment that every
// user matches, with 100 alerts on it evaluated once per 100 matches (the
// committer's kicks coalesce at least that much under load). Before the
// counting tree, each match scanned every member once per alert.
func BenchmarkSegmentMatch(b *testing.B) {
	s, _ := newTestService(b)
	for i := range MaxAlertsPerSegment {
		threshold := float64(1 << 40)
		if _, err := s.CreateAlert("seg", &AlertDefinition{Description: fmt.Sprint(i), Threshold: &threshold,
			Direction: "ABOVE", Window: "1h"}); err != nil {
			b.Fatal(err)
		}
	}
	users := make([]string, b.N)
	for i := range users {
		users[i] = fmt.Sprint("usr_", i)
	}
	now := time.Now()
	b.ResetTimer()
	for i, u := range users {
		s.Matched("seg", u, now.Add(time.Duration(i)*time.Microsecond))
		if i%100 == 99 {
			s.Evaluate(now.Add(time.Duration(i) * time.Microsecond))
		}
	}
}
