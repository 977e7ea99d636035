package localfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
)

func TestSetAttr(t *testing.T) {
	fs, root := newTestFS(t)
	f := mustCreate(t, fs, fs.Root(), "f")
	mustWrite(t, fs, f, 0, "0123456789")

	wcc, err := fs.SetAttr(ctx, cred, f, backend.SetAttr{Mode: u32(0o4750), Size: u64(4)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if wcc.Before == nil || wcc.Before.Size != 10 {
		t.Errorf("wcc before = %+v, want size 10", wcc.Before)
	}
	if wcc.After == nil || wcc.After.Size != 4 || wcc.After.Mode != 0o4750 {
		t.Errorf("wcc after = %+v, want size 4 mode 4750", wcc.After)
	}
	if got := mustRead(t, fs, f); got != "0123" {
		t.Errorf("content after truncate = %q", got)
	}

	atime := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
	mtime := time.Date(2002, 3, 4, 5, 6, 7, 987654321, time.UTC)
	_, err = fs.SetAttr(ctx, cred, f, backend.SetAttr{
		Atime: backend.SetTime{How: backend.TimeClient, Time: atime},
		Mtime: backend.SetTime{How: backend.TimeClient, Time: mtime},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := fs.GetAttr(ctx, cred, f)
	if !a.Atime.Equal(atime) || !a.Mtime.Equal(mtime) {
		t.Errorf("times = %v / %v, want %v / %v", a.Atime, a.Mtime, atime, mtime)
	}

	before := time.Now().Add(-time.Second)
	if _, err := fs.SetAttr(ctx, cred, f, backend.SetAttr{Mtime: backend.SetTime{How: backend.TimeServer}}, nil); err != nil {
		t.Fatal(err)
	}
	a, _ = fs.GetAttr(ctx, cred, f)
	if a.Mtime.Before(before) || !a.Atime.Equal(atime) {
		t.Errorf("server mtime %v (want now), atime %v (want unchanged)", a.Mtime, a.Atime)
	}

	stale := a.Ctime.Add(-time.Nanosecond)
	wcc, err = fs.SetAttr(ctx, cred, f, backend.SetAttr{Mode: u32(0o600)}, &stale)
	if !errors.Is(err, backend.ErrNotSync) {
		t.Errorf("SetAttr with wrong guard: %v, want ErrNotSync", err)
	}
	if wcc.After == nil || wcc.After.Mode != 0o4750 {
		t.Errorf("guard mismatch changed the mode or lost attributes: %+v", wcc.After)
	}
	if _, err := fs.SetAttr(ctx, cred, f, backend.SetAttr{Mode: u32(0o600)}, &a.Ctime); err != nil {
		t.Errorf("SetAttr with matching guard: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(root, "f")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode on disk = %v", fi.Mode())
	}

	if _, err := fs.SetAttr(ctx, cred, fs.Root(), backend.SetAttr{Size: u64(0)}, nil); !errors.Is(err, unix.EISDIR) {
		t.Errorf("size on a directory: %v, want EISDIR", err)
	}

	link, _, _, err := fs.Symlink(ctx, cred, fs.Root(), "l", "f", backend.SetAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.SetAttr(ctx, cred, link, backend.SetAttr{
		Mode:  u32(0o600),
		Mtime: backend.SetTime{How: backend.TimeClient, Time: mtime},
	}, nil); err != nil {
		t.Errorf("SetAttr on a symlink: %v", err)
	}
	var st unix.Stat_t
	unix.Lstat(filepath.Join(root, "l"), &st)
	if st.Mtim.Sec != mtime.Unix() {
		t.Errorf("symlink mtime not set: %d", st.Mtim.Sec)
	}
	if fi, _ := os.Stat(filepath.Join(root, "f")); fi.ModTime().Equal(mtime) {
		t.Error("SetAttr on the symlink changed its target")
	}
}

func TestOwnerModeMapping(t *testing.T) {
	root := t.TempDir()
	// The tests run as root, so inject root as the serving user explicitly
	// and check the mapping against what is on disk.
	fs := openTestFS(t, root, filepath.Join(t.TempDir(), "h.db"), Options{
		serving: &servingUser{uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())},
	})
	caller := &backend.Cred{UID: 501, GID: 20}
	h, attr, _, err := fs.Create(ctx, caller, fs.Root(), "mine", backend.CreateArgs{Mode: backend.CreateGuarded})
	if err != nil {
		t.Fatal(err)
	}
	if attr.UID != 501 || attr.GID != 20 {
		t.Errorf("own file reported as %d:%d, want 501:20", attr.UID, attr.GID)
	}
	var st unix.Stat_t
	unix.Stat(filepath.Join(root, "mine"), &st)
	if st.Uid != uint32(os.Geteuid()) {
		t.Errorf("file on disk owned by %d, want the serving user", st.Uid)
	}

	// Chown to the caller's own uid is the serving user: a no-op.
	if _, err := fs.SetAttr(ctx, caller, h, backend.SetAttr{UID: u32(501), GID: u32(20)}, nil); err != nil {
		t.Errorf("chown to the caller's uid: %v", err)
	}
	unix.Stat(filepath.Join(root, "mine"), &st)
	if st.Uid != uint32(os.Geteuid()) || st.Gid != uint32(os.Getegid()) {
		t.Errorf("chown to caller's uid changed the owner to %d:%d", st.Uid, st.Gid)
	}

	// Another uid is passed to the kernel; root may chown.
	if _, err := fs.SetAttr(ctx, caller, h, backend.SetAttr{UID: u32(4242), GID: u32(4343)}, nil); err != nil {
		t.Fatalf("chown to 4242: %v", err)
	}
	a, _ := fs.GetAttr(ctx, caller, h)
	if a.UID != 4242 || a.GID != 4343 {
		t.Errorf("foreign owner reported as %d:%d, want 4242:4343", a.UID, a.GID)
	}

	// With another serving user, root's files are not mapped.
	other := openTestFS(t, root, filepath.Join(t.TempDir(), "h2.db"), Options{
		serving: &servingUser{uid: 4242, gid: 7},
	})
	oh, _, _, err := other.Lookup(ctx, caller, other.Root(), "mine")
	if err != nil {
		t.Fatal(err)
	}
	a, _ = other.GetAttr(ctx, caller, oh)
	if a.UID != 501 || a.GID != 4343 {
		t.Errorf("serving uid 4242: file reported as %d:%d, want 501:4343", a.UID, a.GID)
	}
	ra, _ := other.GetAttr(ctx, caller, other.Root())
	if ra.UID != uint32(os.Geteuid()) {
		t.Errorf("serving uid 4242: root-owned directory reported as uid %d", ra.UID)
	}
}

func TestAccess(t *testing.T) {
	fs, root := newTestFS(t)
	all := backend.AccessRead | backend.AccessLookup | backend.AccessModify |
		backend.AccessExtend | backend.AccessDelete | backend.AccessExecute
	f := mustCreate(t, fs, fs.Root(), "f")
	got, attr, err := fs.Access(ctx, cred, f, all)
	if err != nil {
		t.Fatal(err)
	}
	want := backend.AccessRead | backend.AccessModify | backend.AccessExtend
	if got != want {
		t.Errorf("access on 0644 file as root = %#x, want %#x", got, want)
	}
	if attr.Type != backend.TypeRegular {
		t.Errorf("attr type %d", attr.Type)
	}
	os.Chmod(filepath.Join(root, "f"), 0o755)
	if got, _, _ := fs.Access(ctx, cred, f, backend.AccessExecute|backend.AccessRead); got != backend.AccessExecute|backend.AccessRead {
		t.Errorf("access on 0755 file = %#x", got)
	}
	if got, _, _ := fs.Access(ctx, cred, f, backend.AccessRead); got != backend.AccessRead {
		t.Errorf("access returned bits not asked for: %#x", got)
	}
	got, _, _ = fs.Access(ctx, cred, fs.Root(), all)
	want = backend.AccessRead | backend.AccessLookup | backend.AccessModify | backend.AccessExtend | backend.AccessDelete
	if got != want {
		t.Errorf("access on directory = %#x, want %#x", got, want)
	}
}

func TestModeAllows(t *testing.T) {
	st := &unix.Stat_t{Mode: unix.S_IFREG | 0o640, Uid: 10, Gid: 20}
	cases := []struct {
		uid, gid, mode uint32
		want           bool
	}{
		{10, 99, unix.R_OK | unix.W_OK, true},
		{10, 99, unix.X_OK, false},
		{11, 20, unix.R_OK, true},
		{11, 20, unix.W_OK, false},
		{11, 21, unix.R_OK, false},
		{0, 0, unix.R_OK | unix.W_OK, true},
		{0, 0, unix.X_OK, false},
	}
	for _, tc := range cases {
		if got := modeAllows(st, tc.uid, tc.gid, tc.mode); got != tc.want {
			t.Errorf("modeAllows(uid %d gid %d mode %o) = %v", tc.uid, tc.gid, tc.mode, got)
		}
	}
}

func TestSymlinkAndReadlink(t *testing.T) {
	fs, root := newTestFS(t)
	h, attr, wcc, err := fs.Symlink(ctx, cred, fs.Root(), "l", "../../etc/passwd", backend.SetAttr{Mode: u32(0o600)})
	if err != nil {
		t.Fatal(err)
	}
	if attr.Type != backend.TypeSymlink || attr.Size != uint64(len("../../etc/passwd")) {
		t.Errorf("symlink attr = %+v", attr)
	}
	if wcc.After == nil {
		t.Error("no directory attributes after Symlink")
	}
	target, _, err := fs.Readlink(ctx, cred, h)
	if err != nil || target != "../../etc/passwd" {
		t.Errorf("Readlink = %q, %v", target, err)
	}
	if got, _ := os.Readlink(filepath.Join(root, "l")); got != "../../etc/passwd" {
		t.Errorf("on disk: %q", got)
	}
	if _, _, err := fs.Readlink(ctx, cred, fs.Root()); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Readlink of a directory: %v, want EINVAL", err)
	}
	long := strings.Repeat("x", backend.MaxPathLen+1)
	if _, _, _, err := fs.Symlink(ctx, cred, fs.Root(), "long", long, backend.SetAttr{}); !errors.Is(err, unix.ENAMETOOLONG) {
		t.Errorf("Symlink with a long target: %v, want ENAMETOOLONG", err)
	}
	if _, _, _, err := fs.Symlink(ctx, cred, fs.Root(), "l", "x", backend.SetAttr{}); !errors.Is(err, unix.EEXIST) {
		t.Errorf("Symlink onto an existing name: %v, want EEXIST", err)
	}
}

func TestMknod(t *testing.T) {
	fs, root := newTestFS(t)
	cases := []struct {
		name string
		typ  backend.FileType
	}{
		{"fifo", backend.TypeFIFO},
		{"sock", backend.TypeSocket},
	}
	for _, tc := range cases {
		h, attr, _, err := fs.Mknod(ctx, cred, fs.Root(), tc.name, tc.typ, 0, 0, backend.SetAttr{Mode: u32(0o666)})
		if err != nil {
			t.Fatalf("Mknod %s: %v", tc.name, err)
		}
		if attr.Type != tc.typ || attr.Mode != 0o666 {
			t.Errorf("%s: type %d mode %o", tc.name, attr.Type, attr.Mode)
		}
		if _, _, _, err := fs.Read(ctx, cred, h, 0, make([]byte, 1)); !errors.Is(err, unix.EINVAL) {
			t.Errorf("Read of %s: %v, want EINVAL", tc.name, err)
		}
	}
	var st unix.Stat_t
	unix.Lstat(filepath.Join(root, "fifo"), &st)
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fifo on disk has mode %o", st.Mode)
	}

	_, attr, _, err := fs.Mknod(ctx, cred, fs.Root(), "null", backend.TypeChar, 1, 3, backend.SetAttr{Mode: u32(0o600)})
	switch {
	case errors.Is(err, unix.EPERM):
		t.Log("character devices not allowed here")
	case err != nil:
		t.Errorf("Mknod of a character device: %v", err)
	case attr.Type != backend.TypeChar || attr.Major != 1 || attr.Minor != 3:
		t.Errorf("character device attr %+v", attr)
	}
	if _, _, _, err := fs.Mknod(ctx, cred, fs.Root(), "x", backend.TypeDir, 0, 0, backend.SetAttr{}); !errors.Is(err, backend.ErrBadType) {
		t.Errorf("Mknod of a directory: %v, want ErrBadType", err)
	}
}

func TestLink(t *testing.T) {
	fs, root := newTestFS(t)
	f := mustCreate(t, fs, fs.Root(), "f")
	mustWrite(t, fs, f, 0, "linked")
	d := mustMkdir(t, fs, fs.Root(), "d")

	attr, wcc, err := fs.Link(ctx, cred, f, d, "g")
	if err != nil {
		t.Fatal(err)
	}
	if attr == nil || attr.Nlink != 2 || wcc.After == nil {
		t.Errorf("Link attr %+v wcc %+v", attr, wcc)
	}
	if h, _, _, _ := fs.Lookup(ctx, cred, d, "g"); !bytes.Equal(h, f) {
		t.Error("new link has another handle")
	}
	if _, _, err := fs.Link(ctx, cred, f, d, "g"); !errors.Is(err, unix.EEXIST) {
		t.Errorf("Link onto an existing name: %v, want EEXIST", err)
	}
	if _, _, err := fs.Link(ctx, cred, d, fs.Root(), "d2"); !errors.Is(err, unix.EPERM) {
		t.Errorf("Link of a directory: %v, want EPERM", err)
	}

	// Removing the name the hint points at leaves the other link reachable.
	if _, err := fs.Remove(ctx, cred, fs.Root(), "f"); err != nil {
		t.Fatal(err)
	}
	fs.files.closeAll()
	if got := mustRead(t, fs, f); got != "linked" {
		t.Errorf("read through remaining link = %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "d/g")); err != nil {
		t.Fatal(err)
	}
}

func TestFSStatAndPathConf(t *testing.T) {
	fs, _ := newTestFS(t)
	st, attr, err := fs.FSStat(ctx, cred, fs.Root())
	if err != nil {
		t.Fatal(err)
	}
	if st.TotalBytes == 0 || st.AvailBytes > st.TotalBytes || st.FreeBytes > st.TotalBytes || attr == nil {
		t.Errorf("FSStat = %+v", st)
	}
	pc, _, err := fs.PathConf(ctx, cred, fs.Root())
	if err != nil {
		t.Fatal(err)
	}
	if pc.NameMax != 255 || !pc.NoTrunc || !pc.ChownRestricted || pc.CaseInsensitive || !pc.CasePreserving || pc.LinkMax < 127 {
		t.Errorf("PathConf = %+v", pc)
	}
}

func TestWriteReadOnlyFileAsOwner(t *testing.T) {
	fs, root := newTestFS(t)
	for _, mode := range []uint32{0o444, 0o111, 0o000} {
		name := "ro" + string(rune('0'+mode>>6))
		h, _, _, err := fs.Create(ctx, cred, fs.Root(), name, backend.CreateArgs{
			Mode: backend.CreateGuarded, Attr: backend.SetAttr{Mode: u32(mode)},
		})
		if err != nil {
			t.Fatal(err)
		}
		fs.files.closeAll() // the create descriptor would hide the open
		mustWrite(t, fs, h, 0, "owner writes")
		fs.files.closeAll()
		if got := mustRead(t, fs, h); got != "owner writes" {
			t.Errorf("mode %o: read back %q", mode, got)
		}
		if fi, _ := os.Stat(filepath.Join(root, name)); fi.Mode().Perm() != os.FileMode(mode) {
			t.Errorf("mode %o changed to %v", mode, fi.Mode().Perm())
		}
	}
}

func TestOpenFileCacheBounded(t *testing.T) {
	root := t.TempDir()
	fs := openTestFS(t, root, filepath.Join(t.TempDir(), "h.db"), Options{OpenFiles: fileShards})
	var hs [][]byte
	for i := 0; i < 200; i++ {
		h := mustCreate(t, fs, fs.Root(), "f"+string(rune('A'+i%26))+string(rune('a'+i/26)))
		mustWrite(t, fs, h, 0, string(rune('A'+i%26)))
		hs = append(hs, h)
	}
	if n := fs.files.len(); n > fileShards {
		t.Errorf("%d files cached, capacity %d", n, fileShards)
	}
	for i, h := range hs {
		if got := mustRead(t, fs, h); got != string(rune('A'+i%26)) {
			t.Errorf("file %d read %q", i, got)
		}
	}
	if n := fs.files.len(); n > fileShards {
		t.Errorf("%d files cached after reads, capacity %d", n, fileShards)
	}
}

func TestOpenFileCacheShrinksOnEMFILE(t *testing.T) {
	fs, _ := newTestFS(t)
	var hs [][]byte
	for i := 0; i < 300; i++ {
		h := mustCreate(t, fs, fs.Root(), "f"+strings.Repeat("x", i%50)+string(rune('a'+i/50)))
		hs = append(hs, h)
	}
	if n := fs.files.len(); n < 250 {
		t.Fatalf("only %d files cached", n)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	// Leave room for only a few new descriptors: the cache has to give
	// some back for the rest of the test to work.
	limit := unix.Rlimit{Cur: uint64(len(entries) + 8), Max: old.Max}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)

	for i := 0; i < 20; i++ {
		h := mustCreate(t, fs, fs.Root(), "new"+string(rune('a'+i)))
		mustWrite(t, fs, h, 0, "x")
	}
	if n := fs.files.len(); n >= 300 {
		t.Errorf("cache did not shrink: %d files", n)
	}
	unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	if got := mustRead(t, fs, hs[0]); got != "" {
		t.Errorf("read %q from an empty file", got)
	}
}

func TestOwnerModeRootSeesHostUser(t *testing.T) {
	root := t.TempDir()
	fs := openTestFS(t, root, filepath.Join(t.TempDir(), "h.db"), Options{
		serving: &servingUser{uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())},
	})
	rootCaller := &backend.Cred{UID: 0, GID: 0}
	h, attr, _, err := fs.Create(ctx, rootCaller, fs.Root(), "f", backend.CreateArgs{Mode: backend.CreateGuarded})
	if err != nil {
		t.Fatal(err)
	}
	if attr.UID != 0 || attr.GID != 0 {
		t.Errorf("before any other caller, root sees %d:%d, want 0:0", attr.UID, attr.GID)
	}

	user := &backend.Cred{UID: 501, GID: 20}
	if a, err := fs.GetAttr(ctx, user, h); err != nil || a.UID != 501 || a.GID != 20 {
		t.Fatalf("host user sees %d:%d (err %v), want 501:20", a.UID, a.GID, err)
	}
	a, err := fs.GetAttr(ctx, rootCaller, h)
	if err != nil {
		t.Fatal(err)
	}
	if a.UID != 501 || a.GID != 20 {
		t.Errorf("after the host user's call, root sees %d:%d, want 501:20", a.UID, a.GID)
	}

	// Root's chown to the identity it is shown keeps the serving user.
	if _, err := fs.SetAttr(ctx, rootCaller, h, backend.SetAttr{UID: u32(501), GID: u32(20)}, nil); err != nil {
		t.Fatalf("root chown to the shown owner: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(root, "f"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != uint32(os.Geteuid()) || st.Gid != uint32(os.Getegid()) {
		t.Errorf("root chown to the shown owner changed the file to %d:%d", st.Uid, st.Gid)
	}
}

// TestEntryOpsAreDurable checks that every procedure RFC 1813 calls
// synchronous fsyncs the directories it changed before it returns, and
// that a failed operation syncs nothing.
func TestEntryOpsAreDurable(t *testing.T) {
	fs, _ := newTestFS(t)
	root := fs.Root()
	sub := mustMkdir(t, fs, root, "sub")
	file := mustCreate(t, fs, root, "file")

	cases := []struct {
		name      string
		syncs     uint64 // directory fsyncs expected (parent or new directory)
		fileSyncs uint64 // fsyncs of new files expected
		op        func() error
	}{
		{"create", 0, 1, func() error {
			_, _, _, err := fs.Create(ctx, cred, root, "new", backend.CreateArgs{Mode: backend.CreateGuarded})
			return err
		}},
		{"exclusive create", 0, 1, func() error {
			_, _, _, err := fs.Create(ctx, cred, root, "excl", backend.CreateArgs{Mode: backend.CreateExclusive, Verifier: [8]byte{1}})
			return err
		}},
		{"mkdir", 1, 0, func() error { _, _, _, err := fs.Mkdir(ctx, cred, root, "d", backend.SetAttr{}); return err }},
		{"symlink", 1, 0, func() error {
			_, _, _, err := fs.Symlink(ctx, cred, root, "l", "file", backend.SetAttr{})
			return err
		}},
		{"mknod", 1, 0, func() error {
			_, _, _, err := fs.Mknod(ctx, cred, root, "fifo", backend.TypeFIFO, 0, 0, backend.SetAttr{})
			return err
		}},
		{"link", 1, 0, func() error { _, _, err := fs.Link(ctx, cred, file, sub, "hard"); return err }},
		{"rename in one directory", 1, 0, func() error { _, _, err := fs.Rename(ctx, cred, root, "new", root, "new2"); return err }},
		{"rename across directories", 2, 0, func() error { _, _, err := fs.Rename(ctx, cred, root, "new2", sub, "moved"); return err }},
		{"remove", 1, 0, func() error { _, err := fs.Remove(ctx, cred, sub, "moved"); return err }},
		{"rmdir", 1, 0, func() error { _, err := fs.Rmdir(ctx, cred, root, "d"); return err }},
	}
	for _, tc := range cases {
		before, filesBefore := fs.dirSyncs.Load(), fs.fileSyncs.Load()
		if err := tc.op(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := fs.dirSyncs.Load() - before; got != tc.syncs {
			t.Errorf("%s: %d directory fsyncs, want %d", tc.name, got, tc.syncs)
		}
		if got := fs.fileSyncs.Load() - filesBefore; got != tc.fileSyncs {
			t.Errorf("%s: %d fsyncs of the new file, want %d", tc.name, got, tc.fileSyncs)
		}
	}

	before := fs.dirSyncs.Load()
	if _, _, _, err := fs.Create(ctx, cred, root, "file", backend.CreateArgs{Mode: backend.CreateGuarded}); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("guarded create of an existing name: %v, want EEXIST", err)
	}
	if _, err := fs.Remove(ctx, cred, root, "missing"); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("remove of a missing name: %v, want ENOENT", err)
	}
	if got := fs.dirSyncs.Load() - before; got != 0 {
		t.Errorf("failed operations made %d directory fsyncs, want 0", got)
	}
	if got := fs.wholeSyncs.Load(); got != 0 {
		t.Errorf("%d whole file system syncs for readable directories, want 0", got)
	}
}

// TestSyncDirFallsBackWhenOpenFails checks that a directory that cannot be
// opened for fsync, for any reason, gets a whole file system sync and no
// error: the operation before the sync has already changed the directory.
func TestSyncDirFallsBackWhenOpenFails(t *testing.T) {
	fs, _ := newTestFS(t)
	before := fs.wholeSyncs.Load()
	// A closed descriptor makes the open fail with EBADF, as a full
	// descriptor table would with EMFILE.
	if err := fs.syncDir(&object{fd: -1}); err != nil {
		t.Errorf("syncDir of an unopenable directory: %v, want nil", err)
	}
	if got := fs.wholeSyncs.Load() - before; got != 1 {
		t.Errorf("%d whole file system syncs, want 1", got)
	}
}

// TestKnownHandles checks which handles resolve without a search: the
// root, and objects whose path or descriptor is cached.
func TestKnownHandles(t *testing.T) {
	fs, _ := newTestFS(t)
	if !fs.Known(fs.Root()) {
		t.Error("root not known")
	}
	f := mustCreate(t, fs, fs.Root(), "f")
	if !fs.Known(f) {
		t.Error("a file just created is not known")
	}
	fs.paths = new(pathCache)
	fs.files.closeAll()
	if fs.Known(f) {
		t.Error("a file with no cached path or descriptor is known")
	}
	if _, err := fs.GetAttr(ctx, cred, f); err != nil {
		t.Fatal(err)
	}
	if !fs.Known(f) {
		t.Error("a file just resolved is not known")
	}
	if fs.Known([]byte("not a handle")) {
		t.Error("an invalid handle is known")
	}
}
