package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// treeEntry describes one entry of a tree for comparison.
type treeEntry struct {
	fileType uint32 // S_IFMT bits
	perm     uint32 // permission bits with setuid, setgid and sticky
	size     int64
	// digest is the SHA-256 of a regular file or the target of a symlink.
	digest string
}

// digestTree walks root without following symlinks and describes every
// entry below it by its slash-separated path.
func digestTree(root string) (map[string]treeEntry, error) {
	tree := make(map[string]treeEntry)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		st, err := lstat(path)
		if err != nil {
			return err
		}
		e := treeEntry{fileType: st.Mode & unix.S_IFMT, perm: st.Mode & 0o7777}
		switch e.fileType {
		case unix.S_IFREG:
			e.size = st.Size
			if e.digest, err = fileDigest(path); err != nil {
				return err
			}
		case unix.S_IFLNK:
			if e.digest, err = os.Readlink(path); err != nil {
				return err
			}
		}
		tree[filepath.ToSlash(rel)] = e
		return nil
	})
	return tree, err
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// compareTrees checks that got describes the same entries as want. Each
// kind of difference is a failure of its own, naming the first paths.
func (t *T) compareTrees(want, got map[string]treeEntry) {
	var missing, extra, types, contents, perms []string
	for path, w := range want {
		g, ok := got[path]
		switch {
		case !ok:
			missing = append(missing, path)
		case g.fileType != w.fileType:
			types = append(types, fmt.Sprintf("%s is a %s, expected a %s", path, fileType(g.fileType), fileType(w.fileType)))
		case g.size != w.size || g.digest != w.digest:
			contents = append(contents, path)
		case g.perm != w.perm:
			perms = append(perms, fmt.Sprintf("%s has mode %#o, expected %#o", path, g.perm, w.perm))
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			extra = append(extra, path)
		}
	}

	if len(want) != len(got) {
		t.Errorf("entry count: copy has %d entries, source has %d", len(got), len(want))
	}
	reportPaths := func(what string, paths []string) {
		if len(paths) == 0 {
			return
		}
		sort.Strings(paths)
		shown := paths
		if len(shown) > 5 {
			shown = append(shown[:5:5], "...")
		}
		t.Errorf("%s: %d entries: %s", what, len(paths), strings.Join(shown, "; "))
	}
	reportPaths("missing from the copy", missing)
	reportPaths("not in the source", extra)
	reportPaths("wrong type", types)
	reportPaths("wrong size or SHA-256", contents)
	reportPaths("wrong mode", perms)
}

// copyTree copies src into the existing directory dst with tar, as a user
// would. Ownership is not kept because the server decides who owns files.
func (t *T) copyTree(src, dst string) error {
	return pipeCommands(
		t.command(src, "tar", "-cf", "-", "."),
		t.command(dst, "tar", "--no-same-owner", "-xf", "-"),
	)
}

// countFiles returns the number of regular files in a tree description.
func countFiles(tree map[string]treeEntry) int {
	n := 0
	for _, e := range tree {
		if e.fileType == unix.S_IFREG {
			n++
		}
	}
	return n
}

// caseGoSource copies a real source tree onto the mount with tar, checks
// every file by SHA-256 and removes the copy with rm -rf.
func caseGoSource(t *T) {
	src := t.cfg.goSource
	want, err := digestTree(src)
	t.Must("read source tree", err)
	if n := countFiles(want); n < 1000 {
		t.Fatalf("source tree %s has %d files, expected more than 1000", src, n)
	}

	dst := t.Path("src")
	t.Must("create copy directory", os.Mkdir(dst, 0o755))
	start := time.Now()
	t.Must("tar copy", t.copyTree(src, dst))
	copyTime := time.Since(start)

	got, err := digestTree(dst)
	t.Must("read copy", err)
	t.compareTrees(want, got)
	if n := countFiles(got); n != countFiles(want) {
		t.Errorf("file count: copy has %d regular files, source has %d (tar took %v)", n, countFiles(want), copyTime)
	}

	_, err = t.run(t.dir, "rm", "-rf", "src")
	t.Check("rm -rf copy", err)
	t.expectEmptyDir("after rm -rf", t.dir)
}

// gitConfig writes a global git configuration for the suite into a
// temporary directory outside the mount and returns its path. With
// trustAll, safe.directory accepts repositories owned by anyone.
func (t *T) gitConfig(trustAll bool) string {
	dir := t.tempDir("git")
	conf := "[user]\n\tname = burrow e2e\n\temail = e2e@burrow.invalid\n[init]\n\tdefaultBranch = main\n"
	if trustAll {
		// knfsd with root_squash maps root's files to the user nobody, and
		// git rejects a repository owned by another user without this.
		conf += "[safe]\n\tdirectory = *\n"
	}
	path := filepath.Join(dir, "gitconfig")
	t.Must("write git config", os.WriteFile(path, []byte(conf), 0o644))
	t.Must("open git config directory", os.Chmod(dir, 0o755))
	return path
}

// gitCommand returns a git command in dir that reads only the given
// global configuration.
func (t *T) gitCommand(dir, globalConfig string, args ...string) *exec.Cmd {
	cmd := t.command(dir, "git", args...)
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL="+globalConfig,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"HOME="+filepath.Dir(globalConfig),
	)
	return cmd
}

// caseGit runs a short git workflow in a copy of a real tree on the mount:
// two commits on two branches, status, log and fsck.
func caseGit(t *T) {
	repo := t.Path("repo")
	t.Must("create repository directory", os.Mkdir(repo, 0o755))
	t.Must("tar copy", t.copyTree(t.cfg.goSource, repo))
	conf := t.gitConfig(true)
	git := func(step string, args ...string) string {
		out, err := output(t.gitCommand(repo, conf, args...))
		t.Must(step, err)
		return out
	}

	git("git init", "init", "-q")
	git("git add", "add", "-A")
	git("first commit", "commit", "-q", "-m", "Import source tree")
	if out := git("git status after commit", "status", "--porcelain"); out != "" {
		t.Errorf("git status after commit: expected a clean tree, got %q", firstLines(out, 5))
	}

	git("git checkout -b", "checkout", "-q", "-b", "topic")
	edited := filepath.Join(repo, "main.go")
	f, err := os.OpenFile(edited, os.O_WRONLY|os.O_APPEND, 0)
	t.Must("open file to edit", err)
	_, err = f.WriteString("\n// Edited by the burrow end-to-end suite.\n")
	t.Check("append to main.go", err)
	t.Check("close main.go", f.Close())
	if out := git("git status after edit", "status", "--porcelain"); strings.TrimSpace(out) != "M main.go" {
		t.Errorf("git status after edit: expected \" M main.go\", got %q", firstLines(out, 5))
	}
	git("second commit", "commit", "-q", "-a", "-m", "Edit main.go")

	log := git("git log", "log", "--oneline")
	if n := len(strings.Split(strings.TrimSpace(log), "\n")); n != 2 {
		t.Errorf("git log: expected 2 commits, got %d: %q", n, firstLines(log, 5))
	}
	if out := git("git diff", "diff", "--name-only", "main", "topic"); strings.TrimSpace(out) != "main.go" {
		t.Errorf("git diff main topic: expected only main.go, got %q", firstLines(out, 5))
	}
	if out := git("git status after second commit", "status", "--porcelain"); out != "" {
		t.Errorf("git status after second commit: expected a clean tree, got %q", firstLines(out, 5))
	}
	git("git fsck", "fsck", "--full", "--no-progress")

	_, err = t.run(t.dir, "rm", "-rf", "repo")
	t.Check("rm -rf repository", err)
	t.expectEmptyDir("after rm -rf", t.dir)
}

// firstLines returns at most n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}
