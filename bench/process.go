package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// serverProcess is a hookwire binary run as a child process, restartable on
// the same address and data directory.
type serverProcess struct {
	binary string
	args   []string // after "serve --listen addr"
	env    []string // added to the harness's environment
	// command, when set, replaces "serve --listen addr" + args.
	command []string
	addr    string
	log     io.Writer
	cmd     *exec.Cmd
	exited  chan struct{}
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (p *serverProcess) base() string { return "http://" + p.addr }

// start launches the process and waits until /readyz answers 200.
func (p *serverProcess) start(ctx context.Context) error {
	argv := append([]string{"serve", "--listen", p.addr}, p.args...)
	if p.command != nil {
		argv = p.command
	}
	cmd := exec.Command(p.binary, argv...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if len(p.env) > 0 {
		cmd.Env = append(os.Environ(), p.env...)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.binary, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(p.exited)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("hookwire exited during start-up (see its log)")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := http.Get(p.base() + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("hookwire not ready within 60s")
}

// kill sends SIGKILL: no shutdown, no flush, like a power cut for the
// process (the OS keeps what it already has).
func (p *serverProcess) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd = nil
}

// stop sends SIGTERM and waits for the graceful shutdown.
func (p *serverProcess) stop() error {
	if p.cmd == nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.kill()
		return fmt.Errorf("hookwire did not stop within 60s of SIGTERM")
	}
	p.cmd = nil
	return nil
}

func mkTemp(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, os.MkdirAll(dir, 0o750)
	}
	d, err := os.MkdirTemp("", "hookwire-crash-*")
	return d, func() { os.RemoveAll(d) }, err
}
