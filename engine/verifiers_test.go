package engine_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine"
)

// TestOfficialJavaScriptVerifiersAcceptTheSignatures hands what receivers
// got to the official Standard Webhooks (standardwebhooks) and Svix (svix)
// libraries for JavaScript, pinned in testdata/webhook-verifiers: a
// behavioural webhook signed with the secret hookwire generated, its retry
// (a new timestamp, the same webhook-id), a stream's test message and a
// system webhook (CONTRACT §3: official verifiers must accept them).
// Tampered copies must be refused, or the check would prove nothing.
func TestOfficialJavaScriptVerifiersAcceptTheSignatures(t *testing.T) {
	dir := npmPackages(t, "webhook-verifiers", "svix")
	streamRecv, systemRecv := newReceiver(t, 500), newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		// The retry more than a second later, jitter (±20 %) included:
		// another webhook-timestamp (1.1 s could come 0.88 s later).
		c.RetrySchedule = []time.Duration{0, 1500 * time.Millisecond}
	})
	def := checkoutFriction(streamRecv.URL)
	delete(def["destination"].(map[string]any), "secret") // hookwire generates one
	st := srv.createStream(def)
	if !strings.HasPrefix(st.Destination.Secret, "whsec_") {
		t.Fatalf("generated secret %q", st.Destination.Secret)
	}
	if status := srv.call("POST", "/v1/system-webhooks", map[string]any{"url": systemRecv.URL, "secret": testSecret,
		"event_types": []string{"note.created"}}, nil); status != 201 {
		t.Fatalf("create system webhook: %d", status)
	}
	srv.sendEvents(map[string]any{"session_id": "s-1", "type": "rage_click", "url": "/cart",
		"properties": map[string]any{"note": "ünïcödé and \"quotes\""}})
	srv.call("POST", "/v1/notes", map[string]any{"session_id": "s-1", "author": "bob", "text": "look"}, nil)
	waitFor(t, 10*time.Second, "the webhook's retry and the note", func() bool {
		return streamRecv.count() == 2 && systemRecv.count() == 1
	})
	var test struct{ OK bool }
	if srv.call("POST", "/v1/streams/"+st.ID+"/test", nil, &test); !test.OK {
		t.Fatal("the stream test was not delivered")
	}

	type signed struct {
		Secret  string            `json:"secret"`
		Body    string            `json:"body"`
		Headers map[string]string `json:"headers"`
	}
	var hooks []signed
	add := func(secret string, h hook) {
		headers := map[string]string{}
		for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
			headers[name] = h.header.Get(name)
		}
		hooks = append(hooks, signed{secret, string(h.body), headers})
	}
	for _, h := range streamRecv.received() {
		add(st.Destination.Secret, h)
	}
	for _, h := range systemRecv.received() {
		add(testSecret, h)
	}
	if a, b := hooks[0].Headers, hooks[1].Headers; a["webhook-id"] != b["webhook-id"] || a["webhook-timestamp"] == b["webhook-timestamp"] {
		t.Fatalf("the attempt and its retry: %v and %v; want one webhook-id, two timestamps", a, b)
	}
	tampered := hooks[0]
	tampered.Body = strings.Replace(tampered.Body, "/cart", "/carts", 1)
	hooks = append(hooks, tampered)

	input, _ := json.Marshal(map[string]any{"hooks": hooks})
	cmd := exec.Command("node", "verify.js")
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("verify.js: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(hooks) {
		t.Fatalf("verify.js answered %d lines for %d webhooks:\n%s", len(lines), len(hooks), out)
	}
	for i, line := range lines {
		var verdict map[string]string
		if err := json.Unmarshal([]byte(line), &verdict); err != nil {
			t.Fatalf("verify.js line %q: %v", line, err)
		}
		for _, lib := range []string{"standardwebhooks", "svix"} {
			switch last := i == len(lines)-1; {
			case !last && verdict[lib] != "ok":
				t.Errorf("%s refused webhook %d (%s): %s", lib, i, hooks[i].Headers["webhook-id"], verdict[lib])
			case last && verdict[lib] == "ok":
				t.Errorf("%s accepted a tampered body", lib)
			}
		}
	}
}
