package streams

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookwire/hookwire/engine/model"
)

// FuzzParseDefinition: any body either parses and validates (name,
// description, triggers compiled to Wasm bytes) or is refused with an
// InvalidError that names what is wrong; nothing panics.
func FuzzParseDefinition(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Checkout Friction","triggers":[{"event":"rage_click","where":[{"field":"url","op":"contains","value":"/cart"}]}],"destination":{"url":"https://hooks.example/in"}}`,
		`{"name":"x","triggers":[{"filter":"rage3","config":{"n":3}},{"event":"custom","where":[{"field":"name","op":"in","value":["a",1,true,null]}]}]}`,
		`{"name":"re","triggers":[{"event":"click","where":[{"field":"properties.a.0.b","op":"matches","value":"^(?i)x+[^y]{2,5}$"}]}]}`,
		`{"name":"","triggers":[]}`, `{"trigers":1}`, `[]`, `{"name":1}`, `{"name":"n","enabled":"yes"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		def, err := ParseDefinition(body)
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("a refused body must say why as an InvalidError: %v", err)
			}
			return
		}
		if stored, err := json.Marshal(def); err != nil || !utf8.Valid(stored) {
			t.Fatalf("a parsed definition must store as valid UTF-8 JSON: %v, %q", err, stored)
		}
		if _, err := checkName(def.Name, streamNameUse); err != nil {
			return
		}
		prog, err := checkTriggers(def.Triggers)
		if err != nil {
			var inv *model.InvalidError
			if !errors.As(err, &inv) || inv.Path == "" {
				t.Fatalf("trigger errors must name a path: %v", err)
			}
			return
		}
		if prog.Wasm == nil && len(prog.Custom) == 0 {
			t.Fatal("valid triggers produced neither a module nor filter triggers")
		}
	})
}

// TestParseDefinitionMakesRawMembersValidUTF8: bytes that are not UTF-8 in
// a filter's config or a condition's value (kept as raw JSON) become
// U+FFFD, as they do in the definition's decoded strings: the stored
// stream, its API answers and a filter's hw_init input are valid UTF-8.
func TestParseDefinitionMakesRawMembersValidUTF8(t *testing.T) {
	body := "{\"name\":\"n\xff\",\"triggers\":[{\"filter\":\"f\",\"config\":{\"k\":\"\xc3\"}}," +
		"{\"event\":\"click\",\"where\":[{\"field\":\"url\",\"op\":\"eq\",\"value\":\"\xfe\"}]}]}"
	def, err := ParseDefinition([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	config, value := string(def.Triggers[0].Config), string(def.Triggers[1].Where[0].Value)
	for what, got := range map[string]string{"name": def.Name, "config": config, "value": value} {
		if !utf8.ValidString(got) || !strings.Contains(got, "\uFFFD") {
			t.Errorf("%s = %q, want valid UTF-8 with U+FFFD for the bad bytes", what, got)
		}
	}
}
