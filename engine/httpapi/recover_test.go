package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

// TestAPanickingHandlerIsAnswered500: a handler's panic is answered 500 in
// the error shape and counted, and the server goes on serving.
func TestAPanickingHandlerIsAnswered500(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	panics := prometheus.NewCounter(prometheus.CounterOpts{Name: "panics"})
	srv := &fasthttp.Server{Handler: recoverPanics(slog.New(slog.NewTextHandler(io.Discard, nil)), panics,
		func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == "/boom" {
				ctx.SetStatusCode(fasthttp.StatusAccepted) // half-written, then a bug
				panic("a bug")
			}
			ctx.SetStatusCode(fasthttp.StatusOK)
		})}
	go srv.Serve(ln)
	defer srv.Shutdown()
	base := "http://" + ln.Addr().String()

	resp, err := http.Get(base + "/boom")
	if err != nil {
		t.Fatalf("the panicking request got no answer: %v", err)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 500 || body.Error.Code != "internal" || body.Error.Message == "" {
		t.Fatalf("the panicking request: %d %+v, want 500 with code internal", resp.StatusCode, body)
	}
	if got := testutil.ToFloat64(panics); got != 1 {
		t.Errorf("panics counted: %v, want 1", got)
	}
	resp, err = http.Get(base + "/fine")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a panic the server still serves: %v, %v", resp, err)
	}
	resp.Body.Close()
}
