package main

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// exportPathIfGiven returns the path under -export of the same entry as
// t.Path(elem...), and false when -export was not given.
func (t *T) exportPathIfGiven(elem ...string) (string, bool) {
	if t.cfg.export == "" {
		return "", false
	}
	return filepath.Join(append([]string{t.cfg.export, t.rel}, elem...)...), true
}

// expectSymlink checks that path is a symlink to target by lstat and
// readlink.
func (t *T) expectSymlink(step, path, target string) bool {
	st, err := lstat(path)
	if !t.Check(step+": lstat", err) {
		return false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("%s: lstat reports a %s, expected a symlink", step, fileType(st.Mode))
		return false
	}
	if st.Size != int64(len(target)) {
		t.Errorf("%s: lstat reports size %d, expected the target length %d", step, st.Size, len(target))
	}
	got, err := os.Readlink(path)
	if !t.Check(step+": readlink", err) {
		return false
	}
	if got != target {
		t.Errorf("%s: readlink returned %s, expected %s", step, describeBytes([]byte(got)), describeBytes([]byte(target)))
		return false
	}
	return true
}

// caseSymlinkTargets creates symlinks with many kinds of targets and reads
// each back as a link.
func caseSymlinkTargets(t *T) {
	long := strings.Repeat("abcdefghi/", 400)[:3999] + "z"
	links := []struct{ name, target string }{
		{"absolute", "/usr/share/doc"},
		{"relative", "../sibling/file"},
		{"dangling", "does/not/exist"},
		{"etc", "/etc"},
		{"up", "../../.."},
		{"dot", "."},
		{"spaces", "a target with spaces"},
		{"long", long},
	}
	for _, l := range links {
		t.Check(l.name+": symlink", os.Symlink(l.target, t.Path(l.name)))
	}
	for _, l := range links {
		t.expectSymlink(l.name, t.Path(l.name), l.target)
	}

	entries, err := os.ReadDir(t.dir)
	if t.Check("list", err) {
		for _, e := range entries {
			if e.Type() != os.ModeSymlink {
				t.Errorf("list: %s has type %v, expected a symlink", e.Name(), e.Type())
			}
		}
	}

	t.forgetCachedData()
	for _, l := range links {
		t.expectSymlink(l.name+" after dropping caches", t.Path(l.name), l.target)
	}
	if exported, ok := t.exportPathIfGiven("long"); ok {
		t.expectSymlink("long, seen under -export", exported, long)
	}
}

// outsideSentinel is a file outside the export that a server which follows
// symlinks would change.
type outsideSentinel struct {
	dir, file string
	before    unix.Stat_t
}

func (t *T) makeOutsideSentinel() *outsideSentinel {
	dir := t.tempDir("outside")
	t.Must("open directory outside the export", os.Chmod(dir, 0o777))
	file := filepath.Join(dir, "target")
	t.Must("create file outside the export", os.WriteFile(file, []byte("outside"), 0o666))
	if os.Geteuid() == 0 {
		// Owned by the serving user, so that a server that follows the link
		// would be allowed to change it.
		t.Must("chown file outside the export", os.Chown(file, 1000, 1000))
	}
	return &outsideSentinel{dir: dir, file: file, before: t.mustLstat("stat file outside the export", file)}
}

// expectUnchanged checks that the sentinel file kept its content, mode,
// owner and times, and that its directory gained no entries.
func (s *outsideSentinel) expectUnchanged(t *T) {
	after := t.mustLstat("stat file outside the export", s.file)
	b := s.before
	if after.Mode != b.Mode || after.Uid != b.Uid || after.Gid != b.Gid || after.Size != b.Size ||
		after.Mtim != b.Mtim || after.Atim != b.Atim {
		t.Errorf("file outside the export changed: mode %#o uid %d gid %d size %d mtime %v, was mode %#o uid %d gid %d size %d mtime %v",
			after.Mode, after.Uid, after.Gid, after.Size, time.Unix(after.Mtim.Unix()),
			b.Mode, b.Uid, b.Gid, b.Size, time.Unix(b.Mtim.Unix()))
	}
	t.expectContent("file outside the export", s.file, []byte("outside"))
	entries, err := os.ReadDir(s.dir)
	if t.Check("list directory outside the export", err) && len(entries) != 1 {
		t.Errorf("directory outside the export has %d entries, expected 1", len(entries))
	}
}

// caseSymlinkEscape checks that the server never follows a symlink that
// points out of the export: calls on the link change the link only.
// Opening through such a link follows it on the client, as NFS clients
// do, so the case never opens through it.
func caseSymlinkEscape(t *T) {
	sentinel := t.makeOutsideSentinel()
	etcBefore := t.mustLstat("stat /etc", "/etc")

	links := []struct{ name, target string }{
		{"esc", "/etc"},
		{"escdir", sentinel.dir},
		{"escfile", sentinel.file},
		{"escup", "../../../../../../.."},
	}
	for _, l := range links {
		t.Must(l.name+": symlink", os.Symlink(l.target, t.Path(l.name)))
	}

	// Each call below acts on the link itself and must never reach its target.
	stamp := time.Date(2003, 4, 5, 6, 7, 8, 0, time.UTC)
	times := []unix.Timespec{unix.NsecToTimespec(stamp.UnixNano()), unix.NsecToTimespec(stamp.UnixNano())}
	for _, l := range links {
		path := t.Path(l.name)
		if t.Check(l.name+": utimensat without following", unix.UtimesNanoAt(unix.AT_FDCWD, path, times, unix.AT_SYMLINK_NOFOLLOW)) {
			st := t.mustLstat(l.name+": lstat", path)
			if got := time.Unix(st.Mtim.Unix()); !got.Equal(stamp) {
				t.Errorf("%s: link mtime %v after utimensat, expected %v", l.name, got.UTC(), stamp)
			}
		}
		if st, err := lstat(path); err == nil {
			err := unix.Lchown(path, int(st.Uid), int(st.Gid))
			if err != nil && errnoOf(err) != unix.EPERM {
				t.Errorf("%s: lchown to its own owner: %v", l.name, err)
			}
		}
		// link(2) makes a second name for the symlink itself.
		hard := path + "-hard"
		if t.Check(l.name+": hard link to the symlink", os.Link(path, hard)) {
			t.expectSymlink(l.name+": hard link", hard, l.target)
			t.Check(l.name+": remove hard link", os.Remove(hard))
		}
		moved := path + "-moved"
		if t.Check(l.name+": rename", rename(path, moved)) {
			t.expectSymlink(l.name+": renamed", moved, l.target)
			t.Check(l.name+": rename back", rename(moved, path))
		}
		t.expectSymlink(l.name, path, l.target)
	}

	out, err := t.run(t.dir, "ls", "-l", "esc")
	if t.Check("ls -l esc", err) && (!strings.HasPrefix(out, "l") || !strings.Contains(out, "esc -> /etc")) {
		t.Errorf("ls -l esc: printed %q, expected a symlink line ending in \"esc -> /etc\"", strings.TrimSpace(out))
	}

	if exported, ok := t.exportPathIfGiven(); ok {
		for _, l := range links {
			t.expectSymlink(l.name+", seen under -export", filepath.Join(exported, l.name), l.target)
		}
		entries, err := os.ReadDir(exported)
		if t.Check("list the case directory under -export", err) && len(entries) != len(links) {
			t.Errorf("the case directory under -export has %d entries, expected %d", len(entries), len(links))
		}
	}

	for _, l := range links {
		t.Check(l.name+": remove", os.Remove(t.Path(l.name)))
	}
	sentinel.expectUnchanged(t)
	etcAfter := t.mustLstat("stat /etc", "/etc")
	if etcAfter.Mtim != etcBefore.Mtim || etcAfter.Mode != etcBefore.Mode || etcAfter.Uid != etcBefore.Uid {
		t.Errorf("/etc changed while the case ran")
	}
}

// expectLinks checks the link count of path.
func (t *T) expectLinks(step, path string, want uint64) {
	st, err := lstat(path)
	if t.Check(step, err) && uint64(st.Nlink) != want {
		t.Errorf("%s: %d links, expected %d", step, st.Nlink, want)
	}
}

// caseHardLink checks link counts while names are added and removed, and
// the errors of link onto an existing name and of a directory.
func caseHardLink(t *T) {
	a, b, c := t.Path("a"), t.Path("b"), t.Path("c")
	t.Must("write", os.WriteFile(a, []byte("shared"), 0o644))
	ino := t.mustLstat("lstat", a).Ino
	t.expectLinks("after create", a, 1)

	t.Must("link a b", os.Link(a, b))
	t.expectLinks("a after one link", a, 2)
	t.expectLinks("b after one link", b, 2)
	t.Must("link b c", os.Link(b, c))
	for _, p := range []string{a, b, c} {
		t.expectLinks(filepath.Base(p)+" after two links", p, 3)
		if st, err := lstat(p); err == nil && st.Ino != ino {
			t.Errorf("%s has inode %d, expected %d", filepath.Base(p), st.Ino, ino)
		}
	}

	t.Check("write through c", os.WriteFile(c, []byte("changed"), 0o644))
	t.expectContent("read through a", a, []byte("changed"))

	t.Must("remove b", os.Remove(b))
	t.expectLinks("a after removing b", a, 2)
	t.expectLinks("c after removing b", c, 2)
	t.Must("remove c", os.Remove(c))
	t.expectLinks("a after removing c", a, 1)
	t.forgetCachedData()
	t.expectLinks("a read again", a, 1)

	other := t.Path("other")
	t.Must("write other", os.WriteFile(other, []byte("other"), 0o644))
	t.expectErrno("link onto existing name", os.Link(a, other), unix.EEXIST)
	t.expectContent("existing name kept", other, []byte("other"))
	t.expectLinks("a after failed link", a, 1)

	dir := t.Path("dir")
	t.Must("mkdir", os.Mkdir(dir, 0o755))
	t.expectErrno("link of a directory", os.Link(dir, t.Path("dirlink")), unix.EPERM)
	t.expectErrno("link of a missing file", os.Link(t.Path("missing"), t.Path("x")), unix.ENOENT)
}
