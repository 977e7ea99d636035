package portmap

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// FuzzProcedures feeds arbitrary argument bytes to every procedure of every
// portmapper version. A handler may reject them only with GARBAGE_ARGS, and
// must never panic or fail otherwise.
func FuzzProcedures(f *testing.F) {
	f.Add(uint8(0), uint8(3), []byte{0, 1, 0x86, 0xa3, 0, 0, 0, 3, 0, 0, 0, 6, 0, 0, 0, 0})
	f.Add(uint8(1), uint8(3), []byte{0, 1, 0x86, 0xa3, 0, 0, 0, 3, 0, 0, 0, 3, 't', 'c', 'p', 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(2), uint8(4), []byte{})
	f.Add(uint8(2), uint8(9), []byte{0xff, 0xff, 0xff, 0xff})

	programs := New([]Mapping{
		{Prog: 100003, Vers: 3, Protocol: TCP, Port: 2049},
		{Prog: 100005, Vers: 3, Protocol: TCP, Port: 2049},
	}, Options{HostIP: net.IPv4(127, 0, 0, 1)})
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 700}

	f.Fuzz(func(t *testing.T, progIndex, proc uint8, args []byte) {
		p := programs[int(progIndex)%len(programs)]
		if int(proc) >= len(p.Procs) || p.Procs[proc].Handler == nil {
			return
		}
		call := &oncrpc.Call{Prog: p.Prog, Vers: p.Vers, Proc: uint32(proc), Remote: remote}
		res := xdr.NewEncoder(nil)
		err := p.Procs[proc].Handler(context.Background(), call, xdr.NewDecoder(args), res)
		if err != nil && !errors.Is(err, oncrpc.ErrGarbageArgs) {
			t.Fatalf("%s v%d proc %d: error %v, want nil or GARBAGE_ARGS", p.Name, p.Vers, proc, err)
		}
	})
}

// FuzzParseUniversalAddress checks that every address the parser accepts
// formats back to an address that parses to the same IP and port.
func FuzzParseUniversalAddress(f *testing.F) {
	f.Add("127.0.0.1.8.1")
	f.Add("::1.8.1")
	f.Add("1.2.3")
	f.Add("a.b.c.d.256.0")
	f.Fuzz(func(t *testing.T, s string) {
		ip, port, err := ParseUniversalAddress(s)
		if err != nil {
			return
		}
		ip2, port2, err := ParseUniversalAddress(UniversalAddress(ip, port))
		if err != nil {
			t.Fatalf("%q parsed, but its formatted form did not: %v", s, err)
		}
		if !ip.Equal(ip2) || port != port2 {
			t.Fatalf("%q: round trip gave %v port %d, want %v port %d", s, ip2, port2, ip, port)
		}
	})
}
