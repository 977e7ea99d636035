package nfsclient

import (
	"time"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// ACCESS3 permission bits (RFC 1813, section 3.3.4), the same values as
// the backend's access bits.
const (
	ACCESS3_READ    = backend.AccessRead
	ACCESS3_LOOKUP  = backend.AccessLookup
	ACCESS3_MODIFY  = backend.AccessModify
	ACCESS3_EXTEND  = backend.AccessExtend
	ACCESS3_DELETE  = backend.AccessDelete
	ACCESS3_EXECUTE = backend.AccessExecute
)

// maxNameLen bounds the file names decoded from READDIRPLUS replies. It is
// larger than the 255 bytes Linux allows so that a long name from another
// server still decodes.
const maxNameLen = 4096

// The wire structures of RFC 1813 that the client sends and decodes are
// the backend's types, which carry the same fields:
type (
	// Attr is a fattr3. Its Type compares with nfs3.NF3REG and the other
	// ftype3 values.
	Attr = backend.Attr
	// WccAttr is a wcc_attr: the attributes from before an operation.
	WccAttr = backend.WccAttr
	// Wcc is a wcc_data. Before and After are nil when the server did not
	// send them.
	Wcc = backend.Wcc
	// SetTime is a set_atime or set_mtime. Time is used only with
	// nfs3.SET_TO_CLIENT_TIME. The zero value leaves the time unchanged.
	SetTime = backend.SetTime
	// Sattr is a sattr3. A nil pointer leaves that attribute unchanged.
	Sattr = backend.SetAttr
)

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
