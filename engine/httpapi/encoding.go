package httpapi

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// ingestBody returns an ingest request's body as sent, or, with
// Content-Encoding: gzip, decompressed: producers of large batches send
// them compressed (a tenth of the bytes on the wire). The limit applies to
// what the body decompresses to, which is read no further than that, so a
// small body that inflates to gigabytes costs a bounded read. done gives
// the decompressed buffer back; call it once the request is answered. On
// false the request has been answered (400, 413 or 415).
func (a *API) ingestBody(ctx *fasthttp.RequestCtx) (body []byte, done func(), ok bool) {
	encoding := strings.ToLower(strings.TrimSpace(string(ctx.Request.Header.ContentEncoding())))
	switch encoding {
	case "", "identity":
		return ctx.PostBody(), func() {}, true
	case "gzip", "x-gzip":
	default:
		writeError(ctx, fasthttp.StatusUnsupportedMediaType, "unsupported_content_encoding",
			"Content-Encoding "+encoding+" is not accepted: send the body as it is, or gzip")
		return nil, nil, false
	}
	buf := inflated.Get().(*bytes.Buffer)
	done = func() {
		if buf.Cap() <= maxPooledInflated {
			buf.Reset()
			inflated.Put(buf)
		}
	}
	zr := gunzips.Get().(*gzip.Reader)
	defer gunzips.Put(zr)
	err := zr.Reset(bytes.NewReader(ctx.PostBody()))
	if err == nil {
		limit := int64(a.cfg.MaxBodyBytes)
		var n int64
		if n, err = buf.ReadFrom(io.LimitReader(zr, limit+1)); err == nil && n > limit {
			done()
			a.metrics.RequestsRejected.WithLabelValues("too_large").Inc()
			writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Sprintf("the gzip body decompresses to more than the limit of %d bytes; send smaller batches", limit))
			return nil, nil, false
		}
	}
	if err != nil {
		done()
		a.metrics.RequestsRejected.WithLabelValues("invalid").Inc()
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_body", "Content-Encoding gzip: the body is not gzip data: "+err.Error())
		return nil, nil, false
	}
	return buf.Bytes(), done, true
}

// maxPooledInflated: a burst's larger decompressed bodies are not kept.
const maxPooledInflated = 1 << 20

var (
	inflated = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gunzips  = sync.Pool{New: func() any { return new(gzip.Reader) }}
)
