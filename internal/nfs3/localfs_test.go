package nfs3

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/backend/localfs"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// localEnv serves a fresh temporary directory through localfs.
type localEnv struct {
	t    *testing.T
	dir  string // the exported directory
	fs   *localfs.FS
	prog oncrpc.Program
	root []byte
}

func newLocalEnv(t *testing.T, opts Options) *localEnv {
	t.Helper()
	dir := t.TempDir()
	fs, err := localfs.New(dir, localfs.Options{StatePath: filepath.Join(t.TempDir(), "hints")})
	if err != nil {
		t.Fatalf("localfs.New: %v", err)
	}
	t.Cleanup(func() {
		if err := fs.Close(); err != nil {
			t.Errorf("localfs Close: %v", err)
		}
	})
	return &localEnv{t: t, dir: dir, fs: fs, prog: NewProgram(fs, opts), root: fs.Root()}
}

func (v *localEnv) call(proc uint32, fn func(e *xdr.Encoder)) *xdr.Decoder {
	v.t.Helper()
	return mustCall(v.t, v.prog, proc, encodeArgs(fn))
}

// expect reads the status of a reply and fails the test unless it is want.
func (v *localEnv) expect(d *xdr.Decoder, want Nfsstat3, what string) {
	v.t.Helper()
	if st := readStatus(d); st != want {
		v.t.Fatalf("%s: status %v, want %v", what, st, want)
	}
}

// lookup returns the handle and attributes of name in dir.
func (v *localEnv) lookup(dir []byte, name string) ([]byte, *backend.Attr) {
	v.t.Helper()
	d := v.call(ProcLookup, func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: dir, name: name}) })
	v.expect(d, NFS3_OK, "LOOKUP "+name)
	h := d.Opaque(NFS3_FHSIZE)
	attr := readPostOpAttr(d)
	readPostOpAttr(d)
	checkDone(v.t, d)
	return h, attr
}

func (v *localEnv) getattr(h []byte) backend.Attr {
	v.t.Helper()
	d := v.call(ProcGetattr, func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: h}) })
	v.expect(d, NFS3_OK, "GETATTR")
	a := readFattr(d)
	checkDone(v.t, d)
	return a
}

// create makes a regular file with CREATE UNCHECKED and returns its handle.
func (v *localEnv) create(dir []byte, name string) []byte {
	v.t.Helper()
	d := v.call(ProcCreate, func(e *xdr.Encoder) {
		putCreateArgs(e, &createArgs{where: dirOpArgs{dir: dir, name: name}, mode: UNCHECKED,
			attr: sattr3{setMode: true, mode: 0o644}})
	})
	v.expect(d, NFS3_OK, "CREATE "+name)
	h := readPostOpFH(d)
	readPostOpAttr(d)
	readWcc(d)
	checkDone(v.t, d)
	return h
}

func (v *localEnv) write(h []byte, off uint64, data []byte) {
	v.t.Helper()
	d := v.call(ProcWrite, func(e *xdr.Encoder) {
		putWriteArgs(e, &writeArgs{fh: h, offset: off, count: uint32(len(data)), stable: FILE_SYNC, data: data})
	})
	v.expect(d, NFS3_OK, "WRITE")
}

func TestLocalNullAndGetattr(t *testing.T) {
	v := newLocalEnv(t, Options{})
	res, err := callProc(v.prog, ProcNull, nil)
	if err != nil || len(res) != 0 {
		t.Fatalf("NULL: reply %x, error %v", res, err)
	}
	a := v.getattr(v.root)
	if a.Type != backend.TypeDir {
		t.Errorf("root type %d, want directory", a.Type)
	}
	if a.FileID == 0 {
		t.Error("root fileid is 0")
	}
}

func TestLocalBadAndStaleHandles(t *testing.T) {
	v := newLocalEnv(t, Options{})
	d := v.call(ProcGetattr, func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: []byte("not a handle")}) })
	v.expect(d, NFS3ERR_BADHANDLE, "GETATTR of garbage handle")

	h := v.create(v.root, "gone")
	d = v.call(ProcRemove, func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: v.root, name: "gone"}) })
	v.expect(d, NFS3_OK, "REMOVE gone")
	d = v.call(ProcGetattr, func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: h}) })
	v.expect(d, NFS3ERR_STALE, "GETATTR of removed file")
}

func TestLocalSetattr(t *testing.T) {
	v := newLocalEnv(t, Options{})
	h := v.create(v.root, "f")
	v.write(h, 0, []byte("0123456789"))
	before := v.getattr(h)

	d := v.call(ProcSetattr, func(e *xdr.Encoder) {
		putSetattrArgs(e, &setattrArgs{fh: h, attr: sattr3{setMode: true, mode: 0o600, setSize: true, size: 4,
			mtime: backend.SetTime{How: backend.TimeClient, Time: time.Unix(1000000000, 5)}},
			check: true, guardCtm: before.Ctime})
	})
	v.expect(d, NFS3_OK, "SETATTR with matching guard")
	wcc := readWcc(d)
	checkDone(t, d)
	if wcc.Before == nil || wcc.Before.Size != 10 {
		t.Errorf("SETATTR pre-op attributes %+v, want size 10", wcc.Before)
	}
	if wcc.After == nil || wcc.After.Size != 4 || wcc.After.Mode != 0o600 {
		t.Errorf("SETATTR post-op attributes %+v, want size 4 mode 0600", wcc.After)
	}
	if wcc.After != nil && !wcc.After.Mtime.Equal(time.Unix(1000000000, 5)) {
		t.Errorf("SETATTR mtime %v, want %v", wcc.After.Mtime, time.Unix(1000000000, 5))
	}
	fi, err := os.Stat(filepath.Join(v.dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 4 || fi.Mode().Perm() != 0o600 {
		t.Errorf("file on disk: size %d mode %v", fi.Size(), fi.Mode().Perm())
	}

	d = v.call(ProcSetattr, func(e *xdr.Encoder) {
		putSetattrArgs(e, &setattrArgs{fh: h, attr: sattr3{setMode: true, mode: 0o644},
			check: true, guardCtm: time.Unix(1, 0)})
	})
	v.expect(d, NFS3ERR_NOT_SYNC, "SETATTR with stale guard")
	readWcc(d)
	checkDone(t, d)
}

func TestLocalLookup(t *testing.T) {
	v := newLocalEnv(t, Options{})
	if err := os.WriteFile(filepath.Join(v.dir, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, attr := v.lookup(v.root, "file")
	if attr == nil || attr.Type != backend.TypeRegular || attr.Size != 1 {
		t.Errorf("LOOKUP attributes %+v", attr)
	}
	if a := v.getattr(h); a.FileID != attr.FileID {
		t.Errorf("GETATTR of looked-up handle has fileid %d, want %d", a.FileID, attr.FileID)
	}

	d := v.call(ProcLookup, func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: v.root, name: "missing"}) })
	v.expect(d, NFS3ERR_NOENT, "LOOKUP missing")
	if dirAttr := readPostOpAttr(d); dirAttr == nil || dirAttr.Type != backend.TypeDir {
		t.Errorf("LOOKUP NOENT directory attributes %+v", dirAttr)
	}
	checkDone(t, d)

	d = v.call(ProcLookup, func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: h, name: "x"}) })
	v.expect(d, NFS3ERR_NOTDIR, "LOOKUP in a file")
}

func TestLocalAccess(t *testing.T) {
	all := backend.AccessRead | backend.AccessLookup | backend.AccessModify |
		backend.AccessExtend | backend.AccessDelete | backend.AccessExecute
	for _, readOnly := range []bool{false, true} {
		v := newLocalEnv(t, Options{ReadOnly: readOnly})
		if err := os.WriteFile(filepath.Join(v.dir, "f"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		h, _ := v.lookup(v.root, "f")
		d := v.call(ProcAccess, func(e *xdr.Encoder) { putAccessArgs(e, &accessArgs{fh: h, access: all}) })
		v.expect(d, NFS3_OK, "ACCESS")
		if readPostOpAttr(d) == nil {
			t.Error("ACCESS returned no attributes")
		}
		granted := d.Uint32()
		checkDone(t, d)
		if granted&backend.AccessRead == 0 {
			t.Errorf("read-only %v: read not granted (0x%x)", readOnly, granted)
		}
		if granted&backend.AccessExecute != 0 {
			t.Errorf("read-only %v: execute granted on a 0644 file (0x%x)", readOnly, granted)
		}
		if readOnly && granted&modifyRights != 0 {
			t.Errorf("read-only export granted 0x%x", granted)
		}
		if !readOnly && granted&backend.AccessModify == 0 {
			t.Errorf("owner of a 0644 file not granted modify (0x%x)", granted)
		}
	}
}

func TestLocalReadWriteCommit(t *testing.T) {
	v := newLocalEnv(t, Options{})
	h := v.create(v.root, "data")
	payload := bytes.Repeat([]byte("burrow!"), 1000) // 7000 bytes

	d := v.call(ProcWrite, func(e *xdr.Encoder) {
		putWriteArgs(e, &writeArgs{fh: h, offset: 0, count: uint32(len(payload)), stable: UNSTABLE, data: payload})
	})
	v.expect(d, NFS3_OK, "WRITE")
	wcc := readWcc(d)
	count := d.Uint32()
	committed := StableHow(d.Uint32())
	verf := d.Fixed(NFS3_WRITEVERFSIZE)
	checkDone(t, d)
	if count != uint32(len(payload)) {
		t.Errorf("WRITE count %d, want %d", count, len(payload))
	}
	if committed > FILE_SYNC {
		t.Errorf("WRITE committed %d", committed)
	}
	want := v.fs.WriteVerifier()
	if !bytes.Equal(verf, want[:]) {
		t.Errorf("WRITE verifier %x, want %x", verf, want)
	}
	if wcc.After == nil || wcc.After.Size != uint64(len(payload)) {
		t.Errorf("WRITE post-op attributes %+v", wcc.After)
	}
	if wcc.Before == nil || wcc.Before.Size != 0 {
		t.Errorf("WRITE pre-op attributes %+v", wcc.Before)
	}

	d = v.call(ProcCommit, func(e *xdr.Encoder) { putReadArgs(e, &readArgs{fh: h}) })
	v.expect(d, NFS3_OK, "COMMIT")
	readWcc(d)
	if verf := d.Fixed(NFS3_WRITEVERFSIZE); !bytes.Equal(verf, want[:]) {
		t.Errorf("COMMIT verifier %x, want %x", verf, want)
	}
	checkDone(t, d)

	read := func(off uint64, n uint32) ([]byte, bool) {
		d := v.call(ProcRead, func(e *xdr.Encoder) { putReadArgs(e, &readArgs{fh: h, offset: off, count: n}) })
		v.expect(d, NFS3_OK, "READ")
		if a := readPostOpAttr(d); a == nil || a.Size != uint64(len(payload)) {
			t.Errorf("READ attributes %+v", a)
		}
		count := d.Uint32()
		eof := d.Bool()
		data := d.Opaque(rtmax)
		checkDone(t, d)
		if int(count) != len(data) {
			t.Errorf("READ count %d but %d bytes of data", count, len(data))
		}
		return data, eof
	}
	for _, tc := range []struct {
		off  uint64
		n    uint32
		eof  bool
		want []byte
	}{
		{0, 7000, true, payload},
		{0, 6999, false, payload[:6999]},
		{1, 10, false, payload[1:11]},
		{6995, 100, true, payload[6995:]},
		{7000, 10, true, nil},
		{9000, 10, true, nil},
		{0, 0, false, nil},
	} {
		data, eof := read(tc.off, tc.n)
		if !bytes.Equal(data, tc.want) {
			t.Errorf("READ %d@%d: %d bytes differ from the %d expected", tc.n, tc.off, len(data), len(tc.want))
		}
		if eof != tc.eof {
			t.Errorf("READ %d@%d: eof %v, want %v", tc.n, tc.off, eof, tc.eof)
		}
	}

	onDisk, err := os.ReadFile(filepath.Join(v.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, payload) {
		t.Error("file on disk differs from the written payload")
	}

	d = v.call(ProcRead, func(e *xdr.Encoder) { putReadArgs(e, &readArgs{fh: v.root, count: 10}) })
	v.expect(d, NFS3ERR_ISDIR, "READ of a directory")
}

func TestLocalCreateModes(t *testing.T) {
	v := newLocalEnv(t, Options{})
	create := func(mode Createmode3, name string, verf byte) (Nfsstat3, []byte) {
		d := v.call(ProcCreate, func(e *xdr.Encoder) {
			putCreateArgs(e, &createArgs{where: dirOpArgs{dir: v.root, name: name}, mode: mode,
				verifier: [8]byte{verf}, attr: sattr3{setMode: true, mode: 0o640}})
		})
		st := readStatus(d)
		var h []byte
		if st == NFS3_OK {
			h = readPostOpFH(d)
			readPostOpAttr(d)
		}
		wcc := readWcc(d)
		checkDone(t, d)
		if wcc.After == nil {
			t.Errorf("CREATE %q: no directory post-op attributes", name)
		}
		return st, h
	}

	if st, h := create(UNCHECKED, "u", 0); st != NFS3_OK || len(h) == 0 {
		t.Fatalf("CREATE UNCHECKED: %v, handle %x", st, h)
	}
	v.write(v.lookupHandle("u"), 0, []byte("keep"))
	if st, _ := create(UNCHECKED, "u", 0); st != NFS3_OK {
		t.Errorf("CREATE UNCHECKED of an existing file: %v", st)
	}
	if st, _ := create(GUARDED, "g", 0); st != NFS3_OK {
		t.Errorf("CREATE GUARDED: %v", st)
	}
	if st, _ := create(GUARDED, "g", 0); st != NFS3ERR_EXIST {
		t.Errorf("CREATE GUARDED of an existing file: %v, want NFS3ERR_EXIST", st)
	}
	st, first := create(EXCLUSIVE, "x", 1)
	if st != NFS3_OK {
		t.Fatalf("CREATE EXCLUSIVE: %v", st)
	}
	st, again := create(EXCLUSIVE, "x", 1)
	if st != NFS3_OK || !bytes.Equal(first, again) {
		t.Errorf("CREATE EXCLUSIVE retry with the same verifier: %v, handle %x, want NFS3_OK and %x", st, again, first)
	}
	if st, _ := create(EXCLUSIVE, "x", 2); st != NFS3ERR_EXIST {
		t.Errorf("CREATE EXCLUSIVE with another verifier: %v, want NFS3ERR_EXIST", st)
	}
}

func (v *localEnv) lookupHandle(name string) []byte {
	v.t.Helper()
	h, _ := v.lookup(v.root, name)
	return h
}

func TestLocalMkdirSymlinkReadlink(t *testing.T) {
	v := newLocalEnv(t, Options{})
	d := v.call(ProcMkdir, func(e *xdr.Encoder) {
		putMkdirArgs(e, &mkdirArgs{where: dirOpArgs{dir: v.root, name: "sub"}, attr: sattr3{setMode: true, mode: 0o750}})
	})
	v.expect(d, NFS3_OK, "MKDIR")
	sub := readPostOpFH(d)
	if a := readPostOpAttr(d); a == nil || a.Type != backend.TypeDir || a.Mode != 0o750 {
		t.Errorf("MKDIR attributes %+v", a)
	}
	if wcc := readWcc(d); wcc.Before == nil || wcc.After == nil {
		t.Errorf("MKDIR directory wcc %+v", wcc)
	}
	checkDone(t, d)

	d = v.call(ProcMkdir, func(e *xdr.Encoder) { putMkdirArgs(e, &mkdirArgs{where: dirOpArgs{dir: v.root, name: "sub"}}) })
	v.expect(d, NFS3ERR_EXIST, "MKDIR of an existing name")

	d = v.call(ProcSymlink, func(e *xdr.Encoder) {
		putSymlinkArgs(e, &mkdirArgs{where: dirOpArgs{dir: sub, name: "link"}, target: "../elsewhere/target"})
	})
	v.expect(d, NFS3_OK, "SYMLINK")
	link := readPostOpFH(d)
	if a := readPostOpAttr(d); a == nil || a.Type != backend.TypeSymlink {
		t.Errorf("SYMLINK attributes %+v", a)
	}
	readWcc(d)
	checkDone(t, d)
	if got, err := os.Readlink(filepath.Join(v.dir, "sub", "link")); err != nil || got != "../elsewhere/target" {
		t.Errorf("symlink on disk: %q, %v", got, err)
	}

	d = v.call(ProcReadlink, func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: link}) })
	v.expect(d, NFS3_OK, "READLINK")
	readPostOpAttr(d)
	if target := d.String(maxPathLen); target != "../elsewhere/target" {
		t.Errorf("READLINK target %q", target)
	}
	checkDone(t, d)

	d = v.call(ProcReadlink, func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: sub}) })
	if st := readStatus(d); st != NFS3ERR_INVAL {
		t.Errorf("READLINK of a directory: %v, want NFS3ERR_INVAL", st)
	}
}

func TestLocalMknod(t *testing.T) {
	v := newLocalEnv(t, Options{})
	d := v.call(ProcMknod, func(e *xdr.Encoder) {
		putMknodArgs(e, &mknodArgs{where: dirOpArgs{dir: v.root, name: "fifo"}, ftype: NF3FIFO, attr: sattr3{setMode: true, mode: 0o600}})
	})
	v.expect(d, NFS3_OK, "MKNOD FIFO")
	readPostOpFH(d)
	if a := readPostOpAttr(d); a == nil || a.Type != backend.TypeFIFO {
		t.Errorf("MKNOD FIFO attributes %+v", a)
	}
	readWcc(d)
	checkDone(t, d)
	fi, err := os.Lstat(filepath.Join(v.dir, "fifo"))
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("FIFO on disk: %v, %v", fi, err)
	}

	d = v.call(ProcMknod, func(e *xdr.Encoder) {
		putMknodArgs(e, &mknodArgs{where: dirOpArgs{dir: v.root, name: "null"}, ftype: NF3CHR, major: 1, minor: 3})
	})
	st := readStatus(d)
	// Only root may create device nodes.
	if os.Geteuid() != 0 && st != NFS3ERR_PERM && st != NFS3ERR_ACCES {
		t.Errorf("MKNOD CHR as a non-root user: %v, want NFS3ERR_PERM", st)
	}
	if os.Geteuid() == 0 && st != NFS3_OK {
		t.Errorf("MKNOD CHR as root: %v", st)
	}
}

func TestLocalRemoveRmdirRenameLink(t *testing.T) {
	v := newLocalEnv(t, Options{})
	f := v.create(v.root, "a")
	if err := os.Mkdir(filepath.Join(v.dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v.dir, "d", "inner"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dh := v.lookupHandle("d")

	d := v.call(ProcLink, func(e *xdr.Encoder) { putLinkArgs(e, &linkArgs{fh: f, link: dirOpArgs{dir: dh, name: "hard"}}) })
	v.expect(d, NFS3_OK, "LINK")
	if a := readPostOpAttr(d); a == nil || a.Nlink != 2 {
		t.Errorf("LINK file attributes %+v, want nlink 2", a)
	}
	if wcc := readWcc(d); wcc.After == nil {
		t.Error("LINK returned no directory post-op attributes")
	}
	checkDone(t, d)

	d = v.call(ProcRename, func(e *xdr.Encoder) {
		putRenameArgs(e, &renameArgs{from: dirOpArgs{dir: v.root, name: "a"}, to: dirOpArgs{dir: dh, name: "b"}})
	})
	v.expect(d, NFS3_OK, "RENAME")
	from, to := readWcc(d), readWcc(d)
	checkDone(t, d)
	if from.After == nil || to.After == nil {
		t.Errorf("RENAME wcc from %+v to %+v", from, to)
	}
	if _, err := os.Stat(filepath.Join(v.dir, "d", "b")); err != nil {
		t.Errorf("renamed file: %v", err)
	}

	d = v.call(ProcRename, func(e *xdr.Encoder) {
		putRenameArgs(e, &renameArgs{from: dirOpArgs{dir: v.root, name: "a"}, to: dirOpArgs{dir: dh, name: "c"}})
	})
	v.expect(d, NFS3ERR_NOENT, "RENAME of a missing name")

	d = v.call(ProcRmdir, func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: v.root, name: "d"}) })
	v.expect(d, NFS3ERR_NOTEMPTY, "RMDIR of a non-empty directory")
	readWcc(d)
	checkDone(t, d)

	for _, name := range []string{"inner", "hard", "b"} {
		d = v.call(ProcRemove, func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: dh, name: name}) })
		v.expect(d, NFS3_OK, "REMOVE "+name)
		if wcc := readWcc(d); wcc.Before == nil || wcc.After == nil {
			t.Errorf("REMOVE %s wcc %+v", name, wcc)
		}
		checkDone(t, d)
	}
	d = v.call(ProcRemove, func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: dh, name: "inner"}) })
	v.expect(d, NFS3ERR_NOENT, "REMOVE of a removed file")

	d = v.call(ProcRmdir, func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: v.root, name: "d"}) })
	v.expect(d, NFS3_OK, "RMDIR")
	if _, err := os.Stat(filepath.Join(v.dir, "d")); !os.IsNotExist(err) {
		t.Errorf("directory after RMDIR: %v", err)
	}
}

func TestLocalFsstatFsinfoPathconf(t *testing.T) {
	v := newLocalEnv(t, Options{})
	d := v.call(ProcFsstat, func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: v.root}) })
	v.expect(d, NFS3_OK, "FSSTAT")
	readPostOpAttr(d)
	tbytes, fbytes, abytes := d.Uint64(), d.Uint64(), d.Uint64()
	d.Uint64()
	d.Uint64()
	d.Uint64()
	d.Uint32()
	checkDone(t, d)
	if tbytes == 0 || fbytes > tbytes || abytes > fbytes {
		t.Errorf("FSSTAT bytes total %d free %d available %d", tbytes, fbytes, abytes)
	}

	d = v.call(ProcFsinfo, func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: v.root}) })
	v.expect(d, NFS3_OK, "FSINFO")
	if readPostOpAttr(d) == nil {
		t.Error("FSINFO returned no attributes")
	}
	var got [7]uint32
	for i := range got {
		got[i] = d.Uint32()
	}
	if want := [7]uint32{1 << 20, 1 << 20, 4096, 1 << 20, 1 << 20, 4096, 65536}; got != want {
		t.Errorf("FSINFO sizes %v, want %v", got, want)
	}
	if size := d.Uint64(); size != 1<<63-1 {
		t.Errorf("FSINFO maxfilesize %d", size)
	}
	if sec, nsec := d.Uint32(), d.Uint32(); sec != 0 || nsec != 1 {
		t.Errorf("FSINFO time_delta %d.%09d, want 1 ns", sec, nsec)
	}
	if props := d.Uint32(); props != FSF3_LINK|FSF3_SYMLINK|FSF3_HOMOGENEOUS|FSF3_CANSETTIME {
		t.Errorf("FSINFO properties 0x%x", props)
	}
	checkDone(t, d)

	d = v.call(ProcPathconf, func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: v.root}) })
	v.expect(d, NFS3_OK, "PATHCONF")
	readPostOpAttr(d)
	d.Uint32() // linkmax
	if nameMax := d.Uint32(); nameMax != 255 {
		t.Errorf("PATHCONF name_max %d, want 255", nameMax)
	}
	noTrunc, _, caseInsensitive, casePreserving := d.Bool(), d.Bool(), d.Bool(), d.Bool()
	checkDone(t, d)
	if !noTrunc || caseInsensitive || !casePreserving {
		t.Errorf("PATHCONF no_trunc %v case_insensitive %v case_preserving %v", noTrunc, caseInsensitive, casePreserving)
	}
}

// listAll pages through the root directory with READDIR (plus false) or
// READDIRPLUS and returns how often each name was listed.
func (v *localEnv) listAll(plus bool, dircount, maxcount uint32) map[string]int {
	v.t.Helper()
	seen := make(map[string]int)
	var cookie uint64
	var verf [8]byte
	for calls := 0; ; calls++ {
		if calls > 100000 {
			v.t.Fatal("listing did not reach eof")
		}
		d := v.call(map[bool]uint32{false: ProcReaddir, true: ProcReaddirplus}[plus], func(e *xdr.Encoder) {
			a := &readdirArgs{fh: v.root, cookie: cookie, verifier: verf, dircount: dircount, maxcount: maxcount}
			if plus {
				putReaddirplusArgs(e, a)
			} else {
				putReaddirArgs(e, a)
			}
		})
		size := d.Remaining()
		v.expect(d, NFS3_OK, "READDIR page")
		if size > int(maxcount) {
			v.t.Fatalf("reply of %d bytes exceeds maxcount %d", size, maxcount)
		}
		readPostOpAttr(d)
		copy(verf[:], d.Fixed(8))
		entries := 0
		for d.Bool() {
			d.Uint64()
			name := d.String(maxNameLen)
			cookie = d.Uint64()
			if plus {
				a := readPostOpAttr(d)
				h := readPostOpFH(d)
				if name != "." && name != ".." && (a == nil || len(h) == 0) {
					v.t.Errorf("READDIRPLUS entry %q without attributes or handle", name)
				}
			}
			seen[name]++
			entries++
		}
		eof := d.Bool()
		checkDone(v.t, d)
		if eof {
			return seen
		}
		if entries == 0 {
			v.t.Fatal("page with no entries before eof")
		}
	}
}

func TestLocalReaddirPaging(t *testing.T) {
	v := newLocalEnv(t, Options{})
	const n = 3000
	for i := range n {
		name := "entry-" + strconv.Itoa(i)
		if i%7 == 0 {
			name += "-with-a-longer-name-to-vary-sizes"
		}
		if err := os.WriteFile(filepath.Join(v.dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		plus               bool
		dircount, maxcount uint32
	}{
		{false, 0, 512},
		{false, 0, 65536},
		{true, 256, 1024},
		{true, 4096, 32768},
	} {
		t.Run(fmt.Sprintf("plus=%v/dircount=%d/maxcount=%d", tc.plus, tc.dircount, tc.maxcount), func(t *testing.T) {
			seen := v.listAll(tc.plus, tc.dircount, tc.maxcount)
			for i := range n {
				name := "entry-" + strconv.Itoa(i)
				if i%7 == 0 {
					name += "-with-a-longer-name-to-vary-sizes"
				}
				if seen[name] != 1 {
					t.Errorf("%q listed %d times", name, seen[name])
				}
			}
			if len(seen) != n+2 {
				t.Errorf("%d distinct names, want %d and \".\" and \"..\"", len(seen), n)
			}
		})
	}
}

func TestLocalReaddirTooSmall(t *testing.T) {
	v := newLocalEnv(t, Options{})
	d := v.call(ProcReaddir, func(e *xdr.Encoder) { putReaddirArgs(e, &readdirArgs{fh: v.root, maxcount: 40}) })
	v.expect(d, NFS3ERR_TOOSMALL, "READDIR with count 40")
}
