package main

import (
	"bytes"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// expectSize checks the size that stat reports for path.
func (t *T) expectSize(step, path string, want int64) bool {
	st, err := lstat(path)
	if !t.Check(step, err) {
		return false
	}
	if st.Size != want {
		t.Errorf("%s: size %d, expected %d", step, st.Size, want)
		return false
	}
	return true
}

// expectPread checks that pread of count bytes at offset returns exactly
// want bytes of data.
func (t *T) expectPread(step string, f *os.File, offset int64, count int, want []byte) {
	buf := make([]byte, count)
	n, err := unix.Pread(int(f.Fd()), buf, offset)
	if !t.Check(fmt.Sprintf("%s: pread %d bytes at %d", step, count, offset), err) {
		return
	}
	if n != len(want) {
		t.Errorf("%s: pread %d bytes at %d returned %d bytes, expected %d", step, count, offset, n, len(want))
		return
	}
	if !bytes.Equal(buf[:n], want) {
		t.Errorf("%s: pread at %d returned %s, expected %s", step, offset, describeBytes(buf[:n]), describeBytes(want))
	}
}

// forgetCachedData drops the client's page cache when testing NFS as
// root, so that later reads go to the server.
func (t *T) forgetCachedData() {
	if t.cfg.isNFS() && os.Geteuid() == 0 {
		t.Check("drop caches", dropCaches())
	}
}

// caseTruncateOnOpen checks O_TRUNC and the shell's > redirection on files
// that had data.
func caseTruncateOnOpen(t *T) {
	path := t.Path("file")
	t.Must("write", os.WriteFile(path, pattern(1, 100000), 0o644))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	t.Must("open with O_TRUNC", err)
	if fi, err := f.Stat(); t.Check("fstat after O_TRUNC", err) && fi.Size() != 0 {
		t.Errorf("fstat after O_TRUNC: size %d, expected 0", fi.Size())
	}
	t.expectSize("stat after O_TRUNC", path, 0)
	_, err = f.Write([]byte("new"))
	t.Check("write after O_TRUNC", err)
	t.Check("close", f.Close())
	t.forgetCachedData()
	t.expectContent("content after O_TRUNC", path, []byte("new"))

	shellPath := t.Path("shell")
	t.Must("write", os.WriteFile(shellPath, pattern(2, 100000), 0o644))
	_, err = t.run(t.dir, "sh", "-c", "printf hi > shell")
	if t.Check("sh redirection", err) {
		t.expectContent("content after > redirection", shellPath, []byte("hi"))
	}
}

// caseTruncateSparse extends a file to 20 GiB with truncate and reads
// zeros back at several offsets, including across the 4 GiB boundary.
func caseTruncateSparse(t *T) {
	const size = 20 * gib
	path := t.Path("sparse")
	t.Must("write head", os.WriteFile(path, []byte("head"), 0o644))
	t.Must("truncate to 20 GiB", os.Truncate(path, size))
	t.expectSize("stat after truncate", path, size)
	t.forgetCachedData()

	f, err := os.Open(path)
	t.Must("open", err)
	defer f.Close()
	t.expectPread("head", f, 0, 4, []byte("head"))
	for _, offset := range []int64{4, 4 * kib, 4*gib - 2*kib, 10 * gib, size - 4*kib} {
		t.expectPread("hole", f, offset, 4*kib, make([]byte, 4*kib))
	}
	t.expectPread("at end", f, size, 4*kib, nil)
	t.expectPread("past end", f, size+gib, 4*kib, nil)

	st := t.mustLstat("stat", path)
	if used := st.Blocks * 512; used > 16*mib {
		t.Errorf("sparse file uses %d bytes on disk, expected at most 16 MiB", used)
	}
}

// caseShrinkGrow shrinks a file and grows it again, by path and through an
// open descriptor: the bytes after the cut must read back as zeros.
func caseShrinkGrow(t *T) {
	const full, cut = 64 * kib, 10000
	data := pattern(3, full)
	want := append(append([]byte{}, data[:cut]...), make([]byte, full-cut)...)

	byPath := t.Path("by-path")
	t.Must("write", os.WriteFile(byPath, data, 0o644))
	t.Must("shrink by path", os.Truncate(byPath, cut))
	t.expectSize("size after shrink", byPath, cut)
	t.Must("grow by path", os.Truncate(byPath, full))
	t.expectContent("by path: content after shrink and grow", byPath, want)
	t.forgetCachedData()
	t.expectContent("by path: content read again", byPath, want)

	byFD := t.Path("by-fd")
	f, err := os.OpenFile(byFD, os.O_CREATE|os.O_RDWR, 0o644)
	t.Must("create", err)
	defer f.Close()
	_, err = f.Write(data)
	t.Must("write", err)
	t.Must("ftruncate down", f.Truncate(cut))
	t.Must("ftruncate up", f.Truncate(full))
	t.expectPread("by descriptor", f, 0, full, want)
	t.Check("fsync", f.Sync())
	t.forgetCachedData()
	t.expectContent("by descriptor: content read again", byFD, want)
}

// caseLargeFile writes data beyond 4 GiB in a 5 GiB sparse file and reads
// it back, with exact counts at and past the end.
func caseLargeFile(t *T) {
	const size = 5 * gib
	path := t.Path("large")
	beyond4G := pattern(4, mib)
	tail := pattern(5, mib)
	const beyondOffset = 4*gib + 12345

	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	t.Must("create", err)
	defer f.Close()
	_, err = f.WriteAt(beyond4G, beyondOffset)
	t.Must("write beyond 4 GiB", err)
	_, err = f.WriteAt(tail, size-mib)
	t.Must("write up to 5 GiB", err)
	t.Must("fsync", f.Sync())
	t.Must("close", f.Close())
	t.expectSize("size", path, size)
	t.forgetCachedData()

	f, err = os.Open(path)
	t.Must("open again", err)
	defer f.Close()
	t.expectPread("beyond 4 GiB", f, beyondOffset, mib, beyond4G)
	t.expectPread("last MiB", f, size-mib, mib, tail)
	t.expectPread("hole below 4 GiB", f, 4*gib-4*kib, 4*kib, make([]byte, 4*kib))
	t.expectPread("hole at 2 GiB", f, 2*gib, 4*kib, make([]byte, 4*kib))
	t.expectPread("across end", f, size-10, 100, tail[mib-10:])
	t.expectPread("at end", f, size, 100, nil)
	t.expectPread("past end", f, size+gib, 100, nil)
}

// caseReadAtEOF checks the byte counts of reads that reach or pass the
// end of a small file.
func caseReadAtEOF(t *T) {
	data := pattern(6, 10000)
	path := t.Path("file")
	t.Must("write", os.WriteFile(path, data, 0o644))
	t.forgetCachedData()

	f, err := os.Open(path)
	t.Must("open", err)
	defer f.Close()
	t.expectPread("whole file", f, 0, 10000, data)
	t.expectPread("larger than file", f, 0, 20000, data)
	t.expectPread("across end", f, 9990, 100, data[9990:])
	t.expectPread("at end", f, 10000, 100, nil)
	t.expectPread("past end", f, 20000, 100, nil)

	empty := t.Path("empty")
	t.Must("create empty file", os.WriteFile(empty, nil, 0o644))
	e, err := os.Open(empty)
	t.Must("open empty file", err)
	defer e.Close()
	t.expectPread("empty file", e, 0, 100, nil)
}
