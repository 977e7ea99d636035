package nfs3

import (
	"reflect"
	"testing"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// fuzzDecoder checks one argument decoder on arbitrary input: it must not
// panic, must respect the length limits, and whatever it accepts must
// survive re-encoding: decoding the re-encoded arguments gives the same
// value and consumes every byte.
func fuzzDecoder[T any](f *testing.F, decode func(*argReader, *T), encode func(*xdr.Encoder, *T), seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
		if len(s) > 0 {
			f.Add(s[:len(s)-1])
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var a T
		r := argReader{d: xdr.NewDecoder(in)}
		decode(&r, &a)
		if r.d.Err() != nil || r.bad != NFS3_OK {
			return
		}
		if r.d.Offset() > len(in) {
			t.Fatalf("decoder read %d of %d bytes", r.d.Offset(), len(in))
		}
		checkLimits(t, reflect.ValueOf(a))

		again := encodeArgs(func(e *xdr.Encoder) { encode(e, &a) })
		var b T
		r2 := argReader{d: xdr.NewDecoder(again)}
		decode(&r2, &b)
		if r2.d.Err() != nil || r2.bad != NFS3_OK {
			t.Fatalf("re-encoded arguments %x fail: %v, status %v", again, r2.d.Err(), r2.bad)
		}
		if r2.d.Remaining() != 0 {
			t.Fatalf("re-encoded arguments leave %d bytes", r2.d.Remaining())
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the arguments\nfirst  %+v\nsecond %+v", a, b)
		}
	})
}

// checkLimits walks the decoded arguments and fails on a handle longer than
// NFS3_FHSIZE or a string longer than the symlink path limit.
func checkLimits(t *testing.T, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			checkLimits(t, v.Field(i))
		}
	case reflect.Slice:
		if v.Len() > NFS3_FHSIZE && v.Type().Elem().Kind() == reflect.Uint8 {
			// Only WRITE data may be longer than a handle, and it has
			// its own length check in the decoder.
			return
		}
	case reflect.String:
		if v.Len() > maxPathLen {
			t.Fatalf("decoded string of %d bytes", v.Len())
		}
	}
}

func FuzzDecodeFHArgs(f *testing.F) {
	fuzzDecoder(f, decodeFHArgs, putFHArgs, validArgs[ProcGetattr])
}

func FuzzDecodeSetattrArgs(f *testing.F) {
	fuzzDecoder(f, decodeSetattrArgs, putSetattrArgs, validArgs[ProcSetattr])
}

func FuzzDecodeDirOpArgs(f *testing.F) {
	fuzzDecoder(f, decodeDirOpArgs, putDirOp, validArgs[ProcLookup])
}

func FuzzDecodeAccessArgs(f *testing.F) {
	fuzzDecoder(f, decodeAccessArgs, putAccessArgs, validArgs[ProcAccess])
}

func FuzzDecodeReadArgs(f *testing.F) {
	fuzzDecoder(f, decodeReadArgs, putReadArgs, validArgs[ProcRead], validArgs[ProcCommit])
}

func FuzzDecodeWriteArgs(f *testing.F) {
	fuzzDecoder(f, decodeWriteArgs, putWriteArgs, validArgs[ProcWrite])
}

func FuzzDecodeCreateArgs(f *testing.F) {
	exclusive := encodeArgs(func(e *xdr.Encoder) {
		putCreateArgs(e, &createArgs{where: dirOpArgs{dir: []byte{1}, name: "f"}, mode: EXCLUSIVE,
			verifier: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}})
	})
	fuzzDecoder(f, decodeCreateArgs, putCreateArgs, validArgs[ProcCreate], exclusive)
}

func FuzzDecodeMkdirArgs(f *testing.F) {
	fuzzDecoder(f, decodeMkdirArgs, putMkdirArgs, validArgs[ProcMkdir])
}

func FuzzDecodeSymlinkArgs(f *testing.F) {
	fuzzDecoder(f, decodeSymlinkArgs, putSymlinkArgs, validArgs[ProcSymlink])
}

func FuzzDecodeMknodArgs(f *testing.F) {
	fifo := encodeArgs(func(e *xdr.Encoder) {
		putMknodArgs(e, &mknodArgs{where: dirOpArgs{dir: []byte{1}, name: "p"}, ftype: NF3FIFO})
	})
	regular := encodeArgs(func(e *xdr.Encoder) {
		putMknodArgs(e, &mknodArgs{where: dirOpArgs{dir: []byte{1}, name: "r"}, ftype: NF3REG})
	})
	fuzzDecoder(f, decodeMknodArgs, putMknodArgs, validArgs[ProcMknod], fifo, regular)
}

func FuzzDecodeRenameArgs(f *testing.F) {
	fuzzDecoder(f, decodeRenameArgs, putRenameArgs, validArgs[ProcRename])
}

func FuzzDecodeLinkArgs(f *testing.F) {
	fuzzDecoder(f, decodeLinkArgs, putLinkArgs, validArgs[ProcLink])
}

func FuzzDecodeReaddirArgs(f *testing.F) {
	// READDIR has one count, which the decoder stores in both fields, so
	// the round trip compares like with like.
	fuzzDecoder(f, decodeReaddirArgs, putReaddirArgs, validArgs[ProcReaddir])
}

func FuzzDecodeReaddirplusArgs(f *testing.F) {
	fuzzDecoder(f, decodeReaddirplusArgs, putReaddirplusArgs, validArgs[ProcReaddirplus])
}
