package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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
	err := filterCommand([]string{"test", events, "--events", events}, &out)
	if err == nil || !strings.Contains(err.Error(), "not a WebAssembly module") {
		t.Fatalf("a non-Wasm file: %v", err)
	}
}
