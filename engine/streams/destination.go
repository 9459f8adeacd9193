package streams

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// checkURL validates a destination URL: absolute http(s) with a host, and,
// unless allowPrivate, not resolving to loopback, private, link-local or
// otherwise internal addresses (a webhook must not become a way into the
// network hookwire runs in).
func checkURL(ctx context.Context, raw string, allowPrivate bool) error {
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
	if allowPrivate {
		return nil
	}
	addrs, err := resolve(ctx, u.Hostname())
	if err != nil {
		return invalid(path, "host %q does not resolve: %v", u.Hostname(), err)
	}
	for _, a := range addrs {
		if IsInternal(a) {
			return invalid(path, "host %q resolves to %s, an internal address; start hookwire with "+
				"--allow-private-destinations to permit it", u.Hostname(), a)
		}
	}
	return nil
}

func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	return ips, err
}

// IsInternal reports addresses a public webhook must not reach: loopback,
// private, link-local (cloud metadata lives there), unspecified, multicast,
// and carrier-grade NAT.
func IsInternal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) || netip.MustParsePrefix("0.0.0.0/8").Contains(a)
}
