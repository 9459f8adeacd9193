// Package netguard keeps webhooks from becoming a way into the network
// hookwire runs in: destination hosts that resolve to loopback, private,
// link-local (cloud metadata) or otherwise internal addresses are refused,
// when a stream is saved and again on every connection (DNS can change in
// between), unless private destinations are allowed.
package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Resolver looks hosts up; *net.Resolver is one. Tests substitute their own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard checks destination hosts. It is immutable and safe for concurrent
// use.
type Guard struct {
	Resolver     Resolver
	AllowPrivate bool
}

var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64 can reach IPv4 internals
}

// IsInternal reports addresses a public webhook must not reach.
func IsInternal(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range internalPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the addresses a connection to host may use: all of them,
// or an error naming the first internal one when private destinations are
// not allowed.
func (g Guard) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resolver := g.Resolver
		if resolver == nil {
			resolver = net.DefaultResolver
		}
		if addrs, err = resolver.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, fmt.Errorf("host %q does not resolve: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("host %q has no addresses", host)
		}
	}
	if !g.AllowPrivate {
		for _, a := range addrs {
			if IsInternal(a) {
				return nil, fmt.Errorf("host %q resolves to %s, an internal address; start hookwire with "+
					"--allow-private-destinations to permit it", host, a)
			}
		}
	}
	return addrs, nil
}

// Dial connects to addr (host:port) through Resolve, trying each allowed
// address in turn, so the address connected to is one that was checked.
func (g Guard) Dial(addr string, timeout time.Duration) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	addrs, err := g.Resolve(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("refused: %w", err)
	}
	var d net.Dialer
	var last error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}
