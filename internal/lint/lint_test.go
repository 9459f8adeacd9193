package lint

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/hookwire/hookwire"

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// TestHeavyDependenciesHaveOneHome: wazero only in wasm (and the SDKs' test
// helper), Badger only in the store, fasthttp only in the HTTP front and
// the delivery client, gobreaker only in delivery.
func TestHeavyDependenciesHaveOneHome(t *testing.T) {
	homes := map[string][]string{
		// The SDKs' test helper runs their probe modules, which export far
		// more than the filter ABI, in wazero itself.
		"github.com/tetratelabs/wazero": {module + "/wasm", module + "/filters/sdk/sdktest"},
		"github.com/dgraph-io/badger":   {module + "/engine/store"},
		// bench's producers use fasthttp's client: the load generator shares
		// the machine's cores with the server, so it must be cheap.
		"github.com/valyala/fasthttp":         {module + "/engine/httpapi", module + "/engine/delivery", module + "/bench"},
		"github.com/sony/gobreaker":           {module + "/engine/delivery"},
		"github.com/prometheus/client_golang": {module + "/engine/metrics", module + "/engine/httpapi"},
	}
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			for dep, allowed := range homes {
				if strings.HasPrefix(imp, dep) && !contains(allowed, p.ImportPath) {
					t.Errorf("%s imports %s; only %v may", p.ImportPath, imp, allowed)
				}
			}
		}
	}
}

// TestDependenciesPointDown: the layers of STYLE.md never import upward.
func TestDependenciesPointDown(t *testing.T) {
	// For each package prefix, the hookwire packages it may import.
	allowed := map[string][]string{
		module + "/actors":            {},
		module + "/wasm":              {},
		module + "/internal/wasmenc":  {},
		module + "/internal/jsonfast": {},
		module + "/filters":           {module + "/internal/wasmenc"},
		module + "/engine/model":      {module + "/filters", module + "/internal/jsonfast"},
		module + "/engine/signing":    {},
		module + "/engine/metrics":    {},
		// bench drives a real server over HTTP, as producers and receivers
		// do; like a receiver it may verify signatures. Its catalogues are a
		// leaf the stream index's benchmark reads too.
		module + "/bench":         {module + "/engine/signing", module + "/bench/catalog"},
		module + "/bench/catalog": {},
	}
	for _, p := range listPackages(t) {
		rules, ok := allowed[p.ImportPath]
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module) && !contains(rules, imp) {
				t.Errorf("%s imports %s, which is above it or beside it", p.ImportPath, imp)
			}
		}
	}
	for _, p := range listPackages(t) {
		if strings.HasPrefix(p.ImportPath, module+"/engine") || strings.HasPrefix(p.ImportPath, module+"/cmd/") ||
			p.ImportPath == module+"/bench" {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/engine") || strings.HasPrefix(imp, module+"/cmd") {
				t.Errorf("%s (below the engine) imports %s", p.ImportPath, imp)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
