package main

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// direntType returns the d_type that getdents64 reports for name in dir.
func direntType(dir, name string) (uint8, error) {
	entries, err := readAllDirents(dir, 4096)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if e.name == name {
			return e.typ, nil
		}
	}
	return 0, os.ErrNotExist
}

// expectSpecial checks the type of path by lstat and by the d_type of its
// directory entry. DT_UNKNOWN is accepted, because a client may not know
// the type when it lists a directory.
func (t *T) expectSpecial(step, path string, ifmt uint32, dtype uint8) {
	st, err := lstat(path)
	if t.Check(step+": lstat", err) && st.Mode&unix.S_IFMT != ifmt {
		t.Errorf("%s: lstat reports a %s, expected a %s", step, fileType(st.Mode), fileType(ifmt))
	}
	got, err := direntType(t.dir, path[len(t.dir)+1:])
	if t.Check(step+": getdents64", err) && got != dtype && got != unix.DT_UNKNOWN {
		t.Errorf("%s: d_type %d, expected %d", step, got, dtype)
	}
}

// caseFifoSocket creates a fifo and a unix socket, checks their types in
// stat and in the listing, and removes them.
func caseFifoSocket(t *T) {
	fifo := t.Path("fifo")
	if t.Check("mkfifo", unix.Mkfifo(fifo, 0o640)) {
		t.expectSpecial("fifo", fifo, unix.S_IFIFO, unix.DT_FIFO)
		t.expectPerm("fifo mode", fifo, 0o640)
	}

	sock := t.Path("sock")
	listener, err := net.Listen("unix", sock)
	if t.Check("bind unix socket", err) {
		unixListener := listener.(*net.UnixListener)
		// The case removes the socket itself, to test remove.
		unixListener.SetUnlinkOnClose(false)
		t.expectSpecial("socket", sock, unix.S_IFSOCK, unix.DT_SOCK)
		t.Check("close socket", listener.Close())
	}

	entries, err := os.ReadDir(t.dir)
	if t.Check("os.ReadDir", err) {
		for _, e := range entries {
			switch {
			case e.Name() == "fifo" && e.Type() != os.ModeNamedPipe:
				t.Errorf("os.ReadDir: fifo has type %v", e.Type())
			case e.Name() == "sock" && e.Type() != os.ModeSocket:
				t.Errorf("os.ReadDir: sock has type %v", e.Type())
			}
		}
	}

	t.Check("remove fifo", os.Remove(fifo))
	t.Check("remove socket", os.Remove(sock))
	t.expectEmptyDir("after remove", t.dir)
}

// caseMknod creates a character device node. Root may succeed (local, or
// knfsd without root_squash) or get a clean EPERM, but never EIO.
func caseMknod(t *T) {
	path := t.Path("null")
	dev := unix.Mkdev(1, 3)
	err := unix.Mknod(path, unix.S_IFCHR|0o600, int(dev))
	if err != nil {
		if errnoOf(err) == unix.EPERM {
			t.expectMissing("node after EPERM", path)
			return
		}
		t.Fatalf("mknod: expected success or EPERM, got %v", err)
	}
	st, err := lstat(path)
	if t.Check("lstat", err) {
		if st.Mode&unix.S_IFMT != unix.S_IFCHR {
			t.Errorf("lstat reports a %s, expected a character device", fileType(st.Mode))
		}
		if st.Rdev != dev {
			t.Errorf("device number %d:%d, expected 1:3", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
	}
	t.expectSpecial("device", path, unix.S_IFCHR, unix.DT_CHR)
	t.Check("remove", os.Remove(path))
}
