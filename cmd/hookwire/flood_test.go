package main

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConnectionFloodLeavesTheServerServing opens more idle connections
// than a server's open-file limit allows — what anyone can do, no key
// needed — and checks that it keeps serving: with the derived
// --max-connections the extra ones are turned away, and with a limit above
// the descriptors (so that accepting fails for want of them) new ones wait
// until the flood ends. Accepting out of descriptors used to end the
// server ("accept4: too many open files").
func TestConnectionFloodLeavesTheServerServing(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hookwire")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, extra := range []string{"", "--max-connections 100000"} {
		t.Run(fmt.Sprintf("flags %q", extra), func(t *testing.T) {
			free, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := free.Addr().String()
			free.Close()
			// ulimit -n sets the hard limit too, so Go cannot raise it.
			server := exec.Command("bash", "-c", fmt.Sprintf("ulimit -n 256 && exec %s serve --dev --listen %s --data %s %s",
				bin, addr, t.TempDir(), extra))
			proc := startServerProcess(t, server)
			waitForReady(t, "http://"+addr+"/readyz", 30*time.Second)

			var flood []net.Conn
			for range 400 {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					break // the listen queue is full: the flood has done its worst
				}
				flood = append(flood, c)
			}
			time.Sleep(500 * time.Millisecond) // the server accepts what it can
			proc.alive(t, fmt.Sprintf("under %d connections", len(flood)))
			for _, c := range flood {
				c.Close()
			}
			post := func() (int, error) {
				resp, err := http.Post("http://"+addr+"/v1/events", "application/json",
					strings.NewReader(`{"session_id":"after-the-flood","type":"click"}`))
				if err != nil {
					return 0, err
				}
				resp.Body.Close()
				return resp.StatusCode, nil
			}
			deadline := time.Now().Add(10 * time.Second)
			status, err := post()
			for (err != nil || status != 202) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				status, err = post()
			}
			if status != 202 {
				t.Fatalf("after the flood of %d connections: %d, %v\n%s", len(flood), status, err, proc.log.String())
			}
		})
	}
}
