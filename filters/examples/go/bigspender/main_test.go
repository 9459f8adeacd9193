package main

import (
	"testing"

	"github.com/hookwire/hookwire/filters/sdk/go/hookwire"
)

// The filter's logic, tested on the host through the SDK's in-memory mode.
func TestBigSpender(t *testing.T) {
	if hookwire.Configure([]byte(`{}`)) {
		t.Fatal("a config without min_total must be refused")
	}
	if !hookwire.Configure([]byte(`{"min_total": 100}`)) {
		t.Fatal("a valid config was refused")
	}
	hookwire.Reset()
	add := func(price float64) bool {
		return hookwire.Match(hookwire.Event{Type: "click", Properties: map[string]any{"target_text": "Add to cart", "price": price}})
	}
	if add(40) {
		t.Fatal("matched at 40")
	}
	if add(40) {
		t.Fatal("matched at 80")
	}
	if hookwire.Match(hookwire.Event{Type: "click", Properties: map[string]any{"target_text": "Help", "price": 500.0}}) {
		t.Fatal("matched another button")
	}
	if !add(20) {
		t.Fatal("did not match when the total reached 100")
	}
}
