package httpapi

import (
	"runtime"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestChunkedRequestsForgetsCollectedConnections: a header remembered for a
// chunked body does not outlive its connection's state in the map — a
// server taking chunked bodies on ever new connections must not grow it
// for good — while a live one is still found, once.
func TestChunkedRequestsForgetsCollectedConnections(t *testing.T) {
	var c chunkedRequests
	live := new(fasthttp.RequestHeader)
	c.remember(live, chunkedRequest{route: &routes[0], keyAccepted: true})
	for range 10_000 {
		c.remember(new(fasthttp.RequestHeader), chunkedRequest{})
		if len(c.byConn)%1000 == 0 {
			runtime.GC()
		}
	}
	runtime.GC()
	c.remember(new(fasthttp.RequestHeader), chunkedRequest{})
	if n := len(c.byConn); n > 2_000 {
		t.Errorf("%d headers remembered after 10,001 chunked requests on as many collected connections, want their entries swept", n)
	}
	if r, ok := c.take(live); !ok || r.route != &routes[0] || !r.keyAccepted {
		t.Errorf("the live connection's header: %+v, %v; want its route and key remembered", r, ok)
	}
	if _, ok := c.take(live); ok {
		t.Error("a header taken twice: want it forgotten once taken")
	}
	runtime.KeepAlive(live)
}
