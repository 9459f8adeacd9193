package httpapi

import (
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/ingest"
)

// ServeCeiling serves POST /v1/events that only parses and validates the
// body the way hookwire does and answers 202: no log, no sessions, no
// Wasm. The benchmark harness measures it on the same machine as the
// ceiling hookwire's ingest is compared with.
func ServeCeiling(ln net.Listener, maxBodyBytes, maxEvents int) error {
	srv := &fasthttp.Server{
		Name:               "hookwire-ceiling",
		MaxRequestBodySize: maxBodyBytes,
		ReadTimeout:        30 * time.Second,
		// As the engine's server (api.go).
		DisablePreParseMultipartForm: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			switch string(ctx.Path()) {
			case "/readyz", "/healthz":
				ctx.SetStatusCode(fasthttp.StatusOK)
				return
			case "/v1/events":
			default:
				ctx.SetStatusCode(fasthttp.StatusNotFound)
				return
			}
			format := ingest.FormatJSON
			if mediaType(ctx) == "application/x-ndjson" {
				format = ingest.FormatNDJSON
			}
			// Decoded as the engine decodes, into lent memory given back
			// at once.
			batch, err := ingest.DecodeBatch(ctx.PostBody(), format, maxEvents, time.Now())
			if err != nil {
				ctx.SetStatusCode(fasthttp.StatusBadRequest)
				return
			}
			accepted := len(batch.Events)
			batch.Release()
			ctx.SetStatusCode(fasthttp.StatusAccepted)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"accepted":` + strconv.Itoa(accepted) + `,"duplicates":0}`)
		},
	}
	return srv.Serve(ln)
}
