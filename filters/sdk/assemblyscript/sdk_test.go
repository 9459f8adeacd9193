// Package assdk_test checks the AssemblyScript SDK (hookwire.ts):
// testdata/probe.ts, compiled with asc and run in wazero, must read
// documents as encoding/json reads them, as the C SDK must.
package assdk_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

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

// rfc3339 is RFC 3339's date-time (section 5.6), which Value.millis()
// reads; Go's time.Parse also takes forms outside it (a one-digit hour, a
// comma before the fraction, an offset of +24:00).
var rfc3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

// checkMillis looks up ts in a document and checks Value.millis() of it
// against time.Parse: the same Unix milliseconds for a time in RFC 3339's
// grammar that Go reads, NaN for anything else.
func checkMillis(t *testing.T, p *sdktest.Probe, ts string) {
	t.Helper()
	doc, _ := json.Marshal(map[string]any{"t": ts}) // escapes <, > and &: the slow way
	at := p.Put(t, doc, []byte("t"))
	res, err := p.Mod.ExportedFunction("probe_millis").Call(context.Background(), uint64(at[0]), uint64(len(doc)), uint64(at[1]), 1)
	if err != nil {
		t.Fatal(err)
	}
	got, want := api.DecodeF64(res[0]), math.NaN()
	if parsed, err := time.Parse(time.RFC3339, ts); err == nil && rfc3339.MatchString(ts) {
		want = float64(parsed.UnixMilli())
	}
	if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
		t.Fatalf("millis() of %q = %v, want %v", ts, got, want)
	}
}

var timestamps = []string{
	"2026-11-27T12:00:00.123Z", "2026-11-27T12:00:00Z", "2026-11-27T12:00:00.1Z", "2026-11-27T12:00:00.98765Z",
	"2026-11-27T12:00:00.123456789123Z", "2026-11-27T12:00:00.123+01:00", "2026-11-27T12:00:00-09:30",
	"2024-02-29T23:59:59.999Z", "2026-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
	"0000-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999-23:59", "1970-01-01T00:00:00Z",
	"2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-27T24:00:00Z",
	"2026-11-27T23:60:00Z", "2026-11-27T23:59:60Z", "2026-11-27T12:00:00+24:00", "2026-11-27T12:00:00+01:60",
	"2026-11-27t12:00:00Z", "2026-11-27T12:00:00z", "2026-11-27 12:00:00Z", "2026-11-27T12:00:00,123Z",
	"2026-11-27T1:00:00Z", "2026-11-27T12:00:00.Z", "2026-11-27T12:00:00", "2026-11-27T12:00:00+0100",
	"2026-11-27", "", "not a time", "+2026-11-27T12:00:00Z", "2026-11-27T12:00:00.123Z<", "２026-11-27T12:00:00Z",
}

// TestMillisReadsRFC3339AsGoDoes: Value.millis() reads timestamps as Go
// does, and refuses what is not one.
func TestMillisReadsRFC3339AsGoDoes(t *testing.T) {
	p := newProbe(t)
	for _, ts := range timestamps {
		checkMillis(t, p, ts)
	}
	// A value that is not a string has no time.
	at := p.Put(t, []byte(`{"t":1764244800123}`), []byte("t"))
	res, err := p.Mod.ExportedFunction("probe_millis").Call(context.Background(), uint64(at[0]), 19, uint64(at[1]), 1)
	if err != nil || !math.IsNaN(api.DecodeF64(res[0])) {
		t.Fatalf("millis() of a number: %v %v, want NaN", api.DecodeF64(res[0]), err)
	}
}

func FuzzMillis(f *testing.F) {
	for _, ts := range timestamps {
		f.Add(ts)
	}
	p := newProbe(f)
	f.Fuzz(func(t *testing.T, ts string) { checkMillis(t, p, ts) })
}

// BenchmarkFind is one lookup in the ~800-byte test event, as a filter
// makes it: the wazero call included, the event written once.
func BenchmarkFind(b *testing.B) { sdktest.BenchmarkFind(b, newProbe(b)) }
