package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// rename calls rename(2) directly. os.Rename is not used because it
// rejects a directory as the target itself, with EEXIST.
func rename(oldpath, newpath string) error {
	if err := unix.Rename(oldpath, newpath); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// expectMissing checks that path does not exist.
func (t *T) expectMissing(step, path string) {
	_, err := lstat(path)
	t.expectErrno(step, err, unix.ENOENT)
}

// caseRenameOverFile renames files onto existing files, also onto a
// read-only one, and onto another name of the same inode.
func caseRenameOverFile(t *T) {
	for _, targetMode := range []os.FileMode{0o644, 0o444} {
		prefix := fmt.Sprintf("onto %04o file", uint32(targetMode))
		src := t.Path(fmt.Sprintf("src-%o", uint32(targetMode)))
		dst := t.Path(fmt.Sprintf("dst-%o", uint32(targetMode)))
		t.Must(prefix+": write source", os.WriteFile(src, []byte("source"), 0o644))
		t.Must(prefix+": write target", os.WriteFile(dst, []byte("old target"), targetMode))
		srcIno := t.mustLstat(prefix+": lstat source", src).Ino

		if !t.Check(prefix+": rename", rename(src, dst)) {
			continue
		}
		t.expectContent(prefix+": target content", dst, []byte("source"))
		t.expectMissing(prefix+": source after rename", src)
		st := t.mustLstat(prefix+": lstat target", dst)
		if st.Ino != srcIno {
			t.Errorf("%s: target has inode %d, expected the source's %d", prefix, st.Ino, srcIno)
		}
		if st.Nlink != 1 {
			t.Errorf("%s: target has %d links, expected 1", prefix, st.Nlink)
		}
	}

	// Renaming a name onto another link of the same inode does nothing.
	one, two := t.Path("one"), t.Path("two")
	t.Must("same inode: write", os.WriteFile(one, []byte("same"), 0o644))
	t.Must("same inode: link", os.Link(one, two))
	if t.Check("same inode: rename", rename(one, two)) {
		t.expectContent("same inode: first name", one, []byte("same"))
		t.expectContent("same inode: second name", two, []byte("same"))
	}
}

// caseRenameOverDir renames directories onto empty and non-empty
// directories and mixes files with directories.
func caseRenameOverDir(t *T) {
	src, emptyDst, full := t.Path("src"), t.Path("empty"), t.Path("full")
	for _, dir := range []string{src, emptyDst, full} {
		t.Must("mkdir", os.Mkdir(dir, 0o755))
	}
	t.Must("write file in source", os.WriteFile(src+"/inside", []byte("inside"), 0o644))
	t.Must("write file in full directory", os.WriteFile(full+"/keep", []byte("keep"), 0o644))
	file := t.Path("file")
	t.Must("write file", os.WriteFile(file, []byte("file"), 0o644))

	if t.Check("directory onto empty directory", rename(src, emptyDst)) {
		t.expectContent("directory onto empty directory: moved file", emptyDst+"/inside", []byte("inside"))
		t.expectMissing("directory onto empty directory: source", src)
	}

	// POSIX allows either errno, and Linux returns ENOTEMPTY.
	t.expectErrno("directory onto non-empty directory", rename(emptyDst, full), unix.ENOTEMPTY, unix.EEXIST)
	t.expectContent("directory onto non-empty directory: target kept", full+"/keep", []byte("keep"))

	t.expectErrno("file onto directory", rename(file, full), unix.EISDIR)
	t.expectErrno("directory onto file", rename(full, file), unix.ENOTDIR)
	t.expectErrno("directory into itself", rename(full, full+"/sub"), unix.EINVAL)
}

// caseRenameMissing checks that renaming a missing source fails with
// ENOENT and creates nothing.
func caseRenameMissing(t *T) {
	dst := t.Path("dst")
	t.expectErrno("missing source", rename(t.Path("missing"), dst), unix.ENOENT)
	t.expectMissing("target after failed rename", dst)

	src := t.Path("src")
	t.Must("write source", os.WriteFile(src, []byte("src"), 0o644))
	t.expectErrno("target in missing directory", rename(src, t.Path("nodir", "dst")), unix.ENOENT)
	t.expectContent("source after failed rename", src, []byte("src"))
}

// caseLockFileRename follows git's lock file protocol: create name.lock
// exclusively, write it, rename it over name. A second writer must get
// EEXIST while the lock exists.
func caseLockFileRename(t *T) {
	config, lock := t.Path("config"), t.Path("config.lock")
	for i := 0; i < 20; i++ {
		step := fmt.Sprintf("round %d", i)
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		t.Must(step+": create lock", err)
		_, err = os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		t.expectErrno(step+": second lock", err, unix.EEXIST)
		content := []byte(fmt.Sprintf("[core]\n\tround = %d\n", i))
		_, err = f.Write(content)
		t.Check(step+": write lock", err)
		t.Check(step+": fsync lock", f.Sync())
		t.Check(step+": close lock", f.Close())
		t.Must(step+": rename lock over file", rename(lock, config))
		t.expectContent(step+": content", config, content)
		t.expectMissing(step+": lock after rename", lock)
	}

	// git itself, which takes config.lock and index.lock the same way.
	repo := t.Path("repo")
	t.Must("mkdir repository", os.Mkdir(repo, 0o755))
	conf := t.gitConfig(true)
	git := func(args ...string) (string, error) {
		return output(t.gitCommand(repo, conf, args...))
	}
	_, err := git("init", "-q")
	t.Must("git init", err)
	for i := 0; i < 5; i++ {
		_, err := git("config", fmt.Sprintf("e2e.key%d", i), fmt.Sprintf("value%d", i))
		t.Check(fmt.Sprintf("git config %d", i), err)
	}
	out, err := git("config", "--get", "e2e.key4")
	if t.Check("git config --get", err) && strings.TrimSpace(out) != "value4" {
		t.Errorf("git config --get e2e.key4: got %q, expected value4", strings.TrimSpace(out))
	}
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("file%d", i)
		t.Must("write "+name, os.WriteFile(repo+"/"+name, []byte(name), 0o644))
		_, err := git("add", name)
		t.Check("git add "+name, err)
	}
	out, err = git("ls-files")
	if t.Check("git ls-files", err) && len(strings.Fields(out)) != 5 {
		t.Errorf("git ls-files: %q, expected 5 files", out)
	}
	t.expectMissing("index.lock after git add", repo+"/.git/index.lock")
	t.expectMissing("config.lock after git config", repo+"/.git/config.lock")
}
