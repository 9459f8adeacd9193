package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// scrape reads one unlabelled value from a server's /metrics.
func scrape(base, name string) (float64, error) {
	return scrapeLine(base, func(line string) (string, bool) {
		return strings.CutPrefix(line, name+" ")
	})
}

// scrapeQuantile reads a summary's quantile from /metrics.
func scrapeQuantile(base, name, q string) (float64, error) {
	return scrapeLine(base, func(line string) (string, bool) {
		return strings.CutPrefix(line, name+`{quantile="`+q+`"} `)
	})
}

// histogram is a server histogram's cumulative bucket counts, as
// /metrics gave them at one moment, in the order of their bounds.
type histogram []histogramBucket

type histogramBucket struct{ le, count float64 }

// scrapeHistograms reads the named histograms from one /metrics.
func scrapeHistograms(base string, names ...string) (map[string]histogram, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := make(map[string]histogram, len(names))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		for _, name := range names {
			rest, ok := strings.CutPrefix(sc.Text(), name+`_bucket{le="`)
			if !ok {
				continue
			}
			le, count, ok := strings.Cut(rest, `"} `)
			if !ok {
				continue
			}
			var b histogramBucket
			if b.le, err = strconv.ParseFloat(le, 64); err != nil { // "+Inf" parses
				return nil, err
			}
			if b.count, err = strconv.ParseFloat(strings.TrimSpace(count), 64); err != nil {
				return nil, err
			}
			out[name] = append(out[name], b)
		}
	}
	return out, sc.Err()
}

// since is what h counted after earlier, a reading of the same histogram
// (none: everything).
func (h histogram) since(earlier histogram) histogram {
	if len(earlier) != len(h) {
		return h
	}
	out := make(histogram, len(h))
	for i, b := range h {
		out[i] = histogramBucket{le: b.le, count: b.count - earlier[i].count}
	}
	return out
}

// quantile estimates quantile q by linear interpolation inside its bucket.
func (h histogram) quantile(q float64) (float64, error) {
	if len(h) == 0 || h[len(h)-1].count == 0 {
		return 0, fmt.Errorf("bench: histogram not found or empty")
	}
	rank := q * h[len(h)-1].count
	lower, below := 0.0, 0.0
	for _, b := range h {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				return lower, nil
			}
			return lower + (b.le-lower)*(rank-below)/max(b.count-below, 1), nil
		}
		lower, below = b.le, b.count
	}
	return lower, nil
}

// over is how many observations h counted above bound, one of its
// buckets' bounds (0 when it has no such bucket).
func (h histogram) over(bound float64) float64 {
	for _, b := range h {
		if b.le == bound {
			return h[len(h)-1].count - b.count
		}
	}
	return 0
}

// quantilesMS is h's p50 and p99 in milliseconds (zero when empty).
func (h histogram) quantilesMS() Quantiles {
	p50, err50 := h.quantile(0.5)
	p99, err99 := h.quantile(0.99)
	if err50 != nil || err99 != nil {
		return Quantiles{}
	}
	return Quantiles{P50: 1000 * p50, P99: 1000 * p99}
}

func scrapeLine(base string, pick func(string) (string, bool)) (float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := pick(sc.Text()); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("bench: metric not found")
}

// String is the report as a markdown table.
func (r *LoadReport) String() string {
	var b strings.Builder
	ratio := func(v, ceiling float64) string {
		if ceiling <= 0 {
			return ""
		}
		return fmt.Sprintf(" (%.0f %% of %.0f)", 100*v/ceiling, ceiling)
	}
	extras := ""
	if r.Config.EventIDs {
		extras = ", every event with a producer id"
	}
	if r.Config.NDJSON {
		extras += ", NDJSON bodies"
	}
	if r.Config.StatefulStreams > 0 {
		extras += fmt.Sprintf(", %d counting every click in session state", min(r.Config.StatefulStreams, r.Config.Streams))
	}
	fmt.Fprintf(&b, "| %s: %s (after %s of warm-up), %d producers × %d-event batches, %d sessions, %d streams (%s, %d through a Wasm filter), durability %s%s | |\n|---|---|\n",
		r.Config.Name, r.Mode, r.Config.Warmup, r.Config.Producers, r.Config.BatchSize, r.Config.Sessions, r.Config.Streams, r.Config.Catalog,
		min(r.Config.FilterStreams, r.Config.Streams), r.Config.Durability, extras)
	fmt.Fprintf(&b, "| accepted events/s | %.0f%s%s |\n", r.AcceptedPerSec, ratio(r.AcceptedPerSec, r.CeilingPerSec), r.ceilingRuns())
	fmt.Fprintf(&b, "| evaluated events/s | %.0f |\n", r.EvaluatedPerSec)
	fmt.Fprintf(&b, "| webhooks/s | %.0f%s |\n", r.WebhooksPerSec, ratio(r.WebhooksPerSec, r.ReceiverMaxPerSec))
	fmt.Fprintf(&b, "| event → webhook latency p50 / p90 / p99 / p99.9 / max | %.1f / %.1f / %.1f / %.1f / %.1f ms (%d webhooks) |\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max, r.Latency.Count)
	if len(r.LatencyByTenth) > 0 {
		fmt.Fprintf(&b, "| event → webhook p99 by tenth of the run (by send time) | %s ms |\n",
			joinTenths(len(r.LatencyByTenth), func(i int) (float64, bool) { return r.LatencyByTenth[i].P99, r.LatencyByTenth[i].Count > 0 }))
	}
	if r.TailStages.Webhooks > 0 {
		fmt.Fprintf(&b, "| where the time went, mean per stage: send → request out (harness late) / → message made (ingest, log, evaluation) / → first attempt (syncs, commit, queue) / → arrival (HTTP, receiver) | slowest hundredth %.1f / %.1f / %.1f / %.1f ms; around the median %.1f / %.1f / %.1f / %.1f ms (%d webhooks each) |\n",
			r.TailStages.ToPostMS, r.TailStages.ToCreatedMS, r.TailStages.ToAttemptMS, r.TailStages.ToArrivalMS,
			r.MiddleStages.ToPostMS, r.MiddleStages.ToCreatedMS, r.MiddleStages.ToAttemptMS, r.MiddleStages.ToArrivalMS, r.TailStages.Webhooks)
	}
	if len(r.HarnessStallMSByTenth) > 0 {
		fmt.Fprintf(&b, "| the harness's own longest wake-up delay by tenth (over 5 ms; a machine stall shows here too) | %s ms |\n",
			joinTenths(len(r.HarnessStallMSByTenth), func(i int) (float64, bool) { return r.HarnessStallMSByTenth[i], r.HarnessStallMSByTenth[i] > 0 }))
	}
	fmt.Fprintf(&b, "| send → 202 (durable acceptance) p50 / p99 / max | %.1f / %.1f / %.1f ms (%d batches); in the server p50 / p99 ≈ %.1f / %.1f ms |\n",
		r.AcceptLatency.P50, r.AcceptLatency.P99, r.AcceptLatency.Max, r.AcceptLatency.Count, r.ServerIngestP50MS, r.ServerIngestP99MS)
	if len(r.SlowSyncsByTenth) > 0 {
		fmt.Fprintf(&b, "| server's waits on the disk, p50 / p99 (over 25 ms by tenth of the run) | event log sync %.2f / %.1f ms (%s); session commit %.2f / %.1f ms (%s) |\n",
			r.EventLogSyncMS.P50, r.EventLogSyncMS.P99, joinCounts(r.SlowSyncsByTenth), r.SessionCommitMS.P50, r.SessionCommitMS.P99, joinCounts(r.SlowCommitsByTenth))
	}
	fmt.Fprintf(&b, "| lost / duplicated | %d / %d of %d |\n", r.Lost, r.Duplicated, r.ExpectedWebhooks)
	fmt.Fprintf(&b, "| 429 answers | %d |\n", r.Rejected429)
	fmt.Fprintf(&b, "| server peak RSS / CPU | %.0f MiB / %.1f s |\n", float64(r.PeakRSSBytes)/(1<<20), r.CPUSeconds)
	ceilingCPU := ""
	if r.CeilingCPUMicrosPerEvent > 0 {
		ceilingCPU = fmt.Sprintf(" (parse-only endpoint: %.2f µs)", r.CeilingCPUMicrosPerEvent)
	}
	fmt.Fprintf(&b, "| CPU per accepted event during the load: server; load generator and receiver | %.2f µs%s; %.2f µs |\n",
		r.CPUMicrosPerEvent, ceilingCPU, r.HarnessCPUMicrosPerEvent)
	fmt.Fprintf(&b, "| server goroutines / max GC pause | %.0f / %.2f ms |\n", r.Goroutines, r.MaxGCPauseMS)
	fmt.Fprintf(&b, "| live sessions / heap growth per live session | %.0f / %.0f bytes |\n", r.LiveSessions, r.HeapPerSessionBytes)
	return b.String()
}

// joinTenths is "12 / – / 7": each of n tenths' value, or a dash where
// it has none.
func joinTenths(n int, value func(i int) (v float64, ok bool)) string {
	s := make([]string, n)
	for i := range s {
		s[i] = "–"
		if v, ok := value(i); ok {
			s[i] = fmt.Sprintf("%.0f", v)
		}
	}
	return strings.Join(s, " / ")
}

// joinCounts is "1 / 0 / 2".
func joinCounts(counts []int) string {
	s := make([]string, len(counts))
	for i, n := range counts {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " / ")
}

// ceilingRuns says how the ceiling was measured and, when the load ran in
// stretches between its runs, how each stretch compares with the runs
// either side of it.
func (r *LoadReport) ceilingRuns() string {
	runs := r.CeilingRunsPerSec
	switch {
	case len(runs) == 2:
		return fmt.Sprintf("; the ceiling is the mean of %.0f before and %.0f after", runs[0], runs[1])
	case len(runs) < 2:
		return ""
	}
	rates := make([]string, len(runs))
	for i, c := range runs {
		rates[i] = fmt.Sprintf("%.0f", c)
	}
	out := fmt.Sprintf("; the ceiling is the mean of %d runs (%s), before, between and after the load's stretches", len(runs), strings.Join(rates, " / "))
	if len(r.StretchesPerSec) == len(runs)-1 {
		shares := make([]string, len(r.StretchesPerSec))
		for i, s := range r.StretchesPerSec {
			shares[i] = fmt.Sprintf("%.0f", 100*s/((runs[i]+runs[i+1])/2))
		}
		out += fmt.Sprintf("; stretch by stretch %s %% of the runs either side", strings.Join(shares, " / "))
	}
	return out
}

// write stores <name>.json, <name>.md and <name>.svg (latency CDF).
func (r *LoadReport) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, r.Config.Name+".json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, r.Config.Name+".md"), []byte(r.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, r.Config.Name+".svg"), []byte(latencySVG(r)), 0o644)
}

// latencySVG draws the event → webhook latency distribution (CDF, log
// scale of milliseconds) as a self-contained SVG.
func latencySVG(r *LoadReport) string {
	const w, h, left, bottom = 640, 360, 60, 40
	ms := slices.Clone(r.latencies)
	slices.Sort(ms)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`, w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20">%s: event → webhook latency (CDF), %s</text>`, left, r.Config.Name, r.Mode)
	plotW, plotH := float64(w-left-20), float64(h-bottom-40)
	x := func(v float64) float64 { // log10 ms from 0.1 to 10,000
		if v < 0.1 {
			v = 0.1
		}
		return float64(left) + plotW*(math.Log10(v)+1)/5
	}
	y := func(q float64) float64 { return 40 + plotH*(1-q) }
	fmt.Fprintf(&b, `<line x1="%d" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`, left, y(0), float64(left)+plotW, y(0))
	fmt.Fprintf(&b, `<line x1="%d" y1="%.0f" x2="%d" y2="%.0f" stroke="black"/>`, left, y(0), left, y(1))
	for _, tick := range []float64{0.1, 1, 10, 100, 1000, 10000} {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%g ms</text>`, x(tick), y(0)+18, tick)
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" text-anchor="end">%g</text>`, left-6, y(q)+4, q)
	}
	if len(ms) > 0 {
		b.WriteString(`<polyline fill="none" stroke="steelblue" stroke-width="2" points="`)
		step := max(1, len(ms)/500)
		for i := 0; i < len(ms); i += step {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(ms[i]), y(float64(i+1)/float64(len(ms))))
		}
		fmt.Fprintf(&b, "%.1f,%.1f", x(ms[len(ms)-1]), y(1))
		b.WriteString(`"/>`)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
