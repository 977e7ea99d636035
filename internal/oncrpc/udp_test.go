package oncrpc

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

var datagramRemote = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 700}

// datagramCall encodes a call message with an AUTH_NONE credential, as
// one UDP datagram carries it.
func datagramCall(xid, rpcvers, prog, vers, proc uint32, args ...uint32) []byte {
	e := xdr.NewEncoder(nil)
	for _, v := range []uint32{xid, msgCall, rpcvers, prog, vers, proc, AuthNone, 0, AuthNone, 0} {
		e.Uint32(v)
	}
	for _, a := range args {
		e.Uint32(a)
	}
	return e.Bytes()
}

// decodeDatagramReply checks the xid of reply and returns its results or
// the error it reports.
func decodeDatagramReply(t *testing.T, reply []byte, xid uint32) ([]byte, error) {
	t.Helper()
	d := xdr.NewDecoder(reply)
	if got := d.Uint32(); got != xid {
		t.Fatalf("reply xid %#x, expected %#x", got, xid)
	}
	if mtype := d.Uint32(); mtype != msgReply {
		t.Fatalf("reply message type %d, expected REPLY", mtype)
	}
	return decodeReply(reply, d)
}

func newDatagramServer(observed *[]CallInfo, mu *sync.Mutex) *Server {
	s := NewServer(Options{Observer: func(ci CallInfo) {
		mu.Lock()
		*observed = append(*observed, ci)
		mu.Unlock()
	}})
	s.Register(testProgram(1, newTestHooks()))
	s.Register(testProgram(3, newTestHooks()))
	return s
}

func TestHandleDatagramReplies(t *testing.T) {
	var observed []CallInfo
	var mu sync.Mutex
	s := newDatagramServer(&observed, &mu)

	cases := []struct {
		name string
		msg  []byte
		want error
	}{
		{"success", datagramCall(1, 2, testProg, 1, procNull), nil},
		{"RPC version 3", datagramCall(2, 3, testProg, 1, procNull), &RejectedError{Stat: RPCMismatch, Low: 2, High: 2}},
		{"unknown program", datagramCall(3, 2, testProg+1, 1, procNull), &AcceptError{Stat: ProgUnavail}},
		{"unknown version", datagramCall(4, 2, testProg, 2, procNull), &AcceptError{Stat: ProgMismatch, Low: 1, High: 3}},
		{"unset procedure", datagramCall(5, 2, testProg, 1, procUnset), &AcceptError{Stat: ProcUnavail}},
		{"procedure past the table", datagramCall(6, 2, testProg, 1, 99), &AcceptError{Stat: ProcUnavail}},
		{"garbage arguments", datagramCall(7, 2, testProg, 1, procGarbage), &AcceptError{Stat: GarbageArgs}},
		{"handler failure", datagramCall(8, 2, testProg, 1, procFail), &AcceptError{Stat: SystemErr}},
		{"too weak", datagramCall(9, 2, testProg, 1, procTooWeak), &RejectedError{Stat: AuthError, AuthStat: AuthTooWeak}},
	}
	for i, c := range cases {
		reply, ok := s.HandleDatagram(context.Background(), c.msg, datagramRemote, nil)
		if !ok {
			t.Errorf("%s: no reply, expected one", c.name)
			continue
		}
		_, err := decodeDatagramReply(t, reply, uint32(i+1))
		switch want := c.want.(type) {
		case nil:
			if err != nil {
				t.Errorf("%s: error %v, expected success", c.name, err)
			}
		case *AcceptError:
			var ae *AcceptError
			if !errors.As(err, &ae) || *ae != *want {
				t.Errorf("%s: error %v, expected %v", c.name, err, want)
			}
		case *RejectedError:
			var re *RejectedError
			if !errors.As(err, &re) || *re != *want {
				t.Errorf("%s: error %v, expected %v", c.name, err, want)
			}
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if len(observed) != len(cases) {
		t.Fatalf("observer saw %d calls, expected %d", len(observed), len(cases))
	}
	if observed[0].Err != nil || observed[0].Procedure != "NULL" {
		t.Errorf("first observed call %+v, expected NULL without error", observed[0])
	}
}

func TestHandleDatagramEchoResults(t *testing.T) {
	var observed []CallInfo
	var mu sync.Mutex
	s := newDatagramServer(&observed, &mu)
	msg := datagramCall(42, 2, testProg, 1, procEcho, 3, 0x61626300)
	reply, ok := s.HandleDatagram(context.Background(), msg, datagramRemote, nil)
	if !ok {
		t.Fatal("no reply to ECHO")
	}
	res, err := decodeDatagramReply(t, reply, 42)
	if err != nil {
		t.Fatalf("ECHO: %v", err)
	}
	d := xdr.NewDecoder(res)
	if got := string(d.Opaque(16)); got != "abc" || d.Remaining() != 0 {
		t.Errorf("ECHO result %q with %d bytes left, expected \"abc\" and none", got, d.Remaining())
	}
}

func TestHandleDatagramNoReply(t *testing.T) {
	var observed []CallInfo
	var mu sync.Mutex
	s := newDatagramServer(&observed, &mu)

	notCall := datagramCall(1, 2, testProg, 1, procNull)
	notCall[7] = byte(msgReply)
	cases := map[string][]byte{
		"empty":      nil,
		"cut off":    datagramCall(1, 2, testProg, 1, procNull)[:16],
		"not a call": notCall,
		"panic":      datagramCall(1, 2, testProg, 1, procPanic),
	}
	for name, msg := range cases {
		if reply, ok := s.HandleDatagram(context.Background(), msg, datagramRemote, nil); ok {
			t.Errorf("%s: reply %x, expected none", name, reply)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) != 1 || !errors.Is(observed[0].Err, ErrHandlerPanicked) {
		t.Errorf("observed %+v, expected only the panic", observed)
	}
}

func TestCallDatagramRoundTrip(t *testing.T) {
	s := NewServer(Options{})
	s.Register(testProgram(1, newTestHooks()))
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, MaxDatagramSize)
		for {
			n, remote, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			// A stray datagram with another xid first: the client skips it.
			pc.WriteToUDP([]byte{0, 0, 0, 0, 0, 0, 0, 1}, remote)
			if reply, ok := s.HandleDatagram(context.Background(), buf[:n], remote, nil); ok {
				pc.WriteToUDP(reply, remote)
			}
		}
	}()

	nc, err := net.DialUDP("udp", nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e := xdr.NewEncoder(nil)
	e.Opaque([]byte("hello"))
	res, err := CallDatagram(ctx, nc, testProg, 1, procEcho, AuthNoneCredential(), e.Bytes())
	if err != nil {
		t.Fatalf("CallDatagram: %v", err)
	}
	if got := string(xdr.NewDecoder(res).Opaque(16)); got != "hello" {
		t.Errorf("echo %q, expected hello", got)
	}

	_, err = CallDatagram(ctx, nc, testProg, 1, procUnset, AuthNoneCredential(), nil)
	var ae *AcceptError
	if !errors.As(err, &ae) || ae.Stat != ProcUnavail {
		t.Errorf("unset procedure: error %v, expected PROC_UNAVAIL", err)
	}
}
