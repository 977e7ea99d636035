package nfs3

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// This file holds the client side of the codec for tests: argument
// encoders that mirror the decoders in args.go, and readers of results.

func encodeArgs(fn func(e *xdr.Encoder)) []byte {
	e := xdr.NewEncoder(nil)
	fn(e)
	return e.Bytes()
}

func putTime(e *xdr.Encoder, t time.Time) {
	e.Uint32(uint32(t.Unix()))
	e.Uint32(uint32(t.Nanosecond()))
}

func putSetTime(e *xdr.Encoder, st backend.SetTime) {
	e.Uint32(uint32(st.How))
	if st.How == backend.TimeClient {
		putTime(e, st.Time)
	}
}

func putSattr(e *xdr.Encoder, s *sattr3) {
	e.Bool(s.setMode)
	if s.setMode {
		e.Uint32(s.mode)
	}
	e.Bool(s.setUID)
	if s.setUID {
		e.Uint32(s.uid)
	}
	e.Bool(s.setGID)
	if s.setGID {
		e.Uint32(s.gid)
	}
	e.Bool(s.setSize)
	if s.setSize {
		e.Uint64(s.size)
	}
	putSetTime(e, s.atime)
	putSetTime(e, s.mtime)
}

func putDirOp(e *xdr.Encoder, a *dirOpArgs) {
	e.Opaque(a.dir)
	e.String(a.name)
}

func putFHArgs(e *xdr.Encoder, a *fhArgs) { e.Opaque(a.fh) }

func putSetattrArgs(e *xdr.Encoder, a *setattrArgs) {
	e.Opaque(a.fh)
	putSattr(e, &a.attr)
	e.Bool(a.check)
	if a.check {
		putTime(e, a.guardCtm)
	}
}

func putAccessArgs(e *xdr.Encoder, a *accessArgs) {
	e.Opaque(a.fh)
	e.Uint32(a.access)
}

func putReadArgs(e *xdr.Encoder, a *readArgs) {
	e.Opaque(a.fh)
	e.Uint64(a.offset)
	e.Uint32(a.count)
}

func putWriteArgs(e *xdr.Encoder, a *writeArgs) {
	e.Opaque(a.fh)
	e.Uint64(a.offset)
	e.Uint32(a.count)
	e.Uint32(uint32(a.stable))
	e.Opaque(a.data)
}

func putCreateArgs(e *xdr.Encoder, a *createArgs) {
	putDirOp(e, &a.where)
	e.Uint32(uint32(a.mode))
	if a.mode == EXCLUSIVE {
		e.Fixed(a.verifier[:])
	} else {
		putSattr(e, &a.attr)
	}
}

func putMkdirArgs(e *xdr.Encoder, a *mkdirArgs) {
	putDirOp(e, &a.where)
	putSattr(e, &a.attr)
}

func putSymlinkArgs(e *xdr.Encoder, a *mkdirArgs) {
	putMkdirArgs(e, a)
	e.String(a.target)
}

func putMknodArgs(e *xdr.Encoder, a *mknodArgs) {
	putDirOp(e, &a.where)
	e.Uint32(uint32(a.ftype))
	switch a.ftype {
	case NF3CHR, NF3BLK:
		putSattr(e, &a.attr)
		e.Uint32(a.major)
		e.Uint32(a.minor)
	case NF3SOCK, NF3FIFO:
		putSattr(e, &a.attr)
	}
}

func putRenameArgs(e *xdr.Encoder, a *renameArgs) {
	putDirOp(e, &a.from)
	putDirOp(e, &a.to)
}

func putLinkArgs(e *xdr.Encoder, a *linkArgs) {
	e.Opaque(a.fh)
	putDirOp(e, &a.link)
}

func putReaddirArgs(e *xdr.Encoder, a *readdirArgs) {
	e.Opaque(a.fh)
	e.Uint64(a.cookie)
	e.Fixed(a.verifier[:])
	e.Uint32(a.maxcount)
}

func putReaddirplusArgs(e *xdr.Encoder, a *readdirArgs) {
	e.Opaque(a.fh)
	e.Uint64(a.cookie)
	e.Fixed(a.verifier[:])
	e.Uint32(a.dircount)
	e.Uint32(a.maxcount)
}

// testCall is the call every direct handler test makes: AUTH_SYS with
// uid 1000, gid 1000.
func testCall(proc uint32) *oncrpc.Call {
	return &oncrpc.Call{
		XID: 1, Prog: Program, Vers: Version, Proc: proc,
		Flavor: oncrpc.AuthSys,
		Sys:    &oncrpc.SysCred{MachineName: "test", UID: 1000, GID: 1000, GIDs: []uint32{1000}},
	}
}

// callProc runs procedure proc of prog with the encoded args and returns
// the encoded result and the handler's error.
func callProc(prog oncrpc.Program, proc uint32, args []byte) ([]byte, error) {
	e := xdr.NewEncoder(make([]byte, 0, 512))
	err := prog.Procs[proc].Handler(context.Background(), testCall(proc), xdr.NewDecoder(args), e)
	return e.Bytes(), err
}

// mustCall is callProc for calls that must not fail at the RPC level.
func mustCall(t *testing.T, prog oncrpc.Program, proc uint32, args []byte) *xdr.Decoder {
	t.Helper()
	res, err := callProc(prog, proc, args)
	if err != nil {
		t.Fatalf("%s: handler error %v", prog.Procs[proc].Name, err)
	}
	return xdr.NewDecoder(res)
}

// mustHex decodes a hex string in which spaces and newlines separate
// groups for readability.
func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// readFattr reads a fattr3 back into a backend.Attr.
func readFattr(d *xdr.Decoder) backend.Attr {
	var a backend.Attr
	a.Type = backend.FileType(d.Uint32())
	a.Mode = d.Uint32()
	a.Nlink = d.Uint32()
	a.UID = d.Uint32()
	a.GID = d.Uint32()
	a.Size = d.Uint64()
	a.Used = d.Uint64()
	a.Major = d.Uint32()
	a.Minor = d.Uint32()
	a.FSID = d.Uint64()
	a.FileID = d.Uint64()
	a.Atime = decodeTime(d)
	a.Mtime = decodeTime(d)
	a.Ctime = decodeTime(d)
	return a
}

func readPostOpAttr(d *xdr.Decoder) *backend.Attr {
	if !d.Bool() {
		return nil
	}
	a := readFattr(d)
	return &a
}

func readPreOpAttr(d *xdr.Decoder) *backend.WccAttr {
	if !d.Bool() {
		return nil
	}
	return &backend.WccAttr{Size: d.Uint64(), Mtime: decodeTime(d), Ctime: decodeTime(d)}
}

func readWcc(d *xdr.Decoder) backend.Wcc {
	before := readPreOpAttr(d)
	return backend.Wcc{Before: before, After: readPostOpAttr(d)}
}

func readPostOpFH(d *xdr.Decoder) []byte {
	if !d.Bool() {
		return nil
	}
	return d.Opaque(NFS3_FHSIZE)
}

func readStatus(d *xdr.Decoder) Nfsstat3 { return Nfsstat3(d.Uint32()) }

// checkDone fails the test if d met an error or has bytes left, which
// means the reply did not have the layout the test expected.
func checkDone(t *testing.T, d *xdr.Decoder) {
	t.Helper()
	if d.Err() != nil {
		t.Fatalf("reply decode error: %v", d.Err())
	}
	if d.Remaining() != 0 {
		t.Fatalf("reply has %d unread bytes", d.Remaining())
	}
}

// stubFS is a backend.FS whose methods return what the test sets. Methods
// a test does not set panic through the nil embedded interface.
type stubFS struct {
	backend.FS
	lookup  func(dir []byte, name string) ([]byte, backend.Attr, *backend.Attr, error)
	readDir func(args backend.ReadDirArgs) (backend.ReadDirResult, error)
	getAttr func(h []byte) (backend.Attr, error)
	read    func(h []byte, off uint64, buf []byte) (int, bool, *backend.Attr, error)
	known   func(h []byte) bool
	lastDir backend.ReadDirArgs
}

func (s *stubFS) Root() []byte { return []byte{1} }

func (s *stubFS) WriteVerifier() [8]byte { return [8]byte{9, 9, 9, 9, 9, 9, 9, 9} }

func (s *stubFS) Known(h []byte) bool {
	return s.known == nil || s.known(h)
}

func (s *stubFS) Lookup(_ context.Context, _ *backend.Cred, dir []byte, name string) ([]byte, backend.Attr, *backend.Attr, error) {
	return s.lookup(dir, name)
}

func (s *stubFS) ReadDir(_ context.Context, _ *backend.Cred, _ []byte, args backend.ReadDirArgs) (backend.ReadDirResult, error) {
	s.lastDir = args
	return s.readDir(args)
}

func (s *stubFS) GetAttr(_ context.Context, _ *backend.Cred, h []byte) (backend.Attr, error) {
	return s.getAttr(h)
}

func (s *stubFS) Read(_ context.Context, _ *backend.Cred, h []byte, off uint64, buf []byte) (int, bool, *backend.Attr, error) {
	return s.read(h, off, buf)
}

// decodeTime reads an nfstime3 of a reply.
func decodeTime(d *xdr.Decoder) time.Time {
	sec := d.Uint32()
	nsec := d.Uint32()
	return time.Unix(int64(sec), int64(nsec))
}
