package engine_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine"
)

// npmPackages returns testdata/<dir>, its npm packages installed from its
// lock file when the one named is missing (.ci/run installs them first).
func npmPackages(t *testing.T, dir, probe string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "node_modules", probe)); err != nil {
		install := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		install.Dir = abs
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in testdata/%s: %v\n%s", dir, err, out)
		}
	}
	return abs
}

// selfSigned writes a certificate for 127.0.0.1 and its key, PEM-encoded.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hookwire test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

// TestFullstoryNodeClient points Fullstory's official Node server API
// client (@fullstory/server-api-client, npm) at a local hookwire over HTTPS:
// its create-event calls are accepted and fire a stream on the custom
// event's name.
func TestFullstoryNodeClient(t *testing.T) {
	clientDir := npmPackages(t, "fullstory-client", "@fullstory/server-api-client")
	certFile, keyFile := selfSigned(t, t.TempDir())
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(c *engine.Config) {
		c.Dev, c.AdminKey, c.AllowPrivateDestinations = false, "admin-key-node-client", true
		c.TLSCert, c.TLSKey = certFile, keyFile
	})
	srv.createStream(checkoutFriction(recv.URL)) // fires on custom "Checkout Error"
	_, raw := srv.raw("POST", "/v1/keys", "application/json", `{"name":"node client","role":"ingest"}`)
	var k struct{ Key string }
	json.Unmarshal(raw, &k)

	bodies := `[{"name":"Checkout Error","session":{"id":"node-1"},"user":{"uid":"u-9"},
		"context":{"browser":{"url":"https://shop.example/checkout"}},"properties":{"code":"E42"},
		"timestamp":"2026-11-27T12:00:00Z"},
		{"name":"Something Else","session":{"id":"node-2"}}]`
	cmd := exec.Command("node", "send.js", k.Key, bodies)
	cmd.Dir = clientDir
	cmd.Env = append(os.Environ(), "NODE_ENV=test", "FS_API_HOST="+srv.base, "NODE_EXTRA_CA_CERTS="+certFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Node client failed: %v\n%s", err, out)
	}
	if strings.Count(string(out), `"status":202`) != 2 {
		t.Fatalf("the Node client's answers:\n%s", out)
	}
	waitFor(t, 5*time.Second, "the webhook", func() bool { return recv.count() == 1 })
	time.Sleep(200 * time.Millisecond)
	p := recv.received()[0].payload(t)
	ev := p["event"].(map[string]any)
	if recv.count() != 1 || ev["name"] != "Checkout Error" || ev["url"] != "https://shop.example/checkout" ||
		p["session"].(map[string]any)["id"] != "node-1" {
		t.Fatalf("payload = %v", p)
	}
}
