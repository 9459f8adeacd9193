// Package assdk_test checks the AssemblyScript SDK (hookwire.ts):
// testdata/probe.ts, compiled with asc and run in wazero, must read
// documents as encoding/json reads them, as the C SDK must.
package assdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hookwire/hookwire/filters/sdk/sdktest"
)

var (
	buildOnce sync.Once
	module    []byte
	buildErr  error
)

// exampleDir pins the compiler, asc (make filter-as and
// .ci/run install it).
const exampleDir = "../../examples/assemblyscript"

// newProbe is testdata/probe.ts, built once and instantiated; its strings
// are (pointer, length) pairs.
func newProbe(t testing.TB) *sdktest.Probe {
	t.Helper()
	buildOnce.Do(func() {
		asc := filepath.Join(exampleDir, "node_modules", "assemblyscript", "bin", "asc.js")
		if _, err := os.Stat(asc); err != nil {
			install := exec.Command("npm", "ci", "--no-audit", "--no-fund")
			install.Dir = exampleDir
			if module, buildErr = install.CombinedOutput(); buildErr != nil {
				return
			}
		}
		out := filepath.Join(t.TempDir(), "probe.wasm")
		cmd := exec.Command("node", asc, "testdata/probe.ts", "--outFile", out, "--optimize", "--use", "abort=testdata/probe/abort")
		if module, buildErr = cmd.CombinedOutput(); buildErr != nil {
			return
		}
		module, buildErr = os.ReadFile(out)
	})
	if buildErr != nil {
		t.Fatalf("asc testdata/probe.ts: %v\n%s", buildErr, module)
	}
	return sdktest.NewProbe(t, module, true)
}

func TestFindReadsWhatEncodingJSONReads(t *testing.T) { sdktest.ReadsAsEncodingJSON(t, newProbe(t)) }

// TestFindRefusesWhatIsNotJSON: a document that ends inside a value is
// malformed (-1), never read past its end.
func TestFindRefusesWhatIsNotJSON(t *testing.T) { sdktest.RefusesMalformed(t, newProbe(t)) }

func FuzzEventFindAgreesWithEncodingJSON(f *testing.F) { sdktest.Fuzz(f, newProbe(f)) }

// TestMillisReadsRFC3339AsGoDoes: Value.millis() reads timestamps as Go
// does, and refuses what is not one.
func TestMillisReadsRFC3339AsGoDoes(t *testing.T) { sdktest.ReadsTimesAsGoDoes(t, newProbe(t)) }

func FuzzMillis(f *testing.F) { sdktest.FuzzMillis(f, newProbe(f)) }

// BenchmarkFind is one lookup in the ~800-byte test event, as a filter
// makes it: the wazero call included, the event written once.
func BenchmarkFind(b *testing.B) { sdktest.BenchmarkFind(b, newProbe(b)) }
