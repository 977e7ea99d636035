package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// expectPerm checks the permission bits (with setuid, setgid and sticky)
// of path.
func (t *T) expectPerm(step, path string, want uint32) bool {
	st, err := lstat(path)
	if !t.Check(step, err) {
		return false
	}
	if got := st.Mode & 0o7777; got != want {
		t.Errorf("%s: mode %#o, expected %#o", step, got, want)
		return false
	}
	return true
}

// caseExclusiveCreate checks O_CREAT|O_EXCL: it succeeds once, later
// attempts get EEXIST, and the client's mode and times are kept.
func caseExclusiveCreate(t *T) {
	path := t.Path("excl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	t.Must("first exclusive create", err)
	_, err = f.Write([]byte("first"))
	t.Check("write", err)
	t.Check("close", f.Close())

	_, err = os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	t.expectErrno("second exclusive create", err, unix.EEXIST)
	t.expectContent("content after second create", path, []byte("first"))
	t.expectPerm("mode", path, 0o640)

	// A server may keep the verifier of an NFSv3 EXCLUSIVE create in the
	// file's times, so times set afterwards must replace it.
	atime := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
	mtime := time.Date(2002, 3, 4, 5, 6, 7, 987654321, time.UTC)
	times := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if t.Check("utimes", unix.UtimesNano(path, times)) {
		st := t.mustLstat("stat after utimes", path)
		if got := time.Unix(st.Atim.Unix()); !got.Equal(atime) {
			t.Errorf("atime after utimes: %v, expected %v", got.UTC(), atime)
		}
		if got := time.Unix(st.Mtim.Unix()); !got.Equal(mtime) {
			t.Errorf("mtime after utimes: %v, expected %v", got.UTC(), mtime)
		}
	}

	// O_EXCL fails on an existing symlink even when its target is missing.
	link := t.Path("dangling")
	t.Must("symlink", os.Symlink("missing-target", link))
	_, err = os.OpenFile(link, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	t.expectErrno("exclusive create on dangling symlink", err, unix.EEXIST)
	if _, err := os.Lstat(t.Path("missing-target")); err == nil {
		t.Errorf("exclusive create on dangling symlink: created the target")
	}
}

// caseCreateReadOnly checks that a file created without write permission
// can still be written, synced and read through the creating descriptor.
func caseCreateReadOnly(t *T) {
	for _, mode := range []os.FileMode{0o444, 0o111, 0o000} {
		name := fmt.Sprintf("mode-%04o", uint32(mode))
		path := t.Path(name)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, mode)
		if !t.Check(name+": create", err) {
			continue
		}
		data := pattern(byte(mode), 100000)
		if _, err := f.Write(data); t.Check(name+": write", err) {
			t.Check(name+": fsync", f.Sync())
			got := make([]byte, len(data))
			n, err := f.ReadAt(got, 0)
			if t.Check(name+": read back", err) && !bytes.Equal(got[:n], data) {
				t.Errorf("%s: read back %s, expected %s", name, describeBytes(got[:n]), describeBytes(data))
			}
		}
		t.Check(name+": close", f.Close())
		t.expectPerm(name+": mode", path, uint32(mode))
	}
}
