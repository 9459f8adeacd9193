package bench

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Stages splits webhooks' latency where the harness's and the server's
// records allow: from the event's send (its schedule, open loop) to the
// request actually going out (the harness late), from there to the
// message's creation (the request's trip, the event log, the wait for a
// session worker and the evaluation), on to the first attempt (the event
// log's sync and the session commit, which a message waits for, and the
// delivery queue), and from the attempt's start to the receiver's arrival
// (the HTTP request and the receiver's own scheduling). Each is the mean
// over the webhooks asked about, in ms, so that the four add up to their
// mean latency.
type Stages struct {
	Webhooks    int     `json:"webhooks"`
	ToPostMS    float64 `json:"send_to_post_ms"`
	ToCreatedMS float64 `json:"post_to_message_ms"`
	ToAttemptMS float64 `json:"message_to_attempt_ms"`
	ToArrivalMS float64 `json:"attempt_to_arrival_ms"`
}

// tailStages asks the server about the slowest hundredth of samples (10
// to 50 of them) and as many from the middle of the distribution, so that
// what makes the tail shows beside what a typical webhook spends.
func tailStages(base string, samples []latencySample, posted map[pair]time.Time) (tail, middle Stages, err error) {
	if len(samples) == 0 {
		return Stages{}, Stages{}, nil
	}
	sorted := slices.Clone(samples)
	slices.SortFunc(sorted, func(a, b latencySample) int { return cmp.Compare(a.ms, b.ms) })
	n := min(max(len(sorted)/100, 10), 50, len(sorted))
	mid := len(sorted)/2 - n/2
	if tail, err = stagesOf(base, sorted[len(sorted)-n:], posted); err != nil {
		return Stages{}, Stages{}, err
	}
	middle, err = stagesOf(base, sorted[mid:mid+n], posted)
	return tail, middle, err
}

func stagesOf(base string, samples []latencySample, posted map[pair]time.Time) (Stages, error) {
	var late, created, attempted, arrived []float64
	for _, s := range samples {
		var d struct {
			CreatedAt time.Time `json:"created_at"`
			Attempts  []struct {
				At time.Time `json:"at"`
			} `json:"attempts"`
		}
		if err := getJSON(base+"/v1/deliveries/"+s.webhookID, &d); err != nil {
			return Stages{}, fmt.Errorf("the delivery of a sampled webhook: %w", err)
		}
		if len(d.Attempts) == 0 {
			continue // it arrived, so an attempt is being recorded right now
		}
		first := d.Attempts[0].At
		out, ok := posted[s.pair]
		if !ok {
			out = s.sent
		}
		late = append(late, ms(out.Sub(s.sent)))
		created = append(created, ms(d.CreatedAt.Sub(out)))
		attempted = append(attempted, ms(first.Sub(d.CreatedAt)))
		arrived = append(arrived, ms(s.arrived.Sub(first)))
	}
	return Stages{Webhooks: len(created), ToPostMS: mean(late), ToCreatedMS: mean(created),
		ToAttemptMS: mean(attempted), ToArrivalMS: mean(arrived)}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}
