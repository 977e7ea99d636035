package localfs

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
)

func newPassthroughFS(t *testing.T, noSquash bool) (*FS, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("passthrough mode needs root")
	}
	root := t.TempDir()
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	fs := openTestFS(t, root, filepath.Join(t.TempDir(), "h.db"), Options{
		Identity: PassthroughMode, NoRootSquash: noSquash,
	})
	return fs, root
}

func ownerOf(t *testing.T, path string) (uid, gid uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid
}

func TestPassthroughCreatesAsCaller(t *testing.T) {
	fs, root := newPassthroughFS(t, false)
	alice := &backend.Cred{UID: 4001, GID: 4001}
	bob := &backend.Cred{UID: 4002, GID: 4002}

	h, attr, _, err := fs.Create(ctx, alice, fs.Root(), "alice", backend.CreateArgs{
		Mode: backend.CreateGuarded, Attr: backend.SetAttr{Mode: u32(0o644)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid := ownerOf(t, filepath.Join(root, "alice")); uid != 4001 || gid != 4001 {
		t.Errorf("file owned by %d:%d, want 4001:4001", uid, gid)
	}
	if attr.UID != 4001 {
		t.Errorf("attr uid %d: passthrough mode must not map owners", attr.UID)
	}
	mustWriteAs(t, fs, alice, h, "alice's")

	// Bob may read but not write alice's 0644 file, even though the
	// descriptor alice used is still cached.
	if fs.files.len() == 0 {
		t.Fatal("alice's descriptor is not cached")
	}
	if _, _, _, err := fs.Write(ctx, bob, h, 0, []byte("bob"), backend.FileSync); !errors.Is(err, unix.EACCES) {
		t.Errorf("bob writing alice's file: %v, want EACCES", err)
	}
	if n, _, _, err := fs.Read(ctx, bob, h, 0, make([]byte, 100)); err != nil || n != len("alice's") {
		t.Errorf("bob reading alice's file: %d, %v", n, err)
	}
	if _, err := fs.SetAttr(ctx, bob, h, backend.SetAttr{Mode: u32(0o666)}, nil); !errors.Is(err, unix.EPERM) {
		t.Errorf("bob chmod of alice's file: %v, want EPERM", err)
	}

	// Groups: a directory of group 4100 with mode 0770.
	d := mustMkdirAs(t, fs, alice, fs.Root(), "team")
	if _, err := fs.SetAttr(ctx, alice, d, backend.SetAttr{Mode: u32(0o770)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(root, "team"), 4001, 4100); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := fs.Create(ctx, bob, d, "x", backend.CreateArgs{}); !errors.Is(err, unix.EACCES) {
		t.Errorf("bob without the group: %v, want EACCES", err)
	}
	bobInTeam := &backend.Cred{UID: 4002, GID: 4002, Groups: []uint32{4100}}
	if _, _, _, err := fs.Create(ctx, bobInTeam, d, "x", backend.CreateArgs{}); err != nil {
		t.Errorf("bob with the group: %v", err)
	}
}

func mustWriteAs(t *testing.T, fs *FS, c *backend.Cred, h []byte, data string) {
	t.Helper()
	if _, _, _, err := fs.Write(ctx, c, h, 0, []byte(data), backend.FileSync); err != nil {
		t.Fatalf("Write as %d: %v", c.UID, err)
	}
}

func mustMkdirAs(t *testing.T, fs *FS, c *backend.Cred, dir []byte, name string) []byte {
	t.Helper()
	h, _, _, err := fs.Mkdir(ctx, c, dir, name, backend.SetAttr{Mode: u32(0o755)})
	if err != nil {
		t.Fatalf("Mkdir as %d: %v", c.UID, err)
	}
	return h
}

func TestPassthroughRootSquash(t *testing.T) {
	rootCred := &backend.Cred{UID: 0, GID: 0, Groups: []uint32{0}}

	fs, root := newPassthroughFS(t, false)
	if _, _, _, err := fs.Create(ctx, rootCred, fs.Root(), "squashed", backend.CreateArgs{}); err != nil {
		t.Fatal(err)
	}
	if uid, gid := ownerOf(t, filepath.Join(root, "squashed")); uid != squashID || gid != squashID {
		t.Errorf("squashed root created a file owned by %d:%d", uid, gid)
	}

	fs, root = newPassthroughFS(t, true)
	if _, _, _, err := fs.Create(ctx, rootCred, fs.Root(), "root", backend.CreateArgs{}); err != nil {
		t.Fatal(err)
	}
	if uid, gid := ownerOf(t, filepath.Join(root, "root")); uid != 0 || gid != 0 {
		t.Errorf("unsquashed root created a file owned by %d:%d", uid, gid)
	}
}

func TestPassthroughRestoresThread(t *testing.T) {
	fs, root := newPassthroughFS(t, false)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if _, _, _, err := fs.Create(ctx, &backend.Cred{UID: 4001, GID: 4001}, fs.Root(), "a", backend.CreateArgs{}); err != nil {
		t.Fatal(err)
	}
	// Same thread, after the call: back to root.
	if err := os.WriteFile(filepath.Join(root, "b"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if uid, gid := ownerOf(t, filepath.Join(root, "b")); uid != 0 || gid != 0 {
		t.Errorf("thread kept caller credentials: file owned by %d:%d", uid, gid)
	}
	groups, err := unix.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != len(fs.base.groups) {
		t.Errorf("groups after call = %v, want %v", groups, fs.base.groups)
	}
}
