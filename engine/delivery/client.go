package delivery

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/signing"
)

// Outcome is the result of one HTTP attempt.
type Outcome struct {
	Status     int
	Latency    time.Duration
	Err        error
	RetryAfter time.Duration
}

// OK reports a 2xx answer.
func (o Outcome) OK() bool { return o.Err == nil && o.Status >= 200 && o.Status < 300 }

// Describe says what went wrong, for the attempt log.
func (o Outcome) Describe() string {
	switch {
	case o.Err != nil:
		return o.Err.Error()
	case o.OK():
		return ""
	default:
		return fmt.Sprintf("HTTP %d", o.Status)
	}
}

func newClient(cfg *Config, budget *outbound) *fasthttp.Client {
	var client *fasthttp.Client
	client = &fasthttp.Client{
		Name:                     cfg.UserAgent,
		MaxConnsPerHost:          cfg.MaxInFlight,
		MaxIdleConnDuration:      30 * time.Second,
		ReadTimeout:              cfg.Timeout,
		WriteTimeout:             cfg.Timeout,
		MaxResponseBodySize:      1 << 20,
		DisablePathNormalizing:   true,
		NoDefaultUserAgentHeader: false,
		// Every connection goes through the guard: a host that resolved to
		// a public address when the stream was saved may not resolve to an
		// internal one now.
		Dial: func(addr string) (net.Conn, error) {
			c, err := cfg.Guard.Dial(addr, cfg.Timeout)
			if err != nil {
				return nil, err
			}
			return budget.dialed(c, client.CloseIdleConnections), nil
		},
		// Redirects are never followed: Do does not follow them, and a 3xx
		// counts as a failure.
	}
	return client
}

// send makes one signed POST. The timestamp is this attempt's.
func send(client *fasthttp.Client, cfg *Config, url string, signer *signing.Signer, id string, body []byte) Outcome {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.DisableNormalizing()
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.SetUserAgent(cfg.UserAgent)
	ts := time.Now().Unix()
	req.Header.Set(signing.HeaderID, id)
	req.Header.Set(signing.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(signing.HeaderSignature, signer.Standard(id, ts, body))
	req.Header.Set(signing.HeaderFullstory, signer.Fullstory(ts, body))
	req.SetBodyRaw(body)
	req.SetTimeout(cfg.Timeout)
	start := time.Now()
	err := client.Do(req, resp)
	o := Outcome{Latency: time.Since(start)}
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		// The receiver answered (its status is read) and then sent more
		// than we keep of an answer, which we do not use: its status
		// decides, as for any answer. fasthttp closes the connection.
		err = nil
	}
	if err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) {
			err = fmt.Errorf("timed out after %s", cfg.Timeout)
		}
		o.Err = err
		return o
	}
	o.Status = resp.StatusCode()
	if o.Status == fasthttp.StatusTooManyRequests || o.Status == fasthttp.StatusServiceUnavailable {
		o.RetryAfter = parseRetryAfter(string(resp.Header.Peek("Retry-After")), time.Now())
	}
	return o
}

// maxRetryAfter caps how far a receiver can push its next attempt.
const maxRetryAfter = 24 * time.Hour

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		// Delay-seconds: any number of digits, so a count past what a
		// Duration holds (which would wrap negative) is the cap, not now.
		secs, err := strconv.ParseUint(v, 10, 64)
		if errors.Is(err, strconv.ErrRange) || (err == nil && secs > uint64(maxRetryAfter/time.Second)) {
			return maxRetryAfter
		}
		if err != nil {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	// An HTTP-date in any of its three forms, or RFC 1123 with another
	// zone name than GMT, which receivers send too.
	t, err := http.ParseTime(v)
	if err != nil {
		if t, err = time.Parse(time.RFC1123, v); err != nil {
			return 0
		}
	}
	return min(max(t.Sub(now), 0), maxRetryAfter)
}
