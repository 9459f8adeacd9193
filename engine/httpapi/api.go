package httpapi

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/hookwire/hookwire/actors"
	"github.com/hookwire/hookwire/engine/delivery"
	"github.com/hookwire/hookwire/engine/ingest"
	"github.com/hookwire/hookwire/engine/keys"
	"github.com/hookwire/hookwire/engine/metrics"
	"github.com/hookwire/hookwire/engine/session"
	"github.com/hookwire/hookwire/engine/store"
	"github.com/hookwire/hookwire/engine/streams"
	"github.com/hookwire/hookwire/engine/system"
)

// Config is the front door's part of the engine configuration.
type Config struct {
	// Dev disables authentication (loopback only; the engine checks).
	Dev bool
	// Sessions is when a session ends (GET /v1/sessions/{id}'s "ended"
	// for one not in memory).
	Sessions session.Config
	// MaxBodyBytes bounds a request body (413 above it).
	MaxBodyBytes int
	// MaxEventsPerRequest bounds a batch.
	MaxEventsPerRequest int
	// IngestRate limits each API key to this many events per second (0:
	// no limit), with bursts up to IngestBurst events.
	IngestRate  float64
	IngestBurst int
}

// API holds the handlers' dependencies. Every field is safe for concurrent
// use; API itself is immutable after New except for the ready/draining flags.
type API struct {
	cfg        Config
	catalog    *streams.Catalog
	writer     *ingest.Writer
	dispatcher *delivery.Dispatcher
	store      *store.Store
	sessions   *actors.Registry[string, session.Message]
	metrics    *metrics.Metrics
	logger     *slog.Logger
	metricsH   fasthttp.RequestHandler
	keys       *keys.Ring
	system     *system.Service
	limiter    *ingestLimiter
	chunked    chunkedRequests

	ready    atomic.Bool
	draining atomic.Bool
}

// Deps are the engine parts the API calls.
type Deps struct {
	Catalog    *streams.Catalog
	Writer     *ingest.Writer
	Dispatcher *delivery.Dispatcher
	Store      *store.Store
	Sessions   *actors.Registry[string, session.Message]
	Metrics    *metrics.Metrics
	Keys       *keys.Ring
	System     *system.Service
	Logger     *slog.Logger
}

// New returns the API; it answers 503 on /readyz and /v1/events until
// SetReady.
func New(cfg Config, d Deps) *API {
	return &API{cfg: cfg, catalog: d.Catalog, writer: d.Writer, dispatcher: d.Dispatcher, store: d.Store,
		sessions: d.Sessions, metrics: d.Metrics, logger: d.Logger, keys: d.Keys, system: d.System,
		limiter:  newIngestLimiter(cfg.IngestRate, max(cfg.IngestBurst, cfg.MaxEventsPerRequest)),
		metricsH: fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{}))}
}

// SetReady marks recovery as done: the engine serves events.
func (a *API) SetReady() { a.ready.Store(true) }

// SetDraining makes new requests answer 503 while shutdown finishes the
// ones in flight.
func (a *API) SetDraining() { a.draining.Store(true) }

// Server returns the fasthttp server for the API.
func (a *API) Server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler: recoverPanics(a.logger, a.metrics.HandlerPanics, a.route),
		Name:    "hookwire",
		// Each request's limit comes from its route and key
		// (requestConfig); this is only the largest of them.
		MaxRequestBodySize:   max(a.cfg.MaxBodyBytes, 2*streams.MaxFilterBytes),
		HeaderReceived:       a.requestConfig,
		ReadTimeout:          30 * time.Second,
		WriteTimeout:         30 * time.Second,
		IdleTimeout:          90 * time.Second,
		ErrorHandler:         a.serverError,
		Logger:               fasthttpLogger{a.logger},
		NoDefaultContentType: true,
		DisableKeepalive:     false,
		CloseOnShutdown:      true,
		ReadBufferSize:       requestHeaderLimit,
		StreamRequestBody:    false,
		// No route takes a form; parsing one (before the handler, so
		// before authentication) is work, memory and temporary files a
		// caller could make the server spend for nothing.
		DisablePreParseMultipartForm: true,
		TCPKeepalive:                 true,
		NoDefaultServerHeader:        false,
	}
}

// requestHeaderLimit bounds a request's line and headers: fasthttp reads
// them into a buffer of this size.
const requestHeaderLimit = 16 << 10

// authorize checks the caller's key against the role a route needs (admin
// passes everywhere); it writes 401/403 and returns false when the request
// must stop. allowBasic accepts Authorization: Basic <key> as Fullstory
// clients send it.
func (a *API) authorize(ctx *fasthttp.RequestCtx, need keys.Role, allowBasic bool) bool {
	if a.cfg.Dev {
		return true
	}
	key, role := a.keyOf(&ctx.Request.Header, allowBasic)
	if key == "" {
		switch scheme, value, _ := strings.Cut(strings.TrimSpace(string(ctx.Request.Header.Peek("Authorization"))), " "); {
		case strings.TrimSpace(value) == "":
			unauthorized(ctx, "missing API key: send Authorization: Bearer <key>")
		case strings.EqualFold(scheme, "Basic"):
			unauthorized(ctx, "Authorization: Basic is taken on /v2 only (for Fullstory clients); send Authorization: Bearer <key>")
		default:
			unauthorized(ctx, "Authorization scheme "+scheme+" is not taken: send Authorization: Bearer <key>")
		}
		return false
	}
	if role == "" {
		unauthorized(ctx, "unknown or revoked API key")
		return false
	}
	if role != need && role != keys.RoleAdmin {
		writeError(ctx, fasthttp.StatusForbidden, "forbidden",
			"a key with role "+string(role)+" may not use this endpoint; it needs role "+string(need))
		return false
	}
	return true
}

// unauthorized answers 401 with the challenge RFC 9110 asks of it.
func unauthorized(ctx *fasthttp.RequestCtx, message string) {
	ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="hookwire"`)
	writeError(ctx, fasthttp.StatusUnauthorized, "unauthorized", message)
}

// keyOf returns the API key the request's Authorization header carries
// and its role ("" for a key the ring does not know; "", "" without one).
func (a *API) keyOf(header *fasthttp.RequestHeader, allowBasic bool) (string, keys.Role) {
	key, basic := credentialIn(header, allowBasic)
	role := a.keys.Authenticate(key)
	if role == "" && basic {
		// Not the key as Fullstory clients send it: RFC 7617 Basic, as a
		// generic HTTP client sends it (curl -u key:), with the key as
		// the user name or as the password.
		if decoded, err := base64.StdEncoding.DecodeString(key); err == nil {
			user, password, _ := strings.Cut(string(decoded), ":")
			for _, k := range [...]string{user, password} {
				if r := a.keys.Authenticate(k); k != "" && r != "" {
					return k, r
				}
			}
		}
	}
	return key, role
}

// credentialIn returns the key in the Authorization header, and whether it
// came with the Basic scheme (or as the whole header), as Fullstory
// clients send it: allowed only with allowBasic.
func credentialIn(header *fasthttp.RequestHeader, allowBasic bool) (key string, basic bool) {
	h := strings.TrimSpace(string(header.Peek("Authorization")))
	scheme, value, ok := strings.Cut(h, " ")
	if !ok {
		// Fullstory's Node client sends the API key as the whole header.
		if allowBasic {
			return h, true
		}
		return "", false
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return strings.TrimSpace(value), false
	case allowBasic && strings.EqualFold(scheme, "Basic"):
		return strings.TrimSpace(value), true
	}
	return "", false
}

func isLoopback(ctx *fasthttp.RequestCtx) bool {
	ip := ctx.RemoteIP()
	return ip != nil && (ip.IsLoopback() || ip.Equal(net.IPv6loopback))
}

// fasthttpLogger sends fasthttp's connection-level messages (client reset,
// body over the limit: already answered) to the debug log.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(fmt.Sprintf(format, args...), "component", "fasthttp")
}
