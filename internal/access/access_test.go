package access

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in   string
		want string // empty when parsing must fail
	}{
		{"192.168.56.0/24", "192.168.56.0/24"},
		{"192.168.56.10/24", "192.168.56.0/24"},
		{" 10.0.2.0/24 ", "10.0.2.0/24"},
		{"10.0.2.15", "10.0.2.15/32"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"fd00::/64", "fd00::/64"},
		{"fd00::1234/64", "fd00::/64"},
		{"FD00::1", "fd00::1/128"},
		{"::1", "::1/128"},
		{"::/0", "::/0"},
		{"::ffff:10.0.2.0/120", "10.0.2.0/24"},
		{"::ffff:10.0.2.15", "10.0.2.15/32"},
		{"::ffff:0:0/96", "0.0.0.0/0"},
		{"", ""},
		{"  ", ""},
		{"192.168.56.0/33", ""},
		{"192.168.56.0/", ""},
		{"192.168.56", ""},
		{"192.168.56.256", ""},
		{"fd00::/129", ""},
		{"fe80::1%eth0", ""},
		{"fe80::/64%eth0", ""},
		{"host.example", ""},
		{"10.0.0.0/8,192.168.0.0/16", ""},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParsePrefix(%q) = %v, want an error", tt.in, got)
			} else if !strings.Contains(err.Error(), "--allow") {
				t.Errorf("ParsePrefix(%q) error %q does not name the flag", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePrefix(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("ParsePrefix(%q) = %v, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseNamesBadValue(t *testing.T) {
	_, err := Parse([]string{"10.0.0.0/8", "10.0.0.0/40"})
	if err == nil {
		t.Fatal("Parse accepted 10.0.0.0/40")
	}
	if !strings.Contains(err.Error(), `"10.0.0.0/40"`) {
		t.Errorf("error %q does not name the bad value", err)
	}
}

func TestParseDropsDuplicates(t *testing.T) {
	l, err := Parse([]string{"10.0.2.0/24", "10.0.2.7/24", "fd00::/64", "10.0.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.String(); got != "10.0.2.0/24,fd00::/64" {
		t.Errorf("String() = %q, want %q", got, "10.0.2.0/24,fd00::/64")
	}
}

func TestContains(t *testing.T) {
	l, err := Parse([]string{"192.168.56.0/24", "10.0.2.15", "fd00:1::/64", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"192.168.56.1", true},
		{"192.168.56.255", true},
		{"192.168.57.1", false},
		{"10.0.2.15", true},
		{"10.0.2.16", false},
		{"127.0.0.1", false},
		{"fd00:1::5", true},
		{"fd00:1:0:1::5", false},
		{"::1", true},
		{"::2", false},
		{"::ffff:192.168.56.7", true},  // IPv4-mapped, from a dual-stack listener
		{"::ffff:192.168.57.7", false}, // IPv4-mapped, outside the prefix
		{"::ffff:10.0.2.15", true},
		{"::c0a8:3807", false}, // IPv4-compatible, not mapped: an IPv6 address
		{"fe80::1%eth0", false},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		if got := l.Contains(a); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestContainsIgnoresZone(t *testing.T) {
	l, err := Parse([]string{"fe80::/64"})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Contains(netip.MustParseAddr("fe80::1%eth0")) {
		t.Errorf("%s is not in fe80::/64", "fe80::1%eth0")
	}
}

func TestAllFamiliesNeedTheirOwnPrefix(t *testing.T) {
	v6, err := Parse([]string{"::/0"})
	if err != nil {
		t.Fatal(err)
	}
	if v6.Contains(netip.MustParseAddr("::ffff:192.0.2.1")) {
		t.Error("::/0 allows the IPv4-mapped client ::ffff:192.0.2.1; IPv4 needs 0.0.0.0/0")
	}
	if !v6.Contains(netip.MustParseAddr("2001:db8::1")) {
		t.Error("::/0 does not allow 2001:db8::1")
	}
	v4, err := Parse([]string{"0.0.0.0/0"})
	if err != nil {
		t.Fatal(err)
	}
	if !v4.Contains(netip.MustParseAddr("::ffff:192.0.2.1")) {
		t.Error("0.0.0.0/0 does not allow the IPv4-mapped client ::ffff:192.0.2.1")
	}
	if v4.Contains(netip.MustParseAddr("2001:db8::1")) {
		t.Error("0.0.0.0/0 allows the IPv6 client 2001:db8::1")
	}
}

func TestEmptyListAllowsNothing(t *testing.T) {
	var l List
	if l.Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Error("zero List allows 127.0.0.1")
	}
	if l.AllowConn(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}) {
		t.Error("zero List accepts a connection from 127.0.0.1")
	}
}

func TestAllowConn(t *testing.T) {
	l, err := Parse([]string{"192.168.56.0/24", "fd00::/64"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote net.Addr
		want   bool
	}{
		{"IPv4 4-byte", &net.TCPAddr{IP: net.IP{192, 168, 56, 1}, Port: 700}, true},
		{"IPv4 16-byte", &net.TCPAddr{IP: net.IPv4(192, 168, 56, 1), Port: 700}, true},
		{"IPv4 outside", &net.TCPAddr{IP: net.IPv4(192, 168, 1, 1), Port: 700}, false},
		{"IPv6 inside", &net.TCPAddr{IP: net.ParseIP("fd00::9"), Port: 700}, true},
		{"IPv6 outside", &net.TCPAddr{IP: net.ParseIP("fd01::9"), Port: 700}, false},
		{"UDP inside", &net.UDPAddr{IP: net.IPv4(192, 168, 56, 2), Port: 700}, true},
		{"nil IP", &net.TCPAddr{Port: 700}, false},
		{"unix socket", &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, false},
		{"other type", stringAddr("192.168.56.3:700"), true},
		{"other type outside", stringAddr("[fd01::1]:700"), false},
	}
	for _, tt := range tests {
		if got := l.AllowConn(tt.remote); got != tt.want {
			t.Errorf("%s: AllowConn(%v) = %v, want %v", tt.name, tt.remote, got, tt.want)
		}
	}
}

// stringAddr is a net.Addr of an unknown type, given by its string.
type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }

func TestFromInterfaces(t *testing.T) {
	addrs := []net.Addr{
		&net.IPNet{IP: net.IPv4(192, 168, 56, 10), Mask: net.CIDRMask(24, 32)},
		&net.IPNet{IP: net.IPv4(10, 0, 2, 15), Mask: net.CIDRMask(120, 128)}, // IPv4 with a 16-byte mask
		&net.IPNet{IP: net.ParseIP("fd00::2"), Mask: net.CIDRMask(64, 128)},
		&net.IPNet{IP: net.ParseIP("fe80::fc:ff:fe00:1"), Mask: net.CIDRMask(64, 128)},
		&net.IPNet{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(8, 32)}, // loopback, already in
		&net.IPNet{IP: net.IPv4(172, 16, 0, 1), Mask: net.IPMask{255, 0, 255, 0}},
		&net.IPAddr{IP: net.IPv4(203, 0, 113, 1)},
	}
	l := FromInterfaces(addrs)
	want := "127.0.0.0/8,::1/128,192.168.56.0/24,10.0.2.0/24,fd00::/64,fe80::/64"
	if got := l.String(); got != want {
		t.Errorf("FromInterfaces = %s, want %s", got, want)
	}
	if !l.Contains(netip.MustParseAddr("192.168.56.1")) {
		t.Error("default list does not allow the host side of the host-only network")
	}
	if l.Contains(netip.MustParseAddr("172.16.0.2")) {
		t.Error("default list allows a network with a non-canonical mask")
	}
	if l.Contains(netip.MustParseAddr("203.0.113.1")) {
		t.Error("default list allows an address that was not an *net.IPNet")
	}
}

func TestDefaultIncludesLoopback(t *testing.T) {
	l, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"} {
		if !l.Contains(netip.MustParseAddr(a)) {
			t.Errorf("default list %s does not allow %s", l, a)
		}
	}
}

func TestPrefixesReturnsCopy(t *testing.T) {
	l, err := Parse([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	p := l.Prefixes()
	p[0] = netip.MustParsePrefix("0.0.0.0/0")
	if l.Contains(netip.MustParseAddr("192.0.2.1")) {
		t.Error("changing the result of Prefixes changed the list")
	}
}

// FuzzParsePrefix checks that ParsePrefix never panics and that an
// accepted value is a masked prefix that parses again to itself and
// contains its own address.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"192.168.56.0/24", "10.0.2.15", "fd00::/64", "::ffff:10.0.2.0/120", "fe80::1%eth0", "", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrefix(s)
		if err != nil {
			return
		}
		if p != p.Masked() {
			t.Fatalf("ParsePrefix(%q) = %v, not masked", s, p)
		}
		again, err := ParsePrefix(p.String())
		if err != nil || again != p {
			t.Fatalf("ParsePrefix(%q) = %v, which parses again to %v, %v", s, p, again, err)
		}
		l := &List{}
		l.add(p)
		if !l.Contains(p.Addr()) {
			t.Fatalf("list of %v does not contain %v", p, p.Addr())
		}
	})
}
