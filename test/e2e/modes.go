package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// caseModes creates files and directories with exact modes under umask 0
// and changes modes with chmod, including the sticky bit.
func caseModes(t *T) {
	for _, mode := range []uint32{0o777, 0o755, 0o700, 0o640, 0o604, 0o600, 0o444, 0o000} {
		name := fmt.Sprintf("file-%04o", mode)
		fd, err := unix.Open(t.Path(name), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, mode)
		if t.Check(name+": create", err) {
			unix.Close(fd)
			t.expectPerm(name, t.Path(name), mode)
		}
	}
	for _, mode := range []uint32{0o777, 0o755, 0o750, 0o705, 0o700, 0o555} {
		name := fmt.Sprintf("dir-%04o", mode)
		if t.Check(name+": mkdir", unix.Mkdir(t.Path(name), mode)) {
			t.expectPerm(name, t.Path(name), mode)
		}
	}

	changes := []struct {
		name string
		mode uint32
	}{
		{"file-0600", 0o604},
		{"file-0644", 0o644},
		{"file-0000", 0o751},
		{"dir-0755", 0o1777},
		{"dir-0700", 0o711},
	}
	t.Must("create file-0644", os.WriteFile(t.Path("file-0644"), nil, 0o600))
	for _, c := range changes {
		step := fmt.Sprintf("chmod %s to %04o", c.name, c.mode)
		if t.Check(step, unix.Chmod(t.Path(c.name), c.mode)) {
			t.expectPerm(step, t.Path(c.name), c.mode)
		}
	}
	t.forgetCachedData()
	for _, c := range changes {
		t.expectPerm(fmt.Sprintf("%s after dropping caches", c.name), t.Path(c.name), c.mode)
	}
}

// otherGroup returns a group id other than the caller's, for chgrp.
func otherGroup() int {
	if os.Getegid() == 1000 {
		return 1001
	}
	return 1000
}

// caseSetgidDir checks that entries created in a setgid directory get the
// directory's group, and that new subdirectories inherit the setgid bit.
//
// Behind burrow in owner mode the server runs as uid 1000 and can give
// files only its own group, so the directory gets gid 1000 on disk. The
// caller is shown the owner mapping instead (see ownerView).
func caseSetgidDir(t *T) {
	t.RequireRoot()
	dir := t.Path("shared")
	t.Must("mkdir", unix.Mkdir(dir, 0o775))
	group := otherGroup()
	var view ownerIDs
	if t.cfg.server == "burrow" {
		view = t.ownerView()
		group = int(t.mustLstat("stat -export", t.cfg.export).Gid)
	}
	if err := os.Lchown(dir, -1, group); err != nil {
		if errnoOf(err) == unix.EPERM {
			t.Skipf("the server rejects chgrp of the directory to gid %d with EPERM, so group inheritance cannot be seen", group)
		}
		t.Fatalf("chgrp directory to gid %d: %v", group, err)
	}
	t.Must("chmod 2775", unix.Chmod(dir, 0o2775))

	// reported is the gid that stat through -dir must show for an entry
	// whose gid on disk is the directory's.
	reported := uint32(group)
	if t.cfg.server == "burrow" {
		reported = view.gid
	}
	st := t.mustLstat("lstat directory", dir)
	if st.Gid != reported {
		t.Errorf("directory: gid %d, expected %d", st.Gid, reported)
	}
	if st.Mode&0o7777 != 0o2775 {
		t.Errorf("directory: mode %#o, expected 02775", st.Mode&0o7777)
	}

	file := dir + "/file"
	t.Check("create file", os.WriteFile(file, []byte("x"), 0o644))
	sub := dir + "/sub"
	t.Check("mkdir subdirectory", unix.Mkdir(sub, 0o755))
	t.forgetCachedData()
	if st, err := lstat(file); t.Check("lstat file", err) && st.Gid != reported {
		t.Errorf("file: gid %d, expected %d for the directory's gid %d", st.Gid, reported, group)
	}
	if st, err := lstat(sub); t.Check("lstat subdirectory", err) {
		if st.Gid != reported {
			t.Errorf("subdirectory: gid %d, expected %d for the directory's gid %d", st.Gid, reported, group)
		}
		if st.Mode&unix.S_ISGID == 0 {
			t.Errorf("subdirectory: mode %#o lacks the setgid bit", st.Mode&0o7777)
		}
	}

	if exported, ok := t.exportPathIfGiven("shared"); ok {
		for _, name := range []string{"", "file", "sub"} {
			path := filepath.Join(exported, name)
			if st, err := lstat(path); t.Check("lstat under -export", err) && int(st.Gid) != group {
				t.Errorf("%s under -export: gid %d, expected the directory's %d", path, st.Gid, group)
			}
		}
	}
}

// expectCallResult checks the printed outcome of a helper call run as
// another user.
func (t *T) expectCallResult(step, got string, err error, want ...string) {
	if !t.Check(step, err) {
		return
	}
	for _, w := range want {
		if got == w {
			return
		}
	}
	t.Errorf("%s: got %s, expected %v", step, got, want)
}

// caseRefusals checks that changes the server may not make fail with
// EPERM, never with EIO.
func caseRefusals(t *T) {
	t.RequireRoot()

	// A file owned by root. Behind burrow, which runs unprivileged, only a
	// file made directly in the export can be owned by root.
	rootFile := t.Path("root-owned")
	if exported, ok := t.exportPathIfGiven("root-owned"); ok {
		t.Must("create file under -export", os.WriteFile(exported, []byte("root"), 0o644))
		t.Must("chown file under -export to root", os.Lchown(exported, 0, 0))
	} else if t.cfg.server == "burrow" {
		t.Skipf("needs -export to make a file owned by root behind burrow")
	} else {
		t.Must("create file", os.WriteFile(rootFile, []byte("root"), 0o644))
		t.Must("chown file to root", os.Lchown(rootFile, 0, 0))
	}
	t.forgetCachedData()

	out, err := t.callAs(devUID, devGID, "chmod", rootFile, "666")
	t.expectCallResult("chmod of root's file by uid 1001", out, err, "EPERM")
	out, err = t.callAs(devUID, devGID, "chown", rootFile, "1001", "1001")
	t.expectCallResult("chown of root's file to uid 1001 by uid 1001", out, err, "EPERM")
	out, err = t.callAs(devUID, devGID, "chown", rootFile, "0", "1001")
	t.expectCallResult("chgrp of root's file by uid 1001", out, err, "EPERM")
	t.expectPerm("mode after rejected chmod", rootFile, 0o644)

	// Root on the client is root on a local disk and on knfsd without
	// root_squash, but burrow in owner mode cannot act as root on its own
	// disk. uid 4242 is used by no caller, so burrow cannot take it for
	// the identity it shows root (see ownerView).
	mountFile := t.Path("mine")
	t.Must("create file", os.WriteFile(mountFile, []byte("mine"), 0o644))
	chmodErr := unix.Chmod(rootFile, 0o600)
	chownErr := unix.Lchown(mountFile, unusedID, unusedID)
	if t.cfg.server == "burrow" {
		t.expectErrno("chmod of root's file by root", chmodErr, unix.EPERM)
		t.expectErrno(fmt.Sprintf("chown to uid %d by root", unusedID), chownErr, unix.EPERM)
		t.expectChownToViewKeepsOwner(mountFile, "mine")
		return
	}
	for _, r := range []struct {
		step string
		err  error
	}{{"chmod of root's file by root", chmodErr}, {fmt.Sprintf("chown to uid %d by root", unusedID), chownErr}} {
		if r.err != nil && errnoOf(r.err) != unix.EPERM {
			t.Errorf("%s: expected success or EPERM, got %v", r.step, r.err)
		}
	}
}
