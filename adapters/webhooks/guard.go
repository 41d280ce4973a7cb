package webhooks

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// cgnat is the shared address space of carrier-grade NAT (RFC 6598): not public either.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Refused says why an address must not be dialled ("" when it may): loopback, private,
// link-local, unspecified, multicast and shared (CGNAT) addresses lead into the deployment's
// own network, not to a receiver on the internet (SSRF).
func Refused(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case cgnat.Contains(ip), ip.Is4() && ip.As4()[0] == 0:
		return "not public"
	}
	return ""
}

// Guard checks receivers' addresses, unless AllowPrivate.
type Guard struct {
	AllowPrivate bool
	// Resolver resolves host names at CheckURL (nil: net.DefaultResolver).
	Resolver *net.Resolver
}

// CheckURL validates a subscription's URL: http or https, a host, and (unless AllowPrivate)
// every address the host resolves to public. The error names what is wrong.
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	if raw == "" {
		return fmt.Errorf("is required")
	}
	if len(raw) > 2048 {
		return fmt.Errorf("must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must be an http or https URL, got scheme %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("has no host")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry credentials (user:password@): receivers verify the signature")
	}
	if g.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := Refused(ip); why != "" {
			return fmt.Errorf("points at a %s address (%s): only public receivers are allowed", why, ip)
		}
		return nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return fmt.Errorf("points at localhost: only public receivers are allowed")
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(rctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("host %q does not resolve", host)
	}
	for _, ip := range addrs {
		if why := Refused(ip); why != "" {
			return fmt.Errorf("host %q resolves to a %s address (%s): only public receivers are allowed", host, why, ip.Unmap())
		}
	}
	return nil
}

// control refuses, at dial time, a connection to an address CheckURL would refuse: a name
// that resolved to a public address at creation may resolve elsewhere since (DNS rebinding).
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("webhook receiver address %q: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("webhook receiver address %q is not an IP", host)
	}
	if why := Refused(ip); why != "" {
		return fmt.Errorf("refused to connect to a %s address (%s): only public receivers are allowed", why, ip.Unmap())
	}
	return nil
}
