package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"testing"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// RPC message constants from RFC 5531.
const (
	msgCall       = 0
	msgReply      = 1
	replyAccepted = 0
	replyDenied   = 1
	acceptSuccess = 0
	acceptNoProg  = 1
	acceptNoVers  = 2
	rejectAuth    = 1
	authTooWeak   = 5
)

// fakeReply is what the fake server sends for one call.
type fakeReply struct {
	acceptStat uint32
	denyAuth   bool
	result     []byte
}

// fakeServer is a minimal ONC RPC server over TCP on 127.0.0.1 that replies
// to each call with reply(prog, vers, proc).
type fakeServer struct {
	ln    net.Listener
	reply func(prog, vers, proc uint32) fakeReply
}

func startFakeServer(t *testing.T, reply func(prog, vers, proc uint32) fakeReply) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, reply: reply}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	return s
}

func (s *fakeServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *fakeServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.serveConn(c)
	}
}

func (s *fakeServer) serveConn(c net.Conn) {
	defer c.Close()
	for {
		rec, err := readRecord(c)
		if err != nil {
			return
		}
		d := xdr.NewDecoder(rec)
		xid, mtype, _ := d.Uint32(), d.Uint32(), d.Uint32()
		prog, vers, proc := d.Uint32(), d.Uint32(), d.Uint32()
		d.Uint32()
		d.Opaque(400) // credential
		d.Uint32()
		d.Opaque(400) // verifier
		if d.Err() != nil || mtype != msgCall {
			return
		}
		r := s.reply(prog, vers, proc)
		e := xdr.NewEncoder(nil)
		e.Uint32(xid)
		e.Uint32(msgReply)
		if r.denyAuth {
			e.Uint32(replyDenied)
			e.Uint32(rejectAuth)
			e.Uint32(authTooWeak)
		} else {
			e.Uint32(replyAccepted)
			e.Uint32(0) // AUTH_NONE verifier
			e.Opaque(nil)
			e.Uint32(r.acceptStat)
			if r.acceptStat == acceptNoVers {
				e.Uint32(3)
				e.Uint32(3)
			}
			e.Fixed(r.result)
		}
		if err := writeRecord(c, e.Bytes()); err != nil {
			return
		}
	}
}

func readRecord(r io.Reader) ([]byte, error) {
	var rec []byte
	for {
		var mark [4]byte
		if _, err := io.ReadFull(r, mark[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(mark[:])
		frag := make([]byte, n&0x7fffffff)
		if _, err := io.ReadFull(r, frag); err != nil {
			return nil, err
		}
		rec = append(rec, frag...)
		if n&0x80000000 != 0 {
			return rec, nil
		}
	}
}

func writeRecord(w io.Writer, rec []byte) error {
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(rec))|0x80000000)
	_, err := w.Write(append(msg, rec...))
	return err
}

// testCaller is a minimal RPC client written apart from internal/oncrpc, so
// the probe is also checked against a second implementation. It maps
// rejections to the package's sentinel errors as a real Dialer must.
type testCaller struct {
	c   net.Conn
	xid uint32
}

func dialTest(ctx context.Context, addr string) (Caller, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &testCaller{c: c}, nil
}

func (tc *testCaller) Close() error { return tc.c.Close() }

func (tc *testCaller) Call(ctx context.Context, prog, vers, proc uint32, args []byte) ([]byte, error) {
	if dl, ok := ctx.Deadline(); ok {
		tc.c.SetDeadline(dl)
	}
	tc.xid++
	e := xdr.NewEncoder(nil)
	for _, v := range []uint32{tc.xid, msgCall, 2, prog, vers, proc, 0, 0, 0, 0} {
		e.Uint32(v)
	}
	e.Fixed(args)
	if err := writeRecord(tc.c, e.Bytes()); err != nil {
		return nil, err
	}
	rec, err := readRecord(tc.c)
	if err != nil {
		return nil, err
	}
	d := xdr.NewDecoder(rec)
	if d.Uint32() != tc.xid || d.Uint32() != msgReply {
		return nil, errors.New("reply does not match the call")
	}
	if d.Uint32() == replyDenied {
		if d.Uint32() == rejectAuth {
			return nil, fmt.Errorf("%w: auth_stat %d", ErrAuthRejected, d.Uint32())
		}
		return nil, errors.New("RPC version mismatch")
	}
	d.Uint32()
	d.Opaque(400)
	switch stat := d.Uint32(); stat {
	case acceptSuccess:
	case acceptNoProg, acceptNoVers:
		return nil, fmt.Errorf("%w: accept_stat %d", ErrProgramUnavailable, stat)
	default:
		return nil, fmt.Errorf("accept_stat %d", stat)
	}
	if d.Err() != nil {
		return nil, d.Err()
	}
	return rec[d.Offset():], nil
}

// burrowReplies returns the replies of a burrow server that exports dirs.
func burrowReplies(dirs ...string) func(prog, vers, proc uint32) fakeReply {
	var exports []Export
	for _, d := range dirs {
		exports = append(exports, Export{Dir: d})
	}
	return func(prog, vers, proc uint32) fakeReply {
		switch {
		case prog == ProgNFS && vers == 3 && proc == ProcNull:
			return fakeReply{}
		case prog == ProgMount && vers == 3 && proc == ProcExport:
			return fakeReply{result: EncodeExports(exports)}
		case prog == ProgNFS || prog == ProgMount:
			return fakeReply{acceptStat: acceptNoVers}
		}
		return fakeReply{acceptStat: acceptNoProg}
	}
}

func TestProbeListsExports(t *testing.T) {
	s := startFakeServer(t, burrowReplies("/home/vagrant/project"))
	res, err := Probe(context.Background(), dialTest, "127.0.0.1", s.port())
	if err != nil {
		t.Fatal(err)
	}
	want := []Export{{Dir: "/home/vagrant/project"}}
	if !reflect.DeepEqual(res.Exports, want) {
		t.Errorf("Exports = %+v, want %+v", res.Exports, want)
	}
	if res.Addr != "127.0.0.1:"+strconv.Itoa(s.port()) {
		t.Errorf("Addr = %q", res.Addr)
	}
}

func TestProbeNoNFSProgram(t *testing.T) {
	s := startFakeServer(t, func(prog, vers, proc uint32) fakeReply {
		return fakeReply{acceptStat: acceptNoProg}
	})
	_, err := Probe(context.Background(), dialTest, "127.0.0.1", s.port())
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if perr.Stage != StageNFSNull {
		t.Errorf("Stage = %q, want %q", perr.Stage, StageNFSNull)
	}
	if !errors.Is(err, ErrProgramUnavailable) {
		t.Errorf("err = %v, want ErrProgramUnavailable", err)
	}
}

func TestProbeExportDeniedForAuth(t *testing.T) {
	base := burrowReplies("/srv")
	s := startFakeServer(t, func(prog, vers, proc uint32) fakeReply {
		if prog == ProgMount {
			return fakeReply{denyAuth: true}
		}
		return base(prog, vers, proc)
	})
	_, err := Probe(context.Background(), dialTest, "127.0.0.1", s.port())
	var perr *Error
	if !errors.As(err, &perr) || perr.Stage != StageExport {
		t.Fatalf("err = %v, want an EXPORT stage *Error", err)
	}
	if !errors.Is(err, ErrAuthRejected) {
		t.Errorf("err = %v, want ErrAuthRejected", err)
	}
}

func TestProbeEmptyExportList(t *testing.T) {
	s := startFakeServer(t, burrowReplies())
	_, err := Probe(context.Background(), dialTest, "127.0.0.1", s.port())
	if err == nil || !errors.As(err, new(*Error)) {
		t.Fatalf("err = %v, want *Error", err)
	}
}

func TestProbeConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, err = Probe(context.Background(), dialTest, "127.0.0.1", port)
	var perr *Error
	if !errors.As(err, &perr) || perr.Stage != StageConnect {
		t.Fatalf("err = %v, want a connect stage *Error", err)
	}
}

func TestDecodeExportsRoundTrip(t *testing.T) {
	in := []Export{{Dir: "/a", Groups: []string{"127.0.0.1", "*"}}, {Dir: "/b/c"}}
	got, err := DecodeExports(EncodeExports(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("got %+v, want %+v", got, in)
	}
}

func TestDecodeExportsRejectsMalformed(t *testing.T) {
	good := EncodeExports([]Export{{Dir: "/a"}})
	cases := map[string][]byte{
		"empty":          nil,
		"cut off":        good[:len(good)-2],
		"trailing bytes": append(append([]byte{}, good...), 0, 0, 0, 0),
		"bad bool":       {0, 0, 0, 2},
	}
	for name, b := range cases {
		if _, err := DecodeExports(b); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
