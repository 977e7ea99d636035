package mount

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// rootFS is a backend.FS with just a root directory. Other methods panic
// through the nil embedded interface.
type rootFS struct {
	backend.FS
	attrErr error
	rootTyp backend.FileType
}

func (f *rootFS) Root() []byte { return []byte{0xde, 0xad, 0xbe} }

func (f *rootFS) GetAttr(_ context.Context, _ *backend.Cred, h []byte) (backend.Attr, error) {
	if !bytes.Equal(h, f.Root()) {
		return backend.Attr{}, backend.ErrBadHandle
	}
	if f.attrErr != nil {
		return backend.Attr{}, f.attrErr
	}
	typ := f.rootTyp
	if typ == 0 {
		typ = backend.TypeDir
	}
	return backend.Attr{Type: typ}, nil
}

// Lookup finds the directories "srv/share/sub" and "sub" below the root,
// and the file "f" in "sub".
func (f *rootFS) Lookup(_ context.Context, _ *backend.Cred, dir []byte, name string) ([]byte, backend.Attr, *backend.Attr, error) {
	children := map[string]map[string][]byte{
		string(f.Root()):  {"srv": {1}, "sub": {4}},
		string([]byte{1}): {"share": {2}},
		string([]byte{2}): {"sub": {3}},
		string([]byte{4}): {"f": {5}},
	}
	h, ok := children[string(dir)][name]
	if !ok {
		return nil, backend.Attr{}, nil, syscall.ENOENT
	}
	if h[0] == 5 {
		return h, backend.Attr{Type: backend.TypeRegular}, nil, nil
	}
	return h, backend.Attr{Type: backend.TypeDir}, nil, nil
}

func TestMntBelowExport(t *testing.T) {
	prog := NewProgram(&rootFS{}, Options{ExportPath: "/srv/share"})
	for _, tc := range []struct {
		path string
		want []byte
	}{
		{"/srv/share/sub", []byte{4}},
		{"/sub/", []byte{4}},
		{"/srv/share//sub", []byte{4}},
		{"/srv", []byte{1}},
	} {
		res := run(t, prog, callFrom("127.0.0.1", ProcMnt), pathArg(tc.path))
		want := append([]byte{0, 0, 0, 0, 0, 0, 0, 1}, tc.want...)
		want = append(want, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1)
		if !bytes.Equal(res, want) {
			t.Errorf("MNT %q reply\n got %x\nwant %x", tc.path, res, want)
		}
	}
}

func callFrom(host string, proc uint32) *oncrpc.Call {
	return &oncrpc.Call{
		Prog: Program, Vers: Version, Proc: proc, Flavor: oncrpc.AuthNone,
		Remote: &net.TCPAddr{IP: net.ParseIP(host), Port: 801},
	}
}

func run(t *testing.T, prog oncrpc.Program, call *oncrpc.Call, args []byte) []byte {
	t.Helper()
	e := xdr.NewEncoder(nil)
	if err := prog.Procs[call.Proc].Handler(context.Background(), call, xdr.NewDecoder(args), e); err != nil {
		t.Fatalf("%s: handler error %v", prog.Procs[call.Proc].Name, err)
	}
	return e.Bytes()
}

func pathArg(p string) []byte {
	e := xdr.NewEncoder(nil)
	e.String(p)
	return e.Bytes()
}

func TestMntAcceptedPaths(t *testing.T) {
	prog := NewProgram(&rootFS{}, Options{ExportPath: "/srv/share"})
	for _, p := range []string{"/", "/srv/share", "/srv/share/", "/srv/share//", "//"} {
		res := run(t, prog, callFrom("127.0.0.1", ProcMnt), pathArg(p))
		// status 0, handle of 3 bytes, one flavor: AUTH_SYS.
		want := []byte{0, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0, 0, 0, 0, 1, 0, 0, 0, 1}
		if !bytes.Equal(res, want) {
			t.Errorf("MNT %q reply\n got %x\nwant %x", p, res, want)
		}
	}
}

func TestMntErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   *rootFS
		path string
		want Mountstat3
	}{
		{"other path", &rootFS{}, "/srv/other", MNT3ERR_NOENT},
		{"missing below export", &rootFS{}, "/srv/share/none", MNT3ERR_NOENT},
		{"dot-dot below export", &rootFS{}, "/srv/share/sub/..", MNT3ERR_NOENT},
		{"dot below export", &rootFS{}, "/srv/share/./sub", MNT3ERR_NOENT},
		{"file below export", &rootFS{}, "/sub/f", MNT3ERR_NOTDIR},
		{"relative path", &rootFS{}, "srv/share", MNT3ERR_NOENT},
		{"empty path", &rootFS{}, "", MNT3ERR_NOENT},
		{"path too long", &rootFS{}, "/" + strings.Repeat("a", MNTPATHLEN), MNT3ERR_NAMETOOLONG},
		{"root gone", &rootFS{attrErr: backend.ErrStale}, "/", MNT3ERR_NOENT},
		{"root unreadable", &rootFS{attrErr: syscall.EACCES}, "/", MNT3ERR_ACCES},
		{"root fails", &rootFS{attrErr: syscall.EIO}, "/", MNT3ERR_IO},
		{"root not a directory", &rootFS{rootTyp: backend.TypeRegular}, "/", MNT3ERR_NOTDIR},
	} {
		prog := NewProgram(tc.fs, Options{ExportPath: "/srv/share"})
		d := xdr.NewDecoder(run(t, prog, callFrom("127.0.0.1", ProcMnt), pathArg(tc.path)))
		if st := Mountstat3(d.Uint32()); st != tc.want {
			t.Errorf("%s: status %v, want %v", tc.name, st, tc.want)
		}
		if d.Remaining() != 0 {
			t.Errorf("%s: %d bytes after the error status", tc.name, d.Remaining())
		}
	}
}

func TestTruncatedPathIsGarbage(t *testing.T) {
	prog := NewProgram(&rootFS{}, Options{ExportPath: "/srv/share"})
	args := pathArg("/srv/share")
	for _, proc := range []uint32{ProcMnt, ProcUmnt} {
		for cut := 0; cut < len(args); cut++ {
			err := prog.Procs[proc].Handler(context.Background(), callFrom("127.0.0.1", proc),
				xdr.NewDecoder(args[:cut]), xdr.NewEncoder(nil))
			if !errors.Is(err, oncrpc.ErrGarbageArgs) {
				t.Errorf("%s cut to %d bytes: error %v, want ErrGarbageArgs", prog.Procs[proc].Name, cut, err)
			}
		}
	}
}

// readMountList decodes a DUMP reply into "host:path" strings.
func readMountList(t *testing.T, res []byte) []string {
	t.Helper()
	d := xdr.NewDecoder(res)
	var list []string
	for d.Bool() {
		host := d.String(MNTNAMLEN)
		path := d.String(MNTPATHLEN)
		list = append(list, host+":"+path)
	}
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("DUMP reply %x does not decode: %v", res, d.Err())
	}
	return list
}

func TestDumpTracksMounts(t *testing.T) {
	prog := NewProgram(&rootFS{}, Options{ExportPath: "/srv/share"})
	dump := func() string {
		return strings.Join(readMountList(t, run(t, prog, callFrom("127.0.0.1", ProcDump), nil)), " ")
	}
	if got := dump(); got != "" {
		t.Fatalf("DUMP before any MNT: %q", got)
	}

	run(t, prog, callFrom("127.0.0.1", ProcMnt), pathArg("/srv/share"))
	run(t, prog, callFrom("127.0.0.1", ProcMnt), pathArg("/srv/share")) // repeated
	run(t, prog, callFrom("127.0.0.2", ProcMnt), pathArg("/"))
	run(t, prog, callFrom("127.0.0.2", ProcMnt), pathArg("/srv/share"))
	run(t, prog, callFrom("127.0.0.3", ProcMnt), pathArg("/nope")) // fails, not listed
	if got, want := dump(), "127.0.0.1:/srv/share 127.0.0.2:/ 127.0.0.2:/srv/share"; got != want {
		t.Fatalf("DUMP after MNT: %q, want %q", got, want)
	}

	if res := run(t, prog, callFrom("127.0.0.2", ProcUmnt), pathArg("/")); len(res) != 0 {
		t.Errorf("UMNT reply %x, want empty", res)
	}
	if got, want := dump(), "127.0.0.1:/srv/share 127.0.0.2:/srv/share"; got != want {
		t.Fatalf("DUMP after UMNT: %q, want %q", got, want)
	}

	if res := run(t, prog, callFrom("127.0.0.1", ProcUmntall), nil); len(res) != 0 {
		t.Errorf("UMNTALL reply %x, want empty", res)
	}
	if got, want := dump(), "127.0.0.2:/srv/share"; got != want {
		t.Fatalf("DUMP after UMNTALL: %q, want %q", got, want)
	}
}

func TestExportList(t *testing.T) {
	for _, tc := range []struct {
		exportPath string
		want       []string
	}{
		{"/srv/share", []string{"/srv/share", "/"}},
		{"/srv/share/", []string{"/srv/share", "/"}},
		{"/", []string{"/"}},
		{"", []string{"/"}},
	} {
		prog := NewProgram(&rootFS{}, Options{ExportPath: tc.exportPath})
		d := xdr.NewDecoder(run(t, prog, callFrom("127.0.0.1", ProcExport), nil))
		var got []string
		for d.Bool() {
			got = append(got, d.String(MNTPATHLEN))
			if d.Bool() {
				t.Errorf("export %q lists groups", got[len(got)-1])
			}
		}
		if d.Err() != nil || d.Remaining() != 0 {
			t.Fatalf("EXPORT reply does not decode: %v", d.Err())
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("ExportPath %q: EXPORT lists %q, want %q", tc.exportPath, got, tc.want)
		}
	}
}

func TestMountstatString(t *testing.T) {
	if got := MNT3ERR_NOENT.String(); got != "MNT3ERR_NOENT" {
		t.Errorf("MNT3ERR_NOENT.String() = %q", got)
	}
	if got := Mountstat3(7).String(); got != "Mountstat3(7)" {
		t.Errorf("Mountstat3(7).String() = %q", got)
	}
}

func FuzzDecodeDirPath(f *testing.F) {
	f.Add(pathArg("/srv/share"))
	f.Add(pathArg(strings.Repeat("x", MNTPATHLEN+1)))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := xdr.NewDecoder(in)
		path, tooLong, err := decodeDirPath(d)
		if err != nil {
			if !errors.Is(err, oncrpc.ErrGarbageArgs) {
				t.Fatalf("error %v does not wrap ErrGarbageArgs", err)
			}
			return
		}
		if len(path) > MNTPATHLEN {
			t.Fatalf("decoded a %d-byte path", len(path))
		}
		if tooLong && path != "" {
			t.Fatalf("path %q returned with tooLong", path)
		}
		if !tooLong && !bytes.Equal(pathArg(path), in[:d.Offset()]) {
			t.Fatalf("path %q does not re-encode to its input", path)
		}
	})
}

// FuzzBelowExport checks that the names MNT looks up below the export are
// single path components that cannot climb out of it.
func FuzzBelowExport(f *testing.F) {
	f.Add("/srv/share/sub")
	f.Add("/srv/share/../etc")
	f.Add("//a//./b")
	f.Fuzz(func(t *testing.T, path string) {
		s := &server{exportPath: "/srv/share"}
		names, ok := s.belowExport(path)
		if !ok {
			return
		}
		if len(names) == 0 {
			t.Fatalf("%q: accepted with no names", path)
		}
		for _, name := range names {
			if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
				t.Fatalf("%q: unsafe name %q", path, name)
			}
		}
	})
}
