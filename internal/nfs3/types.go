package nfs3

import (
	"math"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// Program number and version of NFS (RFC 1813, section 2.1).
const (
	Program = 100003
	Version = 3
)

// Procedure numbers (RFC 1813, section 3).
const (
	ProcNull        = 0
	ProcGetattr     = 1
	ProcSetattr     = 2
	ProcLookup      = 3
	ProcAccess      = 4
	ProcReadlink    = 5
	ProcRead        = 6
	ProcWrite       = 7
	ProcCreate      = 8
	ProcMkdir       = 9
	ProcSymlink     = 10
	ProcMknod       = 11
	ProcRemove      = 12
	ProcRmdir       = 13
	ProcRename      = 14
	ProcLink        = 15
	ProcReaddir     = 16
	ProcReaddirplus = 17
	ProcFsstat      = 18
	ProcFsinfo      = 19
	ProcPathconf    = 20
	ProcCommit      = 21
)

// Sizes fixed by RFC 1813, section 2.4.
const (
	NFS3_FHSIZE         = 64 // maximum file handle length in bytes
	NFS3_COOKIEVERFSIZE = 8
	NFS3_CREATEVERFSIZE = 8
	NFS3_WRITEVERFSIZE  = 8
)

// Ftype3 is the type of a file system object. It is backend.FileType,
// whose values have the ftype3 numbers, so attributes need no conversion.
type Ftype3 = backend.FileType

// Ftype3 values, named as in RFC 1813.
const (
	NF3REG  Ftype3 = 1
	NF3DIR  Ftype3 = 2
	NF3BLK  Ftype3 = 3
	NF3CHR  Ftype3 = 4
	NF3LNK  Ftype3 = 5
	NF3SOCK Ftype3 = 6
	NF3FIFO Ftype3 = 7
)

// StableHow is the stable_how of WRITE: how durable the data must be.
type StableHow uint32

// StableHow values.
const (
	UNSTABLE  StableHow = 0
	DATA_SYNC StableHow = 1
	FILE_SYNC StableHow = 2
)

// Createmode3 selects the semantics of CREATE.
type Createmode3 uint32

// Createmode3 values.
const (
	UNCHECKED Createmode3 = 0
	GUARDED   Createmode3 = 1
	EXCLUSIVE Createmode3 = 2
)

// TimeHow is the time_how of sattr3. It is backend.TimeHow, whose values
// have the time_how numbers.
type TimeHow = backend.TimeHow

// TimeHow values, named as in RFC 1813.
const (
	DONT_CHANGE        TimeHow = 0
	SET_TO_SERVER_TIME TimeHow = 1
	SET_TO_CLIENT_TIME TimeHow = 2
)

// FSINFO property bits (RFC 1813, section 3.3.19).
const (
	FSF3_LINK        = 0x0001
	FSF3_SYMLINK     = 0x0002
	FSF3_HOMOGENEOUS = 0x0008
	FSF3_CANSETTIME  = 0x0010
)

// Encoded sizes in bytes of the fixed-size results.
const (
	fattr3Size     = 84
	postOpAttrMax  = 4 + fattr3Size
	wccAttrSize    = 8 + 8 + 8
	preOpAttrMax   = 4 + wccAttrSize
	wccDataMax     = preOpAttrMax + postOpAttrMax
	nfstime3Size   = 8
	cookieVerfSize = NFS3_COOKIEVERFSIZE
)

// encodeTime appends an nfstime3. Seconds outside the unsigned 32-bit range
// of nfstime3 are clamped to it, so times before 1970 read as 1970.
func encodeTime(e *xdr.Encoder, t time.Time) {
	sec := t.Unix()
	nsec := uint32(t.Nanosecond())
	switch {
	case sec < 0:
		sec, nsec = 0, 0
	case sec > math.MaxUint32:
		sec, nsec = math.MaxUint32, 999999999
	}
	e.Uint32(uint32(sec))
	e.Uint32(nsec)
}

// encodeFattr3 appends a fattr3 made from a. Only the permission bits of
// a.Mode are sent, because the type travels in its own field.
func encodeFattr3(e *xdr.Encoder, a *backend.Attr) {
	e.Uint32(uint32(a.Type))
	e.Uint32(a.Mode & 0o7777)
	e.Uint32(a.Nlink)
	e.Uint32(a.UID)
	e.Uint32(a.GID)
	e.Uint64(a.Size)
	e.Uint64(a.Used)
	e.Uint32(a.Major)
	e.Uint32(a.Minor)
	e.Uint64(a.FSID)
	e.Uint64(a.FileID)
	encodeTime(e, a.Atime)
	encodeTime(e, a.Mtime)
	encodeTime(e, a.Ctime)
}

// encodePostOpAttr appends a post_op_attr: absent when a is nil.
func encodePostOpAttr(e *xdr.Encoder, a *backend.Attr) {
	if a == nil {
		e.Bool(false)
		return
	}
	e.Bool(true)
	encodeFattr3(e, a)
}

// encodePreOpAttr appends a pre_op_attr: absent when w is nil.
func encodePreOpAttr(e *xdr.Encoder, w *backend.WccAttr) {
	if w == nil {
		e.Bool(false)
		return
	}
	e.Bool(true)
	e.Uint64(w.Size)
	encodeTime(e, w.Mtime)
	encodeTime(e, w.Ctime)
}

// encodeWccData appends a wcc_data.
func encodeWccData(e *xdr.Encoder, w *backend.Wcc) {
	encodePreOpAttr(e, w.Before)
	encodePostOpAttr(e, w.After)
}

// encodePostOpFH appends a post_op_fh3: absent when h is empty.
func encodePostOpFH(e *xdr.Encoder, h []byte) {
	if len(h) == 0 {
		e.Bool(false)
		return
	}
	e.Bool(true)
	e.Opaque(h)
}

// postOpFHSize returns the encoded size of a post_op_fh3 holding h.
func postOpFHSize(h []byte) int {
	if len(h) == 0 {
		return 4
	}
	return 4 + 4 + roundUp4(len(h))
}

// roundUp4 returns n rounded up to a multiple of four, the size of n bytes
// of XDR opaque data without the length.
func roundUp4(n int) int { return (n + 3) &^ 3 }

// attrOrNil returns &a when a holds attributes, and nil for a zero Attr,
// which backends return with errors. Every real object has a type.
func attrOrNil(a *backend.Attr) *backend.Attr {
	if a.Type == 0 {
		return nil
	}
	return a
}
