package signing_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookwire/hookwire/engine/signing"
)

func TestStandardSignatureAcceptedByOfficialLibrary(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		lib    func(string) (*standardwebhooks.Webhook, error)
	}{
		{"whsec secret", signing.NewSecret(), standardwebhooks.NewWebhook},
		{"raw secret", "plain-shared-secret", func(s string) (*standardwebhooks.Webhook, error) {
			return standardwebhooks.NewWebhookRaw([]byte(s))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signer, err := signing.NewSigner(tc.secret, "acme")
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(`{"name":"Checkout Friction"}`)
			ts := time.Now().Unix()
			h := http.Header{}
			h.Set("webhook-id", "msg_1")
			h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
			h.Set("webhook-signature", signer.Standard("msg_1", ts, body))
			wh, err := tc.lib(tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(body, h); err != nil {
				t.Fatalf("official verifier rejected our signature: %v", err)
			}
			if err := wh.Verify(append(body, ' '), h); err == nil {
				t.Fatal("official verifier accepted a tampered body")
			}
			if err := signing.Verify(tc.secret, h.Get, body, time.Minute, time.Now()); err != nil {
				t.Fatalf("our verifier: %v", err)
			}
			if err := signing.Verify(tc.secret, h.Get, body, time.Minute, time.Now().Add(time.Hour)); err == nil {
				t.Fatal("our verifier accepted a stale timestamp")
			}
		})
	}
}

func TestFullstorySignatureFormula(t *testing.T) {
	secret := "whsec_c2VjcmV0"
	signer, _ := signing.NewSigner(secret, "o-123")
	body := []byte(`{"a":1}`)
	mac := hmac.New(sha256.New, []byte(secret)) // the secret's raw UTF-8 bytes, prefix included
	fmt.Fprintf(mac, "%s:%s:%d", body, "o-123", 1700000000)
	want := "o:o-123,t:1700000000,v:" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := signer.Fullstory(1700000000, body); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestSecrets(t *testing.T) {
	if err := signing.CheckSecret("whsec_***"); err == nil {
		t.Fatal("a whsec_ secret that is not base64 must be refused")
	}
	a, b := signing.NewSecret(), signing.NewSecret()
	if a == b || signing.CheckSecret(a) != nil {
		t.Fatalf("generated secrets must be unique and valid: %s %s", a, b)
	}
}
