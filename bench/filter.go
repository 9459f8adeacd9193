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

// benchFilterName is what the harness uploads it as.
const benchFilterName = "bench-signal"

// compileSignalFilter builds the filter from its source with wat2wasm
// (Debian's wabt), in dir.
func compileSignalFilter(dir string) ([]byte, error) {
	src, out := filepath.Join(dir, "signal.wat"), filepath.Join(dir, "signal.wasm")
	if err := os.WriteFile(src, signalWAT, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("wat2wasm", src, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("bench: the filter streams need wat2wasm (Debian package wabt), or run with --filter-streams 0")
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
