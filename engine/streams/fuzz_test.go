package streams

import (
	"errors"
	"testing"

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
		if _, err := checkName(def.Name); err != nil {
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
