package streams

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/hookwire/hookwire/engine/netguard"
)

func checkURL(ctx context.Context, raw string, guard netguard.Guard) error {
	return CheckURL(ctx, "destination.url", raw, guard)
}

// CheckURL validates a webhook URL, naming path in its errors: absolute
// http(s) with a host that the guard lets through (not internal, unless
// private destinations are allowed). Delivery checks again on every
// connection.
func CheckURL(ctx context.Context, path, raw string, guard netguard.Guard) error {
	if raw == "" {
		return invalid(path, "required: where to send the webhooks")
	}
	if len(raw) > MaxURLLength {
		return invalid(path, "at most %d bytes", MaxURLLength)
	}
	if strings.Contains(raw, " ") {
		// url.Parse takes it, and the request line it makes is broken.
		return invalid(path, "must not contain a space: write it as %%20")
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
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return invalid(path, "port %s is not a port: want 1 to 65535", port)
		}
	}
	if u.User != nil {
		return invalid(path, "must not carry credentials; sign with the secret instead")
	}
	if _, err := guard.Resolve(ctx, u.Hostname()); err != nil {
		return invalid(path, "%v", err)
	}
	return nil
}
