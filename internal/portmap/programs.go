package portmap

import (
	"context"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// maxRPCBString bounds the netid, address and owner strings of an rpcb
// argument. Real values are a few dozen bytes.
const maxRPCBString = 1024

// owner is the r_owner of every entry in an RPCBIND DUMP.
const owner = "burrow"

// Options configures the portmapper. The zero value is valid.
type Options struct {
	// Logger receives rejected SET and UNSET calls and serving errors. Nil
	// discards them.
	Logger *slog.Logger
	// HostIP, if set and not unspecified, is the address put into every
	// universal address, such as the IP address that burrow listens on.
	HostIP net.IP
	// LocalIP returns the address of this machine that remote reaches, for
	// universal addresses when HostIP is unset. Nil means the source
	// address the kernel routes to remote with (RouteLocalIP).
	LocalIP func(remote net.Addr) net.IP
	// AcceptRemote decides whether a datagram or connection from remote is
	// answered. Nil answers every remote address.
	AcceptRemote func(remote net.Addr) bool
}

// table answers lookups in the fixed list of mappings.
type table struct {
	entries []Mapping
	opts    Options
	log     *slog.Logger
}

// New returns the portmapper programs for entries: PMAP version 2 and
// RPCBIND versions 3 and 4, to be registered on an oncrpc.Server.
func New(entries []Mapping, opts Options) []oncrpc.Program {
	t := &table{entries: append([]Mapping(nil), entries...), opts: opts, log: opts.Logger}
	if t.log == nil {
		t.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return []oncrpc.Program{t.pmapV2(), t.rpcbind(Version3), t.rpcbind(Version4)}
}

func nullProc(context.Context, *oncrpc.Call, *xdr.Decoder, *xdr.Encoder) error { return nil }

func (t *table) pmapV2() oncrpc.Program {
	return oncrpc.Program{
		Name: "PMAP",
		Prog: Program,
		Vers: Version2,
		Procs: []oncrpc.Procedure{
			pmapProcNull:    {Name: "NULL", Handler: nullProc},
			pmapProcSet:     {Name: "SET", Handler: t.pmapSetUnset("SET")},
			pmapProcUnset:   {Name: "UNSET", Handler: t.pmapSetUnset("UNSET")},
			pmapProcGetport: {Name: "GETPORT", Handler: t.pmapGetport},
			pmapProcDump:    {Name: "DUMP", Handler: t.pmapDump},
			pmapProcCallit:  {Name: "CALLIT"},
		},
	}
}

func (t *table) rpcbind(vers uint32) oncrpc.Program {
	procs := []oncrpc.Procedure{
		rpcbProcNull:        {Name: "NULL", Handler: nullProc},
		rpcbProcSet:         {Name: "SET", Handler: t.rpcbSetUnset("SET")},
		rpcbProcUnset:       {Name: "UNSET", Handler: t.rpcbSetUnset("UNSET")},
		rpcbProcGetaddr:     {Name: "GETADDR", Handler: t.rpcbGetaddr(false)},
		rpcbProcDump:        {Name: "DUMP", Handler: t.rpcbDump},
		rpcbProcCallit:      {Name: "CALLIT"},
		rpcbProcGettime:     {Name: "GETTIME", Handler: rpcbGettime},
		rpcbProcUaddr2taddr: {Name: "UADDR2TADDR"},
		rpcbProcTaddr2uaddr: {Name: "TADDR2UADDR"},
	}
	if vers == Version4 {
		procs[rpcbProcCallit].Name = "BCAST"
		procs = append(procs,
			oncrpc.Procedure{Name: "GETVERSADDR", Handler: t.rpcbGetaddr(true)},
			oncrpc.Procedure{Name: "INDIRECT"},
			oncrpc.Procedure{Name: "GETADDRLIST"},
			oncrpc.Procedure{Name: "GETSTAT"},
		)
	}
	return oncrpc.Program{Name: "RPCBIND", Prog: Program, Vers: vers, Procs: procs}
}

// decodeMapping reads a PMAP version 2 mapping: prog, vers, prot, port.
func decodeMapping(d *xdr.Decoder) (Mapping, error) {
	var m Mapping
	m.Prog = d.Uint32()
	m.Vers = d.Uint32()
	m.Protocol = Protocol(d.Uint32())
	port := d.Uint32()
	if d.Err() != nil || d.Remaining() != 0 {
		return m, oncrpc.ErrGarbageArgs
	}
	m.Port = uint16(port)
	return m, nil
}

func encodeMapping(e *xdr.Encoder, m Mapping) {
	e.Uint32(m.Prog)
	e.Uint32(m.Vers)
	e.Uint32(uint32(m.Protocol))
	e.Uint32(uint32(m.Port))
}

// pmapSetUnset rejects a registration change, because the table is fixed
// at start: the reply is FALSE, as for a mapping that cannot be changed.
func (t *table) pmapSetUnset(name string) oncrpc.Handler {
	return func(_ context.Context, call *oncrpc.Call, args *xdr.Decoder, res *xdr.Encoder) error {
		m, err := decodeMapping(args)
		if err != nil {
			return err
		}
		t.log.Info("portmapper rejected a registration change: the table is fixed",
			"procedure", "PMAP "+name, "remote", call.Remote.String(),
			"prog", m.Prog, "vers", m.Vers, "protocol", m.Protocol.String(), "port", m.Port)
		res.Bool(false)
		return nil
	}
}

// pmapGetport returns the port of the exact program, version and protocol,
// or 0 if that mapping is not in the table. The port of the argument is
// ignored, as RFC 1833 specifies.
func (t *table) pmapGetport(_ context.Context, _ *oncrpc.Call, args *xdr.Decoder, res *xdr.Encoder) error {
	q, err := decodeMapping(args)
	if err != nil {
		return err
	}
	var port uint32
	for _, m := range t.entries {
		if m.Prog == q.Prog && m.Vers == q.Vers && m.Protocol == q.Protocol {
			port = uint32(m.Port)
			break
		}
	}
	res.Uint32(port)
	return nil
}

// pmapDump encodes the table as a pmaplist: each entry is preceded by TRUE
// and the list ends with FALSE.
func (t *table) pmapDump(_ context.Context, _ *oncrpc.Call, args *xdr.Decoder, res *xdr.Encoder) error {
	if args.Remaining() != 0 {
		return oncrpc.ErrGarbageArgs
	}
	for _, m := range t.entries {
		res.Bool(true)
		encodeMapping(res, m)
	}
	res.Bool(false)
	return nil
}

// rpcb is the argument of RPCBIND SET, UNSET, GETADDR and GETVERSADDR.
type rpcb struct {
	prog, vers           uint32
	netid, addr, ownerID string
}

func decodeRPCB(d *xdr.Decoder) (rpcb, error) {
	var r rpcb
	r.prog = d.Uint32()
	r.vers = d.Uint32()
	r.netid = d.String(maxRPCBString)
	r.addr = d.String(maxRPCBString)
	r.ownerID = d.String(maxRPCBString)
	if d.Err() != nil || d.Remaining() != 0 {
		return r, oncrpc.ErrGarbageArgs
	}
	return r, nil
}

func (t *table) rpcbSetUnset(name string) oncrpc.Handler {
	return func(_ context.Context, call *oncrpc.Call, args *xdr.Decoder, res *xdr.Encoder) error {
		r, err := decodeRPCB(args)
		if err != nil {
			return err
		}
		t.log.Info("portmapper rejected a registration change: the table is fixed",
			"procedure", "RPCBIND "+name, "remote", call.Remote.String(),
			"prog", r.prog, "vers", r.vers, "netid", r.netid, "addr", r.addr, "owner", r.ownerID)
		res.Bool(false)
		return nil
	}
}

// rpcbGetaddr returns the universal address of a program, or an empty
// string if it is not in the table. GETADDR falls back to another version
// of the same program when the requested one is missing, and GETVERSADDR
// (exactVersion) does not, which is how RFC 1833 tells the two apart.
//
// RFC 1833 says the server infers the netid from the transport of the
// request. A client may still ask over UDP for the TCP address, so a
// non-empty r_netid that names tcp, udp, tcp6 or udp6 is used instead.
func (t *table) rpcbGetaddr(exactVersion bool) oncrpc.Handler {
	return func(_ context.Context, call *oncrpc.Call, args *xdr.Decoder, res *xdr.Encoder) error {
		r, err := decodeRPCB(args)
		if err != nil {
			return err
		}
		proto, ipv6, ok := parseNetid(r.netid)
		if !ok {
			proto, ipv6 = transportOf(call.Remote)
		}
		var found *Mapping
		for i, m := range t.entries {
			if m.Prog != r.prog || m.Protocol != proto {
				continue
			}
			if m.Vers == r.vers {
				found = &t.entries[i]
				break
			}
			if !exactVersion && found == nil {
				found = &t.entries[i]
			}
		}
		uaddr := ""
		if found != nil {
			uaddr = t.universalAddress(call.Remote, ipv6, found.Port)
		}
		res.String(uaddr)
		return nil
	}
}

// rpcbDump encodes the table as an rpcblist: each rpcb entry is preceded
// by TRUE and the list ends with FALSE. The addresses are those that the
// caller reaches this machine on, in the caller's address family.
func (t *table) rpcbDump(_ context.Context, call *oncrpc.Call, args *xdr.Decoder, res *xdr.Encoder) error {
	if args.Remaining() != 0 {
		return oncrpc.ErrGarbageArgs
	}
	_, ipv6 := transportOf(call.Remote)
	for _, m := range t.entries {
		uaddr := t.universalAddress(call.Remote, ipv6, m.Port)
		if uaddr == "" {
			continue
		}
		res.Bool(true)
		res.Uint32(m.Prog)
		res.Uint32(m.Vers)
		res.String(netid(m.Protocol, ipv6))
		res.String(uaddr)
		res.String(owner)
	}
	res.Bool(false)
	return nil
}

// rpcbGettime returns the server's time in seconds since the Unix epoch,
// truncated to 32 bits as the protocol carries it.
func rpcbGettime(_ context.Context, _ *oncrpc.Call, args *xdr.Decoder, res *xdr.Encoder) error {
	if args.Remaining() != 0 {
		return oncrpc.ErrGarbageArgs
	}
	res.Uint32(uint32(time.Now().Unix()))
	return nil
}

// transportOf returns the protocol and address family of the transport a
// call arrived on.
func transportOf(remote net.Addr) (Protocol, bool) {
	switch a := remote.(type) {
	case *net.UDPAddr:
		return UDP, a.IP.To4() == nil
	case *net.TCPAddr:
		return TCP, a.IP.To4() == nil
	}
	return TCP, false
}

// universalAddress returns the universal address of port on the IP address
// of this machine that remote reaches, or an empty string if there is no
// such address in the requested family.
func (t *table) universalAddress(remote net.Addr, ipv6 bool, port uint16) string {
	ip := t.opts.HostIP
	if ip == nil || ip.IsUnspecified() {
		local := t.opts.LocalIP
		if local == nil {
			local = RouteLocalIP
		}
		ip = local(remote)
	}
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil && !ipv6 {
		return UniversalAddress(v4, port)
	}
	if ip.To4() == nil && ipv6 {
		return UniversalAddress(ip, port)
	}
	return ""
}

// RouteLocalIP returns the source address that the kernel picks for
// packets to remote, which is the address of this machine that remote
// reaches. It connects a UDP socket without sending anything. It returns
// nil if remote has no IP address or no route.
func RouteLocalIP(remote net.Addr) net.IP {
	var ip net.IP
	switch a := remote.(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	default:
		return nil
	}
	if ip == nil {
		return nil
	}
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: ip, Port: 9})
	if err != nil {
		return nil
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP
}
