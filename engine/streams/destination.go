package streams

import (
	"context"
	"net/url"

	"github.com/hookwire/hookwire/engine/netguard"
)

// checkURL validates a destination URL: absolute http(s) with a host that
// the guard lets through (not internal, unless private destinations are
// allowed). Delivery checks again on every connection.
func checkURL(ctx context.Context, raw string, guard netguard.Guard) error {
	const path = "destination.url"
	if raw == "" {
		return invalid(path, "required: where to send this stream's webhooks")
	}
	if len(raw) > MaxURLLength {
		return invalid(path, "at most %d bytes", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid(path, "not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return invalid(path, "must be an http or https URL, got scheme %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return invalid(path, "must name a host")
	}
	if u.User != nil {
		return invalid(path, "must not carry credentials; sign with destination.secret instead")
	}
	if _, err := guard.Resolve(ctx, u.Hostname()); err != nil {
		return invalid(path, "%v", err)
	}
	return nil
}
