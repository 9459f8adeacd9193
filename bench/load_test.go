package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
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
		latencies: []float64{1, 2, 3, 40}}
	r.Latency = summarise(r.latencies)
	start := time.Now()
	r.LatencyByTenth = byTenth([]latencySample{{start, 1}, {start.Add(time.Second), 2}, {start.Add(time.Second), 3},
		{start.Add(9 * time.Second), 40}}, start, 10*time.Second)
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
	if !strings.Contains(string(md), "1234 (50 % of 2468)") ||
		!strings.Contains(string(md), "| 1 / 3 / – / – / – / – / – / – / – / 40 ms |") {
		t.Fatalf("markdown:\n%s", md)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "standard.svg"))
	if !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), "<polyline") {
		t.Fatalf("svg: %.200s", svg)
	}
}
