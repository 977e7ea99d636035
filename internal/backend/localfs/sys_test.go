package localfs

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// referenceHandleHash is how generations were computed before the
// allocation-free wrapper, with x/sys/unix and hash/fnv. Handles that
// clients already hold depend on the two agreeing.
func referenceHandleHash(t *testing.T, dirfd int, name string, flags int) uint64 {
	t.Helper()
	kh, _, err := unix.NameToHandleAt(dirfd, name, flags)
	if err != nil {
		t.Fatalf("NameToHandleAt %q: %v", name, err)
	}
	h := fnv.New64a()
	var typ [4]byte
	binary.LittleEndian.PutUint32(typ[:], uint32(kh.Type()))
	h.Write(typ[:])
	h.Write(kh.Bytes())
	return h.Sum64()
}

func TestKernelHandleHashMatchesReference(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("file", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	if _, _, err := unix.NameToHandleAt(dirfd, "", unix.AT_EMPTY_PATH); err != nil {
		t.Skipf("the file system of %s has no kernel handles: %v", dir, err)
	}

	cases := []struct {
		name  string
		flags int
	}{{"", unix.AT_EMPTY_PATH}, {"file", 0}, {"sub", 0}, {"link", 0}}
	for _, tc := range cases {
		got, err := kernelHandleHash(dirfd, tc.name, tc.flags)
		if err != nil {
			t.Fatalf("kernelHandleHash %q: %v", tc.name, err)
		}
		if want := referenceHandleHash(t, dirfd, tc.name, tc.flags); got != want {
			t.Errorf("kernelHandleHash %q = %#x, want %#x", tc.name, got, want)
		}
	}
	if got, want := mustHash(t, dirfd, "link"), mustHash(t, dirfd, "file"); got == want {
		t.Error("the symlink hashed like its target: the wrapper followed it")
	}

	if _, err := kernelHandleHash(dirfd, "missing", 0); !errors.Is(err, unix.ENOENT) {
		t.Errorf("missing name: %v, want ENOENT", err)
	}
	if _, err := kernelHandleHash(dirfd, strings.Repeat("x", 256), 0); !errors.Is(err, unix.ENAMETOOLONG) {
		t.Errorf("256-byte name: %v, want ENAMETOOLONG", err)
	}
	if _, err := kernelHandleHash(dirfd, "a\x00b", 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("name with NUL: %v, want EINVAL", err)
	}
}

func mustHash(t *testing.T, dirfd int, name string) uint64 {
	t.Helper()
	h, err := kernelHandleHash(dirfd, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestStatxNameMatchesStatx(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	var got, want unix.Statx_t
	if err := statxName(dirfd, "file", unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, &got); err != nil {
		t.Fatal(err)
	}
	if err := unix.Statx(dirfd, "file", unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, &want); err != nil {
		t.Fatal(err)
	}
	if got.Ino != want.Ino || got.Size != want.Size || got.Mode != want.Mode || got.Mtime != want.Mtime {
		t.Errorf("statxName = %+v, want %+v", got, want)
	}
	if err := statxName(dirfd, "missing", 0, unix.STATX_BASIC_STATS, &got); !errors.Is(err, unix.ENOENT) {
		t.Errorf("missing name: %v, want ENOENT", err)
	}
}

func TestJoinNames(t *testing.T) {
	var buf pathBuf
	buf.joinNames([]string{"a", "bc", "d"})
	if got := string(buf[:6]); got != "a/bc/d" || buf[6] != 0 {
		t.Errorf("joinNames = %q, NUL %d", buf[:7], buf[6])
	}
	buf.joinNames([]string{"x"})
	if buf[0] != 'x' || buf[1] != 0 {
		t.Errorf("joinNames of one name = %q", buf[:2])
	}
}

// TestResolveLongerThanOneChunk resolves a handle whose path from the root
// is longer than PATH_MAX, so openNames opens it in several chunks.
func TestResolveLongerThanOneChunk(t *testing.T) {
	fs, _ := newTestFS(t)
	dir := fs.Root()
	depth := 0
	for total := 0; total <= 2*maxChunk; total += 201 {
		dir = mustMkdir(t, fs, dir, strings.Repeat(string(rune('a'+depth%26)), 200))
		depth++
	}
	f := mustCreate(t, fs, dir, "leaf")
	mustWrite(t, fs, f, 0, "deep")

	// Forget the cached paths and descriptors, so that the hints rebuild
	// the whole path.
	fs.paths = new(pathCache)
	fs.files.closeAll()
	attr, err := fs.GetAttr(ctx, cred, f)
	if err != nil {
		t.Fatalf("GetAttr %d levels deep: %v", depth, err)
	}
	if attr.Size != 4 {
		t.Errorf("size %d, want 4", attr.Size)
	}
	if got := mustRead(t, fs, f); got != "deep" {
		t.Errorf("read %q, want %q", got, "deep")
	}
}

// TestLinkTargetWithAndWithoutProcDir reads a descriptor's magic link
// through the saved /proc/self/fd descriptor and through the full path
// that is used when that descriptor could not be opened.
func TestLinkTargetWithAndWithoutProcDir(t *testing.T) {
	fs, root := newTestFS(t)
	path := filepath.Join(root, "target")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	want, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}

	if fs.procFDs < 0 {
		t.Fatal("/proc/self/fd was not opened")
	}
	var buf [unix.PathMax]byte
	got, err := fs.linkTarget(strconv.Itoa(fd), buf[:])
	if err != nil || string(got) != want {
		t.Errorf("through /proc/self/fd descriptor: %q, %v; want %q", got, err, want)
	}

	saved := fs.procFDs
	fs.procFDs = -1
	defer func() { fs.procFDs = saved }()
	got, err = fs.linkTarget(strconv.Itoa(fd), buf[:])
	if err != nil || string(got) != want {
		t.Errorf("through the full path: %q, %v; want %q", got, err, want)
	}
}
