package portmap

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

const (
	nfsProg   = 100003
	mountProg = 100005
	nfsPort   = 2049
)

// testEntries is burrow's table: NFS v3 and MOUNT v3 on one TCP port,
// plus the portmapper itself on pmapPort.
func testEntries(pmapPort int) []Mapping {
	entries := []Mapping{
		{Prog: mountProg, Vers: 3, Protocol: TCP, Port: nfsPort},
		{Prog: nfsProg, Vers: 3, Protocol: TCP, Port: nfsPort},
	}
	return append(entries, SelfMappings(pmapPort)...)
}

// startPortmap serves the test table on ephemeral loopback ports and
// returns the shared port.
func startPortmap(t *testing.T) int {
	t.Helper()
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, testEntries(l.Port()), Options{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v, expected nil after cancel", err)
		}
	})
	return l.Port()
}

// caller sends one call and returns the results of a SUCCESS reply.
type caller func(t *testing.T, vers, proc uint32, args []byte) []byte

func tcpCaller(port int) caller {
	return func(t *testing.T, vers, proc uint32, args []byte) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := oncrpc.Dial(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("dial TCP: %v", err)
		}
		defer c.Close()
		res, err := c.Call(ctx, Program, vers, proc, oncrpc.AuthNoneCredential(), args)
		if err != nil {
			t.Fatalf("TCP call vers %d proc %d: %v", vers, proc, err)
		}
		return res
	}
}

func udpCaller(port int) caller {
	return func(t *testing.T, vers, proc uint32, args []byte) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		nc, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			t.Fatalf("dial UDP: %v", err)
		}
		defer nc.Close()
		res, err := oncrpc.CallDatagram(ctx, nc, Program, vers, proc, oncrpc.AuthNoneCredential(), args)
		if err != nil {
			t.Fatalf("UDP call vers %d proc %d: %v", vers, proc, err)
		}
		return res
	}
}

func mappingArgs(prog, vers uint32, proto Protocol) []byte {
	e := xdr.NewEncoder(nil)
	encodeMapping(e, Mapping{Prog: prog, Vers: vers, Protocol: proto})
	return e.Bytes()
}

func rpcbArgs(prog, vers uint32, netid string) []byte {
	e := xdr.NewEncoder(nil)
	e.Uint32(prog)
	e.Uint32(vers)
	e.String(netid)
	e.String("")
	e.String("")
	return e.Bytes()
}

func decodeUint32(t *testing.T, b []byte) uint32 {
	t.Helper()
	d := xdr.NewDecoder(b)
	v := d.Uint32()
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("result %x is not one uint32", b)
	}
	return v
}

func decodeString(t *testing.T, b []byte) string {
	t.Helper()
	d := xdr.NewDecoder(b)
	s := d.String(maxRPCBString)
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("result %x is not one string", b)
	}
	return s
}

func TestGetportOverTCPAndUDP(t *testing.T) {
	port := startPortmap(t)
	for name, call := range map[string]caller{"tcp": tcpCaller(port), "udp": udpCaller(port)} {
		t.Run(name, func(t *testing.T) {
			cases := []struct {
				desc  string
				prog  uint32
				vers  uint32
				proto Protocol
				want  uint32
			}{
				{"NFS v3 TCP", nfsProg, 3, TCP, nfsPort},
				{"MOUNT v3 TCP", mountProg, 3, TCP, nfsPort},
				{"portmapper v2 UDP", Program, 2, UDP, uint32(port)},
				{"NFS v3 UDP not served", nfsProg, 3, UDP, 0},
				{"MOUNT v1 not registered", mountProg, 1, TCP, 0},
				{"unknown program", 200000, 1, TCP, 0},
			}
			for _, c := range cases {
				got := decodeUint32(t, call(t, Version2, pmapProcGetport, mappingArgs(c.prog, c.vers, c.proto)))
				if got != c.want {
					t.Errorf("GETPORT %s: port %d, expected %d", c.desc, got, c.want)
				}
			}
		})
	}
}

func TestGetaddrOverTCPAndUDP(t *testing.T) {
	port := startPortmap(t)
	for name, call := range map[string]caller{"tcp": tcpCaller(port), "udp": udpCaller(port)} {
		t.Run(name, func(t *testing.T) {
			for _, vers := range []uint32{Version3, Version4} {
				got := decodeString(t, call(t, vers, rpcbProcGetaddr, rpcbArgs(nfsProg, 3, "tcp")))
				if got != "127.0.0.1.8.1" {
					t.Errorf("v%d GETADDR NFS v3 tcp: %q, expected 127.0.0.1.8.1", vers, got)
				}
				got = decodeString(t, call(t, vers, rpcbProcGetaddr, rpcbArgs(200000, 1, "tcp")))
				if got != "" {
					t.Errorf("v%d GETADDR unknown program: %q, expected empty", vers, got)
				}
				// MOUNT v1 is not registered, but GETADDR may return another
				// version of the program.
				got = decodeString(t, call(t, vers, rpcbProcGetaddr, rpcbArgs(mountProg, 1, "tcp")))
				if got != "127.0.0.1.8.1" {
					t.Errorf("v%d GETADDR MOUNT v1: %q, expected the MOUNT v3 address", vers, got)
				}
			}
			got := decodeString(t, call(t, Version4, rpcbProcGetversaddr, rpcbArgs(mountProg, 1, "tcp")))
			if got != "" {
				t.Errorf("GETVERSADDR MOUNT v1: %q, expected empty", got)
			}
			got = decodeString(t, call(t, Version4, rpcbProcGetversaddr, rpcbArgs(mountProg, 3, "tcp")))
			if got != "127.0.0.1.8.1" {
				t.Errorf("GETVERSADDR MOUNT v3: %q, expected 127.0.0.1.8.1", got)
			}
		})
	}
}

func TestGetaddrEmptyNetidUsesTransport(t *testing.T) {
	port := startPortmap(t)
	got := decodeString(t, tcpCaller(port)(t, Version3, rpcbProcGetaddr, rpcbArgs(nfsProg, 3, "")))
	if got != "127.0.0.1.8.1" {
		t.Errorf("GETADDR over TCP with empty netid: %q, expected 127.0.0.1.8.1", got)
	}
	got = decodeString(t, udpCaller(port)(t, Version3, rpcbProcGetaddr, rpcbArgs(nfsProg, 3, "")))
	if got != "" {
		t.Errorf("GETADDR over UDP with empty netid: %q, expected empty because NFS is not on UDP", got)
	}
}

func TestDumpV2ListsEntries(t *testing.T) {
	port := startPortmap(t)
	for name, call := range map[string]caller{"tcp": tcpCaller(port), "udp": udpCaller(port)} {
		t.Run(name, func(t *testing.T) {
			d := xdr.NewDecoder(call(t, Version2, pmapProcDump, nil))
			var got []Mapping
			for d.Bool() {
				m := Mapping{Prog: d.Uint32(), Vers: d.Uint32(), Protocol: Protocol(d.Uint32())}
				m.Port = uint16(d.Uint32())
				got = append(got, m)
			}
			if d.Err() != nil || d.Remaining() != 0 {
				t.Fatalf("DUMP result does not decode as a pmaplist: err %v, %d bytes left", d.Err(), d.Remaining())
			}
			want := testEntries(port)
			if len(got) != len(want) {
				t.Fatalf("DUMP returned %d entries, expected %d: %v", len(got), len(want), got)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("DUMP entry %d: %+v, expected %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestDumpV4ListsUniversalAddresses(t *testing.T) {
	port := startPortmap(t)
	d := xdr.NewDecoder(tcpCaller(port)(t, Version4, rpcbProcDump, nil))
	var lines []string
	for d.Bool() {
		prog, vers := d.Uint32(), d.Uint32()
		id, addr, own := d.String(maxRPCBString), d.String(maxRPCBString), d.String(maxRPCBString)
		lines = append(lines, strings.Join([]string{strconv.Itoa(int(prog)), strconv.Itoa(int(vers)), id, addr, own}, " "))
	}
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("DUMP result does not decode as an rpcblist: err %v, %d bytes left", d.Err(), d.Remaining())
	}
	pm := UniversalAddress(net.IPv4(127, 0, 0, 1), uint16(port))
	want := []string{
		"100005 3 tcp 127.0.0.1.8.1 burrow",
		"100003 3 tcp 127.0.0.1.8.1 burrow",
		"100000 4 tcp " + pm + " burrow",
		"100000 3 tcp " + pm + " burrow",
		"100000 2 tcp " + pm + " burrow",
		"100000 4 udp " + pm + " burrow",
		"100000 3 udp " + pm + " burrow",
		"100000 2 udp " + pm + " burrow",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("DUMP v4:\n%s\nexpected:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestSetAndUnsetRejected(t *testing.T) {
	port := startPortmap(t)
	call := udpCaller(port)
	set := mappingArgs(300000, 1, TCP)
	for _, proc := range []uint32{pmapProcSet, pmapProcUnset} {
		res := call(t, Version2, proc, set)
		if !bytes.Equal(res, []byte{0, 0, 0, 0}) {
			t.Errorf("PMAP proc %d: result %x, expected FALSE", proc, res)
		}
	}
	for _, proc := range []uint32{rpcbProcSet, rpcbProcUnset} {
		res := call(t, Version4, proc, rpcbArgs(300000, 1, "tcp"))
		if !bytes.Equal(res, []byte{0, 0, 0, 0}) {
			t.Errorf("RPCBIND proc %d: result %x, expected FALSE", proc, res)
		}
	}
	got := decodeUint32(t, call(t, Version2, pmapProcGetport, set))
	if got != 0 {
		t.Errorf("GETPORT after a rejected SET: port %d, expected 0", got)
	}
}

func TestCallitNotProvided(t *testing.T) {
	port := startPortmap(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, err = oncrpc.CallDatagram(ctx, nc, Program, Version2, pmapProcCallit, oncrpc.AuthNoneCredential(), nil)
	var ae *oncrpc.AcceptError
	if !errors.As(err, &ae) || ae.Stat != oncrpc.ProcUnavail {
		t.Errorf("CALLIT: error %v, expected PROC_UNAVAIL", err)
	}
}

func TestGetportGarbageArgs(t *testing.T) {
	port := startPortmap(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := oncrpc.Dial(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Call(ctx, Program, Version2, pmapProcGetport, oncrpc.AuthNoneCredential(), []byte{0, 1, 0x86, 0xa3})
	var ae *oncrpc.AcceptError
	if !errors.As(err, &ae) || ae.Stat != oncrpc.GarbageArgs {
		t.Errorf("GETPORT with 4 bytes of arguments: error %v, expected GARBAGE_ARGS", err)
	}
}

// TestGetportReplyGolden checks the whole reply datagram to a GETPORT call
// for NFS v3 over TCP, byte for byte.
func TestGetportReplyGolden(t *testing.T) {
	srv := oncrpc.NewServer(oncrpc.Options{})
	for _, p := range New(testEntries(DefaultPort), Options{}) {
		srv.Register(p)
	}
	call, _ := hex.DecodeString("" +
		"12345678" + // xid
		"00000000" + // CALL
		"00000002" + // RPC version 2
		"000186a0" + // program 100000
		"00000002" + // version 2
		"00000003" + // GETPORT
		"00000000" + "00000000" + // credential AUTH_NONE, empty
		"00000000" + "00000000" + // verifier AUTH_NONE, empty
		"000186a3" + // prog 100003
		"00000003" + // vers 3
		"00000006" + // prot TCP
		"00000000") // port, ignored
	want, _ := hex.DecodeString("" +
		"12345678" + // xid
		"00000001" + // REPLY
		"00000000" + // MSG_ACCEPTED
		"00000000" + "00000000" + // verifier AUTH_NONE, empty
		"00000000" + // SUCCESS
		"00000801") // port 2049
	remote := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	got, ok := srv.HandleDatagram(context.Background(), call, remote, nil)
	if !ok {
		t.Fatal("HandleDatagram sent no reply")
	}
	if !bytes.Equal(got, want) {
		t.Errorf("GETPORT reply:\n%x\nexpected:\n%x", got, want)
	}
}

func TestUniversalAddress(t *testing.T) {
	cases := []struct {
		ip   net.IP
		port uint16
		want string
	}{
		{net.IPv4(127, 0, 0, 1), 2049, "127.0.0.1.8.1"},
		{net.IPv4(192, 168, 64, 2), 111, "192.168.64.2.0.111"},
		{net.ParseIP("::1"), 2049, "::1.8.1"},
		{net.IPv4(10, 0, 0, 1), 65535, "10.0.0.1.255.255"},
	}
	for _, c := range cases {
		got := UniversalAddress(c.ip, c.port)
		if got != c.want {
			t.Errorf("UniversalAddress(%v, %d) = %q, expected %q", c.ip, c.port, got, c.want)
		}
		ip, port, err := ParseUniversalAddress(got)
		if err != nil || !ip.Equal(c.ip) || port != c.port {
			t.Errorf("ParseUniversalAddress(%q) = %v, %d, %v; expected %v, %d", got, ip, port, err, c.ip, c.port)
		}
	}
	for _, bad := range []string{"", "127.0.0.1", "127.0.0.1.8", "127.0.0.1.256.1", "nothost.8.1"} {
		if _, _, err := ParseUniversalAddress(bad); err == nil {
			t.Errorf("ParseUniversalAddress(%q) succeeded, expected an error", bad)
		}
	}
}

func TestUniversalAddressHostIP(t *testing.T) {
	tab := &table{opts: Options{HostIP: net.IPv4(192, 168, 64, 2)}}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 900}
	if got := tab.universalAddress(remote, false, 2049); got != "192.168.64.2.8.1" {
		t.Errorf("with HostIP: %q, expected 192.168.64.2.8.1", got)
	}
	if got := tab.universalAddress(remote, true, 2049); got != "" {
		t.Errorf("IPv6 request with an IPv4 HostIP: %q, expected empty", got)
	}
}

func TestAcceptRemoteDropsDatagrams(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := Options{AcceptRemote: func(net.Addr) bool { return false }}
	go func() { done <- Serve(ctx, l, testEntries(l.Port()), opts) }()
	defer func() { cancel(); <-done }()

	nc, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: l.Port()})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cctx, ccancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer ccancel()
	_, err = oncrpc.CallDatagram(cctx, nc, Program, Version2, pmapProcNull, oncrpc.AuthNoneCredential(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("NULL from a rejected remote: error %v, expected no reply (deadline exceeded)", err)
	}
}

func TestListenInUseExplains(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = Listen(busy.Addr().String())
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen on a busy port: error %v, expected EADDRINUSE", err)
	}
	if !strings.Contains(err.Error(), "rpcbind") {
		t.Errorf("error %q does not name rpcbind as the usual owner", err)
	}
}

func TestBindErrorPrivilegedExplains(t *testing.T) {
	err := explainBindError(":111", 111, &net.OpError{Op: "listen", Net: "tcp", Err: syscall.EACCES})
	for _, want := range []string{"privileged", "root", "CAP_NET_BIND_SERVICE", "setcap"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !errors.Is(err, syscall.EACCES) {
		t.Errorf("error %v does not wrap EACCES", err)
	}
}

func TestListenInvalidAddress(t *testing.T) {
	for _, addr := range []string{"111", "127.0.0.1:port", "127.0.0.1:70000"} {
		if _, err := Listen(addr); err == nil {
			t.Errorf("Listen(%q) succeeded, expected an error", addr)
		}
	}
}

func TestServiceMappings(t *testing.T) {
	progs := []oncrpc.Program{
		{Name: "MOUNT", Prog: mountProg, Vers: 3},
		{Name: "NFS", Prog: nfsProg, Vers: 3},
	}
	got := ServiceMappings(2049, progs...)
	want := []Mapping{
		{Prog: mountProg, Vers: 3, Protocol: TCP, Port: 2049},
		{Prog: nfsProg, Vers: 3, Protocol: TCP, Port: 2049},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ServiceMappings = %+v, expected %+v", got, want)
	}
}
