package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// caseMacDotFiles writes the AppleDouble (._name) and .DS_Store files that
// macOS Finder leaves next to the files it touches.
func caseMacDotFiles(t *T) {
	photo := t.Path("photo.jpg")
	t.Must("write photo.jpg", os.WriteFile(photo, []byte("jpeg"), 0o644))
	// AppleDouble starts with the magic 0x00051607 and version 0x00020000.
	appleDouble := append([]byte{0, 5, 0x16, 7, 0, 2, 0, 0}, make([]byte, 74)...)
	t.Check("write ._photo.jpg", os.WriteFile(t.Path("._photo.jpg"), appleDouble, 0o644))

	// Finder rewrites .DS_Store in place, so write it several times.
	dsStore := t.Path(".DS_Store")
	var last []byte
	for i := 0; i < 5; i++ {
		last = append([]byte("\x00\x00\x00\x01Bud1"), pattern(byte(i), 6000-i*1000)...)
		t.Check(fmt.Sprintf("write .DS_Store %d", i), os.WriteFile(dsStore, last, 0o644))
	}

	out, err := t.run(t.dir, "ls", "-A")
	if t.Check("ls -A", err) {
		t.expectEachOnce("ls -A", strings.Fields(out), []string{"._photo.jpg", ".DS_Store", "photo.jpg"})
	}
	t.expectContent("._photo.jpg", t.Path("._photo.jpg"), appleDouble)
	t.expectContent(".DS_Store", dsStore, last)
	t.expectContent("photo.jpg", photo, []byte("jpeg"))

	t.Check("remove ._photo.jpg", os.Remove(t.Path("._photo.jpg")))
	t.Check("remove .DS_Store", os.Remove(dsStore))
	entries, err := readAllDirents(t.dir, 4096)
	if t.Check("list after remove", err) {
		t.expectEachOnce("list after remove", direntNames(entries), []string{"photo.jpg"})
	}
}

// caseMacSafeSave saves a document the way macOS editors do: write a
// temporary file, sync it and rename it over the document. A reader that
// opened the old version keeps reading it.
func caseMacSafeSave(t *T) {
	doc := t.Path("report.txt")
	t.Must("write first version", os.WriteFile(doc, []byte("version 0\n"), 0o644))

	for i := 1; i <= 3; i++ {
		step := fmt.Sprintf("save %d", i)
		reader, err := os.Open(doc)
		t.Must(step+": open old version", err)
		oldIno := t.mustLstat(step+": lstat", doc).Ino

		temp := t.Path(fmt.Sprintf(".report.txt.sb-%08x-%d", 0x5eed, i))
		f, err := os.OpenFile(temp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		t.Must(step+": create temporary file", err)
		content := []byte(fmt.Sprintf("version %d\n%s", i, strings.Repeat("line\n", i*1000)))
		_, err = f.Write(content)
		t.Check(step+": write temporary file", err)
		t.Check(step+": fsync temporary file", f.Sync())
		t.Check(step+": close temporary file", f.Close())
		t.Must(step+": rename over document", rename(temp, doc))

		t.expectContent(step+": document", doc, content)
		t.expectMissing(step+": temporary file", temp)
		if st, err := lstat(doc); t.Check(step+": lstat", err) && st.Ino == oldIno {
			t.Errorf("%s: document kept inode %d, expected the temporary file's", step, oldIno)
		}
		old := make([]byte, 64)
		n, err := reader.ReadAt(old, 0)
		if n == 0 || !strings.HasPrefix(string(old[:n]), fmt.Sprintf("version %d\n", i-1)) {
			t.Errorf("%s: reader of the old version read %q (%v), expected version %d", step, old[:n], err, i-1)
		}
		t.Check(step+": close reader", reader.Close())
	}
}

// caseMacLockFile uses an exclusively created lock file next to a
// document, as Office (~$name) and LibreOffice (.~lock.name#) do.
func caseMacLockFile(t *T) {
	t.Must("write document", os.WriteFile(t.Path("budget.xlsx"), []byte("sheet"), 0o644))
	for _, lockName := range []string{"~$budget.xlsx", ".~lock.budget.xlsx#"} {
		lock := t.Path(lockName)
		for round := 0; round < 3; round++ {
			step := fmt.Sprintf("%s round %d", lockName, round)
			f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if !t.Check(step+": take lock", err) {
				break
			}
			_, err = f.WriteString("owner,host,pid\n")
			t.Check(step+": write lock", err)
			t.Check(step+": close lock", f.Close())
			_, err = os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			t.expectErrno(step+": take lock again", err, unix.EEXIST)
			t.Check(step+": release lock", os.Remove(lock))
		}
	}
	t.expectContent("document", t.Path("budget.xlsx"), []byte("sheet"))
}
