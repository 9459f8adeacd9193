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
	client, _, recv := startNodeClientServer(t)

	bodies := `[{"name":"Checkout Error","session":{"id":"node-1"},"user":{"uid":"u-9"},
		"context":{"browser":{"url":"https://shop.example/checkout"}},"properties":{"code":"E42"},
		"timestamp":"2026-11-27T12:00:00Z"},
		{"name":"Something Else","session":{"id":"node-2"}}]`
	out := client.run(t, bodies)
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

// nodeClient runs testdata/fullstory-client/send.js, Fullstory's official
// Node client, against a hookwire serving HTTPS, with an ingest key.
type nodeClient struct {
	dir, certFile, key, base string
}

// startNodeClientServer starts hookwire over HTTPS with a stream that
// fires on the custom event "Checkout Error", and a client for it.
func startNodeClientServer(t *testing.T) (*nodeClient, *server, *receiver) {
	t.Helper()
	c := &nodeClient{dir: npmPackages(t, "fullstory-client", "@fullstory/server-api-client")}
	certFile, keyFile := selfSigned(t, t.TempDir())
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), func(cfg *engine.Config) {
		cfg.Dev, cfg.AdminKey, cfg.AllowPrivateDestinations = false, "admin-key-node-client", true
		cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	})
	srv.createStream(checkoutFriction(recv.URL))
	_, raw := srv.raw("POST", "/v1/keys", "application/json", `{"name":"node client","role":"ingest"}`)
	var k struct{ Key string }
	if err := json.Unmarshal(raw, &k); err != nil || k.Key == "" {
		t.Fatalf("create an ingest key: %s", raw)
	}
	c.certFile, c.key, c.base = certFile, k.Key, srv.base
	return c, srv, recv
}

func (c *nodeClient) run(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("node", append([]string{"send.js", c.key}, args...)...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "NODE_ENV=test", "FS_API_HOST="+c.base, "NODE_EXTRA_CA_CERTS="+c.certFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Node client failed: %v\n%s", err, out)
	}
	return out
}

// TestFullstoryNodeClientBatchImport: the official client's batch import
// (events.batchCreate) creates a job, polls it and reads back what it
// imported, as against Fullstory: every event is imported, with the
// batch's shared page and the session an event naming only its user
// joined, and the stream fires. A batch hookwire refuses creates no job:
// the client reports the refusal, and nothing was accepted.
func TestFullstoryNodeClientBatchImport(t *testing.T) {
	client, srv, recv := startNodeClientServer(t)

	job := `{"shared":{"context":{"browser":{"url":"https://shop.example/checkout"}}},"requests":[
		{"name":"Viewed Cart","session":{"id":"batch-1"},"user":{"uid":"u-1"},"properties":{"items":3}},
		{"name":"Checkout Error","user":{"uid":"u-1"},"timestamp":"2026-11-27T12:00:00Z"}]}`
	out := client.run(t, job, "batch")
	var ended struct {
		Outcome, ID, Status string
		Imports             []struct {
			Name    string
			Session struct{ ID string }
			User    struct{ ID, UID string }
			Context struct {
				Browser struct{ URL string }
			}
			Properties map[string]any
			Timestamp  string
		}
		Failed []any
	}
	if err := json.Unmarshal(out, &ended); err != nil || ended.Outcome != "done" || ended.Status != "COMPLETED" || !strings.HasPrefix(ended.ID, "job_") {
		t.Fatalf("the client's batch import ended: %s", out)
	}
	if len(ended.Imports) != 2 || len(ended.Failed) != 0 {
		t.Fatalf("imports %+v, failed %v: want the two events and no failure", ended.Imports, ended.Failed)
	}
	viewed, checkout := ended.Imports[0], ended.Imports[1]
	if viewed.Name != "Viewed Cart" || viewed.Session.ID != "batch-1" || viewed.Properties["items"] != float64(3) ||
		viewed.User.UID != "u-1" || !strings.HasPrefix(viewed.User.ID, "usr_") {
		t.Fatalf("first import %+v", viewed)
	}
	// Named only by its user, the second event joined the user's session.
	if checkout.Name != "Checkout Error" || checkout.Session.ID != "batch-1" || checkout.Timestamp != "2026-11-27T12:00:00Z" ||
		checkout.Context.Browser.URL != "https://shop.example/checkout" || checkout.User.ID != viewed.User.ID {
		t.Fatalf("second import %+v", checkout)
	}
	waitFor(t, 5*time.Second, "the webhook", func() bool { return recv.count() == 1 })
	p := recv.received()[0].payload(t)
	if ev := p["event"].(map[string]any); ev["name"] != "Checkout Error" || ev["url"] != "https://shop.example/checkout" {
		t.Fatalf("payload = %v", p)
	}

	refused := `{"requests":[{"name":"Fine","session":{"id":"batch-2"}},{"session":{"id":"batch-2"}}]}`
	out = client.run(t, refused, "batch")
	if !strings.Contains(string(out), `"outcome":"abort"`) || !strings.Contains(string(out), "400") {
		t.Fatalf("a batch with an event without a name: %s, want the client to report a 400", out)
	}
	if status, _ := srv.raw("GET", "/v1/sessions/batch-2", "", nil); status != 404 {
		t.Fatalf("session batch-2 exists (%d): a refused batch's event was accepted", status)
	}
}
