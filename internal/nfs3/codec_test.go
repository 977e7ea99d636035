package nfs3

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// goldenAttr is the attribute set behind the golden fattr3 below.
var goldenAttr = backend.Attr{
	Type:   backend.TypeRegular,
	Mode:   0o100644, // the type bits must not reach the wire
	Nlink:  2,
	UID:    1000,
	GID:    100,
	Size:   0x1122334455667788,
	Used:   4096,
	FSID:   7,
	FileID: 42,
	Atime:  time.Unix(1, 2),
	Mtime:  time.Unix(0x5f5e1000, 999999999),
	Ctime:  time.Unix(-5, 0), // before 1970: clamped to 0
}

const goldenFattr = `
00000001 000001a4 00000002 000003e8 00000064
1122334455667788 0000000000001000
00000000 00000000
0000000000000007 000000000000002a
00000001 00000002
5f5e1000 3b9ac9ff
00000000 00000000`

func TestFattr3Golden(t *testing.T) {
	e := xdr.NewEncoder(nil)
	encodeFattr3(e, &goldenAttr)
	want := mustHex(t, goldenFattr)
	if !bytes.Equal(e.Bytes(), want) {
		t.Fatalf("fattr3\n got %x\nwant %x", e.Bytes(), want)
	}
	if len(want) != fattr3Size {
		t.Fatalf("golden fattr3 is %d bytes, fattr3Size is %d", len(want), fattr3Size)
	}
}

func TestWccDataGolden(t *testing.T) {
	e := xdr.NewEncoder(nil)
	encodeWccData(e, &backend.Wcc{
		Before: &backend.WccAttr{Size: 10, Mtime: time.Unix(3, 4), Ctime: time.Unix(5, 6)},
	})
	encodeWccData(e, &backend.Wcc{After: &goldenAttr})
	want := mustHex(t, `
00000001 000000000000000a 00000003 00000004 00000005 00000006
00000000
00000000
00000001`+goldenFattr)
	if !bytes.Equal(e.Bytes(), want) {
		t.Fatalf("wcc_data\n got %x\nwant %x", e.Bytes(), want)
	}
}

func TestTimeClampedAbove2106(t *testing.T) {
	e := xdr.NewEncoder(nil)
	encodeTime(e, time.Unix(1<<33, 5))
	want := mustHex(t, "ffffffff 3b9ac9ff")
	if !bytes.Equal(e.Bytes(), want) {
		t.Fatalf("nfstime3 got %x, want %x", e.Bytes(), want)
	}
}

func TestLookupReplyGolden(t *testing.T) {
	fs := &stubFS{lookup: func(dir []byte, name string) ([]byte, backend.Attr, *backend.Attr, error) {
		if !bytes.Equal(dir, []byte{0xaa, 0xbb}) {
			t.Errorf("LOOKUP dir handle %x, want aabb", dir)
		}
		if name == "missing" {
			dirAttr := goldenAttr
			return nil, backend.Attr{}, &dirAttr, syscall.ENOENT
		}
		if name != "file" {
			t.Errorf("LOOKUP name %q, want \"file\"", name)
		}
		return []byte("abc"), goldenAttr, nil, nil
	}}
	prog := NewProgram(fs, Options{})

	args := encodeArgs(func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: []byte{0xaa, 0xbb}, name: "file"}) })
	if want := mustHex(t, "00000002 aabb0000 00000004 66696c65"); !bytes.Equal(args, want) {
		t.Fatalf("LOOKUP args\n got %x\nwant %x", args, want)
	}
	res, err := callProc(prog, ProcLookup, args)
	if err != nil {
		t.Fatal(err)
	}
	want := mustHex(t, "00000000 00000003 61626300 00000001"+goldenFattr+" 00000000")
	if !bytes.Equal(res, want) {
		t.Fatalf("LOOKUP reply\n got %x\nwant %x", res, want)
	}

	args = encodeArgs(func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: []byte{0xaa, 0xbb}, name: "missing"}) })
	res, err = callProc(prog, ProcLookup, args)
	if err != nil {
		t.Fatal(err)
	}
	want = mustHex(t, "00000002 00000001"+goldenFattr)
	if !bytes.Equal(res, want) {
		t.Fatalf("LOOKUP NOENT reply\n got %x\nwant %x", res, want)
	}
}

func twoEntryDir(backend.ReadDirArgs) (backend.ReadDirResult, error) {
	return backend.ReadDirResult{
		Entries: []backend.DirEntry{
			{Name: "a", FileID: 5, Cookie: 1},
			{Name: "bcde", FileID: 6, Cookie: 2},
		},
		EOF:      true,
		Verifier: [8]byte{1, 2, 3, 4, 5, 6, 7, 8},
	}, nil
}

func readdirArgsBytes(count uint32) []byte {
	return encodeArgs(func(e *xdr.Encoder) {
		putReaddirArgs(e, &readdirArgs{fh: []byte{1}, maxcount: count})
	})
}

func TestReaddirReplyGolden(t *testing.T) {
	fs := &stubFS{readDir: twoEntryDir}
	prog := NewProgram(fs, Options{})
	res, err := callProc(prog, ProcReaddir, readdirArgsBytes(4096))
	if err != nil {
		t.Fatal(err)
	}
	want := mustHex(t, `
00000000 00000000 0102030405060708
00000001 0000000000000005 00000001 61000000 0000000000000001
00000001 0000000000000006 00000004 62636465 0000000000000002
00000000 00000001`)
	if !bytes.Equal(res, want) {
		t.Fatalf("READDIR reply\n got %x\nwant %x", res, want)
	}
	if fs.lastDir.Plus {
		t.Error("READDIR asked the backend for attributes")
	}
	if fs.lastDir.MaxEntries <= 0 || fs.lastDir.MaxEntries > maxDirEntries {
		t.Errorf("READDIR MaxEntries = %d, want 1..%d", fs.lastDir.MaxEntries, maxDirEntries)
	}
}

func TestReaddirCountLimits(t *testing.T) {
	fs := &stubFS{readDir: twoEntryDir}
	prog := NewProgram(fs, Options{})

	// The full reply above is 80 bytes: 16 before the entries, 28 for
	// each entry and 8 after them.
	for _, tc := range []struct {
		count   uint32
		status  Nfsstat3
		entries int
		eof     bool
	}{
		{count: 1 << 30, status: NFS3_OK, entries: 2, eof: true},
		{count: 80, status: NFS3_OK, entries: 2, eof: true},
		{count: 79, status: NFS3_OK, entries: 1, eof: false},
		{count: 52, status: NFS3_OK, entries: 1, eof: false},
		{count: 51, status: NFS3ERR_TOOSMALL},
		{count: 0, status: NFS3ERR_TOOSMALL},
	} {
		t.Run(fmt.Sprint(tc.count), func(t *testing.T) {
			res, err := callProc(prog, ProcReaddir, readdirArgsBytes(tc.count))
			if err != nil {
				t.Fatal(err)
			}
			if tc.status == NFS3_OK && len(res) > int(tc.count) {
				t.Errorf("reply is %d bytes, count %d", len(res), tc.count)
			}
			d := xdr.NewDecoder(res)
			if st := readStatus(d); st != tc.status {
				t.Fatalf("status %v, want %v", st, tc.status)
			}
			readPostOpAttr(d)
			if tc.status != NFS3_OK {
				checkDone(t, d)
				return
			}
			d.Fixed(8)
			n := 0
			for d.Bool() {
				d.Uint64()
				d.String(maxNameLen)
				d.Uint64()
				n++
			}
			eof := d.Bool()
			checkDone(t, d)
			if n != tc.entries {
				t.Errorf("%d entries, want %d", n, tc.entries)
			}
			if eof != tc.eof {
				t.Errorf("eof %v, want %v", eof, tc.eof)
			}
		})
	}
}

func TestReaddirplusDircountLimit(t *testing.T) {
	attr := goldenAttr
	fs := &stubFS{readDir: func(backend.ReadDirArgs) (backend.ReadDirResult, error) {
		return backend.ReadDirResult{
			Entries: []backend.DirEntry{
				{Name: "a", FileID: 5, Cookie: 1, Handle: []byte{1, 2}, Attr: &attr},
				{Name: "b", FileID: 6, Cookie: 2, Handle: []byte{3, 4}, Attr: &attr},
			},
			EOF: true,
		}, nil
	}}
	prog := NewProgram(fs, Options{})
	count := func(dircount uint32) (int, bool) {
		args := encodeArgs(func(e *xdr.Encoder) {
			putReaddirplusArgs(e, &readdirArgs{fh: []byte{1}, dircount: dircount, maxcount: 8192})
		})
		d := mustCall(t, prog, ProcReaddirplus, args)
		if st := readStatus(d); st != NFS3_OK {
			t.Fatalf("READDIRPLUS status %v", st)
		}
		readPostOpAttr(d)
		d.Fixed(8)
		n := 0
		for d.Bool() {
			d.Uint64()
			d.String(maxNameLen)
			d.Uint64()
			if a := readPostOpAttr(d); a == nil || a.FileID != 42 {
				t.Errorf("entry %d attributes %+v", n, a)
			}
			if h := readPostOpFH(d); len(h) != 2 {
				t.Errorf("entry %d handle %x", n, h)
			}
			n++
		}
		eof := d.Bool()
		checkDone(t, d)
		return n, eof
	}
	// Each entry is 28 bytes of directory information.
	if n, eof := count(56); n != 2 || !eof {
		t.Errorf("dircount 56: %d entries, eof %v; want 2, true", n, eof)
	}
	if n, eof := count(55); n != 1 || eof {
		t.Errorf("dircount 55: %d entries, eof %v; want 1, false", n, eof)
	}
	// A dircount below one entry still returns the first entry.
	if n, eof := count(0); n != 1 || eof {
		t.Errorf("dircount 0: %d entries, eof %v; want 1, false", n, eof)
	}
	if !fs.lastDir.Plus {
		t.Error("READDIRPLUS did not ask the backend for attributes")
	}
}

func TestReaddirEmptyPageIsServerFault(t *testing.T) {
	fs := &stubFS{readDir: func(backend.ReadDirArgs) (backend.ReadDirResult, error) {
		return backend.ReadDirResult{}, nil
	}}
	d := mustCall(t, NewProgram(fs, Options{}), ProcReaddir, readdirArgsBytes(4096))
	if st := readStatus(d); st != NFS3ERR_SERVERFAULT {
		t.Fatalf("status %v, want NFS3ERR_SERVERFAULT", st)
	}
}

// TestReadInPlace checks the READ reply layout for every data length
// modulo four, with and without attributes, because the handler writes
// the header after the data and must move the data when attributes are
// missing.
func TestReadInPlace(t *testing.T) {
	content := []byte("0123456789")
	for _, withAttr := range []bool{true, false} {
		for n := 0; n <= 7; n++ {
			fs := &stubFS{read: func(_ []byte, off uint64, buf []byte) (int, bool, *backend.Attr, error) {
				if off != 3 {
					t.Errorf("offset %d, want 3", off)
				}
				// Dirty the whole buffer so stale bytes would show.
				for i := range buf {
					buf[i] = 0xee
				}
				copied := copy(buf, content[:n])
				if withAttr {
					return copied, true, &goldenAttr, nil
				}
				return copied, false, nil, nil
			}}
			prog := NewProgram(fs, Options{})
			args := encodeArgs(func(e *xdr.Encoder) { putReadArgs(e, &readArgs{fh: []byte{1}, offset: 3, count: uint32(n)}) })
			d := mustCall(t, prog, ProcRead, args)
			if st := readStatus(d); st != NFS3_OK {
				t.Fatalf("status %v", st)
			}
			attr := readPostOpAttr(d)
			if (attr != nil) != withAttr {
				t.Errorf("n=%d: attributes present %v, want %v", n, attr != nil, withAttr)
			}
			count := d.Uint32()
			eof := d.Bool()
			data := d.Opaque(rtmax)
			checkDone(t, d)
			if int(count) != n {
				t.Errorf("n=%d: count %d", n, count)
			}
			if eof != withAttr {
				t.Errorf("n=%d: eof %v, want %v", n, eof, withAttr)
			}
			if !bytes.Equal(data, content[:n]) {
				t.Errorf("n=%d: data %q, want %q", n, data, content[:n])
			}
		}
	}
}

func TestReadCountCapped(t *testing.T) {
	var got int
	fs := &stubFS{read: func(_ []byte, _ uint64, buf []byte) (int, bool, *backend.Attr, error) {
		got = len(buf)
		return 0, true, nil, nil
	}}
	args := encodeArgs(func(e *xdr.Encoder) { putReadArgs(e, &readArgs{fh: []byte{1}, count: 1 << 30}) })
	mustCall(t, NewProgram(fs, Options{}), ProcRead, args)
	if got != rtmax {
		t.Fatalf("backend buffer %d bytes, want %d", got, rtmax)
	}
}

func TestReadErrorReply(t *testing.T) {
	fs := &stubFS{read: func([]byte, uint64, []byte) (int, bool, *backend.Attr, error) {
		return 0, false, &goldenAttr, syscall.EISDIR
	}}
	args := encodeArgs(func(e *xdr.Encoder) { putReadArgs(e, &readArgs{fh: []byte{1}, count: 4096}) })
	res, err := callProc(NewProgram(fs, Options{}), ProcRead, args)
	if err != nil {
		t.Fatal(err)
	}
	want := mustHex(t, "00000015 00000001"+goldenFattr)
	if !bytes.Equal(res, want) {
		t.Fatalf("READ EISDIR reply\n got %x\nwant %x", res, want)
	}
}

// TestLongHandleIsBadHandle checks that a handle over NFS3_FHSIZE bytes
// gets NFS3ERR_BADHANDLE, not GARBAGE_ARGS, and never reaches the backend.
func TestLongHandleIsBadHandle(t *testing.T) {
	prog := NewProgram(&stubFS{}, Options{})
	long := bytes.Repeat([]byte{7}, NFS3_FHSIZE+1)
	for _, proc := range []uint32{ProcGetattr, ProcAccess, ProcRead, ProcFsinfo, ProcReaddir} {
		args := encodeArgs(func(e *xdr.Encoder) {
			e.Opaque(long)
			e.Uint64(0)
			e.Uint64(0)
			e.Uint32(100)
			e.Uint32(100)
		})
		d := mustCall(t, prog, proc, args)
		if st := readStatus(d); st != NFS3ERR_BADHANDLE {
			t.Errorf("%s: status %v, want NFS3ERR_BADHANDLE", prog.Procs[proc].Name, st)
		}
	}
}

func TestLongNameIsNameTooLong(t *testing.T) {
	prog := NewProgram(&stubFS{}, Options{})
	long := strings.Repeat("x", maxNameLen+1)
	args := encodeArgs(func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: []byte{1}, name: long}) })
	for _, proc := range []uint32{ProcLookup, ProcRemove, ProcRmdir} {
		d := mustCall(t, prog, proc, args)
		if st := readStatus(d); st != NFS3ERR_NAMETOOLONG {
			t.Errorf("%s: status %v, want NFS3ERR_NAMETOOLONG", prog.Procs[proc].Name, st)
		}
	}

	args = encodeArgs(func(e *xdr.Encoder) {
		putSymlinkArgs(e, &mkdirArgs{where: dirOpArgs{dir: []byte{1}, name: "l"}, target: strings.Repeat("t", maxPathLen+1)})
	})
	d := mustCall(t, prog, ProcSymlink, args)
	if st := readStatus(d); st != NFS3ERR_NAMETOOLONG {
		t.Errorf("SYMLINK with a %d-byte target: status %v, want NFS3ERR_NAMETOOLONG", maxPathLen+1, st)
	}
	readWcc(d)
	checkDone(t, d)
}

// validArgs holds well-formed arguments for every procedure that has any.
var validArgs = map[uint32][]byte{
	ProcGetattr: encodeArgs(func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: []byte{1, 2, 3}}) }),
	ProcSetattr: encodeArgs(func(e *xdr.Encoder) {
		putSetattrArgs(e, &setattrArgs{fh: []byte{1}, attr: sattr3{setMode: true, mode: 0o644,
			mtime: backend.SetTime{How: backend.TimeClient, Time: time.Unix(5, 6)}}, check: true, guardCtm: time.Unix(7, 8)})
	}),
	ProcLookup:   encodeArgs(func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: []byte{1}, name: "n"}) }),
	ProcAccess:   encodeArgs(func(e *xdr.Encoder) { putAccessArgs(e, &accessArgs{fh: []byte{1}, access: 0x3f}) }),
	ProcReadlink: encodeArgs(func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: []byte{1}}) }),
	ProcRead:     encodeArgs(func(e *xdr.Encoder) { putReadArgs(e, &readArgs{fh: []byte{1}, count: 10}) }),
	ProcWrite: encodeArgs(func(e *xdr.Encoder) {
		putWriteArgs(e, &writeArgs{fh: []byte{1}, count: 5, stable: FILE_SYNC, data: []byte("hello")})
	}),
	ProcCreate: encodeArgs(func(e *xdr.Encoder) {
		putCreateArgs(e, &createArgs{where: dirOpArgs{dir: []byte{1}, name: "f"}, mode: GUARDED, attr: sattr3{setSize: true}})
	}),
	ProcMkdir: encodeArgs(func(e *xdr.Encoder) { putMkdirArgs(e, &mkdirArgs{where: dirOpArgs{dir: []byte{1}, name: "d"}}) }),
	ProcSymlink: encodeArgs(func(e *xdr.Encoder) {
		putSymlinkArgs(e, &mkdirArgs{where: dirOpArgs{dir: []byte{1}, name: "l"}, target: "t"})
	}),
	ProcMknod: encodeArgs(func(e *xdr.Encoder) {
		putMknodArgs(e, &mknodArgs{where: dirOpArgs{dir: []byte{1}, name: "c"}, ftype: NF3CHR, major: 1, minor: 3})
	}),
	ProcRemove: encodeArgs(func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: []byte{1}, name: "n"}) }),
	ProcRmdir:  encodeArgs(func(e *xdr.Encoder) { putDirOp(e, &dirOpArgs{dir: []byte{1}, name: "n"}) }),
	ProcRename: encodeArgs(func(e *xdr.Encoder) {
		putRenameArgs(e, &renameArgs{from: dirOpArgs{dir: []byte{1}, name: "a"}, to: dirOpArgs{dir: []byte{2}, name: "b"}})
	}),
	ProcLink: encodeArgs(func(e *xdr.Encoder) {
		putLinkArgs(e, &linkArgs{fh: []byte{1}, link: dirOpArgs{dir: []byte{2}, name: "b"}})
	}),
	ProcReaddir: readdirArgsBytes(4096),
	ProcReaddirplus: encodeArgs(func(e *xdr.Encoder) {
		putReaddirplusArgs(e, &readdirArgs{fh: []byte{1}, dircount: 100, maxcount: 1000})
	}),
	ProcFsstat:   encodeArgs(func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: []byte{1}}) }),
	ProcFsinfo:   encodeArgs(func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: []byte{1}}) }),
	ProcPathconf: encodeArgs(func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: []byte{1}}) }),
	ProcCommit:   encodeArgs(func(e *xdr.Encoder) { putReadArgs(e, &readArgs{fh: []byte{1}, count: 0}) }),
}

// TestTruncatedArgsAreGarbage cuts the arguments of every procedure at
// every length short of the whole and expects GARBAGE_ARGS. The stub
// backend panics if a handler reaches it.
func TestTruncatedArgsAreGarbage(t *testing.T) {
	prog := NewProgram(&stubFS{}, Options{})
	if len(validArgs) != len(prog.Procs)-1 {
		t.Fatalf("validArgs covers %d procedures, want %d", len(validArgs), len(prog.Procs)-1)
	}
	for proc, args := range validArgs {
		name := prog.Procs[proc].Name
		for cut := 0; cut < len(args); cut++ {
			_, err := callProc(prog, proc, args[:cut])
			if !errors.Is(err, oncrpc.ErrGarbageArgs) {
				t.Errorf("%s cut to %d of %d bytes: error %v, want ErrGarbageArgs", name, cut, len(args), err)
			}
		}
	}
}

func TestMalformedArgsAreGarbage(t *testing.T) {
	prog := NewProgram(&stubFS{}, Options{})
	for _, tc := range []struct {
		name string
		proc uint32
		args []byte
	}{
		{"WRITE count above data length", ProcWrite, encodeArgs(func(e *xdr.Encoder) {
			putWriteArgs(e, &writeArgs{fh: []byte{1}, count: 6, data: []byte("hello")})
		})},
		{"WRITE count below data length", ProcWrite, encodeArgs(func(e *xdr.Encoder) {
			putWriteArgs(e, &writeArgs{fh: []byte{1}, count: 4, data: []byte("hello")})
		})},
		{"WRITE stable_how 3", ProcWrite, encodeArgs(func(e *xdr.Encoder) {
			putWriteArgs(e, &writeArgs{fh: []byte{1}, count: 5, stable: 3, data: []byte("hello")})
		})},
		{"CREATE mode 3", ProcCreate, encodeArgs(func(e *xdr.Encoder) {
			putDirOp(e, &dirOpArgs{dir: []byte{1}, name: "f"})
			e.Uint32(3)
		})},
		{"SETATTR set_mode bool 2", ProcSetattr, encodeArgs(func(e *xdr.Encoder) {
			e.Opaque([]byte{1})
			e.Uint32(2)
		})},
		{"SETATTR time_how 3", ProcSetattr, encodeArgs(func(e *xdr.Encoder) {
			e.Opaque([]byte{1})
			e.Uint32(0)
			e.Uint32(0)
			e.Uint32(0)
			e.Uint32(0)
			e.Uint32(3)
			e.Uint32(0)
			e.Uint32(0)
		})},
		{"GETATTR non-zero padding", ProcGetattr, mustHex(t, "00000001 01ff0000")},
		{"GETATTR handle length past the end", ProcGetattr, mustHex(t, "00000040 01020304")},
		{"GETATTR huge handle length", ProcGetattr, mustHex(t, "ffffffff 01020304")},
		{"LOOKUP huge name length", ProcLookup, mustHex(t, "00000001 01000000 fffffff0 61")},
	} {
		_, err := callProc(prog, tc.proc, tc.args)
		if !errors.Is(err, oncrpc.ErrGarbageArgs) {
			t.Errorf("%s: error %v, want ErrGarbageArgs", tc.name, err)
		}
	}
}

func TestMknodBadType(t *testing.T) {
	prog := NewProgram(&stubFS{}, Options{})
	for _, ftype := range []Ftype3{NF3REG, NF3DIR, NF3LNK, 0, 99} {
		args := encodeArgs(func(e *xdr.Encoder) {
			putMknodArgs(e, &mknodArgs{where: dirOpArgs{dir: []byte{1}, name: "x"}, ftype: ftype})
		})
		d := mustCall(t, prog, ProcMknod, args)
		if st := readStatus(d); st != NFS3ERR_BADTYPE {
			t.Errorf("MKNOD type %d: status %v, want NFS3ERR_BADTYPE", ftype, st)
		}
		readWcc(d)
		checkDone(t, d)
	}
}

// TestReadOnlyRejectsModification checks that every modifying procedure
// replies NFS3ERR_ROFS with the layout of its failure result, without
// calling the stub backend (which would panic).
func TestReadOnlyRejectsModification(t *testing.T) {
	prog := NewProgram(&stubFS{}, Options{ReadOnly: true})
	for _, proc := range []uint32{ProcSetattr, ProcWrite, ProcCreate, ProcMkdir, ProcSymlink,
		ProcMknod, ProcRemove, ProcRmdir, ProcRename, ProcLink} {
		d := mustCall(t, prog, proc, validArgs[proc])
		if st := readStatus(d); st != NFS3ERR_ROFS {
			t.Errorf("%s: status %v, want NFS3ERR_ROFS", prog.Procs[proc].Name, st)
		}
		switch proc {
		case ProcRename:
			readWcc(d)
			readWcc(d)
		case ProcLink:
			readPostOpAttr(d)
			readWcc(d)
		default:
			readWcc(d)
		}
		checkDone(t, d)
	}
}

func TestCredentials(t *testing.T) {
	sys := credOf(testCall(0))
	if sys.UID != 1000 || sys.GID != 1000 || len(sys.Groups) != 1 {
		t.Errorf("AUTH_SYS credentials %+v", sys)
	}
	none := credOf(&oncrpc.Call{Flavor: oncrpc.AuthNone})
	if none.UID != 65534 || none.GID != 65534 || len(none.Groups) != 0 {
		t.Errorf("AUTH_NONE credentials %+v, want 65534/65534", none)
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Nfsstat3
	}{
		{nil, NFS3_OK},
		{syscall.EPERM, NFS3ERR_PERM},
		{syscall.ENOENT, NFS3ERR_NOENT},
		{syscall.EIO, NFS3ERR_IO},
		{syscall.ENXIO, NFS3ERR_NXIO},
		{syscall.EACCES, NFS3ERR_ACCES},
		{syscall.EEXIST, NFS3ERR_EXIST},
		{syscall.EXDEV, NFS3ERR_XDEV},
		{syscall.ENODEV, NFS3ERR_NODEV},
		{syscall.ENOTDIR, NFS3ERR_NOTDIR},
		{syscall.EISDIR, NFS3ERR_ISDIR},
		{syscall.EINVAL, NFS3ERR_INVAL},
		{syscall.EFBIG, NFS3ERR_FBIG},
		{syscall.ENOSPC, NFS3ERR_NOSPC},
		{syscall.EROFS, NFS3ERR_ROFS},
		{syscall.EMLINK, NFS3ERR_MLINK},
		{syscall.ENAMETOOLONG, NFS3ERR_NAMETOOLONG},
		{syscall.ENOTEMPTY, NFS3ERR_NOTEMPTY},
		{syscall.EDQUOT, NFS3ERR_DQUOT},
		{syscall.ESTALE, NFS3ERR_STALE},
		{syscall.EBADF, NFS3ERR_STALE},
		{syscall.ELOOP, NFS3ERR_INVAL},
		{syscall.EOPNOTSUPP, NFS3ERR_NOTSUPP},
		{syscall.ENOTSUP, NFS3ERR_NOTSUPP},
		{syscall.ENOSYS, NFS3ERR_NOTSUPP},
		{syscall.EAGAIN, NFS3ERR_JUKEBOX},
		{syscall.EWOULDBLOCK, NFS3ERR_JUKEBOX},
		{syscall.ENOMEM, NFS3ERR_JUKEBOX},
		{syscall.ETIMEDOUT, NFS3ERR_JUKEBOX},
		{syscall.ENFILE, NFS3ERR_SERVERFAULT},
		{syscall.EMFILE, NFS3ERR_SERVERFAULT},
		{syscall.E2BIG, NFS3ERR_IO},
		{backend.ErrBadHandle, NFS3ERR_BADHANDLE},
		{backend.ErrStale, NFS3ERR_STALE},
		{backend.ErrNotSync, NFS3ERR_NOT_SYNC},
		{backend.ErrBadCookie, NFS3ERR_BAD_COOKIE},
		{backend.ErrBadType, NFS3ERR_BADTYPE},
		{fmt.Errorf("open %q: %w", "x", syscall.ENOENT), NFS3ERR_NOENT},
		{fmt.Errorf("resolve: %w", backend.ErrStale), NFS3ERR_STALE},
		{errors.New("something else"), NFS3ERR_IO},
	} {
		if got := StatusOf(tc.err); got != tc.want {
			t.Errorf("StatusOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestStatusString(t *testing.T) {
	for st, want := range map[Nfsstat3]string{
		NFS3_OK:            "NFS3_OK",
		NFS3ERR_STALE:      "NFS3ERR_STALE",
		NFS3ERR_NOT_SYNC:   "NFS3ERR_NOT_SYNC",
		NFS3ERR_JUKEBOX:    "NFS3ERR_JUKEBOX",
		Nfsstat3(12345):    "Nfsstat3(12345)",
		NFS3ERR_BAD_COOKIE: "NFS3ERR_BAD_COOKIE",
	} {
		if got := st.String(); got != want {
			t.Errorf("Nfsstat3(%d).String() = %q, want %q", uint32(st), got, want)
		}
	}
}

// TestOnlyReadingProceduresAreQuick checks which procedures may run on a
// connection's reader goroutine: none that writes may, because it can wait
// for an fsync while the calls behind it wait too.
func TestOnlyReadingProceduresAreQuick(t *testing.T) {
	prog := NewProgram(&stubFS{}, Options{})
	writing := map[int]bool{
		ProcSetattr: true, ProcWrite: true, ProcCreate: true, ProcMkdir: true,
		ProcSymlink: true, ProcMknod: true, ProcRemove: true, ProcRmdir: true,
		ProcRename: true, ProcLink: true, ProcCommit: true,
	}
	for proc, p := range prog.Procs {
		if quick := p.Quick != nil; quick == writing[proc] {
			t.Errorf("%s: quick is %v", p.Name, quick)
		}
	}
}

// TestQuickOnlyWithKnownHandle checks that a reading call counts as quick
// only when backend.FS.Known accepts its handle, because an unknown one may
// need a search of the whole tree.
func TestQuickOnlyWithKnownHandle(t *testing.T) {
	fs := &stubFS{known: func(h []byte) bool { return bytes.Equal(h, []byte{7}) }}
	prog := NewProgram(fs, Options{})
	quick := prog.Procs[ProcGetattr].Quick
	for _, tc := range []struct {
		fh   []byte
		want bool
	}{{[]byte{7}, true}, {[]byte{8}, false}} {
		var d xdr.Decoder
		d.Reset(encodeArgs(func(e *xdr.Encoder) { e.Opaque(tc.fh) }))
		if got := quick(d); got != tc.want {
			t.Errorf("GETATTR of handle %x: quick %v, want %v", tc.fh, got, tc.want)
		}
	}
	var truncated xdr.Decoder
	truncated.Reset([]byte{0, 0, 0, 9})
	if quick(truncated) {
		t.Error("GETATTR with a truncated handle counted as quick")
	}
}

// TestTimeWithOverlongNanoseconds checks that an nfstime3 whose nseconds is
// a second or more gets NFS3ERR_INVAL instead of rolling over into the
// seconds: from 0xffffffff seconds the rollover left the 32-bit range.
func TestTimeWithOverlongNanoseconds(t *testing.T) {
	for _, tc := range []struct {
		nsec uint32
		want Nfsstat3
	}{{999999999, NFS3_OK}, {1000000000, NFS3ERR_INVAL}, {0xffffffff, NFS3ERR_INVAL}} {
		args := encodeArgs(func(e *xdr.Encoder) {
			e.Opaque([]byte{1})
			for range 4 { // mode, uid, gid, size: not set
				e.Bool(false)
			}
			e.Uint32(uint32(DONT_CHANGE)) // atime
			e.Uint32(uint32(SET_TO_CLIENT_TIME))
			e.Uint32(0xffffffff)
			e.Uint32(tc.nsec)
			e.Bool(false) // no guard
		})
		var a setattrArgs
		r := argReader{d: xdr.NewDecoder(args)}
		decodeSetattrArgs(&r, &a)
		if err := r.d.Err(); err != nil {
			t.Fatalf("nseconds %d: %v", tc.nsec, err)
		}
		if r.bad != tc.want {
			t.Errorf("nseconds %d: status %v, want %v", tc.nsec, r.bad, tc.want)
		}
	}
}
