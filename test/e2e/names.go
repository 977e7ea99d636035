package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// caseNameLength checks that a 255-byte name works for every kind of
// entry and that 256 bytes fail with ENAMETOOLONG.
func caseNameLength(t *T) {
	name255 := strings.Repeat("n", 255)
	name256 := strings.Repeat("n", 256)

	file := t.Path(name255)
	if t.Check("create 255-byte file name", os.WriteFile(file, []byte("long"), 0o644)) {
		t.expectContent("read 255-byte file name", file, []byte("long"))
		names, err := readAllDirents(t.dir, 4096)
		if t.Check("list", err) {
			t.expectEachOnce("list", direntNames(names), []string{name255})
		}
		moved := t.Path(strings.Repeat("m", 255))
		if t.Check("rename to another 255-byte name", rename(file, moved)) {
			t.Check("remove", os.Remove(moved))
		}
	}
	dir := t.Path(name255)
	if t.Check("mkdir 255-byte name", os.Mkdir(dir, 0o755)) {
		t.Check("create file inside", os.WriteFile(dir+"/inner", nil, 0o644))
		t.Check("symlink with 255-byte name", os.Symlink("target", dir+"/"+strings.Repeat("s", 255)))
		t.Check("remove tree", os.RemoveAll(dir))
	}

	long := t.Path(name256)
	t.Must("create source file", os.WriteFile(t.Path("short"), nil, 0o644))
	_, err := os.OpenFile(long, os.O_CREATE|os.O_WRONLY, 0o644)
	t.expectErrno("create 256-byte name", err, unix.ENAMETOOLONG)
	t.expectErrno("mkdir 256-byte name", os.Mkdir(long, 0o755), unix.ENAMETOOLONG)
	t.expectErrno("symlink 256-byte name", os.Symlink("target", long), unix.ENAMETOOLONG)
	t.expectErrno("rename to 256-byte name", rename(t.Path("short"), long), unix.ENAMETOOLONG)
	t.expectErrno("link to 256-byte name", os.Link(t.Path("short"), long), unix.ENAMETOOLONG)
	_, err = lstat(long)
	t.expectErrno("lstat 256-byte name", err, unix.ENAMETOOLONG)
}

// caseCaseRename renames a file to a name that differs only in case, and
// checks that names differing in case are distinct files.
func caseCaseRename(t *T) {
	readme := t.Path("Readme")
	t.Must("write Readme", os.WriteFile(readme, []byte("text"), 0o644))
	ino := t.mustLstat("lstat Readme", readme).Ino
	t.Must("rename Readme to README", rename(readme, t.Path("README")))
	t.expectContent("README after rename", t.Path("README"), []byte("text"))
	t.expectMissing("Readme after rename", readme)
	if st, err := lstat(t.Path("README")); t.Check("lstat README", err) && st.Ino != ino {
		t.Errorf("README has inode %d, expected %d", st.Ino, ino)
	}
	entries, err := readAllDirents(t.dir, 4096)
	if t.Check("list", err) {
		t.expectEachOnce("list after rename", direntNames(entries), []string{"README"})
	}

	t.Must("write readme", os.WriteFile(t.Path("readme"), []byte("lower"), 0o644))
	t.expectContent("README next to readme", t.Path("README"), []byte("text"))
	t.expectContent("readme next to README", t.Path("readme"), []byte("lower"))
	t.Check("mkdir Dir", os.Mkdir(t.Path("Dir"), 0o755))
	t.Check("rename Dir to DIR", rename(t.Path("Dir"), t.Path("DIR")))
	entries, err = readAllDirents(t.dir, 4096)
	if t.Check("list", err) {
		t.expectEachOnce("list at end", direntNames(entries), []string{"README", "readme", "DIR"})
	}
}

// oddNames are file names that shells, encodings or servers tend to change.
var oddNames = []string{
	"with space",
	" leading space",
	"trailing space ",
	"new\nline",
	"tab\there",
	"star*",
	"question?",
	"back\\slash",
	"colon:name",
	"quote\"s'",
	"-leading-dash",
	"semi;colon|pipe&amp",
	"\xff\xfe not UTF-8 \x80",
	"latin1-caf\xe9",
	"\u00e9",  // é precomposed (NFC)
	"e\u0301", // e and a combining acute accent (NFD)
	"\u65e5\u672c\u8a9e",
	"emoji-\U0001F600",
	"\x01control\x1f",
	"...",
	".hidden",
}

// caseOddNames checks that odd names pass through byte for byte: each is
// listed once, reads its own content, and NFC and NFD forms stay distinct.
func caseOddNames(t *T) {
	for i, name := range oddNames {
		t.Check(fmt.Sprintf("create %q", name), os.WriteFile(t.Path(name), []byte(strconv.Itoa(i)), 0o644))
	}
	checkAll := func(when string) {
		entries, err := readAllDirents(t.dir, 1024)
		if t.Check(when+": getdents64", err) {
			listed := direntNames(entries)
			t.expectEachOnce(when+": getdents64", listed, oddNames)
		}
		osEntries, err := os.ReadDir(t.dir)
		if t.Check(when+": os.ReadDir", err) {
			listed := make([]string, len(osEntries))
			for i, e := range osEntries {
				listed[i] = e.Name()
			}
			t.expectEachOnce(when+": os.ReadDir", listed, oddNames)
		}
		for i, name := range oddNames {
			t.expectContent(fmt.Sprintf("%s: read %q", when, name), t.Path(name), []byte(strconv.Itoa(i)))
		}
	}
	checkAll("after create")
	t.forgetCachedData()
	checkAll("after dropping caches")

	if exported, ok := t.exportPathIfGiven(); ok {
		entries, err := readAllDirents(exported, 4096)
		if t.Check("list under -export", err) {
			t.expectEachOnce("names under -export", direntNames(entries), oddNames)
		}
	}

	// -b prints a newline in a name as \n, so each entry is one line.
	out, err := t.run(t.dir, "ls", "-1bA")
	if t.Check("ls -1bA", err) {
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != len(oddNames) {
			sort.Strings(lines)
			t.Errorf("ls -1bA: %d lines, expected %d: %q", len(lines), len(oddNames), lines)
		}
	}

	for _, name := range oddNames {
		renamed := t.Path(name + ".renamed")
		if t.Check(fmt.Sprintf("rename %q", name), rename(t.Path(name), renamed)) {
			t.Check(fmt.Sprintf("remove %q", name), os.Remove(renamed))
		}
	}
	t.expectEmptyDir("after removing every name", t.dir)
}
