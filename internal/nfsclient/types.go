package nfsclient

import (
	"time"

	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// ACCESS3 permission bits (RFC 1813, section 3.3.4).
const (
	ACCESS3_READ    = 0x0001
	ACCESS3_LOOKUP  = 0x0002
	ACCESS3_MODIFY  = 0x0004
	ACCESS3_EXTEND  = 0x0008
	ACCESS3_DELETE  = 0x0010
	ACCESS3_EXECUTE = 0x0020
)

// maxNameLen bounds the file names decoded from READDIRPLUS replies. It is
// larger than the 255 bytes Linux allows so that a long name from another
// server still decodes.
const maxNameLen = 4096

// Attr is a fattr3: the attributes of a file system object.
type Attr struct {
	Type         nfs3.Ftype3
	Mode         uint32 // permission bits only, as sent on the wire
	Nlink        uint32
	UID, GID     uint32
	Size         uint64
	Used         uint64 // bytes of disk space in use
	Major, Minor uint32 // device numbers of a block or character device
	FSID         uint64
	FileID       uint64
	Atime        time.Time
	Mtime        time.Time
	Ctime        time.Time
}

// WccAttr is a wcc_attr: the attributes a server reports from before an
// operation.
type WccAttr struct {
	Size  uint64
	Mtime time.Time
	Ctime time.Time
}

// Wcc is a wcc_data: attributes of an object before and after an
// operation, each nil when the server did not send it.
type Wcc struct {
	Before *WccAttr
	After  *Attr
}

// SetTime is a set_atime or set_mtime. Time is used only with
// nfs3.SET_TO_CLIENT_TIME. The zero value leaves the time unchanged.
type SetTime struct {
	How  nfs3.TimeHow
	Time time.Time
}

// Sattr is a sattr3: the attributes to set. A nil pointer leaves that
// attribute unchanged.
type Sattr struct {
	Mode  *uint32
	UID   *uint32
	GID   *uint32
	Size  *uint64
	Atime SetTime
	Mtime SetTime
}

// CreateHow is a createhow3. Attr is sent for UNCHECKED and GUARDED, and
// Verifier for EXCLUSIVE.
type CreateHow struct {
	Mode     nfs3.Createmode3
	Attr     Sattr
	Verifier [nfs3.NFS3_CREATEVERFSIZE]byte
}

func putTime(e *xdr.Encoder, t time.Time) {
	e.Uint32(uint32(t.Unix()))
	e.Uint32(uint32(t.Nanosecond()))
}

func getTime(d *xdr.Decoder) time.Time {
	sec := d.Uint32()
	nsec := d.Uint32()
	return time.Unix(int64(sec), int64(nsec))
}

func putSetTime(e *xdr.Encoder, st SetTime) {
	e.Uint32(uint32(st.How))
	if st.How == nfs3.SET_TO_CLIENT_TIME {
		putTime(e, st.Time)
	}
}

func putOptionalUint32(e *xdr.Encoder, v *uint32) {
	e.Bool(v != nil)
	if v != nil {
		e.Uint32(*v)
	}
}

func putSattr(e *xdr.Encoder, s *Sattr) {
	putOptionalUint32(e, s.Mode)
	putOptionalUint32(e, s.UID)
	putOptionalUint32(e, s.GID)
	e.Bool(s.Size != nil)
	if s.Size != nil {
		e.Uint64(*s.Size)
	}
	putSetTime(e, s.Atime)
	putSetTime(e, s.Mtime)
}

func putDirOp(e *xdr.Encoder, dir []byte, name string) {
	e.Opaque(dir)
	e.String(name)
}

func getFattr(d *xdr.Decoder) Attr {
	var a Attr
	a.Type = nfs3.Ftype3(d.Uint32())
	a.Mode = d.Uint32()
	a.Nlink = d.Uint32()
	a.UID = d.Uint32()
	a.GID = d.Uint32()
	a.Size = d.Uint64()
	a.Used = d.Uint64()
	a.Major = d.Uint32()
	a.Minor = d.Uint32()
	a.FSID = d.Uint64()
	a.FileID = d.Uint64()
	a.Atime = getTime(d)
	a.Mtime = getTime(d)
	a.Ctime = getTime(d)
	return a
}

func getPostOpAttr(d *xdr.Decoder) *Attr {
	if !d.Bool() {
		return nil
	}
	a := getFattr(d)
	return &a
}

func getWcc(d *xdr.Decoder) Wcc {
	var w Wcc
	if d.Bool() {
		w.Before = &WccAttr{Size: d.Uint64(), Mtime: getTime(d), Ctime: getTime(d)}
	}
	w.After = getPostOpAttr(d)
	return w
}

func getFH(d *xdr.Decoder) []byte { return d.Opaque(nfs3.NFS3_FHSIZE) }

func getPostOpFH(d *xdr.Decoder) []byte {
	if !d.Bool() {
		return nil
	}
	return getFH(d)
}

func getStatus(d *xdr.Decoder) nfs3.Nfsstat3 { return nfs3.Nfsstat3(d.Uint32()) }
