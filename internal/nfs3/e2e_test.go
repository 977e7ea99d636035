package nfs3

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend/localfs"
	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// TestEndToEndTCP serves a temporary directory with MOUNT and NFS over
// 127.0.0.1 and drives a mount, a file round trip and a listing through
// the oncrpc client.
func TestEndToEndTCP(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello, burrow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := localfs.New(dir, localfs.Options{StatePath: filepath.Join(t.TempDir(), "hints")})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()

	srv := oncrpc.NewServer(oncrpc.Options{})
	srv.Register(NewProgram(fs, Options{}))
	srv.Register(mount.NewProgram(fs, mount.Options{ExportPath: dir}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, oncrpc.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := oncrpc.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	cred, err := oncrpc.AuthSysCredential(oncrpc.SysCred{MachineName: "host", UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
	if err != nil {
		t.Fatal(err)
	}
	call := func(prog, vers, proc uint32, args []byte) *xdr.Decoder {
		t.Helper()
		res, err := client.Call(ctx, prog, vers, proc, cred, args)
		if err != nil {
			t.Fatalf("call %d/%d/%d: %v", prog, vers, proc, err)
		}
		return xdr.NewDecoder(res)
	}

	d := call(mount.Program, mount.Version, mount.ProcMnt, encodeArgs(func(e *xdr.Encoder) { e.String(dir) }))
	if st := mount.Mountstat3(d.Uint32()); st != mount.MNT3_OK {
		t.Fatalf("MNT %s: %v", dir, st)
	}
	root := bytes.Clone(d.Opaque(NFS3_FHSIZE))
	if n := d.Uint32(); n != 1 || d.Uint32() != oncrpc.AuthSys {
		t.Errorf("MNT flavors: want exactly AUTH_SYS")
	}
	checkDone(t, d)

	d = call(Program, Version, ProcLookup, encodeArgs(func(e *xdr.Encoder) {
		putDirOp(e, &dirOpArgs{dir: root, name: "hello.txt"})
	}))
	if st := readStatus(d); st != NFS3_OK {
		t.Fatalf("LOOKUP hello.txt: %v", st)
	}
	file := bytes.Clone(d.Opaque(NFS3_FHSIZE))

	d = call(Program, Version, ProcRead, encodeArgs(func(e *xdr.Encoder) {
		putReadArgs(e, &readArgs{fh: file, count: 4096})
	}))
	if st := readStatus(d); st != NFS3_OK {
		t.Fatalf("READ: %v", st)
	}
	readPostOpAttr(d)
	d.Uint32()
	eof := d.Bool()
	if data := d.Opaque(rtmax); string(data) != "hello, burrow\n" || !eof {
		t.Errorf("READ returned %q, eof %v", data, eof)
	}
	checkDone(t, d)

	big := bytes.Repeat([]byte{0x5a}, 300000)
	d = call(Program, Version, ProcWrite, encodeArgs(func(e *xdr.Encoder) {
		putWriteArgs(e, &writeArgs{fh: file, offset: 0, count: uint32(len(big)), stable: FILE_SYNC, data: big})
	}))
	if st := readStatus(d); st != NFS3_OK {
		t.Fatalf("WRITE: %v", st)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "hello.txt")); err != nil || !bytes.Equal(got, big) {
		t.Errorf("file after WRITE: %d bytes, %v", len(got), err)
	}

	d = call(Program, Version, ProcReaddirplus, encodeArgs(func(e *xdr.Encoder) {
		putReaddirplusArgs(e, &readdirArgs{fh: root, dircount: 4096, maxcount: 32768})
	}))
	if st := readStatus(d); st != NFS3_OK {
		t.Fatalf("READDIRPLUS: %v", st)
	}
	readPostOpAttr(d)
	d.Fixed(8)
	found := false
	for d.Bool() {
		d.Uint64()
		name := d.String(maxNameLen)
		d.Uint64()
		a := readPostOpAttr(d)
		h := readPostOpFH(d)
		if name == "hello.txt" {
			found = true
			if a == nil || a.Size != uint64(len(big)) || !bytes.Equal(h, file) {
				t.Errorf("READDIRPLUS hello.txt: attributes %+v, handle %x", a, h)
			}
		}
	}
	if !d.Bool() {
		t.Error("READDIRPLUS of a one-file directory did not reach eof")
	}
	checkDone(t, d)
	if !found {
		t.Error("READDIRPLUS did not list hello.txt")
	}

	// Truncated arguments come back as GARBAGE_ARGS over the wire.
	_, err = client.Call(ctx, Program, Version, ProcGetattr, cred, []byte{0, 0, 0, 8, 1})
	var acceptErr *oncrpc.AcceptError
	if !errors.As(err, &acceptErr) || acceptErr.Stat != oncrpc.GarbageArgs {
		t.Errorf("GETATTR with truncated arguments: %v, want GARBAGE_ARGS", err)
	}
}
