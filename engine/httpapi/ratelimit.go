package httpapi

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ingestLimiter holds one token bucket per API key (per client address in
// dev mode), in events per second. Buckets are made only for callers that
// authenticated, so the map is bounded by the keys in use.
type ingestLimiter struct {
	perSecond float64
	burst     int
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
}

func newIngestLimiter(perSecond float64, burst int) *ingestLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &ingestLimiter{perSecond: perSecond, burst: max(burst, int(math.Ceil(perSecond))), buckets: map[string]*rate.Limiter{}}
}

// admit takes n events' worth of tokens for caller, or says how long to
// wait before the request can pass. A nil limiter admits everything.
func (l *ingestLimiter) admit(caller string, n int, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	b, found := l.buckets[caller]
	if !found {
		b = rate.NewLimiter(rate.Limit(l.perSecond), l.burst)
		l.buckets[caller] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, n)
	if !r.OK() {
		// More events than the bucket holds: never admissible at once.
		return false, time.Duration(float64(n) / l.perSecond * float64(time.Second))
	}
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}
