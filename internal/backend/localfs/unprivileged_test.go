package localfs

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
)

// unprivilegedDirEnv names the directory TestUnprivileged works in when the
// test binary runs it again as an unprivileged user.
const unprivilegedDirEnv = "LOCALFS_TEST_UNPRIVILEGED_DIR"

// nobody is the uid and gid the root test runner switches to.
const nobody = 65534

// TestUnprivileged checks what only an ordinary user meets: permission
// checks, the owner override for read-only files, linkat without
// CAP_DAC_READ_SEARCH and the owner mapping of the real euid. Run as root,
// it runs itself again as uid 65534 from a copy of the test binary.
func TestUnprivileged(t *testing.T) {
	if dir := os.Getenv(unprivilegedDirEnv); dir != "" {
		testAsOrdinaryUser(t, dir)
		return
	}
	if os.Geteuid() != 0 {
		testAsOrdinaryUser(t, t.TempDir())
		return
	}

	dir, err := os.MkdirTemp("", "localfs-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "localfs.test")
	if err := copyExecutable(exe); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(exe, "-test.run=^TestUnprivileged$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), unprivilegedDirEnv+"="+dir, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	t.Logf("run as uid %d:\n%s", nobody, out)
	if err != nil {
		t.Fatalf("unprivileged run failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestUnprivileged") {
		t.Fatal("unprivileged run did not pass TestUnprivileged")
	}
}

func copyExecutable(dst string) error {
	src, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func testAsOrdinaryUser(t *testing.T, dir string) {
	export := filepath.Join(dir, "export")
	if err := os.Mkdir(export, 0o755); err != nil {
		t.Fatal(err)
	}
	fs := openTestFS(t, export, filepath.Join(dir, "hints.db"), Options{})
	if fs.gen != genKernelHandle {
		t.Errorf("generation source %d: name_to_handle_at failed for an ordinary user", fs.gen)
	}
	caller := &backend.Cred{UID: 501, GID: 20}

	t.Run("owner mapping", func(t *testing.T) {
		h, attr, _, err := fs.Create(ctx, caller, fs.Root(), "mine", backend.CreateArgs{Mode: backend.CreateGuarded})
		if err != nil {
			t.Fatal(err)
		}
		if attr.UID != 501 || attr.GID != 20 {
			t.Errorf("own file reported as %d:%d, want 501:20", attr.UID, attr.GID)
		}
		if _, err := fs.SetAttr(ctx, caller, h, backend.SetAttr{UID: u32(501)}, nil); err != nil {
			t.Errorf("chown to the caller's uid: %v", err)
		}
		if _, err := fs.SetAttr(ctx, caller, h, backend.SetAttr{UID: u32(0)}, nil); !errors.Is(err, unix.EPERM) {
			t.Errorf("chown to root: %v, want EPERM", err)
		}
	})

	t.Run("read-only files", func(t *testing.T) {
		for _, mode := range []uint32{0o444, 0o111, 0o000} {
			name := "mode" + string(rune('0'+mode>>6))
			h, _, _, err := fs.Create(ctx, caller, fs.Root(), name, backend.CreateArgs{
				Mode: backend.CreateGuarded, Attr: backend.SetAttr{Mode: u32(mode)},
			})
			if err != nil {
				t.Fatal(err)
			}
			fs.files.closeAll()
			if _, err := os.OpenFile(filepath.Join(export, name), os.O_WRONLY, 0); err == nil {
				t.Fatalf("mode %o: the kernel let an ordinary user open it for writing", mode)
			}
			mustWrite(t, fs, h, 0, "written by owner")
			fs.files.closeAll()
			if got := mustRead(t, fs, h); got != "written by owner" {
				t.Errorf("mode %o: read back %q", mode, got)
			}
			fs.files.closeAll()
			if _, err := fs.SetAttr(ctx, caller, h, backend.SetAttr{Size: u64(3)}, nil); err != nil {
				t.Errorf("mode %o: truncate: %v", mode, err)
			}
			fi, _ := os.Stat(filepath.Join(export, name))
			if fi.Mode().Perm() != os.FileMode(mode) || fi.Size() != 3 {
				t.Errorf("mode %o: now %v, size %d", mode, fi.Mode().Perm(), fi.Size())
			}
		}
	})

	t.Run("access", func(t *testing.T) {
		h, _, _, err := fs.Lookup(ctx, caller, fs.Root(), "mode4")
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := fs.Access(ctx, caller, h, backend.AccessRead|backend.AccessModify|backend.AccessExecute)
		if err != nil || got != backend.AccessRead {
			t.Errorf("access on 0444 file = %#x, %v, want read only", got, err)
		}
	})

	t.Run("link without capability", func(t *testing.T) {
		f := mustCreate(t, fs, fs.Root(), "target")
		attr, _, err := fs.Link(ctx, caller, f, fs.Root(), "second")
		if err != nil {
			t.Fatal(err)
		}
		if attr.Nlink != 2 {
			t.Errorf("nlink = %d, want 2", attr.Nlink)
		}
		if inodeOf(t, filepath.Join(export, "second")) != inodeOf(t, filepath.Join(export, "target")) {
			t.Error("second is not a link to target")
		}
	})

	t.Run("device nodes", func(t *testing.T) {
		_, _, _, err := fs.Mknod(ctx, caller, fs.Root(), "null", backend.TypeChar, 1, 3, backend.SetAttr{})
		if !errors.Is(err, unix.EPERM) {
			t.Errorf("mknod of a character device: %v, want EPERM", err)
		}
	})

	t.Run("write-only directory", func(t *testing.T) {
		// fsync needs a directory open for reading, which mode 0333 denies
		// to the owner, so SYMLINK syncs the whole file system instead.
		d := mustMkdir(t, fs, fs.Root(), "dropbox")
		if _, err := fs.SetAttr(ctx, caller, d, backend.SetAttr{Mode: u32(0o333)}, nil); err != nil {
			t.Fatal(err)
		}
		before := fs.wholeSyncs.Load()
		if _, _, _, err := fs.Symlink(ctx, caller, d, "letter", "target", backend.SetAttr{}); err != nil {
			t.Fatalf("symlink in a 0333 directory: %v", err)
		}
		if got := fs.wholeSyncs.Load() - before; got != 1 {
			t.Errorf("%d whole file system syncs, want 1", got)
		}
		if _, err := os.Lstat(filepath.Join(export, "dropbox", "letter")); err != nil {
			t.Error(err)
		}
		fs.SetAttr(ctx, caller, d, backend.SetAttr{Mode: u32(0o755)}, nil)
	})

	t.Run("unsearchable directory", func(t *testing.T) {
		d := mustMkdir(t, fs, fs.Root(), "closed")
		mustCreate(t, fs, d, "inside")
		if _, err := fs.SetAttr(ctx, caller, d, backend.SetAttr{Mode: u32(0o600)}, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := fs.Lookup(ctx, caller, d, "inside"); !errors.Is(err, unix.EACCES) {
			t.Errorf("Lookup in a 0600 directory: %v, want EACCES", err)
		}
		fs.SetAttr(ctx, caller, d, backend.SetAttr{Mode: u32(0o755)}, nil)
	})
}
