package localfs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/handle"
)

var (
	ctx  = context.Background()
	cred = &backend.Cred{UID: 1000, GID: 1000}
)

// newTestFS serves a new temporary directory with a private state file.
func newTestFS(t *testing.T) (*FS, string) {
	t.Helper()
	root := t.TempDir()
	fs := openTestFS(t, root, filepath.Join(t.TempDir(), "hints.db"), Options{})
	return fs, root
}

// openTestFS serves root with the hint file statePath and closes it when
// the test ends.
func openTestFS(t *testing.T, root, statePath string, opts Options) *FS {
	t.Helper()
	opts.StatePath = statePath
	fs, err := New(root, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", root, err)
	}
	t.Cleanup(func() {
		if err := fs.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return fs
}

func u32(v uint32) *uint32 { return &v }
func u64(v uint64) *uint64 { return &v }

// mustCreate creates name in dir with mode 0644.
func mustCreate(t *testing.T, fs *FS, dir []byte, name string) []byte {
	t.Helper()
	h, _, _, err := fs.Create(ctx, cred, dir, name, backend.CreateArgs{
		Mode: backend.CreateGuarded,
		Attr: backend.SetAttr{Mode: u32(0o644)},
	})
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	return h
}

func mustMkdir(t *testing.T, fs *FS, dir []byte, name string) []byte {
	t.Helper()
	h, _, _, err := fs.Mkdir(ctx, cred, dir, name, backend.SetAttr{Mode: u32(0o755)})
	if err != nil {
		t.Fatalf("Mkdir(%q): %v", name, err)
	}
	return h
}

func mustWrite(t *testing.T, fs *FS, h []byte, off uint64, data string) {
	t.Helper()
	n, _, _, err := fs.Write(ctx, cred, h, off, []byte(data), backend.FileSync)
	if err != nil || n != len(data) {
		t.Fatalf("Write(%q) = %d, %v", data, n, err)
	}
}

func mustRead(t *testing.T, fs *FS, h []byte) string {
	t.Helper()
	buf := make([]byte, 1<<16)
	n, eof, _, err := fs.Read(ctx, cred, h, 0, buf)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !eof {
		t.Fatalf("Read of a small file returned eof false")
	}
	return string(buf[:n])
}

func inodeOf(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestRootAttr(t *testing.T) {
	fs, root := newTestFS(t)
	a, err := fs.GetAttr(ctx, cred, fs.Root())
	if err != nil {
		t.Fatal(err)
	}
	if a.Type != backend.TypeDir {
		t.Errorf("root type = %d, want directory", a.Type)
	}
	if a.FileID != inodeOf(t, root) {
		t.Errorf("root FileID = %d, want inode %d", a.FileID, inodeOf(t, root))
	}
	if a.FSID == 0 {
		t.Error("FSID is 0")
	}
	if len(fs.Root()) > backend.MaxHandleSize {
		t.Errorf("root handle has %d bytes", len(fs.Root()))
	}
}

func TestBadHandle(t *testing.T) {
	fs, _ := newTestFS(t)
	for _, h := range [][]byte{nil, {1, 2, 3}, make([]byte, 65)} {
		if _, err := fs.GetAttr(ctx, cred, h); !errors.Is(err, backend.ErrBadHandle) {
			t.Errorf("GetAttr(%x) error = %v, want ErrBadHandle", h, err)
		}
	}
}

func TestCreateWriteRead(t *testing.T) {
	fs, root := newTestFS(t)
	h, attr, wcc, err := fs.Create(ctx, cred, fs.Root(), "f", backend.CreateArgs{
		Mode: backend.CreateUnchecked,
		Attr: backend.SetAttr{Mode: u32(0o666)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if attr == nil || attr.Mode != 0o666 {
		t.Errorf("created mode = %v, want 0666 regardless of umask", attr)
	}
	if wcc.Before == nil || wcc.After == nil {
		t.Errorf("directory wcc incomplete: %+v", wcc)
	}
	if fi, err := os.Stat(filepath.Join(root, "f")); err != nil || fi.Mode().Perm() != 0o666 {
		t.Errorf("file on disk: %v, %v", fi, err)
	}

	for _, stable := range []backend.Stable{backend.Unstable, backend.DataSync, backend.FileSync} {
		n, committed, wcc, err := fs.Write(ctx, cred, h, 0, []byte("hello"), stable)
		if err != nil || n != 5 {
			t.Fatalf("Write stable=%d: %d, %v", stable, n, err)
		}
		if committed != stable {
			t.Errorf("Write stable=%d committed %d", stable, committed)
		}
		if wcc.Before == nil || wcc.After == nil || wcc.After.Size != 5 {
			t.Errorf("Write wcc = %+v", wcc)
		}
	}
	mustWrite(t, fs, h, 5, " world")

	buf := make([]byte, 5)
	n, eof, _, err := fs.Read(ctx, cred, h, 0, buf)
	if err != nil || n != 5 || eof || string(buf) != "hello" {
		t.Errorf("Read first 5 = %d %v %q %v", n, eof, buf[:n], err)
	}
	n, eof, attr, err = fs.Read(ctx, cred, h, 6, make([]byte, 100))
	if err != nil || n != 5 || !eof {
		t.Errorf("Read tail = %d, eof %v, %v", n, eof, err)
	}
	if attr == nil || attr.Size != 11 {
		t.Errorf("Read attr = %+v", attr)
	}
	n, eof, _, err = fs.Read(ctx, cred, h, 100, make([]byte, 10))
	if err != nil || n != 0 || !eof {
		t.Errorf("Read past end = %d, %v, %v", n, eof, err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "f")); string(got) != "hello world" {
		t.Errorf("file content = %q", got)
	}
	if _, err := fs.Commit(ctx, cred, h, 0, 0); err != nil {
		t.Errorf("Commit: %v", err)
	}
}

func TestCreateModes(t *testing.T) {
	fs, root := newTestFS(t)
	mustCreate(t, fs, fs.Root(), "g")
	_, _, _, err := fs.Create(ctx, cred, fs.Root(), "g", backend.CreateArgs{Mode: backend.CreateGuarded})
	if !errors.Is(err, unix.EEXIST) {
		t.Errorf("guarded create of existing file: %v, want EEXIST", err)
	}

	if err := os.WriteFile(filepath.Join(root, "u"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, attr, _, err := fs.Create(ctx, cred, fs.Root(), "u", backend.CreateArgs{
		Mode: backend.CreateUnchecked, Attr: backend.SetAttr{Mode: u32(0o777)},
	})
	if err != nil {
		t.Fatalf("unchecked create of existing file: %v", err)
	}
	if attr.Size != 4 || attr.Mode != 0o600 {
		t.Errorf("unchecked create without size changed the file: %+v", attr)
	}
	_, attr, _, err = fs.Create(ctx, cred, fs.Root(), "u", backend.CreateArgs{
		Mode: backend.CreateUnchecked, Attr: backend.SetAttr{Size: u64(0)},
	})
	if err != nil || attr.Size != 0 {
		t.Errorf("unchecked create with size 0: %+v, %v", attr, err)
	}
	if a, _ := fs.GetAttr(ctx, cred, h); a.Size != 0 {
		t.Errorf("size after truncating create = %d", a.Size)
	}

	mustMkdir(t, fs, fs.Root(), "d")
	_, _, _, err = fs.Create(ctx, cred, fs.Root(), "d", backend.CreateArgs{Mode: backend.CreateUnchecked})
	if !errors.Is(err, unix.EEXIST) {
		t.Errorf("unchecked create over a directory: %v, want EEXIST", err)
	}
}

func TestExclusiveCreate(t *testing.T) {
	fs, root := newTestFS(t)
	v := [8]byte{1, 2, 3, 4, 0xf5, 6, 7, 8}
	args := backend.CreateArgs{Mode: backend.CreateExclusive, Verifier: v}
	h1, attr, _, err := fs.Create(ctx, cred, fs.Root(), "x", args)
	if err != nil {
		t.Fatal(err)
	}
	mtime, atime := exclusiveTimes(v)
	if attr.Mtime.Unix() != mtime || attr.Atime.Unix() != atime {
		t.Errorf("verifier not stored in times: mtime %v atime %v", attr.Mtime, attr.Atime)
	}
	if atime < 0 || atime > 0x7fffffff {
		t.Errorf("atime seconds %d out of the positive 31-bit range", atime)
	}

	h2, _, _, err := fs.Create(ctx, cred, fs.Root(), "x", args)
	if err != nil {
		t.Fatalf("retry with the same verifier: %v", err)
	}
	if !bytes.Equal(h1, h2) {
		t.Error("retry returned another handle")
	}

	other := args
	other.Verifier[0]++
	if _, _, _, err := fs.Create(ctx, cred, fs.Root(), "x", other); !errors.Is(err, unix.EEXIST) {
		t.Errorf("create with another verifier: %v, want EEXIST", err)
	}

	// The client's SETATTR after an exclusive create replaces the times,
	// after which even the same verifier is a conflict.
	_, err = fs.SetAttr(ctx, cred, h1, backend.SetAttr{
		Mode: u32(0o640), Mtime: backend.SetTime{How: backend.TimeServer},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := fs.Create(ctx, cred, fs.Root(), "x", args); !errors.Is(err, unix.EEXIST) {
		t.Errorf("create after SETATTR: %v, want EEXIST", err)
	}
	if fi, _ := os.Stat(filepath.Join(root, "x")); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after SETATTR = %v", fi.Mode())
	}
}

func TestLookupDots(t *testing.T) {
	fs, _ := newTestFS(t)
	root := fs.Root()
	for _, name := range []string{".", ".."} {
		h, attr, dirAttr, err := fs.Lookup(ctx, cred, root, name)
		if err != nil {
			t.Fatalf("Lookup(root, %q): %v", name, err)
		}
		if !bytes.Equal(h, root) || attr.Type != backend.TypeDir || dirAttr == nil {
			t.Errorf("Lookup(root, %q) did not return the root", name)
		}
	}
	a := mustMkdir(t, fs, root, "a")
	b := mustMkdir(t, fs, a, "b")
	if h, _, _, err := fs.Lookup(ctx, cred, b, ".."); err != nil || !bytes.Equal(h, a) {
		t.Errorf("Lookup(a/b, ..) = %x, %v, want a", h, err)
	}
	if h, _, _, err := fs.Lookup(ctx, cred, a, ".."); err != nil || !bytes.Equal(h, root) {
		t.Errorf("Lookup(a, ..) = %x, %v, want root", h, err)
	}
	if h, _, _, err := fs.Lookup(ctx, cred, root, "a"); err != nil || !bytes.Equal(h, a) {
		t.Errorf("Lookup(root, a) = %x, %v", h, err)
	}
	if _, _, _, err := fs.Lookup(ctx, cred, root, "missing"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Lookup of a missing name: %v, want ENOENT", err)
	}
	f := mustCreate(t, fs, root, "f")
	if _, _, _, err := fs.Lookup(ctx, cred, f, "x"); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("Lookup in a file: %v, want ENOTDIR", err)
	}
}

func TestInvalidNames(t *testing.T) {
	fs, _ := newTestFS(t)
	root := fs.Root()
	long := string(bytes.Repeat([]byte("n"), 256))
	cases := []struct {
		name string
		want error
	}{
		{"", unix.EINVAL},
		{"a/b", unix.EINVAL},
		{"../etc", unix.EINVAL},
		{"/etc", unix.EINVAL},
		{"a\x00b", unix.EINVAL},
		{long, unix.ENAMETOOLONG},
	}
	for _, tc := range cases {
		if _, _, _, err := fs.Lookup(ctx, cred, root, tc.name); !errors.Is(err, tc.want) {
			t.Errorf("Lookup(%q): %v, want %v", tc.name, err, tc.want)
		}
		if _, _, _, err := fs.Create(ctx, cred, root, tc.name, backend.CreateArgs{}); !errors.Is(err, tc.want) {
			t.Errorf("Create(%q): %v, want %v", tc.name, err, tc.want)
		}
		if _, err := fs.Remove(ctx, cred, root, tc.name); !errors.Is(err, tc.want) {
			t.Errorf("Remove(%q): %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, name := range []string{".", ".."} {
		if _, _, _, err := fs.Mkdir(ctx, cred, root, name, backend.SetAttr{}); !errors.Is(err, unix.EEXIST) {
			t.Errorf("Mkdir(%q): %v, want EEXIST", name, err)
		}
		if _, err := fs.Rmdir(ctx, cred, root, name); !errors.Is(err, unix.EINVAL) {
			t.Errorf("Rmdir(%q): %v, want EINVAL", name, err)
		}
	}
	if _, err := fs.Remove(ctx, cred, root, string(bytes.Repeat([]byte("n"), 255))); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Remove of a 255-byte name: %v, want ENOENT", err)
	}
}

func TestRemoveAndRmdir(t *testing.T) {
	fs, root := newTestFS(t)
	d := mustMkdir(t, fs, fs.Root(), "d")
	f := mustCreate(t, fs, d, "f")
	mustWrite(t, fs, f, 0, "x")

	if _, err := fs.Rmdir(ctx, cred, fs.Root(), "d"); !errors.Is(err, unix.ENOTEMPTY) {
		t.Errorf("Rmdir of non-empty directory: %v, want ENOTEMPTY", err)
	}
	if _, err := fs.Remove(ctx, cred, fs.Root(), "d"); !errors.Is(err, unix.EISDIR) {
		t.Errorf("Remove of a directory: %v, want EISDIR", err)
	}
	if _, err := fs.Rmdir(ctx, cred, d, "f"); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("Rmdir of a file: %v, want ENOTDIR", err)
	}
	wcc, err := fs.Remove(ctx, cred, d, "f")
	if err != nil {
		t.Fatal(err)
	}
	if wcc.Before == nil || wcc.After == nil || !wcc.After.Mtime.After(wcc.Before.Mtime) && wcc.After.Mtime.Equal(wcc.Before.Mtime) && wcc.After.Ctime.Equal(wcc.Before.Ctime) {
		t.Errorf("Remove wcc shows no change: %+v", wcc)
	}
	if _, err := fs.GetAttr(ctx, cred, f); !errors.Is(err, backend.ErrStale) {
		t.Errorf("GetAttr of removed file: %v, want ErrStale", err)
	}
	if _, _, _, err := fs.Read(ctx, cred, f, 0, make([]byte, 1)); !errors.Is(err, backend.ErrStale) {
		t.Errorf("Read of removed file: %v, want ErrStale", err)
	}
	if _, err := fs.Rmdir(ctx, cred, fs.Root(), "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "d")); !os.IsNotExist(err) {
		t.Errorf("directory still there: %v", err)
	}
	if _, err := fs.GetAttr(ctx, cred, d); !errors.Is(err, backend.ErrStale) {
		t.Errorf("GetAttr of removed directory: %v, want ErrStale", err)
	}
}

func TestRemoveWhileCachedStale(t *testing.T) {
	fs, root := newTestFS(t)
	f := mustCreate(t, fs, fs.Root(), "f")
	mustWrite(t, fs, f, 0, "cached")
	// Remove it behind the backend's back: the cached descriptor must not
	// keep serving it.
	if err := os.Remove(filepath.Join(root, "f")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := fs.Read(ctx, cred, f, 0, make([]byte, 10)); !errors.Is(err, backend.ErrStale) {
		t.Errorf("Read after out-of-band removal: %v, want ErrStale", err)
	}
	if _, _, _, err := fs.Write(ctx, cred, f, 0, []byte("x"), backend.Unstable); !errors.Is(err, backend.ErrStale) {
		t.Errorf("Write after out-of-band removal: %v, want ErrStale", err)
	}
}

func TestRenameKeepsHandles(t *testing.T) {
	fs, root := newTestFS(t)
	a := mustMkdir(t, fs, fs.Root(), "a")
	b := mustMkdir(t, fs, a, "b")
	f := mustCreate(t, fs, b, "f")
	mustWrite(t, fs, f, 0, "content")
	other := mustMkdir(t, fs, fs.Root(), "other")

	// Rename the file itself, into another directory.
	fromWcc, toWcc, err := fs.Rename(ctx, cred, b, "f", other, "g")
	if err != nil {
		t.Fatal(err)
	}
	if fromWcc.After == nil || toWcc.After == nil {
		t.Errorf("Rename wcc incomplete: %+v %+v", fromWcc, toWcc)
	}
	fs.files.closeAll() // force a path resolution
	if got := mustRead(t, fs, f); got != "content" {
		t.Errorf("after file rename read %q", got)
	}

	// Rename an ancestor; the file's own hint is unchanged.
	if _, _, err := fs.Rename(ctx, cred, fs.Root(), "other", a, "moved"); err != nil {
		t.Fatal(err)
	}
	fs.files.closeAll()
	if got := mustRead(t, fs, f); got != "content" {
		t.Errorf("after ancestor rename read %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "a/moved/g")); err != nil {
		t.Fatal(err)
	}
	if a, err := fs.GetAttr(ctx, cred, other); err != nil || a.Type != backend.TypeDir {
		t.Errorf("moved directory handle: %+v, %v", a, err)
	}
}

func TestRenameReplaces(t *testing.T) {
	fs, _ := newTestFS(t)
	src := mustCreate(t, fs, fs.Root(), "src")
	mustWrite(t, fs, src, 0, "new")
	dst := mustCreate(t, fs, fs.Root(), "dst")
	mustWrite(t, fs, dst, 0, "old")
	if _, _, err := fs.Rename(ctx, cred, fs.Root(), "src", fs.Root(), "dst"); err != nil {
		t.Fatal(err)
	}
	h, _, _, err := fs.Lookup(ctx, cred, fs.Root(), "dst")
	if err != nil || !bytes.Equal(h, src) {
		t.Errorf("dst now has handle %x, want the source's", h)
	}
	if _, err := fs.GetAttr(ctx, cred, dst); !errors.Is(err, backend.ErrStale) {
		t.Errorf("replaced file handle: %v, want ErrStale", err)
	}

	d1 := mustMkdir(t, fs, fs.Root(), "d1")
	mustMkdir(t, fs, fs.Root(), "empty")
	full := mustMkdir(t, fs, fs.Root(), "full")
	mustCreate(t, fs, full, "x")
	if _, _, err := fs.Rename(ctx, cred, fs.Root(), "d1", fs.Root(), "full"); !errors.Is(err, unix.ENOTEMPTY) {
		t.Errorf("rename over non-empty directory: %v, want ENOTEMPTY", err)
	}
	if _, _, err := fs.Rename(ctx, cred, fs.Root(), "d1", fs.Root(), "empty"); err != nil {
		t.Errorf("rename over empty directory: %v", err)
	}
	if h, _, _, _ := fs.Lookup(ctx, cred, fs.Root(), "empty"); !bytes.Equal(h, d1) {
		t.Error("empty was not replaced by d1")
	}
	if _, _, err := fs.Rename(ctx, cred, fs.Root(), "empty", d1, "sub"); !errors.Is(err, unix.EINVAL) {
		t.Errorf("rename of a directory into itself: %v, want EINVAL", err)
	}
	if _, _, err := fs.Rename(ctx, cred, fs.Root(), "nothing", fs.Root(), "x"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("rename of missing name: %v, want ENOENT", err)
	}
}

func TestHandleSurvivesRestart(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(t.TempDir(), "hints.db")
	fs1, err := New(root, Options{StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	d := mustMkdir(t, fs1, fs1.Root(), "d")
	f := mustCreate(t, fs1, d, "f")
	mustWrite(t, fs1, f, 0, "persist")
	rootHandle := fs1.Root()
	if err := fs1.Close(); err != nil {
		t.Fatal(err)
	}

	fs2 := openTestFS(t, root, state, Options{})
	if !bytes.Equal(fs2.Root(), rootHandle) {
		t.Error("root handle changed across restart")
	}
	if got := mustRead(t, fs2, f); got != "persist" {
		t.Errorf("read after restart = %q", got)
	}

	// A lost state file: the handle is still valid and found by search.
	fs3 := openTestFS(t, root, filepath.Join(t.TempDir(), "fresh.db"), Options{})
	if got := mustRead(t, fs3, f); got != "persist" {
		t.Errorf("read with a fresh state file = %q", got)
	}
	if h, ok := fs3.hints.Get(inodeOf(t, filepath.Join(root, "d/f"))); !ok || h.Name != "f" {
		t.Errorf("search did not record the hint: %+v %v", h, ok)
	}
}

func TestOutOfBandRename(t *testing.T) {
	fs, root := newTestFS(t)
	a := mustMkdir(t, fs, fs.Root(), "a")
	b := mustMkdir(t, fs, a, "b")
	f := mustCreate(t, fs, b, "f")
	mustWrite(t, fs, f, 0, "found")
	fs.files.closeAll()

	if err := os.MkdirAll(filepath.Join(root, "x/y"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "a/b/f"), filepath.Join(root, "x/y/renamed")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "a"), filepath.Join(root, "x/a2")); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, fs, f); got != "found" {
		t.Errorf("read after out-of-band rename = %q", got)
	}
	h, ok := fs.hints.Get(inodeOf(t, filepath.Join(root, "x/y/renamed")))
	if !ok || h.Name != "renamed" || h.Parent != inodeOf(t, filepath.Join(root, "x/y")) {
		t.Errorf("hint after search = %+v, %v", h, ok)
	}
	if attr, err := fs.GetAttr(ctx, cred, b); err != nil || attr.Type != backend.TypeDir {
		t.Errorf("GetAttr of moved directory: %v", err)
	}
}

func TestInodeReuseIsStale(t *testing.T) {
	fs, root := newTestFS(t)
	old := mustCreate(t, fs, fs.Root(), "victim")
	oldIno := inodeOf(t, filepath.Join(root, "victim"))
	if _, err := fs.Remove(ctx, cred, fs.Root(), "victim"); err != nil {
		t.Fatal(err)
	}
	var reused []byte
	for i := 0; i < 2000 && reused == nil; i++ {
		name := "n" + string(rune('a'+i%26)) + time.Now().Format("150405.000000000")
		h := mustCreate(t, fs, fs.Root(), name)
		if inodeOf(t, filepath.Join(root, name)) == oldIno {
			reused = h
		}
	}
	if reused == nil {
		t.Skip("the file system did not reuse the inode number within 2000 creates")
	}
	if _, err := fs.GetAttr(ctx, cred, old); !errors.Is(err, backend.ErrStale) {
		t.Errorf("old handle of a reused inode: %v, want ErrStale", err)
	}
	if a, err := fs.GetAttr(ctx, cred, reused); err != nil || a.FileID != oldIno {
		t.Errorf("new handle of the reused inode: %+v, %v", a, err)
	}
}

func TestGenerationDiffers(t *testing.T) {
	fs, _ := newTestFS(t)
	h := mustCreate(t, fs, fs.Root(), "f")
	id, err := handle.Decode(fs.key, h)
	if err != nil {
		t.Fatal(err)
	}
	if fs.gen != genKernelHandle {
		t.Logf("generation source is %d, not kernel handles", fs.gen)
	}
	forged := fs.encode(handle.ID{Ino: id.Ino, Gen: id.Gen + 1})
	if _, err := fs.GetAttr(ctx, cred, forged); !errors.Is(err, backend.ErrStale) {
		t.Errorf("handle with wrong generation: %v, want ErrStale", err)
	}
	missing := fs.encode(handle.ID{Ino: 1 << 40, Gen: 1})
	if _, err := fs.GetAttr(ctx, cred, missing); !errors.Is(err, backend.ErrStale) {
		t.Errorf("handle of a missing inode: %v, want ErrStale", err)
	}
}

func TestHandlesWithSmallHintCache(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(t.TempDir(), "h.db")
	fs := openTestFS(t, root, state, Options{HintEntries: 8})
	want := map[string][]byte{}
	dir := fs.Root()
	for depth := 0; depth < 4; depth++ {
		dir = mustMkdir(t, fs, dir, "level")
		for i := 0; i < 20; i++ {
			name := string(rune('a'+depth)) + string(rune('a'+i))
			h := mustCreate(t, fs, dir, name)
			mustWrite(t, fs, h, 0, name)
			want[name] = h
		}
	}
	fs.files.closeAll()
	for name, h := range want {
		if got := mustRead(t, fs, h); got != name {
			t.Errorf("%s: read %q", name, got)
		}
	}
}

func TestCachedFileMovedOutIsStale(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "export")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fs := openTestFS(t, root, filepath.Join(t.TempDir(), "h.db"), Options{})
	h := mustCreate(t, fs, fs.Root(), "f")
	if _, _, _, err := fs.Write(ctx, cred, h, 0, []byte("inside"), backend.Unstable); err != nil {
		t.Fatal(err)
	}

	// The descriptor is now cached. A process in the VM moves the file out.
	if err := os.Rename(filepath.Join(root, "f"), filepath.Join(outside, "f")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if _, _, _, err := fs.Read(ctx, cred, h, 0, buf); !errors.Is(err, backend.ErrStale) {
		t.Errorf("READ of a file moved out of the export: err = %v, want ErrStale", err)
	}
	if _, _, _, err := fs.Write(ctx, cred, h, 0, []byte("XX"), backend.FileSync); !errors.Is(err, backend.ErrStale) {
		t.Errorf("WRITE of a file moved out of the export: err = %v, want ErrStale", err)
	}
	data, err := os.ReadFile(filepath.Join(outside, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "inside" {
		t.Errorf("file outside the export changed to %q", data)
	}

	// Moved back in, the same handle works again.
	if err := os.Rename(filepath.Join(outside, "f"), filepath.Join(root, "g")); err != nil {
		t.Fatal(err)
	}
	if n, _, _, err := fs.Read(ctx, cred, h, 0, buf); err != nil || string(buf[:n]) != "inside" {
		t.Errorf("READ after moving back: %q, %v", buf[:n], err)
	}
}

func TestCachedFileAfterExportRename(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "export")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	fs := openTestFS(t, root, filepath.Join(t.TempDir(), "h.db"), Options{})
	h := mustCreate(t, fs, fs.Root(), "f")
	if _, _, _, err := fs.Write(ctx, cred, h, 0, []byte("data"), backend.Unstable); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(root, filepath.Join(base, "renamed")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, _, _, err := fs.Read(ctx, cred, h, 0, buf); err != nil || string(buf[:n]) != "data" {
		t.Errorf("READ after the export directory was renamed: %q, %v", buf[:n], err)
	}
}
