// Package hardening tests the full server (oncrpc, MOUNT, NFSv3 and the
// localfs backend wired as burrow serve wires them) against hostile and
// heavy clients over loopback TCP.
package hardening

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend/localfs"
	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/nfsclient"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// server is one in-process burrow server on a loopback port.
type server struct {
	dir  string // exported directory
	addr string // host:port
	srv  *oncrpc.Server
	log  *logBuffer
}

// startServer serves a new temporary directory, after setup has filled
// it, and stops the server when the test ends. rpcOpts.Logger and
// nfsOpts.Logger are set to the returned log buffer.
func startServer(t *testing.T, rpcOpts oncrpc.Options, nfsOpts nfs3.Options, setup func(dir string)) *server {
	t.Helper()
	dir := t.TempDir()
	export := filepath.Join(dir, "export")
	if err := os.Mkdir(export, 0o755); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(export)
	}
	s := &server{dir: export, log: &logBuffer{}}
	log := slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelInfo}))

	fs, err := localfs.New(export, localfs.Options{StatePath: filepath.Join(dir, "s.db"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	rpcOpts.Logger = log
	nfsOpts.Logger = log
	s.srv = oncrpc.NewServer(rpcOpts)
	s.srv.Register(mount.NewProgram(fs, mount.Options{ExportPath: export, Logger: log}))
	s.srv.Register(nfs3.NewProgram(fs, nfsOpts))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, oncrpc.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if err := fs.Close(); err != nil {
			t.Errorf("closing the backend: %v", err)
		}
	})
	return s
}

// dial returns an NFS client on a new connection, closed when the test
// ends.
func (s *server) dial(t testing.TB) *nfsclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := nfsclient.Dial(ctx, s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mountRoot returns the root handle of the export through MNT.
func (s *server) mountRoot(t testing.TB, c *nfsclient.Client) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Mount(ctx, s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != mount.MNT3_OK {
		t.Fatalf("MNT %s: %v", s.dir, res.Status)
	}
	return res.Root
}

// dialRaw returns a plain TCP connection with a 10-second deadline.
func (s *server) dialRaw(t *testing.T) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc
}

// expectNull checks that a NULL call on a new connection succeeds.
func (s *server) expectNull(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := oncrpc.Dial(ctx, "tcp", s.addr)
	if err != nil {
		t.Fatalf("server does not accept a new connection: %v", err)
	}
	defer c.Close()
	if _, err := c.Call(ctx, nfs3.Program, nfs3.Version, nfs3.ProcNull, oncrpc.AuthNoneCredential(), nil); err != nil {
		t.Fatalf("NFS NULL on a new connection failed: %v", err)
	}
}

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForLog waits up to 5 seconds until the log contains substr.
func (b *logBuffer) waitForLog(t *testing.T, substr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("log does not contain %q; log:\n%s", substr, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rpcCall is a call message built field by field, so a test can make any
// field wrong.
type rpcCall struct {
	xid, msgType, rpcvers, prog, vers, proc uint32
	credFlavor                              uint32
	credBody                                []byte
	verfFlavor                              uint32
	verfBody                                []byte
	args                                    []byte
}

// nfsCall returns a well-formed AUTH_NONE call to NFS version 3.
func nfsCall(xid, proc uint32, args []byte) rpcCall {
	return rpcCall{xid: xid, rpcvers: 2, prog: nfs3.Program, vers: nfs3.Version, proc: proc, args: args}
}

func (r rpcCall) bytes() []byte {
	e := xdr.NewEncoder(nil)
	e.Uint32(r.xid)
	e.Uint32(r.msgType)
	e.Uint32(r.rpcvers)
	e.Uint32(r.prog)
	e.Uint32(r.vers)
	e.Uint32(r.proc)
	e.Uint32(r.credFlavor)
	e.Opaque(r.credBody)
	e.Uint32(r.verfFlavor)
	e.Opaque(r.verfBody)
	return append(e.Bytes(), r.args...)
}

// framed prefixes rec with a last-fragment record mark.
func framed(rec []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, 1<<31|uint32(len(rec))), rec...)
}

// readReply reads one single-fragment reply record and returns its body.
func readReply(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		t.Fatalf("reading the reply record mark: %v", err)
	}
	mark := binary.BigEndian.Uint32(hdr[:])
	if mark&(1<<31) == 0 {
		t.Fatalf("reply record mark %#x lacks the last-fragment bit", mark)
	}
	body := make([]byte, mark&^(1<<31))
	if _, err := io.ReadFull(nc, body); err != nil {
		t.Fatalf("reading the reply body: %v", err)
	}
	return body
}

// expectClosed checks that the server closes nc without sending anything.
// A reset counts as closed, because the kernel sends one instead of a FIN
// when the server closes a socket with unread input.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(nc)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading until the server closes: %v (received %x)", err, b)
	}
	if len(b) != 0 {
		t.Fatalf("server sent %x before closing, want nothing", b)
	}
}

// authSysBody encodes an AUTH_SYS credential body without the limits that
// oncrpc.AuthSysCredential enforces, so tests can exceed them.
func authSysBody(machineName string, gids int) []byte {
	e := xdr.NewEncoder(nil)
	e.Uint32(1) // stamp
	e.String(machineName)
	e.Uint32(uint32(os.Getuid()))
	e.Uint32(uint32(os.Getgid()))
	e.Uint32(uint32(gids))
	for i := range gids {
		e.Uint32(uint32(100 + i))
	}
	return e.Bytes()
}
