// Package access decides which remote addresses may connect to the
// server: a list of IPv4 and IPv6 prefixes, given with --allow or derived
// from the machine's own networks.
package access

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// loopback is allowed by default: 127.0.0.0/8 and ::1.
var loopback = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
}

// List is an allow list of address prefixes. The zero value allows
// nothing. A List is not modified after it is built, so it is safe for
// concurrent use.
type List struct {
	prefixes []netip.Prefix
}

// ParsePrefix parses one --allow value: a prefix in CIDR notation
// ("192.168.56.0/24", "fd00::/64") or a single address, which stands for
// itself alone (/32 or /128). Host bits after the prefix length are
// cleared, so "192.168.56.10/24" allows 192.168.56.0/24. An IPv4-mapped
// IPv6 prefix such as "::ffff:10.0.2.0/120" becomes the IPv4 prefix it
// maps ("10.0.2.0/24"), because clients are matched by their IPv4 address.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("invalid --allow value %q: empty; use an address or a prefix such as 192.168.56.0/24", s)
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		p, err = netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid --allow value %q: not a CIDR prefix such as 192.168.56.0/24 or fd00::/64", s)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid --allow value %q: not an IP address or a CIDR prefix such as 192.168.56.0/24", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("invalid --allow value %q: zones are not supported; remove %%%s", s, a.Zone())
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Parse builds a List from --allow values. It fails on the first value
// that does not parse, naming it. Duplicates are kept once.
func Parse(values []string) (*List, error) {
	l := &List{}
	for _, v := range values {
		p, err := ParsePrefix(v)
		if err != nil {
			return nil, err
		}
		l.add(p)
	}
	return l, nil
}

// FromInterfaces builds the default List: loopback and the networks of
// the given interface addresses, such as the host-only or NAT network
// that a VM shares with its host. Addresses that are not *net.IPNet are
// skipped.
func FromInterfaces(addrs []net.Addr) *List {
	l := &List{}
	for _, p := range loopback {
		l.add(p)
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		ones, bits := n.Mask.Size()
		if bits == 0 {
			continue // a non-canonical mask
		}
		if ip.Is4() && bits == 128 {
			ones -= 96
		}
		if ones < 0 {
			continue
		}
		l.add(netip.PrefixFrom(ip, ones).Masked())
	}
	return l
}

// Default returns FromInterfaces for this machine's interface addresses.
func Default() (*List, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing the network interfaces for the default allow list failed: %w; pass --allow explicitly", err)
	}
	return FromInterfaces(addrs), nil
}

func (l *List) add(p netip.Prefix) {
	for _, q := range l.prefixes {
		if q == p {
			return
		}
	}
	l.prefixes = append(l.prefixes, p)
}

// Prefixes returns a copy of the prefixes of l, in the order given.
func (l *List) Prefixes() []netip.Prefix {
	return append([]netip.Prefix(nil), l.prefixes...)
}

// Contains reports whether addr is in one of the prefixes. An IPv4-mapped
// IPv6 address, as a dual-stack listener reports IPv4 clients, is matched
// as the IPv4 address it maps, so "::/0" does not allow IPv4 clients.
// The zone of addr is ignored.
func (l *List) Contains(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range l.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// AllowConn reports whether a connection from remote may be served. It has
// the signature of oncrpc.Options.AcceptConn. A remote address that is not
// an IP address is rejected.
func (l *List) AllowConn(remote net.Addr) bool {
	var ip net.IP
	switch a := remote.(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	default:
		ap, err := netip.ParseAddrPort(remote.String())
		if err != nil {
			return false
		}
		return l.Contains(ap.Addr())
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	return l.Contains(addr)
}

// String returns the prefixes separated by commas, such as
// "127.0.0.0/8,::1/128,192.168.56.0/24", for the start line.
func (l *List) String() string {
	parts := make([]string, len(l.prefixes))
	for i, p := range l.prefixes {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}
