package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// expectInode checks that lookup (lstat) and the parent's getdents64
// listing both report ino for path.
func (t *T) expectInode(what, path string, ino uint64) {
	st, err := lstat(path)
	if t.Check(what+": lstat", err) && st.Ino != ino {
		t.Errorf("%s: lstat reports inode %d, expected %d", what, st.Ino, ino)
	}
	dino, err := direntIno(filepath.Dir(path), filepath.Base(path))
	if t.Check(what+": getdents64", err) && dino != ino {
		t.Errorf("%s: getdents64 reports d_ino %d, expected %d", what, dino, ino)
	}
}

// dropCaches makes the kernel forget cached pages, dentries and inodes,
// so that the NFS client has to ask the server again. It needs root.
func dropCaches() error {
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0)
}

// caseIdentity checks that one object has one inode number whether it is
// reached by create, lookup or readdir, and that getcwd works at depth 10.
func caseIdentity(t *T) {
	deep, err := mkdirDepth(t.dir, 10)
	t.Must("create 10 nested directories", err)

	path := filepath.Join(deep, "file")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	t.Must("create file", err)
	var created unix.Stat_t
	t.Must("fstat after create", unix.Fstat(int(f.Fd()), &created))
	t.Check("close file", f.Close())

	sub := filepath.Join(deep, "sub")
	t.Must("mkdir", os.Mkdir(sub, 0o755))

	dirInodes := make(map[string]uint64)
	dir := t.dir
	for i := 1; i <= 10; i++ {
		dir = filepath.Join(dir, fmt.Sprintf("d%d", i))
		dirInodes[dir] = t.mustLstat("lstat directory", dir).Ino
	}
	subIno := t.mustLstat("lstat new directory", sub).Ino

	checkAll := func(when string) {
		t.expectInode(when+": file", path, created.Ino)
		t.expectInode(when+": new directory", sub, subIno)
		for dir, ino := range dirInodes {
			rel, _ := filepath.Rel(t.dir, dir)
			t.expectInode(when+": directory "+rel, dir, ino)
			if st, err := lstat(filepath.Join(dir, ".")); t.Check(when+": lstat "+rel+"/.", err) && st.Ino != ino {
				t.Errorf("%s: %s/. has inode %d, expected %d", when, rel, st.Ino, ino)
			}
		}
		if st, err := lstat(filepath.Join(sub, "..")); t.Check(when+": lstat sub/..", err) && st.Ino != dirInodes[deep] {
			t.Errorf("%s: sub/.. has inode %d, expected %d", when, st.Ino, dirInodes[deep])
		}
	}
	checkAll("cached")
	if t.cfg.isNFS() && os.Geteuid() == 0 {
		if t.Check("drop caches", dropCaches()) {
			checkAll("after dropping caches")
		}
	}

	want, err := filepath.EvalSymlinks(deep)
	t.Must("resolve deepest directory", err)
	for _, pwd := range [][]string{{"sh", "-c", "pwd -P"}, {"/bin/pwd", "-P"}} {
		out, err := t.run(deep, pwd[0], pwd[1:]...)
		if t.Check(strings.Join(pwd, " "), err) && strings.TrimSpace(out) != want {
			t.Errorf("%s: printed %q, expected %q", strings.Join(pwd, " "), strings.TrimSpace(out), want)
		}
	}
}

// caseRestart restarts the server while a file is open for writing and a
// process has its working directory on the mount, then checks that both
// go on working and that no file handle went stale.
func caseRestart(t *T) {
	if t.cfg.restartCmd == "" {
		t.Skipf("needs -restart-cmd to stop and restart the server")
	}
	cwd := t.Path("deep", "dir")
	t.Must("create directories", os.MkdirAll(cwd, 0o755))
	for _, name := range []string{"alpha", "beta"} {
		t.Must("create "+name, os.WriteFile(filepath.Join(cwd, name), []byte(name+"\n"), 0o644))
	}

	part1 := pattern(1, 3<<20)
	part2 := pattern(2, 3<<20)
	logPath := t.Path("log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY, 0o644)
	t.Must("open file for writing", err)
	defer f.Close()
	// Not synced on purpose: the client must send or resend these writes
	// to the restarted server.
	_, err = f.Write(part1)
	t.Must("write before restart", err)

	// The child reports that it is in its directory, waits for a line on
	// standard input, then prints getcwd and lists the directory.
	child := t.command(t.dir, "sh", "-c", "cd deep/dir && echo ready && read line && /bin/pwd -P && ls && cat alpha")
	stdin, err := child.StdinPipe()
	t.Must("child stdin", err)
	stdout, err := child.StdoutPipe()
	t.Must("child stdout", err)
	var stderr strings.Builder
	child.Stderr = &stderr
	t.Must("start child", child.Start())
	childOut := bufio.NewReader(stdout)
	line, err := childOut.ReadString('\n')
	if err != nil || line != "ready\n" {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("child did not enter deep/dir: output %q, error %v, stderr %q", line, err, stderr.String())
	}

	start := time.Now()
	_, err = t.run("/", "sh", "-c", t.cfg.restartCmd)
	if err != nil {
		stdin.Close()
		child.Wait()
		t.Fatalf("restart command: %v", err)
	}
	restartTime := time.Since(start)

	_, err = f.Write(part2)
	t.Check(fmt.Sprintf("write after restart (restart took %v)", restartTime.Round(time.Millisecond)), err)
	t.Check("fsync after restart", f.Sync())
	t.Check("close after restart", f.Close())
	t.expectContent("file written across restart", logPath, append(append([]byte{}, part1...), part2...))

	_, err = io.WriteString(stdin, "go\n")
	t.Check("wake child", err)
	stdin.Close()
	rest, _ := io.ReadAll(childOut)
	err = child.Wait()
	if t.Check(fmt.Sprintf("child after restart (stderr %q)", stderr.String()), err) {
		want, _ := filepath.EvalSymlinks(cwd)
		lines := strings.Split(strings.TrimSpace(string(rest)), "\n")
		expected := []string{want, "alpha", "beta", "alpha"}
		if strings.Join(lines, "\n") != strings.Join(expected, "\n") {
			t.Errorf("child after restart: printed %q, expected %q", lines, expected)
		}
	}

	entries, err := os.ReadDir(cwd)
	if t.Check("list directory after restart", err) && len(entries) != 2 {
		t.Errorf("list directory after restart: %d entries, expected 2", len(entries))
	}
	t.expectContent("read old file after restart", filepath.Join(cwd, "beta"), []byte("beta\n"))
}
