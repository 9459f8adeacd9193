package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ScalingConfig runs the standard scenario's variants one after another:
// stream counts (with each catalog), session counts, durability levels.
type ScalingConfig struct {
	// Base is the scenario every variant starts from (its Name, OutDir and
	// Ceilings are ignored).
	Base       LoadConfig
	Streams    []int
	Catalogs   []string
	Sessions   []int
	Durability []string
	OutDir     string
	Logf       func(format string, args ...any) `json:"-"`
}

// DefaultScalingConfig is `make bench-scaling`: about thirteen minutes.
func DefaultScalingConfig() ScalingConfig {
	base := DefaultLoadConfig()
	base.Duration = 20 * time.Second
	return ScalingConfig{Base: base, Streams: []int{1, 10, 100, 1000}, Catalogs: []string{"mixed", "keyed"},
		Sessions: []int{10_000, 100_000, 1_000_000}, Durability: []string{"sync", "batch"}, OutDir: "bench/results"}
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
	var rows []ScalingRow
	for i, v := range variants {
		c := cfg.Base
		c.Name, c.OutDir, c.Ceilings, c.Logf = "scaling", "", false, nil
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

// ScalingTable is the rows as a markdown table.
func ScalingTable(rows []ScalingRow) string {
	var b strings.Builder
	b.WriteString("| variant | evaluated events/s | event → webhook p50 / p99 ms | lost / dup | live sessions | heap per live session | peak RSS | max GC pause |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		p := r.Report
		fmt.Fprintf(&b, "| %s | %.0f | %.1f / %.1f | %d / %d | %.0f | %.0f B | %.0f MiB | %.2f ms |\n",
			r.Variant, p.EvaluatedPerSec, p.Latency.P50, p.Latency.P99, p.Lost, p.Duplicated, p.LiveSessions,
			p.HeapPerSessionBytes, float64(p.PeakRSSBytes)/(1<<20), p.MaxGCPauseMS)
	}
	return b.String()
}
