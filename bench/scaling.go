package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ScalingConfig runs the standard scenario's variants one after another:
// stream counts (with each catalog), session counts, durability levels,
// producer event ids, and streams whose filters keep state on every click.
type ScalingConfig struct {
	// Base is the scenario every variant starts from (its Name, OutDir and
	// Ceilings are ignored).
	Base       LoadConfig
	Streams    []int
	Catalogs   []string
	Sessions   []int
	Durability []string
	// EventIDs adds a variant whose events carry producer ids.
	EventIDs bool
	// StatefulStreams, when positive, adds a variant with that many
	// streams counting every click in session state.
	StatefulStreams int
	OutDir          string
	Logf            func(format string, args ...any) `json:"-"`
}

// DefaultScalingConfig is `make bench-scaling`: about ten minutes.
func DefaultScalingConfig() ScalingConfig {
	base := DefaultLoadConfig()
	base.Duration = 20 * time.Second
	return ScalingConfig{Base: base, Streams: []int{1, 10, 100, 1000}, Catalogs: []string{"mixed", "keyed"},
		Sessions: []int{10_000, 100_000, 1_000_000}, Durability: []string{"sync", "batch"}, EventIDs: true, StatefulStreams: 2, OutDir: "bench/results"}
}

// ScalingRow is one variant's figures.
type ScalingRow struct {
	Variant string      `json:"variant"`
	Report  *LoadReport `json:"report"`
}

// RunScaling runs every variant (closed loop) and writes
// <OutDir>/scaling.json and scaling.md.
func RunScaling(ctx context.Context, cfg ScalingConfig) ([]ScalingRow, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	type variant struct {
		name string
		edit func(*LoadConfig)
	}
	var variants []variant
	for _, catalog := range cfg.Catalogs {
		for _, n := range cfg.Streams {
			variants = append(variants, variant{fmt.Sprintf("%d streams (%s)", n, catalog),
				func(c *LoadConfig) { c.Streams, c.Catalog = n, catalog }})
		}
	}
	for _, n := range cfg.Sessions {
		variants = append(variants, variant{fmt.Sprintf("%d sessions", n), func(c *LoadConfig) { c.Sessions = n }})
	}
	for _, d := range cfg.Durability {
		variants = append(variants, variant{"durability " + d, func(c *LoadConfig) { c.Durability = d }})
	}
	if cfg.EventIDs {
		variants = append(variants, variant{"producer event ids", func(c *LoadConfig) { c.EventIDs = true }})
	}
	if n := cfg.StatefulStreams; n > 0 {
		variants = append(variants, variant{fmt.Sprintf("%d streams counting clicks in state", n),
			func(c *LoadConfig) { c.StatefulStreams = n }})
	}
	var rows []ScalingRow
	for i, v := range variants {
		c := cfg.Base
		c.Name, c.OutDir, c.Ceilings = "scaling", "", false
		// A variant's progress stays quiet; the server's account of a
		// webhook that did not arrive does not.
		c.Logf = func(format string, args ...any) {
			if strings.HasPrefix(format, "lost:") {
				logf("  "+format, args...)
			}
		}
		v.edit(&c)
		logf("[%d/%d] %s", i+1, len(variants), v.name)
		rep, err := RunLoad(ctx, c)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", v.name, err)
		}
		logf("  %.0f events/s evaluated, p99 %.1f ms, %.0f bytes of heap per live session",
			rep.EvaluatedPerSec, rep.Latency.P99, rep.HeapPerSessionBytes)
		rows = append(rows, ScalingRow{Variant: v.name, Report: rep})
	}
	if cfg.OutDir != "" {
		if err := writeScaling(cfg.OutDir, rows); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func writeScaling(dir string, rows []ScalingRow) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "scaling.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "scaling.md"), []byte(ScalingTable(rows)), 0o644)
}

// ScalingTable is the rows as a markdown table. Each row's rate is also
// given against the standard configuration's: the median of the rows that
// ran it (10 mixed streams, 100k sessions and sync durability are one
// configuration, run three times by default), since one run of it swings
// with the machine as much as a variant's effect.
func ScalingTable(rows []ScalingRow) string {
	reference, runs := standardRate(rows)
	var b strings.Builder
	b.WriteString("| variant | evaluated events/s | of the standard configuration | event → webhook p50 / p99 ms | lost / dup | live sessions | heap per live session | peak RSS | max GC pause |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		p := r.Report
		ratio := "–"
		if reference > 0 {
			ratio = fmt.Sprintf("%.0f %%", 100*p.EvaluatedPerSec/reference)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %.1f / %.1f | %d / %d | %.0f | %.0f B | %.0f MiB | %.2f ms |\n",
			r.Variant, p.EvaluatedPerSec, ratio, p.Latency.P50, p.Latency.P99, p.Lost, p.Duplicated, p.LiveSessions,
			p.HeapPerSessionBytes, float64(p.PeakRSSBytes)/(1<<20), p.MaxGCPauseMS)
	}
	if reference > 0 {
		fmt.Fprintf(&b, "\nThe standard configuration (10 mixed streams, 100000 sessions, durability sync) is the median of %d runs: %s events/s.\n",
			len(runs), strings.Join(runs, ", "))
	}
	return b.String()
}

// standardRate is the median evaluated rate of the rows that ran the
// standard scenario's configuration, and those rates as text; 0 if none.
func standardRate(rows []ScalingRow) (float64, []string) {
	standard := DefaultLoadConfig()
	var rates []float64
	for _, r := range rows {
		c := r.Report.Config
		if c.Streams == standard.Streams && c.Catalog == standard.Catalog && c.Sessions == standard.Sessions &&
			c.Durability == standard.Durability && c.FilterStreams == standard.FilterStreams && c.EventIDs == standard.EventIDs &&
			c.StatefulStreams == standard.StatefulStreams {
			rates = append(rates, r.Report.EvaluatedPerSec)
		}
	}
	if len(rates) == 0 {
		return 0, nil
	}
	text := make([]string, len(rates))
	for i, rate := range rates {
		text[i] = fmt.Sprintf("%.0f", rate)
	}
	slices.Sort(rates)
	if n := len(rates); n%2 == 0 {
		return (rates[n/2-1] + rates[n/2]) / 2, text
	}
	return rates[len(rates)/2], text
}
