package main

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests make sure that the suite's checks fail when they should,
// because a check that cannot fail would report PASS for a broken server.

func newTestT(t *testing.T) *T {
	return &T{cfg: &config{server: "local"}, dir: t.TempDir(), ctx: context.Background()}
}

func TestExpectEachOnceReportsEachProblem(t *testing.T) {
	e := newTestT(t)
	e.expectEachOnce("list", []string{".", "..", "a", "b", "b", "x"}, []string{"a", "b", "c"})
	if len(e.failures) != 3 {
		t.Fatalf("got %d failures, expected missing, repeated and unexpected: %q", len(e.failures), e.failures)
	}
	for i, want := range []string{"1 names missing: c", "listed more than once: b (2 times)", "1 unexpected names: x"} {
		if !strings.Contains(e.failures[i], want) {
			t.Errorf("failure %d is %q, expected it to contain %q", i, e.failures[i], want)
		}
	}

	ok := newTestT(t)
	ok.expectEachOnce("list", []string{"b", ".", "a"}, []string{"a", "b"})
	if len(ok.failures) != 0 {
		t.Errorf("a correct listing failed: %q", ok.failures)
	}
}

func TestCompareTreesFindsDifferences(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	write := func(root, name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(root, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(src, "same", "same", 0o644)
	write(dst, "same", "same", 0o644)
	write(src, "content", "one", 0o644)
	write(dst, "content", "two", 0o644)
	write(src, "mode", "m", 0o755)
	write(dst, "mode", "m", 0o644)
	write(src, "missing", "m", 0o644)
	write(dst, "extra", "e", 0o644)

	want, err := digestTree(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := digestTree(dst)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestT(t)
	e.compareTrees(want, got)
	joined := strings.Join(e.failures, "\n")
	for _, expected := range []string{"missing from the copy: 1 entries: missing", "not in the source: 1 entries: extra", "wrong size or SHA-256: 1 entries: content", "wrong mode: 1 entries: mode has mode 0644, expected 0755"} {
		if !strings.Contains(joined, expected) {
			t.Errorf("failures %q lack %q", joined, expected)
		}
	}
}

func TestParseDirents(t *testing.T) {
	record := func(ino uint64, typ uint8, name string) []byte {
		reclen := (19 + len(name) + 1 + 7) &^ 7
		buf := make([]byte, reclen)
		binary.NativeEndian.PutUint64(buf[0:8], ino)
		binary.NativeEndian.PutUint16(buf[16:18], uint16(reclen))
		buf[18] = typ
		copy(buf[19:], name)
		return buf
	}
	buf := append(record(7, unix.DT_REG, "file"), record(9, unix.DT_DIR, "a-longer-directory-name")...)
	entries, err := parseDirents(buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0] != (dirent{7, unix.DT_REG, "file"}) || entries[1] != (dirent{9, unix.DT_DIR, "a-longer-directory-name"}) {
		t.Errorf("parsed %+v", entries)
	}
	if _, err := parseDirents(buf[:30]); err == nil {
		t.Errorf("a truncated record parsed without error")
	}
}

func TestNFSErrorLines(t *testing.T) {
	lines := []string{
		"NFS: server localhost not responding, still trying",
		"NFS: server localhost OK",
		"NFS: nfs_update_inode: inode 123 mode changed, 0100644 to 040755",
		"NFS: Server wrote zero bytes, expected 4096.",
		"nfs: fileid changed",
		"NFS: stale file handle",
		"eth0: link up",
	}
	got := nfsErrorLines(lines)
	if len(got) != 3 || got[0] != lines[0] || got[1] != lines[4] || got[2] != lines[5] {
		t.Errorf("matched %q", got)
	}
}

func TestExpectErrno(t *testing.T) {
	e := newTestT(t)
	if e.expectErrno("nil error", nil, unix.EEXIST) {
		t.Errorf("a nil error matched EEXIST")
	}
	if e.expectErrno("wrong errno", &os.PathError{Op: "open", Path: "x", Err: unix.EIO}, unix.EPERM) {
		t.Errorf("EIO matched EPERM")
	}
	if !e.expectErrno("right errno", &os.LinkError{Op: "rename", Old: "a", New: "b", Err: unix.ENOTEMPTY}, unix.ENOTEMPTY, unix.EEXIST) {
		t.Errorf("ENOTEMPTY did not match")
	}
	if len(e.failures) != 2 {
		t.Errorf("got %d failures, expected 2: %q", len(e.failures), e.failures)
	}
}

func TestRunCaseOutcomes(t *testing.T) {
	cfg := &config{dir: t.TempDir(), server: "local"}
	failing := runCase(cfg, testCase{name: "unit/fail", run: func(c *T) {
		c.Errorf("first")
		c.Fatalf("second")
		c.Errorf("never reached")
	}}, nil)
	if len(failing.failures) != 2 || failing.failures[0] != "first" || failing.failures[1] != "second" {
		t.Errorf("failing case reported %q", failing.failures)
	}

	skipped := runCase(cfg, testCase{name: "unit/skip", run: func(c *T) { c.Skipf("reason") }}, nil)
	if skipped.skip != "reason" || len(skipped.failures) != 0 {
		t.Errorf("skipped case reported %+v", skipped)
	}

	slow := runCase(cfg, testCase{name: "unit/slow", timeout: 50 * time.Millisecond, run: func(c *T) {
		c.run(c.dir, "sleep", "10")
	}}, nil)
	if len(slow.failures) != 1 || !strings.Contains(slow.failures[0], "timed out") {
		t.Errorf("slow case reported %q", slow.failures)
	}

	entries, err := os.ReadDir(cfg.dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "unit-slow" {
		t.Errorf("after the cases -dir contains %v (%v), expected only the timed-out case's directory", entries, err)
	}
}
