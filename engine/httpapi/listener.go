package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// GuardedListener wraps ln against floods of connections — what anyone can
// open, no key needed:
//
//   - past maxConns connections open at once (0: no bound), a new one is
//     answered 503 service_unavailable (as JSON, like every error; plain
//     HTTP only, a TLS one is closed) and closed, so that connections
//     cannot take the file descriptors the store needs;
//   - running out of descriptors (or socket memory) while accepting makes
//     new connections wait in the listen queue instead of ending the
//     server: fasthttp treats any accept error but a timeout as permanent,
//     and a flood of idle connections used to shut hookwire down
//     ("accept4: too many open files").
func GuardedListener(ln net.Listener, logger *slog.Logger, maxConns int, plainHTTP bool) *Guarded {
	return &Guarded{Listener: ln, logger: logger, maxConns: int64(maxConns), plainHTTP: plainHTTP}
}

// Guarded is a listener from GuardedListener.
type Guarded struct {
	net.Listener
	logger    *slog.Logger
	maxConns  int64
	plainHTTP bool
	open      atomic.Int64
	refused   atomic.Int64 // connections turned away past maxConns
	waits     atomic.Int64 // accepts that failed for want of descriptors
	lastLog   atomic.Int64 // Unix ns of the last log line about exhaustion
	unlogged  atomic.Int64 // such failures since that line
}

// Open is the connections open now; Refused those turned away past the
// bound, and AcceptWaits the accepts that found no descriptor, since start.
func (l *Guarded) Open() int64        { return l.open.Load() }
func (l *Guarded) Refused() int64     { return l.refused.Load() }
func (l *Guarded) AcceptWaits() int64 { return l.waits.Load() }

// exhaustion reports whether an accept failed for want of a resource that
// closing connections gives back.
func exhaustion(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// tooManyConnections is the whole answer to a connection over the bound.
var tooManyConnections = func() []byte {
	body := `{"error":{"code":"service_unavailable","message":"too many connections are open; retry later"}}`
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"+
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

func (l *Guarded) Accept() (net.Conn, error) {
	wait := time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !exhaustion(err) {
				return nil, err
			}
			l.waits.Add(1)
			l.unlogged.Add(1)
			if now := time.Now().UnixNano(); now-l.lastLog.Load() > int64(10*time.Second) {
				l.lastLog.Store(now)
				l.logger.Error("cannot accept connections: out of file descriptors or socket memory; "+
					"new connections wait in the listen queue until some close (lower --max-connections, "+
					"or raise the open-file limit)", "err", err, "times", l.unlogged.Swap(0))
			}
			time.Sleep(wait)
			wait = min(2*wait, 100*time.Millisecond)
			continue
		}
		wait = time.Millisecond
		if l.maxConns > 0 && l.open.Load() >= l.maxConns {
			l.refused.Add(1)
			if l.plainHTTP {
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = c.Write(tooManyConnections)
			}
			_ = c.Close()
			continue
		}
		l.open.Add(1)
		return &countedConn{Conn: c, open: &l.open}, nil
	}
}

// countedConn gives its place back when it is closed, once.
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed sync.Once
}

func (c *countedConn) Close() error {
	c.closed.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// CloseWrite ends the sending side of the TCP connection underneath, for
// a lingering close (lingerConn); the connection still counts until Close.
func (c *countedConn) CloseWrite() error {
	if tcp, ok := c.Conn.(halfCloser); ok {
		return tcp.CloseWrite()
	}
	return errors.New("httpapi: the connection cannot close one side")
}
