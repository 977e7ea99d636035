package localfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/handle"
)

// newConfinedFS serves base/export and creates base/outside/secret next to
// it, so that escapes have something to find.
func newConfinedFS(t *testing.T) (fs *FS, export, outside string) {
	t.Helper()
	base := t.TempDir()
	export = filepath.Join(base, "export")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{export, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs = openTestFS(t, export, filepath.Join(t.TempDir(), "h.db"), Options{})
	return fs, export, outside
}

func TestSymlinksNotFollowed(t *testing.T) {
	fs, export, outside := newConfinedFS(t)
	links := map[string]string{
		"abs": outside,
		"rel": "../outside",
		"dot": "..",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(export, name)); err != nil {
			t.Fatal(err)
		}
		h, attr, _, err := fs.Lookup(ctx, cred, fs.Root(), name)
		if err != nil {
			t.Fatalf("Lookup(%s): %v", name, err)
		}
		if attr.Type != backend.TypeSymlink {
			t.Errorf("%s: Lookup followed the link (type %d)", name, attr.Type)
		}
		if _, _, _, err := fs.Lookup(ctx, cred, h, "secret"); !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("Lookup through %s: %v, want ENOTDIR", name, err)
		}
		if _, err := fs.ReadDir(ctx, cred, h, backend.ReadDirArgs{MaxEntries: 10}); !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("ReadDir through %s: %v, want ENOTDIR", name, err)
		}
		if _, _, _, err := fs.Create(ctx, cred, h, "planted", backend.CreateArgs{}); !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("Create through %s: %v, want ENOTDIR", name, err)
		}
		if _, _, _, err := fs.Read(ctx, cred, h, 0, make([]byte, 10)); !errors.Is(err, unix.EINVAL) {
			t.Errorf("Read of %s: %v, want EINVAL", name, err)
		}
		if _, _, _, err := fs.Write(ctx, cred, h, 0, []byte("x"), backend.FileSync); !errors.Is(err, unix.EINVAL) {
			t.Errorf("Write of %s: %v, want EINVAL", name, err)
		}
		if got, _, err := fs.Readlink(ctx, cred, h); err != nil || got != target {
			t.Errorf("Readlink(%s) = %q, %v", name, got, err)
		}
	}

	// Unchecked create over a symlink must not create or truncate its
	// target.
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(export, "tosecret")); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := fs.Create(ctx, cred, fs.Root(), "tosecret", backend.CreateArgs{
		Mode: backend.CreateUnchecked, Attr: backend.SetAttr{Size: u64(0)},
	})
	if err == nil {
		t.Error("unchecked create over a symlink succeeded")
	}
	if got, _ := os.ReadFile(filepath.Join(outside, "secret")); string(got) != "outside" {
		t.Errorf("file outside the export changed to %q", got)
	}
	if _, err := os.Lstat(filepath.Join(outside, "planted")); err == nil {
		t.Error("a file was planted outside the export")
	}
}

func TestDirectorySwappedForSymlink(t *testing.T) {
	fs, export, outside := newConfinedFS(t)
	d := mustMkdir(t, fs, fs.Root(), "d")
	f := mustCreate(t, fs, d, "secret")
	mustWrite(t, fs, f, 0, "inside")
	fs.files.closeAll()

	// Between two calls, d becomes a symlink to the outside directory,
	// which has a file of the same name.
	if err := os.Rename(filepath.Join(export, "d"), filepath.Join(export, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(export, "d")); err != nil {
		t.Fatal(err)
	}

	if got := mustRead(t, fs, f); got != "inside" {
		t.Errorf("read through swapped directory = %q, want the inside file", got)
	}
	h, _, _, err := fs.Lookup(ctx, cred, d, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h, f) {
		t.Error("Lookup in the swapped directory returned another object")
	}
	if _, _, _, err := fs.Create(ctx, cred, d, "planted", backend.CreateArgs{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(outside, "planted")); err == nil {
		t.Error("Create through a swapped directory wrote outside the export")
	}
	if _, err := os.Lstat(filepath.Join(export, "moved/planted")); err != nil {
		t.Errorf("Create did not follow the directory to its new name: %v", err)
	}
}

func TestHandleOutsideExportIsStale(t *testing.T) {
	fs, export, outside := newConfinedFS(t)
	if err := os.Symlink(outside, filepath.Join(export, "esc")); err != nil {
		t.Fatal(err)
	}
	// Forge a handle for the outside file with its real generation and a
	// hint that leads through the symlink.
	secret := filepath.Join(outside, "secret")
	fd, err := unix.Open(secret, unix.O_PATH, 0)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := fs.generation(fd)
	unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
	ino := inodeOf(t, secret)
	escIno := inodeOf(t, filepath.Join(export, "esc"))
	fs.hints.Put(escIno, handle.Hint{Parent: fs.rootIno, Name: "esc"})
	fs.hints.Put(ino, handle.Hint{Parent: escIno, Name: "secret"})
	forged := fs.encode(handle.ID{Ino: ino, Gen: gen})

	if _, err := fs.GetAttr(ctx, cred, forged); !errors.Is(err, backend.ErrStale) {
		t.Errorf("GetAttr of an outside object: %v, want ErrStale", err)
	}
	if _, _, _, err := fs.Read(ctx, cred, forged, 0, make([]byte, 10)); !errors.Is(err, backend.ErrStale) {
		t.Errorf("Read of an outside object: %v, want ErrStale", err)
	}

	// A hint whose name is not one component is ignored.
	fs.hints.Put(ino, handle.Hint{Parent: fs.rootIno, Name: "../outside/secret"})
	if _, err := fs.GetAttr(ctx, cred, forged); !errors.Is(err, backend.ErrStale) {
		t.Errorf("GetAttr with a '..' hint: %v, want ErrStale", err)
	}
}

func TestMountPointNotCrossed(t *testing.T) {
	fs, export, _ := newConfinedFS(t)
	mnt := filepath.Join(export, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(mnt, "inner"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	if _, _, _, err := fs.Lookup(ctx, cred, fs.Root(), "mnt"); !errors.Is(err, unix.EACCES) {
		t.Errorf("Lookup of a mount point: %v, want EACCES", err)
	}
	res, err := fs.ReadDir(ctx, cred, fs.Root(), backend.ReadDirArgs{MaxEntries: 10, Plus: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Entries {
		if e.Name == "mnt" && (e.Handle != nil || e.Attr != nil) {
			t.Error("READDIRPLUS returned a handle for a mount point")
		}
	}
}

// TestBindMountNotCrossed covers a bind mount of a directory outside the
// export onto a directory inside it. Both are on the same file system, so
// LOOKUP and READDIRPLUS detect the mount only by the mount-root flag of
// statx.
func TestBindMountNotCrossed(t *testing.T) {
	fs, export, outside := newConfinedFS(t)
	mnt := filepath.Join(export, "bound")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(outside, mnt, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind mount here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })

	if _, _, _, err := fs.Lookup(ctx, cred, fs.Root(), "bound"); !errors.Is(err, unix.EACCES) {
		t.Errorf("Lookup of a bind mount point: %v, want EACCES", err)
	}
	var st unix.Stat_t
	if _, err := fs.openChildID(fs.rootFD, "bound", &st); !errors.Is(err, unix.EACCES) {
		t.Errorf("openChildID of a bind mount point: %v, want EACCES", err)
	}
	res, err := fs.ReadDir(ctx, cred, fs.Root(), backend.ReadDirArgs{MaxEntries: 10, Plus: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range res.Entries {
		if e.Name != "bound" {
			continue
		}
		found = true
		if e.Handle != nil || e.Attr != nil {
			t.Error("READDIRPLUS returned a handle for a bind mount point")
		}
	}
	if !found {
		t.Error("READDIRPLUS did not list the bind mount point")
	}
}

// TestStatChildMatchesFstatat compares the attributes statChild builds from
// statx with those of fstatat for each file type.
func TestStatChildMatchesFstatat(t *testing.T) {
	fs, export, _ := newConfinedFS(t)
	if err := os.WriteFile(filepath.Join(export, "file"), []byte("12345"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(export, "dir"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("file", filepath.Join(export, "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(export, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	names := []string{"file", "dir", "link", "fifo"}
	if err := unix.Mknod(filepath.Join(export, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err == nil {
		names = append(names, "null")
	}
	for _, name := range names {
		var want, got unix.Stat_t
		if err := unix.Fstatat(fs.rootFD, name, &want, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
		id, err := fs.statChild(fs.rootFD, name, &got)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s: statChild gave %+v, fstatat %+v", name, got, want)
		}
		if id.Ino != want.Ino {
			t.Errorf("%s: id inode %d, want %d", name, id.Ino, want.Ino)
		}
		gen, err := fs.generationAt(fs.rootFD, name, 0)
		if err != nil || id.Gen != gen {
			t.Errorf("%s: id generation %d, want %d (%v)", name, id.Gen, gen, err)
		}

		// The fallback for kernels whose statx reports no mount roots.
		var opened unix.Stat_t
		openedID, err := fs.openChildID(fs.rootFD, name, &opened)
		if err != nil || openedID != id || opened != want {
			t.Errorf("%s: openChildID gave %+v, %v, %+v; want %+v, %+v", name, openedID, err, opened, id, want)
		}
	}
}

func TestCachedPathMovedOutsideIsStale(t *testing.T) {
	fs, export, outside := newConfinedFS(t)
	d := mustMkdir(t, fs, fs.Root(), "d")
	f := mustCreate(t, fs, d, "f")
	mustWrite(t, fs, f, 0, "inside")
	fs.files.closeAll()

	// Resolve both handles once, so that their paths are cached.
	for _, h := range [][]byte{d, f} {
		if _, err := fs.GetAttr(ctx, cred, h); err != nil {
			t.Fatal(err)
		}
	}
	id, err := fs.decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fs.paths.get(id); !ok {
		t.Fatal("path of f is not cached after GetAttr")
	}

	// Someone on the server moves the directory out of the export.
	if err := os.Rename(filepath.Join(export, "d"), filepath.Join(outside, "d")); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.GetAttr(ctx, cred, f); !errors.Is(err, backend.ErrStale) {
		t.Errorf("GetAttr of a file moved outside: %v, want ErrStale", err)
	}
	if _, _, _, err := fs.Read(ctx, cred, f, 0, make([]byte, 10)); !errors.Is(err, backend.ErrStale) {
		t.Errorf("Read of a file moved outside: %v, want ErrStale", err)
	}
	if _, err := fs.GetAttr(ctx, cred, d); !errors.Is(err, backend.ErrStale) {
		t.Errorf("GetAttr of a directory moved outside: %v, want ErrStale", err)
	}
	if _, ok := fs.paths.get(id); ok {
		t.Error("path of f is still cached after it failed to resolve")
	}
}

func TestCachedPathFollowsRename(t *testing.T) {
	fs, export, _ := newConfinedFS(t)
	d := mustMkdir(t, fs, fs.Root(), "d")
	f := mustCreate(t, fs, d, "f")
	mustWrite(t, fs, f, 0, "inside")
	fs.files.closeAll()
	if _, err := fs.GetAttr(ctx, cred, f); err != nil {
		t.Fatal(err)
	}

	// A rename by another process leaves the cached path wrong, and a
	// new file takes the old name.
	if err := os.Rename(filepath.Join(export, "d"), filepath.Join(export, "e")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(export, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(export, "d", "f"), []byte("impostor"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, fs, f); got != "inside" {
		t.Errorf("read after rename = %q, want the renamed file", got)
	}
	id, err := fs.decode(f)
	if err != nil {
		t.Fatal(err)
	}
	names, ok := fs.paths.get(id)
	if !ok || !sameNames(names, []string{"e", "f"}) {
		t.Errorf("cached path after rename = %q, %v, want [e f]", names, ok)
	}
}
