package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// buildHookwire compiles the real binary the crash test runs.
func buildHookwire(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hookwire")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/hookwire/hookwire/cmd/hookwire").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestCrash is the CI-sized crash test (make crash-test runs 20 kills).
func TestCrash(t *testing.T) {
	cfg := DefaultCrashConfig()
	cfg.Binary = buildHookwire(t)
	cfg.Kills, cfg.Sessions = 6, 400
	cfg.Logf = t.Logf
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	report, err := RunCrash(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(report)
	if !report.OK() || report.Kills != cfg.Kills || report.ExpectedWebhooks == 0 {
		t.Fatalf("crash test failed: %s", report)
	}
	if report.EventsAccepted+report.Duplicates < int64(cfg.Sessions*cfg.EventsPerSession) {
		t.Fatalf("producers' events not all accounted for: %s", report)
	}
}
