package httpapi

import (
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// A request answered before its body was read (413 over the limit, 401
// for a keyless body over 1 MiB) ends its connection. Closed at once with
// the body still arriving, the connection is reset: a client that writes
// its whole body before it reads (Python's urllib and requests, curl
// without Expect) sees "connection reset" instead of the answer. Such a
// connection is closed the way web servers call lingering: the answer is
// followed by a FIN, what the client still sends is read and dropped for
// a while, and then the connection closes.
const (
	// lingerFor and lingerBytes bound what one lingering connection may
	// cost: a client sending more, or slower, is reset as before.
	lingerFor   = 5 * time.Second
	lingerBytes = 256 << 20
	// maxLingering bounds the connections lingering at once.
	maxLingering = 64
)

var lingering atomic.Int32

// LingeringListener wraps ln so that a connection answered before its
// request's body was read lingers when closed.
func LingeringListener(ln net.Listener) net.Listener { return lingerListener{ln} }

type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c}, nil
}

type lingerConn struct {
	net.Conn
	linger atomic.Bool
}

// lingerOnClose marks the connection of a request answered before its
// body was read; a connection not from LingeringListener is left alone.
func lingerOnClose(c net.Conn) {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	if lc, ok := c.(*lingerConn); ok {
		lc.linger.Store(true)
	}
}

// halfCloser is a connection that can end its sending side alone: a TCP
// connection, or one wrapping it (countedConn).
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

func (c *lingerConn) Close() error {
	conn, ok := c.Conn.(halfCloser)
	if !c.linger.Load() || !ok {
		return c.Conn.Close()
	}
	if lingering.Add(1) > maxLingering {
		lingering.Add(-1)
		return c.Conn.Close()
	}
	if err := conn.CloseWrite(); err != nil {
		lingering.Add(-1)
		return c.Conn.Close()
	}
	go func() {
		defer lingering.Add(-1)
		_ = conn.SetReadDeadline(time.Now().Add(lingerFor))
		_, _ = io.CopyN(io.Discard, conn, lingerBytes)
		_ = conn.Close()
	}()
	return nil
}
