package engine_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine"
)

// TestFullstoryIngest: Fullstory "Create Event" bodies become custom events
// that fire a stream on their name; an event with only user.uid joins the
// user's live session (one that started with the user, or learnt it
// later), and a new user's events of one request share a session; Basic
// auth is accepted on /v2 (as Fullstory clients send it) and not on /v1.
func TestFullstoryIngest(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.Dev, c.AdminKey, c.AllowPrivateDestinations = false, "admin-key-fullstory", true
	})
	st := srv.createStream(checkoutFriction(recv.URL)) // fires on custom "Checkout Error"
	_, raw := srv.raw("POST", "/v1/keys", "application/json", `{"name":"fs client","role":"ingest"}`)
	key := string(raw[strings.Index(string(raw), `"key":"`)+7:])
	key = key[:strings.Index(key, `"`)]

	post := func(path, auth, body string) int {
		req, _ := http.NewRequest("POST", srv.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// A live session for u-42, started through /v1.
	if status := post("/v1/events", "Bearer "+key, `{"session_id":"web-1","type":"navigate","url":"https://shop.example/","user":{"uid":"u-42"}}`); status != 202 {
		t.Fatalf("v1: %d", status)
	}
	if status := post("/v1/events", "Basic "+key, `{"session_id":"web-2","type":"click"}`); status != 401 {
		t.Fatalf("Basic on /v1: %d, want 401", status)
	}
	// RFC 7617 Basic, as generic HTTP clients send it: the key as user
	// name or password. Events of a session of their own (app-1).
	rfcBasic := func(userPass string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass)) }
	for _, auth := range []string{rfcBasic(key + ":"), rfcBasic(":" + key), rfcBasic("api:" + key)} {
		if status := post("/v2/events", auth, `{"name":"Something","session":{"id":"app-1"}}`); status != 202 {
			t.Fatalf("v2 with %s: %d", auth, status)
		}
		if status := post("/v1/events", auth, `{"session_id":"web-2","type":"click"}`); status != 401 {
			t.Fatalf("%s on /v1: %d, want 401", auth, status)
		}
	}
	if status := post("/v2/events", rfcBasic("nobody:"+key+"x"), `{"name":"Something","session":{"id":"app-1"}}`); status != 401 {
		t.Fatalf("v2 with RFC 7617 Basic of a wrong key: %d, want 401", status)
	}
	// Only user.uid: joins web-1.
	if status := post("/v2/events", "Basic "+key, `{"name":"Checkout Error","user":{"uid":"u-42"},
		"context":{"browser":{"url":"https://shop.example/checkout"}},"properties":{"code":"E42"}}`); status != 202 {
		t.Fatalf("v2 with Basic: %d", status)
	}
	// A batch with explicit sessions.
	if status := post("/v2/events/batch", "Bearer "+key, `{"requests":[
		{"name":"Checkout Error","session":{"id":"app-7"},"user":{"uid":"u-7"}},
		{"name":"Something Else","session":{"id":"app-8"}}]}`); status != 202 {
		t.Fatalf("v2 batch: %d", status)
	}
	// A user who signs in mid-session: the session learns its user, and a
	// uid-only event then joins it.
	if status := post("/v1/events", "Bearer "+key, `{"session_id":"web-3","type":"navigate"}`); status != 202 {
		t.Fatalf("v1: %d", status)
	}
	if status := post("/v1/events", "Bearer "+key, `{"session_id":"web-3","type":"click","user":{"uid":"u-9"}}`); status != 202 {
		t.Fatalf("v1: %d", status)
	}
	waitFor(t, 5*time.Second, "web-3 to evaluate both events", func() bool {
		var s struct{ Events int }
		return srv.call("GET", "/v1/sessions/web-3", nil, &s) == 200 && s.Events == 2
	})
	if status := post("/v2/events", "Basic "+key, `{"name":"Checkout Error","user":{"uid":"u-9"}}`); status != 202 {
		t.Fatalf("v2 for u-9: %d", status)
	}
	// Two uid-only events of a new user in one batch start one session.
	if status := post("/v2/events/batch", "Bearer "+key, `{"requests":[
		{"name":"Checkout Error","user":{"uid":"u-new"}}, {"name":"Checkout Error","user":{"uid":"u-new"}}]}`); status != 202 {
		t.Fatalf("v2 batch for u-new: %d", status)
	}
	waitFor(t, 5*time.Second, "four webhooks", func() bool { return recv.count() >= 4 })
	time.Sleep(200 * time.Millisecond)
	fired := firedOn(t, recv.received())
	_, web1 := fired["web-1"]
	_, web3 := fired["web-3"]
	if !web1 || !web3 || len(fired) != 4 || recv.count() != 4 {
		t.Fatalf("fired for %v (%d webhooks), want web-1 and web-3 (joined by uid), app-7 and one session of u-new", fired, recv.count())
	}
	for _, h := range recv.received() {
		p := h.payload(t)
		ev := p["event"].(map[string]any)
		if p["stream_id"] != st.ID || ev["type"] != "custom" || ev["name"] != "Checkout Error" {
			t.Fatalf("payload = %v", p)
		}
		if p["session"].(map[string]any)["id"] == "web-1" && ev["url"] != "https://shop.example/checkout" {
			t.Fatalf("context.browser.url not mapped: %v", ev)
		}
	}
	if status := post("/v2/events", "Basic "+key, `{"name":"x"}`); status != 400 {
		t.Fatalf("no session and no user: %d", status)
	}
}
