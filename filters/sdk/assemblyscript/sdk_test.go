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

// probe is testdata/probe.ts, instantiated. Its strings are (pointer,
// length) pairs.
type probe struct{ *sdktest.Module }

var (
	buildOnce sync.Once
	module    []byte
	buildErr  error
)

// exampleDir pins the compiler, asc (make filter-as and
// .ci/run install it).
const exampleDir = "../../examples/assemblyscript"

func newProbe(t testing.TB) *probe {
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
	return &probe{sdktest.Instantiate(t, module)}
}

func (p *probe) Find(t testing.TB, doc []byte, path string) sdktest.Found {
	t.Helper()
	at := p.Put(t, doc, []byte(path))
	return p.Result(t, doc, p.Call(t, "probe_find", uint64(at[0]), uint64(len(doc)), uint64(at[1]), uint64(len(path))))
}

func (p *probe) Text(t testing.TB, doc []byte, path string) (string, bool) {
	t.Helper()
	at := p.Put(t, doc, []byte(path))
	dst := at[1] + uint32(len(path)) + 1
	n := p.Call(t, "probe_text", uint64(at[0]), uint64(len(doc)), uint64(at[1]), uint64(len(path)),
		uint64(dst), uint64(sdktest.InputBytes-(dst-p.Buf)))
	if n < 0 {
		return "", false
	}
	b, _ := p.Mod.Memory().Read(dst, uint32(n))
	return string(b), true
}

func (p *probe) Compare(t testing.TB, doc []byte, path string, op int, s string) int64 {
	t.Helper()
	at := p.Put(t, doc, []byte(path), []byte(s))
	return p.Call(t, "probe_compare", uint64(at[0]), uint64(len(doc)), uint64(at[1]), uint64(len(path)),
		uint64(op), uint64(at[2]), uint64(len(s)))
}

func TestFindReadsWhatEncodingJSONReads(t *testing.T) { sdktest.ReadsAsEncodingJSON(t, newProbe(t)) }

// TestFindRefusesWhatIsNotJSON: a document that ends inside a value is
// malformed (-1), never read past its end.
func TestFindRefusesWhatIsNotJSON(t *testing.T) { sdktest.RefusesMalformed(t, newProbe(t)) }

func FuzzEventFindAgreesWithEncodingJSON(f *testing.F) { sdktest.Fuzz(f, newProbe(f)) }

// BenchmarkFind is one lookup in the ~800-byte test event, as a filter
// makes it (the probe also decodes the found text and number): the wazero
// call included, the event written once.
func BenchmarkFind(b *testing.B) {
	p := newProbe(b)
	for _, path := range []string{"type", "url", "properties.items.1.sku", "user.display_name"} {
		b.Run(path, func(b *testing.B) {
			at := p.Put(b, []byte(sdktest.Event), []byte(path))
			for b.Loop() {
				if p.Call(b, "probe_find", uint64(at[0]), uint64(len(sdktest.Event)), uint64(at[1]), uint64(len(path))) != 1 {
					b.Fatal("not found")
				}
			}
		})
	}
}
