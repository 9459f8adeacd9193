package hookwire

import (
	"testing"

	"github.com/hookwire/hookwire/filters/sdk/sdktest"
)

// rawLookups answers sdktest's checks with Raw.Find, called natively: the
// same checks the C and AssemblyScript SDKs' probes pass in wazero.
type rawLookups struct{}

func (rawLookups) Find(_ testing.TB, doc []byte, path string) sdktest.Found {
	v := Raw(doc).Find(path)
	switch {
	case v.Kind == Malformed:
		return sdktest.Found{Status: -1}
	case !v.Found():
		return sdktest.Found{TextLen: -1}
	}
	f := sdktest.Found{Status: 1, Kind: sdktest.Kind(v.Kind), Raw: v.Raw(), Escaped: v.escaped, TextLen: -1}
	if text, ok := v.Text(); ok {
		f.TextLen = int64(len(text))
	}
	f.Number, f.NumberOK = v.Number()
	return f
}

func (rawLookups) Text(_ testing.TB, doc []byte, path string) (string, bool) {
	return Raw(doc).Find(path).Text()
}

func (rawLookups) Compare(_ testing.TB, doc []byte, path string, op int, s string) int64 {
	v := Raw(doc).Find(path)
	if !v.Found() {
		return -2
	}
	compare := [...]func(string) bool{sdktest.Equal: v.Equal, sdktest.Prefix: v.HasPrefix, sdktest.Suffix: v.HasSuffix, sdktest.Contains: v.Contains}
	if compare[op](s) {
		return 1
	}
	return 0
}

func TestFindReadsWhatEncodingJSONReads(t *testing.T) { sdktest.ReadsAsEncodingJSON(t, rawLookups{}) }

// TestFindRefusesWhatIsNotJSON: a document that ends inside a value is
// malformed, never read past its end.
func TestFindRefusesWhatIsNotJSON(t *testing.T) { sdktest.RefusesMalformed(t, rawLookups{}) }

func FuzzFindAgreesWithEncodingJSON(f *testing.F) { sdktest.Fuzz(f, rawLookups{}) }

// TestHandleRawSeesTheEventAsWritten: a filter registered with HandleRaw
// gets the event's bytes, undecoded, and its verdict.
func TestHandleRawSeesTheEventAsWritten(t *testing.T) {
	defer func(fn func(Event) bool, raw func(Raw) bool) { matchFn, matchRawFn = fn, raw }(matchFn, matchRawFn)
	HandleRaw(func(e Raw) bool {
		price, _ := e.Find("properties.price").Number()
		return e.Find("type").Equal("click") && price >= 10
	})
	for doc, want := range map[string]int32{
		`{"type":"click","properties":{"price":12.5}}`:  1,
		`{"type":"click","properties":{"price":9}}`:     0,
		`{"type":"navigate","properties":{"price":50}}`: 0,
	} {
		if got := match([]byte(doc)); got != want {
			t.Errorf("%s: %d, want %d", doc, got, want)
		}
	}
}

// BenchmarkFind is one lookup in sdktest's ~800-byte event, on the host.
func BenchmarkFind(b *testing.B) {
	for _, path := range []string{"type", "url", "properties.items.1.sku", "user.display_name"} {
		b.Run(path, func(b *testing.B) {
			doc := Raw(sdktest.Event)
			for b.Loop() {
				if !doc.Find(path).Found() {
					b.Fatal("not found")
				}
			}
		})
	}
}
