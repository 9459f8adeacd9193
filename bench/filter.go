package bench

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
)

// signalWAT is the harness's custom filter (bench/filters/signal.wat):
// it matches an event whose name is its config.
//
//go:embed filters/signal.wat
var signalWAT []byte

// countWAT is its stateful filter (bench/filters/count.wat): it counts
// the events it sees in the session's state and matches at its config.
//
//go:embed filters/count.wat
var countWAT []byte

// What the harness uploads them as.
const (
	benchFilterName = "bench-signal"
	countFilterName = "bench-count"
)

// compileFilter builds a filter from its WebAssembly text with wat2wasm
// (Debian's wabt), in dir.
func compileFilter(dir, name string, wat []byte) ([]byte, error) {
	src, out := filepath.Join(dir, name+".wat"), filepath.Join(dir, name+".wasm")
	if err := os.WriteFile(src, wat, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("wat2wasm", src, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("bench: the filter streams need wat2wasm (Debian package wabt), or run with --filter-streams 0 --stateful-streams 0")
		}
		return nil, fmt.Errorf("bench: wat2wasm: %v\n%s", err, b)
	}
	return os.ReadFile(out)
}

// uploadFilter puts a filter module on the server.
func uploadFilter(base, name string, module []byte) error {
	req, err := http.NewRequest(http.MethodPut, base+"/v1/filters/"+name, bytes.NewReader(module))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/wasm")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("bench: upload filter %s: %d %s", name, resp.StatusCode, b)
	}
	return nil
}
