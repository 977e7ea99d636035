package nfsclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend/localfs"
	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
)

// testServer is a burrow server running in the test process on
// 127.0.0.1, wired as "burrow serve" wires it.
type testServer struct {
	dir  string // the exported directory
	addr string
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	fs, err := localfs.New(dir, localfs.Options{StatePath: filepath.Join(t.TempDir(), "state.db")})
	if err != nil {
		t.Fatal(err)
	}
	srv := oncrpc.NewServer(oncrpc.Options{})
	srv.Register(mount.NewProgram(fs, mount.Options{ExportPath: dir}))
	srv.Register(nfs3.NewProgram(fs, nfs3.Options{}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, oncrpc.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		if err := fs.Close(); err != nil {
			t.Errorf("closing localfs: %v", err)
		}
	})
	return &testServer{dir: dir, addr: l.Addr().String()}
}

// connect dials s, mounts its export and returns the client and the root
// handle.
func connect(t *testing.T, s *testServer) (context.Context, *Client, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	c, err := Dial(ctx, s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m, err := c.Mount(ctx, s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != mount.MNT3_OK {
		t.Fatalf("MNT %s: %v", s.dir, m.Status)
	}
	return ctx, c, m.Root
}

func uint32p(v uint32) *uint32 { return &v }
func uint64p(v uint64) *uint64 { return &v }

// mustCreate creates name in dir with UNCHECKED and mode 0644 and returns
// its handle.
func mustCreate(t *testing.T, ctx context.Context, c *Client, dir []byte, name string) []byte {
	t.Helper()
	r, err := c.Create(ctx, dir, name, CreateHow{Mode: nfs3.UNCHECKED, Attr: Sattr{Mode: uint32p(0o644)}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != nfs3.NFS3_OK {
		t.Fatalf("CREATE %s: %v", name, r.Status)
	}
	if len(r.Handle) == 0 {
		t.Fatalf("CREATE %s returned no handle", name)
	}
	return r.Handle
}

func TestMountAndNull(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)

	if len(root) == 0 || len(root) > nfs3.NFS3_FHSIZE {
		t.Errorf("root handle is %d bytes", len(root))
	}
	if err := c.Null(ctx); err != nil {
		t.Errorf("NULL: %v", err)
	}

	m, err := c.Mount(ctx, filepath.Join(s.dir, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != mount.MNT3ERR_NOENT {
		t.Errorf("MNT of a missing path: %v, want MNT3ERR_NOENT", m.Status)
	}
	if err := c.Unmount(ctx, s.dir); err != nil {
		t.Errorf("UMNT: %v", err)
	}
}

func TestMountFlavors(t *testing.T) {
	s := startServer(t)
	ctx, c, _ := connect(t, s)

	m, err := c.Mount(ctx, s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Flavors) == 0 {
		t.Fatal("MNT returned no auth flavors")
	}
	if m.Flavors[0] != oncrpc.AuthSys {
		t.Errorf("MNT flavors %v, want AUTH_SYS first", m.Flavors)
	}
}

func TestGetAttrLookupAccess(t *testing.T) {
	s := startServer(t)
	if err := os.WriteFile(filepath.Join(s.dir, "hello.txt"), []byte("hello\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	ctx, c, root := connect(t, s)

	ga, err := c.GetAttr(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if ga.Status != nfs3.NFS3_OK || ga.Attr.Type != nfs3.NF3DIR {
		t.Errorf("GETATTR root: %v, type %v", ga.Status, ga.Attr.Type)
	}

	lr, err := c.Lookup(ctx, root, "hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	if lr.Status != nfs3.NFS3_OK {
		t.Fatalf("LOOKUP hello.txt: %v", lr.Status)
	}
	if lr.Attr == nil || lr.Attr.Size != 6 || lr.Attr.Mode != 0o640 || lr.Attr.Type != nfs3.NF3REG {
		t.Errorf("LOOKUP attributes %+v, want a 6-byte regular file of mode 0640", lr.Attr)
	}
	if lr.DirAttr == nil || lr.DirAttr.FileID != ga.Attr.FileID {
		t.Errorf("LOOKUP directory attributes %+v, want file id %d", lr.DirAttr, ga.Attr.FileID)
	}

	fa, err := c.GetAttr(ctx, lr.Handle)
	if err != nil {
		t.Fatal(err)
	}
	if fa.Status != nfs3.NFS3_OK || fa.Attr.FileID != lr.Attr.FileID {
		t.Errorf("GETATTR file: %v, file id %d, want %d", fa.Status, fa.Attr.FileID, lr.Attr.FileID)
	}

	missing, err := c.Lookup(ctx, root, "missing")
	if err != nil {
		t.Fatal(err)
	}
	if missing.Status != nfs3.NFS3ERR_NOENT {
		t.Errorf("LOOKUP missing: %v, want NFS3ERR_NOENT", missing.Status)
	}
	if missing.Handle != nil {
		t.Errorf("failed LOOKUP returned handle %x", missing.Handle)
	}

	ar, err := c.Access(ctx, lr.Handle, ACCESS3_READ|ACCESS3_MODIFY)
	if err != nil {
		t.Fatal(err)
	}
	if ar.Status != nfs3.NFS3_OK {
		t.Fatalf("ACCESS: %v", ar.Status)
	}
	if ar.Access&ACCESS3_READ == 0 {
		t.Errorf("ACCESS granted %#x, want ACCESS3_READ for the owner", ar.Access)
	}
	if ar.Access&^(ACCESS3_READ|ACCESS3_MODIFY) != 0 {
		t.Errorf("ACCESS granted %#x, more than the bits requested", ar.Access)
	}
	if ar.Attr == nil || ar.Attr.FileID != lr.Attr.FileID {
		t.Errorf("ACCESS attributes %+v", ar.Attr)
	}
}

func TestBadHandle(t *testing.T) {
	s := startServer(t)
	ctx, c, _ := connect(t, s)

	r, err := c.GetAttr(ctx, []byte("not a handle of this server"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status == nfs3.NFS3_OK {
		t.Error("GETATTR of a made-up handle succeeded")
	}
	if err := StatusErr("GETATTR", r.Status); err == nil {
		t.Error("StatusErr returned nil for a failure")
	}
}

func TestCreateModes(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)

	// UNCHECKED over an existing file truncates it to the size requested.
	if err := os.WriteFile(filepath.Join(s.dir, "u"), []byte("old data"), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := c.Create(ctx, root, "u", CreateHow{Mode: nfs3.UNCHECKED, Attr: Sattr{Size: uint64p(0)}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != nfs3.NFS3_OK {
		t.Fatalf("UNCHECKED CREATE over a file: %v", u.Status)
	}
	if st, err := os.Stat(filepath.Join(s.dir, "u")); err != nil || st.Size() != 0 {
		t.Errorf("file after UNCHECKED CREATE with size 0: %v, %v", st, err)
	}
	if u.DirWcc.After == nil {
		t.Error("CREATE returned no directory attributes after the call")
	}

	g, err := c.Create(ctx, root, "g", CreateHow{Mode: nfs3.GUARDED, Attr: Sattr{Mode: uint32p(0o600)}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != nfs3.NFS3_OK {
		t.Fatalf("GUARDED CREATE: %v", g.Status)
	}
	if g.Attr == nil || g.Attr.Mode != 0o600 {
		t.Errorf("GUARDED CREATE attributes %+v, want mode 0600", g.Attr)
	}
	g2, err := c.Create(ctx, root, "g", CreateHow{Mode: nfs3.GUARDED})
	if err != nil {
		t.Fatal(err)
	}
	if g2.Status != nfs3.NFS3ERR_EXIST {
		t.Errorf("second GUARDED CREATE: %v, want NFS3ERR_EXIST", g2.Status)
	}
}

func TestCreateExclusiveRetry(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)

	verf := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	first, err := c.Create(ctx, root, "x", CreateHow{Mode: nfs3.EXCLUSIVE, Verifier: verf})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != nfs3.NFS3_OK {
		t.Fatalf("EXCLUSIVE CREATE: %v", first.Status)
	}

	// A retransmission with the same verifier is the same create and
	// succeeds, naming the same file.
	retry, err := c.Create(ctx, root, "x", CreateHow{Mode: nfs3.EXCLUSIVE, Verifier: verf})
	if err != nil {
		t.Fatal(err)
	}
	if retry.Status != nfs3.NFS3_OK {
		t.Fatalf("EXCLUSIVE CREATE retried with the same verifier: %v, want NFS3_OK", retry.Status)
	}
	if first.Handle != nil && retry.Handle != nil && !bytes.Equal(first.Handle, retry.Handle) {
		t.Errorf("retried EXCLUSIVE CREATE returned handle %x, first %x", retry.Handle, first.Handle)
	}

	other := [8]byte{8, 7, 6, 5, 4, 3, 2, 1}
	clash, err := c.Create(ctx, root, "x", CreateHow{Mode: nfs3.EXCLUSIVE, Verifier: other})
	if err != nil {
		t.Fatal(err)
	}
	if clash.Status != nfs3.NFS3ERR_EXIST {
		t.Errorf("EXCLUSIVE CREATE with another verifier: %v, want NFS3ERR_EXIST", clash.Status)
	}
}

func TestWriteCommitRead(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)
	fh := mustCreate(t, ctx, c, root, "data")

	first := bytes.Repeat([]byte("abcdefgh"), 512) // 4 KiB
	w1, err := c.Write(ctx, fh, 0, first, nfs3.UNSTABLE)
	if err != nil {
		t.Fatal(err)
	}
	if w1.Status != nfs3.NFS3_OK || w1.Count != uint32(len(first)) {
		t.Fatalf("UNSTABLE WRITE: %v, count %d", w1.Status, w1.Count)
	}
	if w1.Wcc.After == nil || w1.Wcc.After.Size != uint64(len(first)) {
		t.Errorf("WRITE attributes after: %+v", w1.Wcc.After)
	}

	second := []byte("tail")
	w2, err := c.Write(ctx, fh, uint64(len(first)), second, nfs3.FILE_SYNC)
	if err != nil {
		t.Fatal(err)
	}
	if w2.Status != nfs3.NFS3_OK || w2.Committed != nfs3.FILE_SYNC {
		t.Fatalf("FILE_SYNC WRITE: %v, committed %v", w2.Status, w2.Committed)
	}
	if w2.Verifier != w1.Verifier {
		t.Errorf("write verifier changed from %x to %x without a restart", w1.Verifier, w2.Verifier)
	}

	cm, err := c.Commit(ctx, fh, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cm.Status != nfs3.NFS3_OK {
		t.Fatalf("COMMIT: %v", cm.Status)
	}
	if cm.Verifier != w1.Verifier {
		t.Errorf("COMMIT verifier %x, WRITE verifier %x", cm.Verifier, w1.Verifier)
	}

	want := append(append([]byte{}, first...), second...)
	onDisk, err := os.ReadFile(filepath.Join(s.dir, "data"))
	if err != nil || !bytes.Equal(onDisk, want) {
		t.Errorf("file on disk: %d bytes, %v; want %d bytes", len(onDisk), err, len(want))
	}

	rr, err := c.Read(ctx, fh, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Status != nfs3.NFS3_OK || !rr.EOF {
		t.Fatalf("READ whole file: %v, eof %v", rr.Status, rr.EOF)
	}
	if rr.Count != uint32(len(want)) || !bytes.Equal(rr.Data, want) {
		t.Errorf("READ returned %d bytes (count %d), want %d", len(rr.Data), rr.Count, len(want))
	}

	part, err := c.Read(ctx, fh, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	if part.Status != nfs3.NFS3_OK || string(part.Data) != "abcdefgh" || part.EOF {
		t.Errorf("READ 8 bytes at 8: %v, %q, eof %v", part.Status, part.Data, part.EOF)
	}
}

func TestLargeWriteAndRead(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)
	fh := mustCreate(t, ctx, c, root, "big")

	info, err := c.FSInfo(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != nfs3.NFS3_OK || info.WtMax == 0 || info.RtMax == 0 {
		t.Fatalf("FSINFO: %v, wtmax %d, rtmax %d", info.Status, info.WtMax, info.RtMax)
	}
	size := min(info.WtMax, info.RtMax, 1<<20)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	w, err := c.Write(ctx, fh, 0, data, nfs3.UNSTABLE)
	if err != nil {
		t.Fatal(err)
	}
	if w.Status != nfs3.NFS3_OK || w.Count != size {
		t.Fatalf("WRITE of %d bytes: %v, count %d", size, w.Status, w.Count)
	}
	r, err := c.Read(ctx, fh, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != nfs3.NFS3_OK || !bytes.Equal(r.Data, data) {
		t.Errorf("READ of %d bytes: %v, %d bytes back, equal %v", size, r.Status, len(r.Data), bytes.Equal(r.Data, data))
	}
}

func TestSetAttrGuard(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)
	fh := mustCreate(t, ctx, c, root, "f")

	ga, err := c.GetAttr(ctx, fh)
	if err != nil {
		t.Fatal(err)
	}
	ctime := ga.Attr.Ctime

	ok, err := c.SetAttr(ctx, fh, Sattr{Mode: uint32p(0o600)}, &ctime)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Status != nfs3.NFS3_OK {
		t.Fatalf("SETATTR with the current ctime as guard: %v", ok.Status)
	}
	if ok.Wcc.After == nil || ok.Wcc.After.Mode != 0o600 {
		t.Errorf("SETATTR attributes after: %+v, want mode 0600", ok.Wcc.After)
	}
	if st, err := os.Stat(filepath.Join(s.dir, "f")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode on disk: %v, %v", st.Mode(), err)
	}

	// The chmod above changed the ctime, so the old one is now stale.
	stale, err := c.SetAttr(ctx, fh, Sattr{Mode: uint32p(0o644)}, &ctime)
	if err != nil {
		t.Fatal(err)
	}
	if stale.Status != nfs3.NFS3ERR_NOT_SYNC {
		t.Errorf("SETATTR with a stale ctime guard: %v, want NFS3ERR_NOT_SYNC", stale.Status)
	}
	if st, err := os.Stat(filepath.Join(s.dir, "f")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode on disk after the rejected SETATTR: %v, %v; want 0600", st.Mode(), err)
	}

	mtime := time.Unix(1_000_000_000, 500)
	sized, err := c.SetAttr(ctx, fh, Sattr{Size: uint64p(100), Mtime: SetTime{How: nfs3.SET_TO_CLIENT_TIME, Time: mtime}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sized.Status != nfs3.NFS3_OK {
		t.Fatalf("SETATTR size and mtime without a guard: %v", sized.Status)
	}
	after := sized.Wcc.After
	if after == nil || after.Size != 100 || !after.Mtime.Equal(mtime) {
		t.Errorf("attributes after SETATTR: %+v, want size 100 and mtime %v", after, mtime)
	}
}

func TestMkdirRenameRemoveRmdir(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)

	mk, err := c.Mkdir(ctx, root, "sub", Sattr{Mode: uint32p(0o755)})
	if err != nil {
		t.Fatal(err)
	}
	if mk.Status != nfs3.NFS3_OK || mk.Attr == nil || mk.Attr.Type != nfs3.NF3DIR {
		t.Fatalf("MKDIR: %v, attributes %+v", mk.Status, mk.Attr)
	}
	sub := mk.Handle
	mustCreate(t, ctx, c, sub, "a")

	rn, err := c.Rename(ctx, sub, "a", root, "b")
	if err != nil {
		t.Fatal(err)
	}
	if rn.Status != nfs3.NFS3_OK {
		t.Fatalf("RENAME sub/a to b: %v", rn.Status)
	}
	if rn.FromWcc.After == nil || rn.ToWcc.After == nil {
		t.Error("RENAME returned no directory attributes after the call")
	}
	if _, err := os.Stat(filepath.Join(s.dir, "b")); err != nil {
		t.Errorf("renamed file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "sub", "a")); !os.IsNotExist(err) {
		t.Errorf("source after RENAME: %v, want not found", err)
	}

	mustCreate(t, ctx, c, sub, "c")
	full, err := c.Rmdir(ctx, root, "sub")
	if err != nil {
		t.Fatal(err)
	}
	if full.Status != nfs3.NFS3ERR_NOTEMPTY {
		t.Errorf("RMDIR of a directory with a file: %v, want NFS3ERR_NOTEMPTY", full.Status)
	}

	rm, err := c.Remove(ctx, sub, "c")
	if err != nil {
		t.Fatal(err)
	}
	if rm.Status != nfs3.NFS3_OK {
		t.Errorf("REMOVE sub/c: %v", rm.Status)
	}
	again, err := c.Remove(ctx, sub, "c")
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != nfs3.NFS3ERR_NOENT {
		t.Errorf("second REMOVE sub/c: %v, want NFS3ERR_NOENT", again.Status)
	}

	rd, err := c.Rmdir(ctx, root, "sub")
	if err != nil {
		t.Fatal(err)
	}
	if rd.Status != nfs3.NFS3_OK {
		t.Errorf("RMDIR of the empty directory: %v", rd.Status)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("directory after RMDIR: %v, want not found", err)
	}
}

func TestReadDirPlusCookies(t *testing.T) {
	s := startServer(t)
	const files = 300
	want := make([]string, 0, files)
	for i := range files {
		name := fmt.Sprintf("file-%03d", i)
		want = append(want, name)
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, c, root := connect(t, s)

	// A small maxcount forces several calls, so cookies and the verifier
	// have to carry the listing from one call to the next.
	entries, calls, err := c.ReadDirPlusAll(ctx, root, 1024, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 {
		t.Errorf("listing %d files took %d call, want several with maxcount 4096", files, calls)
	}
	var got []string
	for _, e := range entries {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		got = append(got, e.Name)
		if e.Attr == nil || e.Attr.Size != uint64(len(e.Name)) {
			t.Errorf("entry %s: attributes %+v", e.Name, e.Attr)
		}
		if len(e.Handle) == 0 {
			t.Errorf("entry %s has no handle", e.Name)
		}
	}
	sort.Strings(got)
	if len(got) != len(want) {
		t.Fatalf("listed %d names, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("listed name %d is %q, want %q (duplicates or gaps)", i, got[i], want[i])
		}
	}

	// A handle from READDIRPLUS works like one from LOOKUP.
	for _, e := range entries {
		if e.Name != "file-007" {
			continue
		}
		r, err := c.Read(ctx, e.Handle, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != nfs3.NFS3_OK || string(r.Data) != "file-007" {
			t.Errorf("READ through the READDIRPLUS handle: %v, %q", r.Status, r.Data)
		}
	}
}

func TestReadDirPlusNotDir(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)
	fh := mustCreate(t, ctx, c, root, "plain")

	r, err := c.ReadDirPlus(ctx, fh, 0, [8]byte{}, 4096, 32768)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != nfs3.NFS3ERR_NOTDIR {
		t.Errorf("READDIRPLUS of a file: %v, want NFS3ERR_NOTDIR", r.Status)
	}
	if _, _, err := c.ReadDirPlusAll(ctx, fh, 4096, 32768); err == nil {
		t.Error("ReadDirPlusAll of a file returned no error")
	} else if se := (*StatusError)(nil); !errors.As(err, &se) || se.Status != nfs3.NFS3ERR_NOTDIR {
		t.Errorf("ReadDirPlusAll of a file: %v, want a *StatusError with NFS3ERR_NOTDIR", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)

	const workers = 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			name := fmt.Sprintf("w%d", i)
			r, err := c.Create(ctx, root, name, CreateHow{Mode: nfs3.GUARDED})
			if err == nil {
				err = StatusErr("CREATE", r.Status)
			}
			if err != nil {
				errs <- err
				return
			}
			payload := []byte(name)
			w, err := c.Write(ctx, r.Handle, 0, payload, nfs3.FILE_SYNC)
			if err == nil {
				err = StatusErr("WRITE", w.Status)
			}
			if err != nil {
				errs <- err
				return
			}
			rd, err := c.Read(ctx, r.Handle, 0, 64)
			if err == nil {
				err = StatusErr("READ", rd.Status)
			}
			if err == nil && !bytes.Equal(rd.Data, payload) {
				err = fmt.Errorf("READ of %s returned %q", name, rd.Data)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestWithCredential(t *testing.T) {
	s := startServer(t)
	ctx, c, root := connect(t, s)

	cred, err := oncrpc.AuthSysCredential(oncrpc.SysCred{MachineName: "other", UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
	if err != nil {
		t.Fatal(err)
	}
	other := c.WithCredential(cred)
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing the derived client leaves the shared connection open for
	// both clients.
	if err := c.Null(ctx); err != nil {
		t.Errorf("NULL after closing the derived client: %v", err)
	}
	r, err := other.GetAttr(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != nfs3.NFS3_OK {
		t.Errorf("GETATTR through the derived client: %v", r.Status)
	}
}

func TestClosedClient(t *testing.T) {
	s := startServer(t)
	ctx, c, _ := connect(t, s)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Null(ctx); !errors.Is(err, oncrpc.ErrClientClosed) {
		t.Errorf("NULL after Close: %v, want ErrClientClosed", err)
	}
}
