package hardening

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// words encodes XDR unsigned integers.
func words(v ...uint32) []byte {
	var b []byte
	for _, w := range v {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b
}

// Reply bodies after the xid, as RFC 5531 lays them out.
func acceptedReply(stat oncrpc.AcceptStat, results ...uint32) []byte {
	return append(words(1, 0, oncrpc.AuthNone, 0, uint32(stat)), words(results...)...)
}

func rpcMismatchReply() []byte { return words(1, 1, uint32(oncrpc.RPCMismatch), 2, 2) }

func authErrorReply(stat oncrpc.AuthStat) []byte {
	return words(1, 1, uint32(oncrpc.AuthError), uint32(stat))
}

// corpusCase is one malformed or edge-case input with exactly one
// expectation. With closed set, the server must close the connection
// without a reply. Otherwise reply is the whole expected reply body after
// the xid, or replyPrefix its start when the rest (attributes) varies.
type corpusCase struct {
	name        string
	send        []byte
	closeWrite  bool // half-close the connection after sending
	closed      bool
	reply       []byte
	replyPrefix []byte
}

// corpus returns the cases. root is the export's root handle, for NFS
// calls that must reach argument checks past the handle.
func corpus(root []byte) []corpusCase {
	const xid = 0x5eed0001
	call := func(f func(*rpcCall)) []byte {
		c := nfsCall(xid, nfs3.ProcNull, nil)
		f(&c)
		return framed(c.bytes())
	}
	nfs := func(proc uint32, args []byte) []byte { return framed(nfsCall(xid, proc, args).bytes()) }
	encode := func(f func(e *xdr.Encoder)) []byte {
		e := xdr.NewEncoder(nil)
		f(e)
		return e.Bytes()
	}
	lookup := func(nameLen int) []byte {
		return nfs(nfs3.ProcLookup, encode(func(e *xdr.Encoder) {
			e.Opaque(root)
			e.String(strings.Repeat("n", nameLen))
		}))
	}
	getattr := func(handle []byte) []byte {
		return nfs(nfs3.ProcGetattr, encode(func(e *xdr.Encoder) { e.Opaque(handle) }))
	}
	mnt := func(path string) []byte {
		c := rpcCall{xid: xid, rpcvers: 2, prog: mount.Program, vers: mount.Version, proc: mount.ProcMnt,
			args: encode(func(e *xdr.Encoder) { e.String(path) })}
		return framed(c.bytes())
	}
	nullRecord := nfsCall(xid, nfs3.ProcNull, nil).bytes()

	return []corpusCase{
		// Record marking.
		{name: "zero-length record", send: framed(nil), closed: true},
		{name: "header of xid only", send: framed(words(xid)), closed: true},
		{name: "header cut before program", send: framed(words(xid, 0, 2)), closed: true},
		{name: "header cut before procedure", send: framed(words(xid, 0, 2, nfs3.Program, 3)), closed: true},
		{name: "record mark of 2 GiB", send: words(0xffffffff), closed: true},
		{name: "record over the 4 MiB limit", send: words(1<<31 | 5<<20), closed: true},
		{name: "fragments over the limit", send: append(append(words(3<<20), make([]byte, 3<<20)...), words(1<<31|2<<20)...), closed: true},
		{name: "record cut off by EOF", send: append(words(1<<31|100), make([]byte, 10)...), closeWrite: true, closed: true},
		{name: "two-fragment NULL", send: append(append(words(8), nullRecord[:8]...), framed(nullRecord[8:])...),
			reply: acceptedReply(oncrpc.Success)},

		// Call header.
		{name: "message type REPLY", send: call(func(c *rpcCall) { c.msgType = 1 }), closed: true},
		{name: "message type 7", send: call(func(c *rpcCall) { c.msgType = 7 }), closed: true},
		{name: "RPC version 3", send: call(func(c *rpcCall) { c.rpcvers = 3 }), reply: rpcMismatchReply()},
		{name: "RPC version 1", send: call(func(c *rpcCall) { c.rpcvers = 1 }), reply: rpcMismatchReply()},
		{name: "unknown program", send: call(func(c *rpcCall) { c.prog = 200000 }), reply: acceptedReply(oncrpc.ProgUnavail)},
		{name: "NFS version 2", send: call(func(c *rpcCall) { c.vers = 2 }), reply: acceptedReply(oncrpc.ProgMismatch, 3, 3)},
		{name: "NFS version 4", send: call(func(c *rpcCall) { c.vers = 4 }), reply: acceptedReply(oncrpc.ProgMismatch, 3, 3)},
		{name: "MOUNT version 1", send: call(func(c *rpcCall) { c.prog = mount.Program; c.vers = 1 }),
			reply: acceptedReply(oncrpc.ProgMismatch, 3, 3)},
		{name: "NFS procedure 22", send: call(func(c *rpcCall) { c.proc = 22 }), reply: acceptedReply(oncrpc.ProcUnavail)},
		{name: "NFS procedure 2^32-1", send: call(func(c *rpcCall) { c.proc = 0xffffffff }), reply: acceptedReply(oncrpc.ProcUnavail)},
		{name: "MOUNT procedure 6", send: call(func(c *rpcCall) { c.prog = mount.Program; c.vers = 3; c.proc = 6 }),
			reply: acceptedReply(oncrpc.ProcUnavail)},

		// Credentials and verifiers.
		{name: "flavor AUTH_SHORT", send: call(func(c *rpcCall) { c.credFlavor = 2 }), reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "flavor AUTH_DH", send: call(func(c *rpcCall) { c.credFlavor = 3 }), reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "flavor RPCSEC_GSS", send: call(func(c *rpcCall) { c.credFlavor = 6; c.credBody = make([]byte, 20) }),
			reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "AUTH_NONE with a body", send: call(func(c *rpcCall) { c.credBody = words(0) }), reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "credential body of 404 bytes", send: call(func(c *rpcCall) { c.credFlavor = oncrpc.AuthSys; c.credBody = make([]byte, 404) }),
			reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "credential cut off", send: framed(append(words(xid, 0, 2, nfs3.Program, 3, 0, oncrpc.AuthSys, 100), make([]byte, 8)...)),
			reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "AUTH_SYS with 16 gids", send: call(func(c *rpcCall) { c.credFlavor = oncrpc.AuthSys; c.credBody = authSysBody("host", 16) }),
			reply: acceptedReply(oncrpc.Success)},
		{name: "AUTH_SYS with 17 gids", send: call(func(c *rpcCall) { c.credFlavor = oncrpc.AuthSys; c.credBody = authSysBody("host", 17) }),
			reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "AUTH_SYS with 2^32-1 gids", send: call(func(c *rpcCall) {
			c.credFlavor = oncrpc.AuthSys
			c.credBody = append(authSysBody("host", 0)[:len(authSysBody("host", 0))-4], words(0xffffffff)...)
		}), reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "AUTH_SYS machine name of 255 bytes", send: call(func(c *rpcCall) {
			c.credFlavor = oncrpc.AuthSys
			c.credBody = authSysBody(strings.Repeat("m", 255), 0)
		}), reply: acceptedReply(oncrpc.Success)},
		{name: "AUTH_SYS machine name of 300 bytes", send: call(func(c *rpcCall) {
			c.credFlavor = oncrpc.AuthSys
			c.credBody = authSysBody(strings.Repeat("m", 300), 0)
		}), reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "AUTH_SYS cut off", send: call(func(c *rpcCall) { c.credFlavor = oncrpc.AuthSys; c.credBody = authSysBody("host", 2)[:12] }),
			reply: authErrorReply(oncrpc.AuthBadCred)},
		{name: "verifier flavor AUTH_SYS", send: call(func(c *rpcCall) { c.verfFlavor = oncrpc.AuthSys }), reply: authErrorReply(oncrpc.AuthBadVerf)},
		{name: "AUTH_NONE verifier with a body", send: call(func(c *rpcCall) { c.verfBody = words(1) }), reply: authErrorReply(oncrpc.AuthBadVerf)},

		// NFS and MOUNT arguments.
		{name: "LOOKUP name of 255 bytes", send: lookup(255), replyPrefix: acceptedReply(oncrpc.Success, uint32(nfs3.NFS3ERR_NOENT))},
		{name: "LOOKUP name of 256 bytes", send: lookup(256), reply: acceptedReply(oncrpc.Success, uint32(nfs3.NFS3ERR_NAMETOOLONG), 0)},
		{name: "LOOKUP name of 300 bytes", send: lookup(300), reply: acceptedReply(oncrpc.Success, uint32(nfs3.NFS3ERR_NAMETOOLONG), 0)},
		{name: "LOOKUP name length past the record", send: nfs(nfs3.ProcLookup, encode(func(e *xdr.Encoder) {
			e.Opaque(root)
			e.Uint32(1 << 30)
		})), reply: acceptedReply(oncrpc.GarbageArgs)},
		{name: "GETATTR handle of 65 bytes", send: getattr(make([]byte, 65)), reply: acceptedReply(oncrpc.Success, uint32(nfs3.NFS3ERR_BADHANDLE))},
		{name: "GETATTR handle of 1000 bytes", send: getattr(bytes.Repeat([]byte{0xff}, 1000)),
			reply: acceptedReply(oncrpc.Success, uint32(nfs3.NFS3ERR_BADHANDLE))},
		{name: "GETATTR handle length 2^32-1", send: nfs(nfs3.ProcGetattr, words(0xffffffff)), reply: acceptedReply(oncrpc.GarbageArgs)},
		{name: "GETATTR without arguments", send: nfs(nfs3.ProcGetattr, nil), reply: acceptedReply(oncrpc.GarbageArgs)},
		{name: "GETATTR handle cut off", send: nfs(nfs3.ProcGetattr, append(words(32), make([]byte, 10)...)), reply: acceptedReply(oncrpc.GarbageArgs)},
		{name: "GETATTR root", send: getattr(root), replyPrefix: acceptedReply(oncrpc.Success, uint32(nfs3.NFS3_OK), uint32(nfs3.NF3DIR))},
		{name: "WRITE count differs from data", send: nfs(nfs3.ProcWrite, encode(func(e *xdr.Encoder) {
			e.Opaque(root)
			e.Uint64(0)
			e.Uint32(10)
			e.Uint32(uint32(nfs3.FILE_SYNC))
			e.Opaque([]byte("four"))
		})), reply: acceptedReply(oncrpc.GarbageArgs)},
		{name: "WRITE stable_how 3", send: nfs(nfs3.ProcWrite, encode(func(e *xdr.Encoder) {
			e.Opaque(root)
			e.Uint64(0)
			e.Uint32(4)
			e.Uint32(3)
			e.Opaque([]byte("four"))
		})), reply: acceptedReply(oncrpc.GarbageArgs)},
		{name: "CREATE createmode 7", send: nfs(nfs3.ProcCreate, encode(func(e *xdr.Encoder) {
			e.Opaque(root)
			e.String("x")
			e.Uint32(7)
		})), reply: acceptedReply(oncrpc.GarbageArgs)},
		{name: "garbage arguments to READDIRPLUS", send: nfs(nfs3.ProcReaddirplus, bytes.Repeat([]byte{0xde, 0xad}, 7)),
			reply: acceptedReply(oncrpc.GarbageArgs)},
		{name: "MNT path of 2000 bytes", send: mnt("/" + strings.Repeat("p", 1999)), reply: acceptedReply(oncrpc.Success, uint32(mount.MNT3ERR_NAMETOOLONG))},
		{name: "MNT path not exported", send: mnt("/not/exported"), reply: acceptedReply(oncrpc.Success, uint32(mount.MNT3ERR_NOENT))},
		{name: "MNT path length past the record", send: framed(rpcCall{xid: xid, rpcvers: 2, prog: mount.Program, vers: mount.Version,
			proc: mount.ProcMnt, args: words(900)}.bytes()), reply: acceptedReply(oncrpc.GarbageArgs)},
	}
}

func TestCorpusReplay(t *testing.T) {
	s := startServer(t, oncrpc.Options{}, nfs3.Options{}, nil)
	root := s.mountRoot(t, s.dial(t))

	for _, tc := range corpus(root) {
		t.Run(tc.name, func(t *testing.T) {
			nc := s.dialRaw(t)
			if _, err := nc.Write(tc.send); err != nil {
				// A case the server must close on may be cut off while it
				// is still being sent: the server closes on the first bad
				// record mark, and the rest of a 6 MiB send meets a reset.
				if !tc.closed || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
					t.Fatalf("sending the case: %v", err)
				}
				s.expectNull(t)
				return
			}
			if tc.closeWrite {
				nc.(*net.TCPConn).CloseWrite()
			}

			if tc.closed {
				expectClosed(t, nc)
			} else {
				checkReply(t, readReply(t, nc), tc)
				// The connection survives a rejection: NULL on it works.
				if _, err := nc.Write(framed(nfsCall(0x5eed0002, nfs3.ProcNull, nil).bytes())); err != nil {
					t.Fatalf("sending NULL after the case: %v", err)
				}
				if got, want := readReply(t, nc), append(words(0x5eed0002), acceptedReply(oncrpc.Success)...); !bytes.Equal(got, want) {
					t.Fatalf("NULL on the same connection after the case:\n got %x\nwant %x", got, want)
				}
			}
			s.expectNull(t)
		})
	}
	if strings.Contains(s.log.String(), "panicked") {
		t.Errorf("a handler panicked during the corpus:\n%s", s.log.String())
	}
}

// checkReply compares a reply body with the case's expectation.
func checkReply(t *testing.T, got []byte, tc corpusCase) {
	t.Helper()
	if len(got) < 4 || binary.BigEndian.Uint32(got) != 0x5eed0001 {
		t.Fatalf("reply %x does not carry the call's xid 5eed0001", got)
	}
	body := got[4:]
	switch {
	case tc.reply != nil:
		if !bytes.Equal(body, tc.reply) {
			t.Fatalf("reply after the xid:\n got %x\nwant %x", body, tc.reply)
		}
	case tc.replyPrefix != nil:
		if !bytes.HasPrefix(body, tc.replyPrefix) {
			t.Fatalf("reply after the xid:\n got %x\nwant a reply starting %x", body, tc.replyPrefix)
		}
	default:
		t.Fatal("case sets no expectation")
	}
}
