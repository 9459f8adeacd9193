package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFilterTestCommand builds the WAT example from source and runs
// `hookwire filter test` on it: the third rage click matches.
func TestFilterTestCommand(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(dir, "rage3.wasm")
	if out, err := exec.Command("wat2wasm", "../../filters/examples/wat/rage3.wat", "-o", module).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, out)
	}
	events := filepath.Join(dir, "events.ndjson")
	os.WriteFile(events, []byte(`{"session_id":"s","type":"rage_click"}
{"session_id":"s","type":"click"}
{"session_id":"s","type":"rage_click"}
{"session_id":"s","type":"rage_click"}
`), 0o644)
	var out bytes.Buffer
	if err := filterCommand([]string{"test", module, "--events", events}, &out); err != nil {
		t.Fatal(err)
	}
	want := "1\tno match\n2\tno match\n3\tno match\n4\tmatch\n4 events, 1 matches, 0 faults\n"
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	// --times: each call's time, and their mean and longest.
	out.Reset()
	if err := filterCommand([]string{"test", module, "--events", events, "--times"}, &out); err != nil {
		t.Fatal(err)
	}
	timed := regexp.MustCompile(`^1\tno match\t[0-9]+\.[0-9] µs\n2\tno match\t[0-9.]+ µs\n3\tno match\t[0-9.]+ µs\n4\tmatch\t[0-9.]+ µs\n` +
		`4 events, 1 matches, 0 faults\n4 calls: mean [0-9]+\.[0-9] µs, longest [0-9]+\.[0-9] µs \(the budget is 10ms\)\n$`)
	if !timed.MatchString(out.String()) {
		t.Fatalf("output with --times:\n%s", out.String())
	}
	err := filterCommand([]string{"test", events, "--events", events}, &out)
	if err == nil || !strings.Contains(err.Error(), "not a WebAssembly module") {
		t.Fatalf("a non-Wasm file: %v", err)
	}
}
