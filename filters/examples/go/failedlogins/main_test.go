package main

import (
	"testing"

	"github.com/hookwire/hookwire/filters/sdk/go/hookwire"
)

// The filter's logic, tested on the host through the SDK's in-memory mode.
func TestFailedLogins(t *testing.T) {
	for _, refused := range []string{`{}`, `{"name": ""}`, `{"name": "Login Failed", "count": 0}`, `{"name": "Login Failed", "count": 2.5}`} {
		if hookwire.Configure([]byte(refused)) {
			t.Fatalf("config %s was taken", refused)
		}
	}
	if !hookwire.Configure([]byte(`{"name": "Login Failed", "count": 2}`)) {
		t.Fatal("a valid config was refused")
	}
	hookwire.Reset()
	failed := hookwire.Event{Type: "custom", Name: "Login Failed"}
	if hookwire.Match(failed) {
		t.Fatal("matched the first failed login")
	}
	if hookwire.Match(hookwire.Event{Type: "custom", Name: "Login Succeeded"}) ||
		hookwire.Match(hookwire.Event{Type: "click", Properties: map[string]any{"name": "Login Failed"}}) {
		t.Fatal("matched another event")
	}
	if !hookwire.Match(failed) {
		t.Fatal("did not match the second failed login")
	}
}
