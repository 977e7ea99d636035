// Package portmap serves a read-only portmapper: PMAP version 2 and
// RPCBIND versions 3 and 4 of program 100000 (RFC 1833), over TCP and UDP.
//
// Clients that cannot be told a server's ports, such as the Windows Client
// for NFS, ask the portmapper on port 111 where NFS and MOUNT listen.
// burrow serves both on one TCP port, so the table is fixed when the
// portmapper starts: SET and UNSET are rejected with a false result, and
// the remote call procedures (CALLIT, BCAST, INDIRECT) are not provided.
package portmap

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/burrow-nfs/burrow/internal/oncrpc"
)

// Program is the RPC program number of the portmapper and rpcbind.
const Program = 100000

// Versions served: PMAP version 2 and RPCBIND versions 3 and 4.
const (
	Version2 = 2
	Version3 = 3
	Version4 = 4
)

// DefaultPort is the well-known portmapper port on TCP and UDP.
const DefaultPort = 111

// Procedure numbers of PMAP version 2 (RFC 1833, section 3.2).
const (
	pmapProcNull    = 0
	pmapProcSet     = 1
	pmapProcUnset   = 2
	pmapProcGetport = 3
	pmapProcDump    = 4
	pmapProcCallit  = 5
)

// Procedure numbers of RPCBIND versions 3 and 4 (RFC 1833, section 2.2).
// Numbers 9 to 12 exist in version 4 only.
const (
	rpcbProcNull        = 0
	rpcbProcSet         = 1
	rpcbProcUnset       = 2
	rpcbProcGetaddr     = 3
	rpcbProcDump        = 4
	rpcbProcCallit      = 5 // BCAST in version 4
	rpcbProcGettime     = 6
	rpcbProcUaddr2taddr = 7
	rpcbProcTaddr2uaddr = 8
	rpcbProcGetversaddr = 9
	rpcbProcIndirect    = 10
	rpcbProcGetaddrlist = 11
	rpcbProcGetstat     = 12
)

// Protocol is an IP protocol number as PMAP version 2 carries it.
type Protocol uint32

// Protocols a mapping can name.
const (
	TCP Protocol = 6
	UDP Protocol = 17
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return "protocol(" + strconv.FormatUint(uint64(p), 10) + ")"
}

// Mapping announces that version Vers of program Prog listens on Port over
// Protocol, on every address of this machine.
type Mapping struct {
	Prog     uint32
	Vers     uint32
	Protocol Protocol
	Port     uint16
}

// ServiceMappings returns a TCP mapping on port for each program, as
// registered on burrow's RPC server, in the order given.
func ServiceMappings(port int, programs ...oncrpc.Program) []Mapping {
	out := make([]Mapping, 0, len(programs))
	for _, p := range programs {
		out = append(out, Mapping{Prog: p.Prog, Vers: p.Vers, Protocol: TCP, Port: uint16(port)})
	}
	return out
}

// SelfMappings returns the portmapper's own entries on port: versions 2, 3
// and 4 over TCP and UDP, as rpcbind lists itself.
func SelfMappings(port int) []Mapping {
	var out []Mapping
	for _, proto := range []Protocol{TCP, UDP} {
		for _, v := range []uint32{Version4, Version3, Version2} {
			out = append(out, Mapping{Prog: Program, Vers: v, Protocol: proto, Port: uint16(port)})
		}
	}
	return out
}

// netid returns the RPCBIND network id of a protocol in an address family:
// "tcp" or "udp" for IPv4, "tcp6" or "udp6" for IPv6.
func netid(p Protocol, ipv6 bool) string {
	s := p.String()
	if ipv6 {
		s += "6"
	}
	return s
}

// parseNetid splits a network id into its protocol and address family. It
// returns false for a network id other than tcp, udp, tcp6 or udp6.
func parseNetid(id string) (p Protocol, ipv6, ok bool) {
	switch id {
	case "tcp":
		return TCP, false, true
	case "udp":
		return UDP, false, true
	case "tcp6":
		return TCP, true, true
	case "udp6":
		return UDP, true, true
	}
	return 0, false, false
}

// UniversalAddress formats ip and port as an RPCBIND universal address:
// the address in its usual text form followed by the two port bytes in
// decimal, high byte first. 127.0.0.1 port 2049 is "127.0.0.1.8.1".
func UniversalAddress(ip net.IP, port uint16) string {
	return fmt.Sprintf("%s.%d.%d", ip.String(), port>>8, port&0xff)
}

// ParseUniversalAddress is the inverse of UniversalAddress.
func ParseUniversalAddress(uaddr string) (net.IP, uint16, error) {
	i := strings.LastIndexByte(uaddr, '.')
	if i < 0 {
		return nil, 0, fmt.Errorf("invalid universal address %q: no port", uaddr)
	}
	j := strings.LastIndexByte(uaddr[:i], '.')
	if j < 0 {
		return nil, 0, fmt.Errorf("invalid universal address %q: no port", uaddr)
	}
	hi, err1 := strconv.ParseUint(uaddr[j+1:i], 10, 8)
	lo, err2 := strconv.ParseUint(uaddr[i+1:], 10, 8)
	if err1 != nil || err2 != nil {
		return nil, 0, fmt.Errorf("invalid universal address %q: port bytes must be 0 to 255", uaddr)
	}
	ip := net.ParseIP(uaddr[:j])
	if ip == nil {
		return nil, 0, fmt.Errorf("invalid universal address %q: invalid IP address %q", uaddr, uaddr[:j])
	}
	return ip, uint16(hi)<<8 | uint16(lo), nil
}
