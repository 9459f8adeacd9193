// Package csdk_test checks the C SDK (hookwire.h): testdata/probe.c,
// compiled with clang for wasm32 and run in wazero, must read documents
// as encoding/json reads them.
package csdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hookwire/hookwire/filters/sdk/sdktest"
	"github.com/hookwire/hookwire/wasm"
)

var (
	buildOnce sync.Once
	module    []byte
	buildErr  error
)

// newProbe is testdata/probe.c, built once and instantiated.
func newProbe(t testing.TB) *sdktest.Probe {
	t.Helper()
	buildOnce.Do(func() { module, buildErr = clang(t, "testdata/probe.c") })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return sdktest.NewProbe(t, module, false)
}

// clang builds a C file of testdata with the SDK as filters are built.
func clang(t testing.TB, source string) ([]byte, error) {
	out := filepath.Join(t.TempDir(), filepath.Base(source)+".wasm")
	cmd := exec.Command("clang", "--target=wasm32", "-O2", "-nostdlib", "-Wall", "-Wextra", "-Werror",
		"-Wl,--no-entry", "-I", ".", "-o", out, source)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("clang %s: %v\n%s", source, err, b)
	}
	return os.ReadFile(out)
}

func TestFindReadsWhatEncodingJSONReads(t *testing.T) { sdktest.ReadsAsEncodingJSON(t, newProbe(t)) }

// TestFindRefusesWhatIsNotJSON: a document that ends inside a value is
// malformed (-1), never read past its end.
func TestFindRefusesWhatIsNotJSON(t *testing.T) { sdktest.RefusesMalformed(t, newProbe(t)) }

func FuzzFindAgreesWithEncodingJSON(f *testing.F) { sdktest.Fuzz(f, newProbe(f)) }

// TestMillisReadsRFC3339AsGoDoes: hw_millis reads timestamps as Go does,
// and refuses what is not one.
func TestMillisReadsRFC3339AsGoDoes(t *testing.T) { sdktest.ReadsTimesAsGoDoes(t, newProbe(t)) }

func FuzzMillis(f *testing.F) { sdktest.FuzzMillis(f, newProbe(f)) }

// memoryState is a session's filter state and log, as the engine keeps
// them for one (session, stream).
type memoryState struct {
	values map[string][]byte
	lines  []string
}

func (s *memoryState) Get(key []byte) ([]byte, bool) { v, ok := s.values[string(key)]; return v, ok }
func (s *memoryState) Set(key, value []byte) bool {
	s.values[string(key)] = bytes.Clone(value)
	return true
}
func (s *memoryState) Log(line []byte) { s.lines = append(s.lines, string(line)) }

// TestAFilterOnTheSDKRunsInHookwire: a filter using the SDK's allocator,
// config reading and imports (state and log) is accepted by hookwire's
// host, refuses a config without what it needs, and counts across calls in
// the session's state.
func TestAFilterOnTheSDKRunsInHookwire(t *testing.T) {
	counter, err := clang(t, "testdata/counter.c")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{CallTimeout: wasm.DefaultCallTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Compile(ctx, counter)
	if err != nil {
		t.Fatalf("hookwire refuses the module: %v", err)
	}
	if _, err := mod.Instantiate(ctx, []byte(`{"min":10}`)); err == nil {
		t.Fatal("a config without times was accepted")
	}
	inst, err := mod.Instantiate(ctx, []byte(`{"min":10,"times":3}`))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)
	state := &memoryState{values: map[string][]byte{}}
	var verdicts []int32
	for _, amount := range []string{"12", "5", "10.0", "1e1", "99"} {
		v, err := inst.Match([]byte(`{"session_id":"s","type":"custom","properties":{"amount":`+amount+`}}`), state)
		if err != nil {
			t.Fatalf("amount %s: %v", amount, err)
		}
		verdicts = append(verdicts, v)
	}
	if fmt.Sprint(verdicts) != "[0 0 0 1 0]" {
		t.Errorf("verdicts %v, want a match on the third amount of 10 or more", verdicts)
	}
	if got := binaryCount(state.values["count"]); got != 4 || fmt.Sprint(state.lines) != "[count 1 count 2 count 3 count 4]" {
		t.Errorf("state count %d, log %q", got, state.lines)
	}
}

func binaryCount(b []byte) uint32 {
	if len(b) != 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// BenchmarkFind is one lookup in the ~800-byte test event, as a filter
// makes it: the wazero call included, the event written once.
func BenchmarkFind(b *testing.B) { sdktest.BenchmarkFind(b, newProbe(b)) }
