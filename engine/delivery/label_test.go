package delivery

import (
	"strings"
	"testing"
)

// TestEndpointLabel: a label keeps scheme and host, never the path or the
// query, and tells apart two URLs on one host.
func TestEndpointLabel(t *testing.T) {
	a := EndpointLabel("https://hooks.slack.com/services/T0/B0/tokenA")
	b := EndpointLabel("https://hooks.slack.com/services/T0/B0/tokenB")
	if !strings.HasPrefix(a, "https://hooks.slack.com (") || !strings.HasPrefix(b, "https://hooks.slack.com (") || a == b {
		t.Fatalf("labels %q and %q: want the origin and a different hash each", a, b)
	}
	if again := EndpointLabel("https://hooks.slack.com/services/T0/B0/tokenA"); again != a {
		t.Fatalf("the same URL labelled %q, then %q", a, again)
	}
	for _, url := range []string{"http://127.0.0.1:8080/in?token=secret", "http://[::1]:9000/token/secret", "::not a url/secret"} {
		label := EndpointLabel(url)
		if strings.Contains(label, "secret") {
			t.Errorf("EndpointLabel(%q) = %q, which shows the token", url, label)
		}
	}
	if got := EndpointLabel("http://127.0.0.1:8080/in?token=secret"); !strings.HasPrefix(got, "http://127.0.0.1:8080 (") {
		t.Errorf("the port is part of the origin: %q", got)
	}
}
