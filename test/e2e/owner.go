package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// unusedID is a uid and gid that no caller of the suite uses, so burrow in
// owner mode never shows it as the owner of the serving user's files.
const unusedID = 4242

// ownerIDs is a uid and gid pair.
type ownerIDs struct{ uid, gid uint32 }

// ownerView makes burrow in owner mode learn uid 1001 as the host user and
// returns the ids that every caller is then shown for files the serving
// user owns: a non-root caller sees its own ids, and root sees those of
// the last non-root caller, which is uid 1001 here.
//
// The kernel client caches attributes per file, not per user, so the
// caches are dropped first: uid 1001's stat must reach the server.
func (t *T) ownerView() ownerIDs {
	t.RequireRoot()
	t.Must("drop caches", dropCaches())
	out, err := t.callAs(devUID, devGID, "stat", t.dir)
	t.Must("stat case directory as uid 1001", err)
	if want := fmt.Sprintf("ok %d %d", devUID, devGID); out != want {
		t.Fatalf("stat case directory as uid 1001: got %q, expected %q", out, want)
	}
	return ownerIDs{uid: devUID, gid: devGID}
}

// expectOwner checks the uid and gid that lstat reports for path.
func (t *T) expectOwner(step, path string, want ownerIDs) {
	st, err := lstat(path)
	if !t.Check(step, err) {
		return
	}
	if st.Uid != want.uid || st.Gid != want.gid {
		t.Errorf("%s: owner %d:%d, expected %d:%d", step, st.Uid, st.Gid, want.uid, want.gid)
	}
}

// servingIDs returns the owner of -export, which is the user burrow runs as.
func (t *T) servingIDs() ownerIDs {
	st := t.mustLstat("stat -export", t.cfg.export)
	return ownerIDs{uid: st.Uid, gid: st.Gid}
}

// expectChownToViewKeepsOwner checks burrow's owner mode: root's chown of
// a file of the serving user to the ids root is shown succeeds and leaves
// the file owned by the serving user on disk. rel names the file under
// the case directory.
func (t *T) expectChownToViewKeepsOwner(path, rel string) {
	view := t.ownerView()
	serving := t.servingIDs()
	step := fmt.Sprintf("chown to the shown owner %d:%d by root", view.uid, view.gid)
	if !t.Check(step, unix.Lchown(path, int(view.uid), int(view.gid))) {
		return
	}
	t.expectOwner(step+": owner under -export", t.ExportPath(rel), serving)
	t.forgetCachedData()
	t.expectOwner(step+": owner through the mount", path, view)
}

// caseCallerOwner checks burrow's owner mode: files owned by the serving
// user appear to each non-root caller as the caller's own and to root as
// the last non-root caller's, while on disk they stay owned by the
// serving user.
func caseCallerOwner(t *T) {
	if t.cfg.server != "burrow" {
		t.Skipf("owner mode is a burrow feature, and %s reports the real owners", t.cfg.server)
	}
	t.RequireRoot()
	serving := t.servingIDs()
	view := t.ownerView()

	file := t.Path("by-root")
	t.Must("create file as root", os.WriteFile(file, []byte("root"), 0o644))
	t.expectOwner("file made by root, under -export", t.ExportPath("by-root"), serving)
	t.Must("drop caches", dropCaches())
	out, err := t.callAs(devUID, devGID, "stat", file)
	if want := fmt.Sprintf("ok %d %d", devUID, devGID); t.Check("stat as uid 1001", err) && out != want {
		t.Errorf("stat as uid 1001: got %q, expected %q", out, want)
	}
	t.Must("drop caches", dropCaches())
	t.expectOwner("stat as root after a call of uid 1001", file, view)

	devFile := t.Path("by-dev")
	_, err = output(asUser(t.command(t.dir, "sh", "-c", "echo dev > by-dev"), devUID, devGID))
	if t.Check("create file as uid 1001", err) {
		t.expectContent("file made by uid 1001", devFile, []byte("dev\n"))
		t.expectOwner("file made by uid 1001, under -export", t.ExportPath("by-dev"), serving)
	}

	// A repository made by root must be usable by uid 1001 without
	// safe.directory, because stat reports the caller as its owner.
	repo := t.Path("repo")
	t.Must("mkdir repository", os.Mkdir(repo, 0o755))
	rootConf := t.gitConfig(true)
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "--allow-empty", "-m", "First"}} {
		_, err := output(t.gitCommand(repo, rootConf, args...))
		t.Must("git "+args[0]+" as root", err)
	}
	t.Must("write file", os.WriteFile(filepath.Join(repo, "tracked"), []byte("x"), 0o644))
	_, err = output(t.gitCommand(repo, rootConf, "add", "tracked"))
	t.Must("git add as root", err)
	_, err = output(t.gitCommand(repo, rootConf, "commit", "-q", "-m", "Add tracked"))
	t.Must("git commit as root", err)

	devConf := t.gitConfig(false)
	out, err = output(asUser(t.gitCommand(repo, devConf, "status", "--porcelain"), devUID, devGID))
	if t.Check("git status as uid 1001 without safe.directory", err) && out != "" {
		t.Errorf("git status as uid 1001: expected a clean tree, got %q", firstLines(out, 5))
	}
}
