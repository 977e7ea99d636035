package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoOf returns the errno inside err, or 0 when there is none.
func errnoOf(err error) unix.Errno {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}

// errnoName returns the symbolic name of errno, such as "EEXIST".
func errnoName(errno unix.Errno) string {
	if name := unix.ErrnoName(errno); name != "" {
		return name
	}
	return fmt.Sprintf("errno %d", int(errno))
}

// expectErrno checks that err carries one of the wanted errnos.
func (t *T) expectErrno(step string, err error, want ...unix.Errno) bool {
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = errnoName(w)
	}
	expected := strings.Join(names, " or ")
	if err == nil {
		t.Errorf("%s: succeeded, expected %s", step, expected)
		return false
	}
	got := errnoOf(err)
	for _, w := range want {
		if got == w {
			return true
		}
	}
	t.Errorf("%s: expected %s, got %v", step, expected, err)
	return false
}

// expectContent checks that path contains exactly want.
func (t *T) expectContent(step, path string, want []byte) bool {
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v", step, err)
		return false
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %s contains %s, expected %s", step, path, describeBytes(got), describeBytes(want))
		return false
	}
	return true
}

// describeBytes returns data quoted when short, or its size and digest.
func describeBytes(data []byte) string {
	if len(data) <= 64 {
		return strconv.Quote(string(data))
	}
	return fmt.Sprintf("%d bytes with SHA-256 %x", len(data), sha256.Sum256(data))
}

// lstat returns the raw stat of path without following a final symlink.
func lstat(path string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Lstat(path, &st)
	if err != nil {
		return st, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return st, nil
}

// mustLstat returns the raw stat of path or ends the case.
func (t *T) mustLstat(step, path string) unix.Stat_t {
	st, err := lstat(path)
	t.Must(step, err)
	return st
}

// pattern returns n bytes that differ with seed and position, so that a
// block written at a wrong offset or from a wrong file is detected.
func pattern(seed byte, n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = seed ^ byte(i) ^ byte(i>>8)*31
	}
	return data
}

// fileType returns the S_IFMT part of a raw mode as a short name.
func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	}
	return fmt.Sprintf("type %#o", mode&unix.S_IFMT)
}

// command returns a command bound to the case's deadline, with its
// working directory set to dir.
func (t *T) command(dir string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(t.ctx, name, args...)
	cmd.Dir = dir
	return cmd
}

// output runs cmd and returns its standard output. The error includes the
// command line and its standard error.
func output(cmd *exec.Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "..."
		}
		return stdout.String(), fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, msg)
	}
	return stdout.String(), nil
}

// run runs a command in dir and returns its standard output.
func (t *T) run(dir string, name string, args ...string) (string, error) {
	return output(t.command(dir, name, args...))
}

// asUser makes cmd run with the given uid and gid and no supplementary
// groups.
func asUser(cmd *exec.Cmd, uid, gid uint32) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}},
	}
	return cmd
}

// pipeCommands runs first | second and fails if either fails.
func pipeCommands(first, second *exec.Cmd) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}

	var firstErr, secondErr bytes.Buffer
	first.Stdout = w
	first.Stderr = &firstErr
	second.Stdin = r
	second.Stderr = &secondErr
	if err := first.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("%s: %w", strings.Join(first.Args, " "), err)
	}
	w.Close()
	if err := second.Start(); err != nil {
		r.Close()
		first.Wait()
		return fmt.Errorf("%s: %w", strings.Join(second.Args, " "), err)
	}
	r.Close()

	err1 := first.Wait()
	err2 := second.Wait()
	if err1 != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(first.Args, " "), err1, strings.TrimSpace(firstErr.String()))
	}
	if err2 != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(second.Args, " "), err2, strings.TrimSpace(secondErr.String()))
	}
	return nil
}

// expectEmptyDir checks that dir exists and has no entries.
func (t *T) expectEmptyDir(step, dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("%s: %v", step, err)
		return false
	}
	if len(entries) > 0 {
		names := make([]string, 0, 5)
		for i, e := range entries {
			if i == 5 {
				names = append(names, "...")
				break
			}
			names = append(names, e.Name())
		}
		t.Errorf("%s: %s still has %d entries: %s", step, dir, len(entries), strings.Join(names, ", "))
		return false
	}
	return true
}

// dirent is one entry returned by getdents64.
type dirent struct {
	ino  uint64
	typ  uint8
	name string
}

// direntReader pages through a directory with getdents64 and a buffer of
// a fixed size, so that a small buffer forces many calls.
type direntReader struct {
	f   *os.File
	buf []byte
}

func openDirents(path string, bufSize int) (*direntReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &direntReader{f: f, buf: make([]byte, bufSize)}, nil
}

func (r *direntReader) Close() error { return r.f.Close() }

// next returns the entries of one getdents64 call, or none at the end.
func (r *direntReader) next() ([]dirent, error) {
	for {
		n, err := unix.Getdents(int(r.f.Fd()), r.buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "getdents64", Path: r.f.Name(), Err: err}
		}
		return parseDirents(r.buf[:n])
	}
}

// parseDirents decodes struct linux_dirent64 records: d_ino (8 bytes),
// d_off (8), d_reclen (2), d_type (1) and a NUL-terminated d_name.
func parseDirents(buf []byte) ([]dirent, error) {
	var entries []dirent
	for len(buf) > 0 {
		if len(buf) < 19 {
			return entries, fmt.Errorf("getdents64 record of %d bytes is shorter than its header", len(buf))
		}
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < 19 || reclen > len(buf) {
			return entries, fmt.Errorf("getdents64 record length %d is invalid with %d bytes left", reclen, len(buf))
		}
		name := buf[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		entries = append(entries, dirent{
			ino:  binary.NativeEndian.Uint64(buf[0:8]),
			typ:  buf[18],
			name: string(name),
		})
		buf = buf[reclen:]
	}
	return entries, nil
}

// readAllDirents lists path with getdents64 and a buffer of bufSize bytes.
func readAllDirents(path string, bufSize int) ([]dirent, error) {
	r, err := openDirents(path, bufSize)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var all []dirent
	for {
		batch, err := r.next()
		if err != nil {
			return all, err
		}
		if len(batch) == 0 {
			return all, nil
		}
		all = append(all, batch...)
	}
}

// direntIno returns the d_ino of name in the getdents64 listing of dir.
func direntIno(dir, name string) (uint64, error) {
	entries, err := readAllDirents(dir, 4096)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if e.name == name {
			return e.ino, nil
		}
	}
	return 0, fmt.Errorf("%s not listed by getdents64 in %s", name, dir)
}

// mkdirDepth creates depth nested directories d1/d2/... under base and
// returns the deepest one.
func mkdirDepth(base string, depth int) (string, error) {
	dir := base
	for i := 1; i <= depth; i++ {
		dir = filepath.Join(dir, fmt.Sprintf("d%d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// tempDir creates a directory outside -dir that is removed after the case.
func (t *T) tempDir(purpose string) string {
	dir, err := os.MkdirTemp("", "burrow-e2e-"+purpose+"-")
	if err != nil {
		t.Fatalf("create temporary directory: %v (set TMPDIR to a writable directory outside -dir)", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
