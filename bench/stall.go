package bench

import (
	"sync"
	"time"
)

// stallProbe measures how late the harness's own timer wake-ups are. The
// harness shares the machine with the server: when the machine stops
// running either (the hypervisor, the kernel), a stall in the webhook
// latency comes with one here, and the engine's own stalls do not. In a
// busy harness a wake-up is a few milliseconds late; only longer ones
// are kept.
type stallProbe struct {
	tick  time.Duration
	sleep func(time.Duration) // time.Sleep; a test's stand-in
	done  chan struct{}
	ended chan struct{}

	mu     sync.Mutex
	stalls []stallSample
}

type stallSample struct {
	at   time.Time // when the late wake-up was due
	late time.Duration
}

// stallKeptOver is the lateness below which a wake-up is not a stall.
const stallKeptOver = 5 * time.Millisecond

func newStallProbe(tick time.Duration, sleep func(time.Duration)) *stallProbe {
	return &stallProbe{tick: tick, sleep: sleep, done: make(chan struct{}), ended: make(chan struct{})}
}

// startStallProbe wakes every millisecond until stop.
func startStallProbe() *stallProbe {
	p := newStallProbe(time.Millisecond, time.Sleep)
	go p.run()
	return p
}

func (p *stallProbe) run() {
	defer close(p.ended)
	for {
		select {
		case <-p.done:
			return
		default:
		}
		began := time.Now()
		p.sleep(p.tick)
		if late := time.Since(began) - p.tick; late > stallKeptOver {
			p.mu.Lock()
			p.stalls = append(p.stalls, stallSample{at: began.Add(p.tick), late: late})
			p.mu.Unlock()
		}
	}
}

// stop ends the probe and returns the stalls it saw.
func (p *stallProbe) stop() []stallSample {
	close(p.done)
	<-p.ended
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalls
}

// longestStallByTenth is the longest wake-up delay in each tenth of [start,
// start+d), in milliseconds (0: none over stallKeptOver), by when it was
// due.
func longestStallByTenth(stalls []stallSample, start time.Time, d time.Duration) []float64 {
	out := make([]float64, 10)
	for _, s := range stalls {
		if s.at.Before(start) || !s.at.Before(start.Add(d)) {
			continue
		}
		i := min(int(10*s.at.Sub(start)/d), 9)
		out[i] = max(out[i], float64(s.late)/float64(time.Millisecond))
	}
	return out
}
