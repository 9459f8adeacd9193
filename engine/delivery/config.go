package delivery

import (
	"errors"

	"fmt"
	"github.com/hookwire/hookwire/engine/netguard"
	"strings"
	"time"
)

// Config configures delivery.
type Config struct {
	// Schedule is the delay before each attempt; the first is usually 0.
	// Its length is the number of attempts.
	Schedule []time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// BreakerFailures consecutive failures open an endpoint's breaker.
	BreakerFailures uint32
	// BreakerCooldown is how long a breaker stays open before a trial.
	BreakerCooldown time.Duration
	// MaxInFlight bounds concurrent attempts per endpoint.
	MaxInFlight int
	// MaxOutbound bounds the attempts in flight to all endpoints together,
	// and is where idle connections start being closed (0: no bound);
	// see outbound.
	MaxOutbound int
	// OrgID is the o: part of Fullstory-Signature.
	OrgID string
	// UserAgent is sent on every request.
	UserAgent string
	// MaxAttemptsKept bounds the attempt log of one delivery.
	MaxAttemptsKept int
	// Guard checks every connection's destination address.
	Guard netguard.Guard
	// RetireAfter is how long an endpoint that no stream or system webhook
	// sends to any more is kept after its last message (0: an hour).
	RetireAfter time.Duration
}

// DefaultSchedule is CONTRACT §1's --retry-schedule default.
const DefaultSchedule = "0s,5s,5m,30m,2h,5h,10h,10h"

// ParseSchedule parses a comma-separated list of Go durations.
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		d, err := time.ParseDuration(part)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%q) is not a duration like 0s, 5s, 5m or 2h", i+1, part)
		}
		if d < 0 {
			return nil, fmt.Errorf("entry %d (%q) is negative", i+1, part)
		}
		out = append(out, d)
	}
	return out, nil
}

// Validate reports the first unusable setting.
func (c *Config) Validate() error {
	switch {
	case len(c.Schedule) == 0:
		return errors.New("delivery: the retry schedule needs at least one attempt")
	case c.Timeout <= 0:
		return errors.New("delivery: the delivery timeout must be positive")
	case c.BreakerFailures == 0:
		return errors.New("delivery: breaker failures must be at least 1")
	case c.BreakerCooldown <= 0:
		return errors.New("delivery: the breaker cooldown must be positive")
	case c.MaxInFlight < 1:
		return errors.New("delivery: the per-endpoint in-flight limit must be at least 1")
	case c.MaxOutbound < 0:
		return errors.New("delivery: the outbound connection bound must not be negative")
	}
	if c.MaxAttemptsKept == 0 {
		c.MaxAttemptsKept = 100
	}
	if c.RetireAfter <= 0 {
		c.RetireAfter = time.Hour
	}
	return nil
}
