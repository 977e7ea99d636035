package hardening

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/nfsclient"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// modifyingCall is one NFS procedure that changes the export. The fixture
// names it uses are its own, so each call succeeds on a writable export
// whatever ran before it.
type modifyingCall struct {
	name string
	run  func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error)
}

// roFixture is what the modifying calls act on.
type roFixture struct {
	c    *nfsclient.Client
	cred oncrpc.Credential
	root []byte
	file map[string][]byte // handles of the files that setupFixture makes
}

// setupFixture fills an export with a file for each call that needs one
// and an empty directory for RMDIR.
func setupFixture(t *testing.T) func(dir string) {
	return func(dir string) {
		for _, name := range []string{"setattr", "write", "remove", "rename", "link"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("original"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, "rmdir"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// rawStatus sends a call that nfsclient does not wrap and returns the
// nfsstat3 at the start of its result.
func (f *roFixture) rawStatus(ctx context.Context, proc uint32, args []byte) (nfs3.Nfsstat3, error) {
	res, err := f.c.RPC().Call(ctx, nfs3.Program, nfs3.Version, proc, f.cred, args)
	if err != nil {
		return 0, err
	}
	d := xdr.NewDecoder(res)
	st := nfs3.Nfsstat3(d.Uint32())
	return st, d.Err()
}

// emptySattr appends a sattr3 that sets nothing.
func emptySattr(e *xdr.Encoder) {
	for range 4 {
		e.Bool(false) // mode, uid, gid, size
	}
	e.Uint32(uint32(nfs3.DONT_CHANGE))
	e.Uint32(uint32(nfs3.DONT_CHANGE))
}

var modifyingCalls = []modifyingCall{
	{"SETATTR", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		mode := uint32(0o600)
		r, err := f.c.SetAttr(ctx, f.file["setattr"], nfsclient.Sattr{Mode: &mode}, nil)
		return r.Status, err
	}},
	{"WRITE", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		r, err := f.c.Write(ctx, f.file["write"], 0, []byte("changed!"), nfs3.FILE_SYNC)
		return r.Status, err
	}},
	{"CREATE", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		r, err := f.c.Create(ctx, f.root, "created", nfsclient.CreateHow{Mode: nfs3.GUARDED})
		return r.Status, err
	}},
	{"MKDIR", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		r, err := f.c.Mkdir(ctx, f.root, "madedir", nfsclient.Sattr{})
		return r.Status, err
	}},
	{"SYMLINK", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		e := xdr.NewEncoder(nil)
		e.Opaque(f.root)
		e.String("symlinked")
		emptySattr(e)
		e.String("setattr")
		return f.rawStatus(ctx, nfs3.ProcSymlink, e.Bytes())
	}},
	{"MKNOD", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		e := xdr.NewEncoder(nil)
		e.Opaque(f.root)
		e.String("fifo")
		e.Uint32(uint32(nfs3.NF3FIFO))
		emptySattr(e)
		return f.rawStatus(ctx, nfs3.ProcMknod, e.Bytes())
	}},
	{"REMOVE", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		r, err := f.c.Remove(ctx, f.root, "remove")
		return r.Status, err
	}},
	{"RMDIR", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		r, err := f.c.Rmdir(ctx, f.root, "rmdir")
		return r.Status, err
	}},
	{"RENAME", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		r, err := f.c.Rename(ctx, f.root, "rename", f.root, "renamed")
		return r.Status, err
	}},
	{"LINK", func(ctx context.Context, f *roFixture) (nfs3.Nfsstat3, error) {
		e := xdr.NewEncoder(nil)
		e.Opaque(f.file["link"])
		e.Opaque(f.root)
		e.String("linked")
		return f.rawStatus(ctx, nfs3.ProcLink, e.Bytes())
	}},
}

// newFixture mounts the export and looks up the fixture files.
func newFixture(t *testing.T, s *server) *roFixture {
	c := s.dial(t)
	cred, err := oncrpc.AuthSysCredential(oncrpc.SysCred{MachineName: "hardening", UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
	if err != nil {
		t.Fatal(err)
	}
	f := &roFixture{c: c, cred: cred, root: s.mountRoot(t, c), file: map[string][]byte{}}
	for _, name := range []string{"setattr", "write", "remove", "rename", "link"} {
		r, err := c.Lookup(context.Background(), f.root, name)
		if err != nil || r.Status != nfs3.NFS3_OK {
			t.Fatalf("LOOKUP %s: %v, %v", name, r.Status, err)
		}
		f.file[name] = r.Handle
	}
	return f
}

// listExport returns the sorted names in dir with the content of each
// regular file and the mode of each entry.
func listExport(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		line := e.Name() + " " + info.Mode().String()
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			line += " " + string(b)
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

func TestReadOnlyRejectsModifyingCalls(t *testing.T) {
	s := startServer(t, oncrpc.Options{}, nfs3.Options{ReadOnly: true}, setupFixture(t))
	before := listExport(t, s.dir)
	f := newFixture(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	for _, mc := range modifyingCalls {
		st, err := mc.run(ctx, f)
		if err != nil {
			t.Errorf("%s on a read-only export failed at the RPC level: %v", mc.name, err)
			continue
		}
		if st != nfs3.NFS3ERR_ROFS {
			t.Errorf("%s on a read-only export returned %v, want NFS3ERR_ROFS (30)", mc.name, st)
		}
	}

	if after := listExport(t, s.dir); !slices.Equal(before, after) {
		t.Errorf("read-only export changed:\nbefore %q\nafter  %q", before, after)
	}

	// Reading still works.
	r, err := f.c.Read(ctx, f.file["write"], 0, 64)
	if err != nil || r.Status != nfs3.NFS3_OK || string(r.Data) != "original" {
		t.Errorf("READ on a read-only export: status %v, data %q, error %v; want NFS3_OK and %q", r.Status, r.Data, err, "original")
	}
	acc, err := f.c.Access(ctx, f.file["write"], nfsclient.ACCESS3_READ|nfsclient.ACCESS3_MODIFY)
	if err != nil || acc.Status != nfs3.NFS3_OK {
		t.Fatalf("ACCESS on a read-only export: %v, %v", acc.Status, err)
	}
	if acc.Access&nfsclient.ACCESS3_MODIFY != 0 {
		t.Errorf("ACCESS on a read-only export grants MODIFY: %#x", acc.Access)
	}
	if acc.Access&nfsclient.ACCESS3_READ == 0 {
		t.Errorf("ACCESS on a read-only export denies READ: %#x", acc.Access)
	}
}

// TestWritableAcceptsModifyingCalls runs the same calls on a writable
// export, which shows that each call is valid and that NFS3ERR_ROFS above
// comes from the read-only option.
func TestWritableAcceptsModifyingCalls(t *testing.T) {
	s := startServer(t, oncrpc.Options{}, nfs3.Options{}, setupFixture(t))
	f := newFixture(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, mc := range modifyingCalls {
		st, err := mc.run(ctx, f)
		if err != nil || st != nfs3.NFS3_OK {
			t.Errorf("%s on a writable export: status %v, error %v; want NFS3_OK", mc.name, st, err)
		}
	}
}
