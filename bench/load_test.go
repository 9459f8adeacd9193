package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReportFiles: a report writes JSON that decodes back, the markdown
// table, and an SVG with the latency curve.
func TestReportFiles(t *testing.T) {
	cfg := DefaultLoadConfig()
	cfg.Logf = t.Logf
	r := &LoadReport{Config: cfg, Mode: "closed-loop", AcceptedPerSec: 1234, CeilingPerSec: 2468,
		CeilingRunsPerSec: []float64{2000, 2936}, latencies: []float64{1, 2, 3, 40}}
	r.Latency = summarise(r.latencies)
	start := time.Now()
	r.LatencyByTenth = byTenth([]latencySample{{sent: start, ms: 1}, {sent: start.Add(time.Second), ms: 2},
		{sent: start.Add(time.Second), ms: 3}, {sent: start.Add(9 * time.Second), ms: 40}}, start, 10*time.Second)
	dir := t.TempDir()
	if err := r.write(dir); err != nil {
		t.Fatal(err)
	}
	var back LoadReport
	raw, _ := os.ReadFile(filepath.Join(dir, "standard.json"))
	if err := json.Unmarshal(raw, &back); err != nil || back.AcceptedPerSec != 1234 || back.Latency.Max != 40 {
		t.Fatalf("json: %v %s", err, raw)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "standard.md"))
	if !strings.Contains(string(md), "1234 (50 % of 2468); the ceiling is the mean of 2000 before and 2936 after") ||
		!strings.Contains(string(md), "| 1 / 3 / – / – / – / – / – / – / – / 40 ms |") {
		t.Fatalf("markdown:\n%s", md)
	}
	// Stretches between ceiling runs: each against the runs either side.
	r.CeilingRunsPerSec, r.StretchesPerSec = []float64{1000, 2000, 1000, 2000}, []float64{750, 750, 3000}
	if want := "the ceiling is the mean of 4 runs (1000 / 2000 / 1000 / 2000), before, between and after the load's stretches; " +
		"stretch by stretch 50 / 50 / 200 % of the runs either side"; !strings.Contains(r.String(), want) {
		t.Fatalf("no %q in\n%s", want, r)
	}
	if strings.Contains(r.String(), "waits on the disk") {
		t.Fatalf("a disk row without disk figures (a server that does not time them):\n%s", r)
	}
	// Slow disk waits: each sample's increase lands in the tenth midway
	// between it and the sample before; a decrease (a restarted server)
	// counts nothing.
	disk := []diskSample{{start, 0, 0}, {start.Add(time.Second), 2, 0}, {start.Add(2 * time.Second), 2, 0},
		{start.Add(9 * time.Second), 5, 1}, {start.Add(10 * time.Second), 1, 1}}
	r.SlowSyncsByTenth = slowByTenth(disk, slowSyncs, start, 10*time.Second)
	r.SlowCommitsByTenth = slowByTenth(disk, slowCommits, start, 10*time.Second)
	r.EventLogSyncMS, r.SessionCommitMS = Quantiles{P50: 0.4, P99: 3}, Quantiles{P50: 1.5, P99: 12}
	if want := "| event log sync 0.40 / 3.0 ms (2 / 0 / 0 / 0 / 0 / 3 / 0 / 0 / 0 / 0); " +
		"session commit 1.50 / 12.0 ms (0 / 0 / 0 / 0 / 0 / 1 / 0 / 0 / 0 / 0) |"; !strings.Contains(r.String(), want) {
		t.Fatalf("no %q in\n%s", want, r)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "standard.svg"))
	if !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), "<polyline") {
		t.Fatalf("svg: %.200s", svg)
	}
}

// TestHistogramOverTheWindow: a server histogram read at the window's
// start and end gives the window's quantiles, not the warm-up's.
func TestHistogramOverTheWindow(t *testing.T) {
	inf := math.Inf(1)
	start := histogram{{0.001, 2}, {0.01, 5}, {0.1, 5}, {inf, 5}} // the warm-up: three at 1–10 ms
	end := histogram{{0.001, 102}, {0.01, 105}, {0.1, 205}, {inf, 205}}
	window := end.since(start)
	if got := window.quantilesMS(); math.Abs(got.P50-1) > 1e-9 || math.Abs(got.P99-98.2) > 1e-9 {
		t.Fatalf("window p50 / p99 = %v / %v ms, want 1 / 98.2", got.P50, got.P99)
	}
	if whole := end.quantilesMS(); math.Abs(whole.P50-2.5) > 1e-9 {
		t.Fatalf("whole run p50 = %v ms, want 2.5 (the warm-up counted)", whole.P50)
	}
	if over := window.over(0.01); over != 100 {
		t.Fatalf("%v observations over 10 ms in the window, want 100", over)
	}
	if (histogram{}).quantilesMS() != (Quantiles{}) || (histogram{}).over(0.01) != 0 {
		t.Fatal("an empty histogram has quantiles")
	}
}

// smallLoad is the standard scenario at a size a test runs in seconds:
// 1,000 sessions, 2 declarative streams, 2 producers, 1 s of warm-up and
// 3 s measured, no results files.
func smallLoad(t *testing.T) LoadConfig {
	cfg := DefaultLoadConfig()
	cfg.Binary = buildHookwire(t)
	cfg.Sessions, cfg.Streams, cfg.FilterStreams, cfg.Producers = 1000, 2, 0, 2
	cfg.Duration, cfg.Warmup = 3*time.Second, time.Second
	cfg.OutDir = ""
	cfg.Logf = t.Logf
	return cfg
}

// runSmallLoad runs cfg and logs its report.
func runSmallLoad(t *testing.T, cfg LoadConfig) *LoadReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := RunLoad(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	return r
}

// TestHalfOfMaximum runs the harness end to end at a small size: a
// closed-loop run finds the maximum, the open loop runs at half of it
// after a warm-up, and every expected webhook arrives, verified.
func TestHalfOfMaximum(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two real servers for several seconds each")
	}
	cfg := smallLoad(t)
	cfg.HalfOfMaximum, cfg.Ceilings = true, false
	r := runSmallLoad(t, cfg)
	if r.MaximumPerSec <= 0 || r.Config.Rate != r.MaximumPerSec/2 {
		t.Fatalf("rate %.0f for a measured maximum of %.0f, want half", r.Config.Rate, r.MaximumPerSec)
	}
	if r.AcceptedPerSec < 0.8*r.Config.Rate || r.AcceptedPerSec > 1.2*r.Config.Rate {
		t.Fatalf("accepted %.0f events/s in open loop at %.0f", r.AcceptedPerSec, r.Config.Rate)
	}
	if r.Lost != 0 || r.Duplicated != 0 || r.ExpectedWebhooks != cfg.Sessions/cfg.MatchEvery || r.Latency.Count != r.ExpectedWebhooks {
		t.Fatalf("webhooks: %d expected, %d measured, %d lost, %d duplicated", r.ExpectedWebhooks, r.Latency.Count, r.Lost, r.Duplicated)
	}
	if len(r.LatencyByTenth) != 10 || len(r.HarnessStallMSByTenth) != 10 || r.CPUMicrosPerEvent <= 0 {
		t.Fatalf("by tenth %v (harness stalls %v), CPU per event %.2f µs", r.LatencyByTenth, r.HarnessStallMSByTenth, r.CPUMicrosPerEvent)
	}
	// The server's disk waits were read: every accepted request waited
	// for a sync, every webhook for a commit.
	if len(r.SlowSyncsByTenth) != 10 || len(r.SlowCommitsByTenth) != 10 || r.EventLogSyncMS.P50 <= 0 || r.SessionCommitMS.P50 <= 0 {
		t.Fatalf("disk waits: sync %+v, commit %+v, slow by tenth %v, %v", r.EventLogSyncMS, r.SessionCommitMS, r.SlowSyncsByTenth, r.SlowCommitsByTenth)
	}
	// The slowest webhooks and the middle ones were split by stage from
	// the server's records: every stage in order (none negative), and, the
	// stages' means adding up to each group's mean latency, the slowest
	// spent longer in all than the middle ones.
	total := func(s Stages) float64 { return s.ToPostMS + s.ToCreatedMS + s.ToAttemptMS + s.ToArrivalMS }
	for _, s := range []Stages{r.TailStages, r.MiddleStages} {
		if s.Webhooks < 10 || s.ToPostMS < 0 || s.ToCreatedMS <= 0 || s.ToAttemptMS <= 0 || s.ToArrivalMS <= 0 {
			t.Fatalf("stages %+v, want 10 or more webhooks and every stage in order", s)
		}
	}
	if total(r.TailStages) <= total(r.MiddleStages) {
		t.Fatalf("the slowest webhooks' stages %+v add up to no more than the middle ones' %+v", r.TailStages, r.MiddleStages)
	}
}

// TestSignalTimesSpreadOverTheWindowAndSessions: each matching session has
// its own signal time, evenly spaced over the window's first nine tenths,
// and the sessions due close together in time are scattered through all
// of them (so through a round), not a run of neighbours sent at once.
func TestSignalTimesSpreadOverTheWindowAndSessions(t *testing.T) {
	for _, sessions := range []int{100000, 1000} {
		cfg := DefaultLoadConfig()
		cfg.Sessions, cfg.MatchEvery, cfg.Duration = sessions, 20, 30*time.Second
		w := newWorkload(cfg)
		matching := w.matchingSessions()
		type due struct {
			at      time.Duration
			session int
		}
		var times []due
		for s := 0; s < sessions; s += cfg.MatchEvery {
			times = append(times, due{w.signalAt(s / cfg.MatchEvery), s})
		}
		slices.SortFunc(times, func(a, b due) int { return cmp.Compare(a.at, b.at) })
		spacing := 9 * cfg.Duration / 10 / time.Duration(matching)
		if len(times) != matching || times[0].at <= 0 || times[len(times)-1].at >= 9*cfg.Duration/10 {
			t.Fatalf("%d sessions: signal times from %s to %s, want %d inside the window's first nine tenths",
				sessions, times[0].at, times[len(times)-1].at, matching)
		}
		for i := 1; i < len(times); i++ {
			if gap := times[i].at - times[i-1].at; gap < spacing*99/100 || gap > spacing*101/100 {
				t.Fatalf("%d sessions: %s between two signal times, want every one %s", sessions, gap, spacing)
			}
		}
		// The sessions due within a hundredth of the window (100k sessions:
		// 50 of them, about a round's worth at 340,000 events/s) come from
		// all over the sessions; with fewer, each one's time neighbours are
		// far from it among the sessions.
		for i := 0; i+50 <= len(times) && matching > 1000; i += 50 {
			lo, hi := sessions, 0
			for _, d := range times[i : i+50] {
				lo, hi = min(lo, d.session), max(hi, d.session)
			}
			if hi-lo < sessions*8/10 {
				t.Fatalf("%d sessions: signals %d to %d come from sessions %d to %d only", sessions, i, i+49, lo, hi)
			}
		}
		for i := 1; i < len(times); i++ {
			if d := times[i].session - times[i-1].session; d > -sessions/5 && d < sessions/5 {
				t.Fatalf("%d sessions: sessions %d and %d signal one after the other", sessions, times[i-1].session, times[i].session)
			}
		}
	}
}

// TestClosedLoopSpreadsItsSignals: a closed-loop run spreads the matching
// events over its window by load time, so that webhooks are measured in
// its second half too, not only in a burst at its start.
func TestClosedLoopSpreadsItsSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server for several seconds")
	}
	cfg := smallLoad(t)
	cfg.Ceilings, cfg.Warmup = false, 3*time.Second
	r := runSmallLoad(t, cfg)
	// Every signal sent in the window is measured, none lost or doubled.
	// Not every matching session need have signalled: each signals at its
	// first event after its time, and on a slow machine (CI's race
	// detector, packages side by side) a round through the sessions can
	// outlast the window's last tenth, which the last times fall in.
	if matching := cfg.Sessions / cfg.MatchEvery; r.Lost != 0 || r.Duplicated != 0 || r.ExpectedWebhooks < matching/2 ||
		r.ExpectedWebhooks > matching || r.Latency.Count != r.ExpectedWebhooks {
		t.Fatalf("webhooks: %d expected of %d matching sessions, %d measured, %d lost, %d duplicated",
			r.ExpectedWebhooks, matching, r.Latency.Count, r.Lost, r.Duplicated)
	}
	var counts []int
	for _, tenth := range r.LatencyByTenth {
		counts = append(counts, tenth.Count)
	}
	// Spread over the window: in seven tenths or more, none holding a
	// quarter. (When the signals were scheduled in rounds foreseen from
	// the warm-up's rate, test packages running side by side, which slow
	// a warm-up more than the window after it, ended them at the window's
	// half: [10 10 10 10 10 0 0 0 0 0], and [8 14 16 12 0 0 0 0 0 0].)
	spread := 0
	for _, n := range counts {
		if n > 0 {
			spread++
		}
	}
	if len(counts) != 10 || spread < 7 || slices.Max(counts) > r.ExpectedWebhooks/4 {
		t.Fatalf("webhooks by tenth of the run %v: want them spread over it", counts)
	}
}

// TestScalingTableTakesTheStandardMedian: the scaling table gives each
// row's rate against the median of the runs of the standard
// configuration, whichever variants they were named as.
func TestScalingTableTakesTheStandardMedian(t *testing.T) {
	row := func(name string, edit func(*LoadConfig), rate float64) ScalingRow {
		c := DefaultLoadConfig()
		edit(&c)
		return ScalingRow{Variant: name, Report: &LoadReport{Config: c, EvaluatedPerSec: rate}}
	}
	same := func(*LoadConfig) {}
	rows := []ScalingRow{
		row("10 streams (mixed)", same, 240000), // a slow moment
		row("1000 streams (mixed)", func(c *LoadConfig) { c.Streams = 1000 }, 300000),
		row("producer event ids", func(c *LoadConfig) { c.EventIDs = true }, 150000),
		row("2 streams counting clicks in state", func(c *LoadConfig) { c.StatefulStreams = 2 }, 150000),
		row("100000 sessions", same, 400000),
		row("durability sync", same, 420000),
		row("durability batch", func(c *LoadConfig) { c.Durability = "batch" }, 500000),
	}
	md := ScalingTable(rows)
	for _, want := range []string{"| 1000 streams (mixed) | 300000 | 75 % |", "| 10 streams (mixed) | 240000 | 60 % |",
		"median of 3 runs: 240000, 400000, 420000 events/s"} {
		if !strings.Contains(md, want) {
			t.Fatalf("no %q in\n%s", want, md)
		}
	}
}

// TestCeilingsBetweenStretches runs closed loop with ceilings at a small
// size: the ceiling is measured before, between the load's stretches and
// after, and the report compares each stretch with the runs either side.
func TestCeilingsBetweenStretches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server and the ceiling endpoint for several seconds")
	}
	cfg := smallLoad(t)
	r := runSmallLoad(t, cfg)
	if len(r.CeilingRunsPerSec) != loadStretches+1 || len(r.StretchesPerSec) != loadStretches {
		t.Fatalf("%d ceiling runs and %d stretches, want %d and %d", len(r.CeilingRunsPerSec), len(r.StretchesPerSec), loadStretches+1, loadStretches)
	}
	var sum float64
	for _, c := range r.CeilingRunsPerSec {
		if c <= 0 {
			t.Fatalf("ceiling runs %v", r.CeilingRunsPerSec)
		}
		sum += c
	}
	if got := sum / float64(len(r.CeilingRunsPerSec)); got != r.CeilingPerSec {
		t.Fatalf("ceiling %.0f, want the mean of its runs %.0f", r.CeilingPerSec, got)
	}
	// The whole run's rate is the stretches' taken together.
	lo, hi := slices.Min(r.StretchesPerSec), slices.Max(r.StretchesPerSec)
	if lo <= 0 || r.AcceptedPerSec < 0.99*lo || r.AcceptedPerSec > 1.01*hi {
		t.Fatalf("accepted %.0f events/s over stretches of %v", r.AcceptedPerSec, r.StretchesPerSec)
	}
	if r.Lost != 0 || r.Duplicated != 0 || r.ExpectedWebhooks != cfg.Sessions/cfg.MatchEvery {
		t.Fatalf("webhooks: %d expected, %d lost, %d duplicated", r.ExpectedWebhooks, r.Lost, r.Duplicated)
	}
	if !strings.Contains(r.String(), "stretch by stretch") {
		t.Fatalf("the report does not compare the stretches with their ceilings:\n%s", r)
	}
}

// TestEventIDsAreUniqueAndSent: with EventIDs every event carries a
// producer id no other event of the run has; without, none does.
func TestEventIDsAreUniqueAndSent(t *testing.T) {
	for _, withIDs := range []bool{true, false} {
		cfg := DefaultLoadConfig()
		cfg.EventIDs = withIDs
		w := newWorkload(cfg)
		seen := map[string]bool{}
		for s := range 50 {
			for n := range 30 {
				raw, _ := w.appendEvent(nil, s, n, -1)
				var ev struct {
					ID *string `json:"id"`
				}
				if err := json.Unmarshal(raw, &ev); err != nil {
					t.Fatalf("event %s: %v", raw, err)
				}
				switch {
				case !withIDs && ev.ID != nil:
					t.Fatalf("an id without EventIDs: %s", raw)
				case withIDs && (ev.ID == nil || *ev.ID == "" || seen[*ev.ID]):
					t.Fatalf("event %d of session %d: id missing or repeated: %s", n, s, raw)
				case withIDs:
					seen[*ev.ID] = true
				}
			}
		}
	}
}

// TestNDJSONLoad: with NDJSON the producers' batches are NDJSON, which the
// server takes whole (every expected webhook arrives, none twice) and the
// report names.
func TestNDJSONLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server for several seconds")
	}
	cfg := smallLoad(t)
	cfg.NDJSON, cfg.Ceilings = true, false
	r := runSmallLoad(t, cfg)
	if r.AcceptedPerSec <= 0 || r.Lost != 0 || r.Duplicated != 0 || r.ExpectedWebhooks != cfg.Sessions/cfg.MatchEvery {
		t.Fatalf("accepted %.0f events/s; webhooks: %d expected, %d lost, %d duplicated",
			r.AcceptedPerSec, r.ExpectedWebhooks, r.Lost, r.Duplicated)
	}
	if !strings.Contains(r.String(), "NDJSON bodies") {
		t.Fatalf("the report does not say the bodies were NDJSON:\n%s", r)
	}
}
