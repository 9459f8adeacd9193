package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestReadmeQuickstart runs the shell blocks of README.md's Quickstart word
// for word, from the repository root: the blocks that start the engine and
// the receiver run in the background, the rest in order; then the
// receiver's output must show exactly one verified webhook. Only the data
// directory differs (DATA, so reruns start clean).
func TestReadmeQuickstart(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	blocks := quickstartBlocks(t, filepath.Join(root, "README.md"))
	if len(blocks) < 4 {
		t.Fatalf("found %d shell blocks in the Quickstart, want at least 4", len(blocks))
	}
	for _, addr := range []string{"127.0.0.1:7070", "127.0.0.1:9000"} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Fatalf("%s is in use; the quickstart needs it free", addr)
		}
	}
	env := append(os.Environ(), "DATA="+t.TempDir())
	var receiverOut syncBuffer
	for i, block := range blocks {
		switch {
		case strings.HasPrefix(block, "make run"), strings.HasPrefix(block, "make receive"):
			addr := "127.0.0.1:7070"
			out := &bytes.Buffer{}
			var stdout interface{ Write([]byte) (int, error) } = out
			if strings.HasPrefix(block, "make receive") {
				addr, stdout = "127.0.0.1:9000", &receiverOut
			}
			cmd := exec.Command("bash", "-c", block)
			cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = root, env, stdout, stdout
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				cmd.Wait()
			})
			waitForPort(t, addr, 120*time.Second)
			if addr == "127.0.0.1:7070" {
				waitForReady(t, "http://"+addr+"/readyz", 30*time.Second)
			}
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			cmd := exec.CommandContext(ctx, "bash", "-e", "-c", block)
			cmd.Dir, cmd.Env = root, env
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("block %d failed: %v\n%s\n%s", i+1, err, block, out)
			}
			if bytes.Contains(out, []byte(`"error"`)) {
				t.Fatalf("block %d answered an error:\n%s", i+1, out)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(receiverOut.String(), "webhook-id=") < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // room for a wrong second webhook
	out := receiverOut.String()
	if n := strings.Count(out, "webhook-id="); n != 1 {
		t.Fatalf("receiver printed %d webhooks, want 1:\n%s", n, out)
	}
	for _, want := range []string{"webhook-signature: ok", "Fullstory-Signature: ok", `"name": "Checkout Friction"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("receiver output lacks %q:\n%s", want, out)
		}
	}
}

// quickstartBlocks returns the ```sh blocks between "## Quickstart" and the
// next "## " heading.
func quickstartBlocks(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var cur *strings.Builder
	inSection := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			inSection = strings.HasPrefix(line, "## Quickstart")
		case !inSection:
		case cur == nil && line == "```sh":
			cur = &strings.Builder{}
		case cur != nil && line == "```":
			blocks = append(blocks, strings.TrimSpace(cur.String()))
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

func waitForPort(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listened on %s within %s", addr, within)
}

func waitForReady(t *testing.T, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within %s", url, within)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serverProcess is a hookwire binary started by a test, with its output.
type serverProcess struct {
	log    syncBuffer
	exited chan struct{} // closed when it has ended
	err    error         // why, once exited is closed
}

// startServerProcess starts cmd and stops it (SIGTERM) when the test ends.
func startServerProcess(t *testing.T, cmd *exec.Cmd) *serverProcess {
	t.Helper()
	p := &serverProcess{exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-p.exited
	})
	return p
}

// alive fails the test with the end of the server's log if it has ended.
func (p *serverProcess) alive(t *testing.T, when string) {
	t.Helper()
	select {
	case <-p.exited:
		// A crash's first lines say what it was; the goroutines after them
		// are many.
		out := p.log.String()
		from := max(0, len(out)-3000)
		for _, mark := range []string{"fatal error:", "panic:"} {
			if i := strings.Index(out, mark); i >= 0 {
				from = max(0, i-500)
				break
			}
		}
		t.Fatalf("the server ended %s: %v\n…%s", when, p.err, out[from:min(len(out), from+3000)])
	default:
	}
}
