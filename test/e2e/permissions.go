package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The permission cases run calls as two unprivileged users who share one
// supplementary group, and as root. They check what local Linux semantics
// give, so SERVER=local and SERVER=knfsd must pass them as they are.

// sharedGID is the supplementary group of both userA and userB.
const sharedGID = 1100

// caller is a user that the permission cases run calls as.
type caller struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
}

var (
	userA    = caller{name: "uid 1001", uid: devUID, gid: devGID, groups: []uint32{devGID, sharedGID}}
	userB    = caller{name: "uid 1002", uid: 1002, gid: 1002, groups: []uint32{1002, sharedGID}}
	rootUser = caller{name: "root", uid: 0, gid: 0, groups: []uint32{}}
)

// requireRealOwners skips the permission cases where the server does not
// keep the callers' uids, and where the suite does not run as root.
func (t *T) requireRealOwners() {
	if t.cfg.server == "burrow" {
		t.Skipf("owner mode runs every call as the serving user, so per-user permissions do not apply; burrow-passthrough runs these cases")
	}
	t.RequireRoot()
}

// makeOwned creates rel in the case directory as root and gives it the
// owner and mode. kind is "file", "dir" or "exec" (a copy of /bin/true).
func (t *T) makeOwned(rel, kind string, uid, gid uint32, mode uint32) string {
	path := t.Path(rel)
	switch kind {
	case "file":
		t.Must("create "+rel, os.WriteFile(path, []byte("data"), 0o600))
	case "dir":
		t.Must("mkdir "+rel, os.Mkdir(path, 0o700))
	case "exec":
		data, err := os.ReadFile("/bin/true")
		t.Must("read /bin/true", err)
		t.Must("create "+rel, os.WriteFile(path, data, 0o700))
	default:
		t.Fatalf("makeOwned: invalid kind %q", kind)
	}
	t.Must("chown "+rel, os.Lchown(path, int(uid), int(gid)))
	// After chown, which clears the setuid and setgid bits.
	t.Must("chmod "+rel, unix.Chmod(path, mode))
	return path
}

// expectCall runs the helper call op on the case-relative paths in args as
// user and checks its printed outcome. Arguments that are not paths (modes
// and ids) must come after the paths and start with a digit or "-".
func (t *T) expectCall(user caller, want string, op string, args ...string) {
	full := []string{op}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a[:1], "0123456789-") {
			full = append(full, a)
		} else {
			full = append(full, t.Path(a))
		}
	}
	step := fmt.Sprintf("%s as %s", strings.Join(append([]string{op}, args...), " "), user.name)
	out, err := t.callAsGroups(user.uid, user.gid, user.groups, full...)
	t.expectCallResult(step, out, err, want)
}

// expectModeOwner checks the mode bits and owner of rel as seen by root,
// after the client's caches are dropped.
func (t *T) expectModeOwner(step, rel string, mode, uid, gid uint32) {
	t.forgetCachedData()
	st, err := lstat(t.Path(rel))
	if !t.Check(step, err) {
		return
	}
	if got := st.Mode & 0o7777; got != mode {
		t.Errorf("%s: %s has mode %#o, expected %#o", step, rel, got, mode)
	}
	if st.Uid != uid || st.Gid != gid {
		t.Errorf("%s: %s is owned by %d:%d, expected %d:%d", step, rel, st.Uid, st.Gid, uid, gid)
	}
}

func octal(mode uint32) string { return strconv.FormatUint(uint64(mode), 8) }

// casePermOpen checks read and write permission by owner, group and
// others, including an owner whose own bits deny what others may do, and
// root's override.
func casePermOpen(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	t.makeOwned("a644", "file", a.uid, a.gid, 0o644)
	t.makeOwned("a600", "file", a.uid, a.gid, 0o600)
	t.makeOwned("g640", "file", a.uid, sharedGID, 0o640)
	t.makeOwned("g660", "file", a.uid, sharedGID, 0o660)
	t.makeOwned("a077", "file", a.uid, a.gid, 0o077)
	t.makeOwned("a000", "file", a.uid, a.gid, 0o000)

	t.expectCall(b, "ok", "read", "a644")
	t.expectCall(b, "EACCES", "write", "a644")
	t.expectCall(b, "EACCES", "truncate", "a644")
	t.expectCall(a, "ok", "write", "a644")
	t.expectCall(a, "ok", "truncate", "a644")
	t.expectCall(b, "EACCES", "read", "a600")
	t.expectCall(a, "ok", "read", "a600")
	t.expectCall(b, "ok", "read", "g640")
	t.expectCall(b, "EACCES", "write", "g640")
	t.expectCall(b, "ok", "write", "g660")
	// The owner class alone decides for the owner.
	t.expectCall(a, "EACCES", "read", "a077")
	t.expectCall(b, "ok", "read", "a077")
	t.expectCall(rootUser, "ok", "read", "a000")
	t.expectCall(rootUser, "ok", "write", "a000")
}

// casePermExec checks execute permission, including root, which needs at
// least one execute bit.
func casePermExec(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	t.makeOwned("x700", "exec", a.uid, a.gid, 0o700)
	t.makeOwned("x755", "exec", a.uid, a.gid, 0o755)
	t.makeOwned("x644", "exec", a.uid, a.gid, 0o644)
	t.makeOwned("x070", "exec", a.uid, sharedGID, 0o070)

	t.expectCall(a, "ok", "exec", "x700")
	t.expectCall(b, "EACCES", "exec", "x700")
	t.expectCall(b, "ok", "exec", "x755")
	t.expectCall(a, "EACCES", "exec", "x644")
	t.expectCall(rootUser, "EACCES", "exec", "x644")
	t.expectCall(b, "ok", "exec", "x070")
	t.expectCall(a, "EACCES", "exec", "x070")
}

// casePermDir checks search, read and write permission on directories,
// and the owner of new entries.
func casePermDir(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	for _, d := range []struct {
		name string
		mode uint32
	}{{"d700", 0o700}, {"d711", 0o711}, {"d755", 0o755}, {"d555", 0o555}} {
		t.makeOwned(d.name, "dir", a.uid, a.gid, 0o755)
		t.makeOwned(d.name+"/f", "file", a.uid, a.gid, 0o644)
		t.Must("chmod "+d.name, unix.Chmod(t.Path(d.name), d.mode))
	}
	t.makeOwned("d777", "dir", 0, 0, 0o777)

	t.expectCall(b, "EACCES", "read", "d700/f")
	t.expectCall(b, "EACCES", "readdir", "d700")
	t.expectCall(a, "ok", "read", "d700/f")
	t.expectCall(b, "ok", "read", "d711/f")
	t.expectCall(b, "EACCES", "readdir", "d711")
	t.expectCall(b, "EACCES", "create", "d755/new", "644")
	t.expectCall(b, "EACCES", "mkdir", "d755/sub", "755")
	t.expectCall(b, "EACCES", "unlink", "d755/f")
	t.expectCall(a, "ok", "create", "d755/new", "644")
	t.expectCall(a, "EACCES", "unlink", "d555/f")
	t.expectCall(a, "EACCES", "mkdir", "d555/sub", "755")
	t.expectCall(rootUser, "ok", "unlink", "d555/f")

	t.expectCall(b, "ok", "create", "d777/by-b", "640")
	t.expectModeOwner("file created by uid 1002", "d777/by-b", 0o640, b.uid, b.gid)
	t.expectCall(b, "ok", "mkdir", "d777/dir-by-b", "750")
	t.expectModeOwner("directory created by uid 1002", "d777/dir-by-b", 0o750, b.uid, b.gid)
}

// casePermSticky checks deletion and renaming in sticky directories: only
// the entry's owner, the directory's owner or root may remove an entry.
func casePermSticky(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	t.makeOwned("s", "dir", 0, 0, 0o1777)
	t.makeOwned("s/a", "file", a.uid, a.gid, 0o644)
	t.makeOwned("s/b", "file", b.uid, b.gid, 0o644)
	t.makeOwned("s/adir", "dir", a.uid, a.gid, 0o755)
	t.makeOwned("sb", "dir", b.uid, b.gid, 0o1777)
	t.makeOwned("sb/a", "file", a.uid, a.gid, 0o644)
	t.makeOwned("w", "dir", 0, 0, 0o777)
	t.makeOwned("w/a", "file", a.uid, a.gid, 0o644)

	t.expectCall(b, "EPERM", "unlink", "s/a")
	t.expectCall(b, "EPERM", "rename", "s/a", "s/moved")
	t.expectCall(b, "EPERM", "rename", "s/b", "s/a")
	t.expectCall(b, "EPERM", "rmdir", "s/adir")
	t.expectCall(a, "ok", "unlink", "s/a")
	t.expectCall(rootUser, "ok", "unlink", "s/b")
	// The owner of a sticky directory may remove any entry.
	t.expectCall(b, "ok", "unlink", "sb/a")
	t.expectCall(b, "ok", "unlink", "w/a")
}

// casePermRename checks that moving a directory to another parent needs
// write permission on the directory itself, because its ".." changes,
// while a file or a rename within the parent needs none.
func casePermRename(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	t.makeOwned("w1", "dir", 0, 0, 0o777)
	t.makeOwned("w2", "dir", 0, 0, 0o777)
	t.makeOwned("w1/adir", "dir", a.uid, a.gid, 0o755)
	t.makeOwned("w1/afile", "file", a.uid, a.gid, 0o644)

	t.expectCall(b, "ok", "rename", "w1/afile", "w2/afile")
	t.expectCall(b, "EACCES", "rename", "w1/adir", "w2/adir")
	t.expectCall(b, "ok", "rename", "w1/adir", "w1/adir2")
	t.expectCall(a, "ok", "rename", "w1/adir2", "w2/adir")
}

// casePermChmod checks who may chmod, and that the setgid bit is dropped
// when the owner is not in the file's group.
func casePermChmod(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	t.makeOwned("a", "file", a.uid, a.gid, 0o644)
	t.makeOwned("other-group", "file", a.uid, b.gid, 0o644)

	t.expectCall(b, "EPERM", "chmod", "a", "666")
	t.expectCall(a, "ok", "chmod", "a", "4755")
	t.expectModeOwner("setuid set by the owner", "a", 0o4755, a.uid, a.gid)
	t.expectCall(rootUser, "ok", "chmod", "a", "640")
	t.expectModeOwner("chmod by root", "a", 0o640, a.uid, a.gid)
	t.expectCall(a, "ok", "chmod", "other-group", octal(0o2755))
	t.expectModeOwner("setgid set by an owner outside the group", "other-group", 0o755, a.uid, b.gid)
}

// casePermChown checks who may change the owner and group.
func casePermChown(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	t.makeOwned("a", "file", a.uid, a.gid, 0o644)
	id := func(n uint32) string { return strconv.Itoa(int(n)) }

	t.expectCall(a, "EPERM", "chown", "a", id(b.uid), "-1")
	t.expectCall(a, "ok", "chown", "a", id(a.uid), "-1")
	t.expectCall(a, "EPERM", "chown", "a", "-1", id(b.gid))
	t.expectCall(b, "EPERM", "chown", "a", "-1", id(b.gid))
	t.expectCall(a, "ok", "chown", "a", "-1", id(sharedGID))
	t.expectModeOwner("chgrp by the owner to one of its groups", "a", 0o644, a.uid, sharedGID)
	t.expectCall(rootUser, "ok", "chown", "a", id(b.uid), id(b.gid))
	t.expectModeOwner("chown by root", "a", 0o644, b.uid, b.gid)
}

// casePermChownSuid checks that chown and chgrp of a regular file clear
// the setuid bit, and the setgid bit when group execute is set, whoever
// makes the change.
func casePermChownSuid(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	id := func(n uint32) string { return strconv.Itoa(int(n)) }
	t.makeOwned("by-owner", "file", a.uid, a.gid, 0o6755)
	t.makeOwned("by-root", "file", a.uid, a.gid, 0o6755)
	t.makeOwned("setgid", "file", a.uid, a.gid, 0o2755)

	t.expectCall(a, "ok", "chown", "by-owner", "-1", id(sharedGID))
	t.expectModeOwner("chgrp by the owner", "by-owner", 0o755, a.uid, sharedGID)
	t.expectCall(rootUser, "ok", "chown", "by-root", id(b.uid), id(b.gid))
	t.expectModeOwner("chown by root", "by-root", 0o755, b.uid, b.gid)
	t.expectCall(rootUser, "ok", "chown", "setgid", "-1", id(sharedGID))
	t.expectModeOwner("chgrp by root", "setgid", 0o755, a.uid, sharedGID)
}

// casePermWriteSuid checks that a write by a user other than root clears
// the setuid bit, and the setgid bit when group execute is set.
func casePermWriteSuid(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	t.makeOwned("f", "file", a.uid, sharedGID, 0o6775)
	t.expectCall(b, "ok", "write", "f")
	t.expectModeOwner("write by a group member", "f", 0o775, a.uid, sharedGID)
}

// casePermUtimes checks that setting times to now needs write permission,
// while explicit times need ownership.
func casePermUtimes(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	t.makeOwned("a666", "file", a.uid, a.gid, 0o666)
	t.makeOwned("a644", "file", a.uid, a.gid, 0o644)

	t.expectCall(b, "ok", "utimes-now", "a666")
	t.expectCall(b, "EPERM", "utimes-set", "a666")
	t.expectCall(a, "ok", "utimes-set", "a666")
	t.expectCall(b, "EACCES", "utimes-now", "a644")
	t.expectCall(rootUser, "ok", "utimes-set", "a644")
}

// casePermSetgidDir checks that new entries in a setgid directory get its
// group, new subdirectories also the setgid bit, and that entries in other
// directories get the creator's group.
func casePermSetgidDir(t *T) {
	t.requireRealOwners()
	a, b := userA, userB
	t.makeOwned("g", "dir", 0, sharedGID, 0o2777)
	t.makeOwned("n", "dir", 0, sharedGID, 0o777)

	t.expectCall(a, "ok", "create", "g/f", "644")
	t.expectModeOwner("file in a setgid directory", "g/f", 0o644, a.uid, sharedGID)
	t.expectCall(a, "ok", "mkdir", "g/d", "775")
	t.expectModeOwner("directory in a setgid directory", "g/d", 0o2775, a.uid, sharedGID)
	t.expectCall(b, "ok", "create", "g/d/f", "600")
	t.expectModeOwner("file in an inherited setgid directory", "g/d/f", 0o600, b.uid, sharedGID)
	t.expectCall(a, "ok", "create", "n/f", "644")
	t.expectModeOwner("file in a directory without setgid", "n/f", 0o644, a.uid, a.gid)
}

// permissionCases returns the permission cases, named after pjdfstest,
// whose areas they cover.
func permissionCases() []testCase {
	return []testCase{
		{name: "passthrough/pjdfstest/open", run: casePermOpen},
		{name: "passthrough/pjdfstest/exec", run: casePermExec},
		{name: "passthrough/pjdfstest/dir", run: casePermDir},
		{name: "passthrough/pjdfstest/sticky", run: casePermSticky},
		{name: "passthrough/pjdfstest/rename", run: casePermRename},
		{name: "passthrough/pjdfstest/chmod", run: casePermChmod},
		{name: "passthrough/pjdfstest/chown", run: casePermChown},
		{name: "passthrough/pjdfstest/chown-suid", run: casePermChownSuid},
		{name: "passthrough/pjdfstest/write-suid", run: casePermWriteSuid},
		{name: "passthrough/pjdfstest/utimes", run: casePermUtimes},
		{name: "passthrough/pjdfstest/setgid-dir", run: casePermSetgidDir},
	}
}
