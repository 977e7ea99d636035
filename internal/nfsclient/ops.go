package nfsclient

import (
	"context"
	"time"

	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// GetAttrResult is the result of GETATTR. Attr is set on NFS3_OK.
type GetAttrResult struct {
	Status nfs3.Nfsstat3
	Attr   Attr
}

// GetAttr returns the attributes of fh.
func (c *Client) GetAttr(ctx context.Context, fh []byte) (GetAttrResult, error) {
	var r GetAttrResult
	err := c.nfsCall(ctx, nfs3.ProcGetattr, "GETATTR",
		func(e *xdr.Encoder) { e.Opaque(fh) },
		func(d *xdr.Decoder) {
			if r.Status = getStatus(d); r.Status == nfs3.NFS3_OK {
				r.Attr = getFattr(d)
			}
		})
	return r, err
}

// WccResult is the result of the procedures that return only a status and
// the wcc_data of one object: SETATTR, REMOVE and RMDIR.
type WccResult struct {
	Status nfs3.Nfsstat3
	Wcc    Wcc
}

// SetAttr sets the attributes in attr on fh. With a non-nil guard, the
// server applies the change only if fh's ctime equals *guard, and replies
// NFS3ERR_NOT_SYNC otherwise.
func (c *Client) SetAttr(ctx context.Context, fh []byte, attr Sattr, guard *time.Time) (WccResult, error) {
	var r WccResult
	err := c.nfsCall(ctx, nfs3.ProcSetattr, "SETATTR",
		func(e *xdr.Encoder) {
			e.Opaque(fh)
			putSattr(e, &attr)
			e.Bool(guard != nil)
			if guard != nil {
				putTime(e, *guard)
			}
		},
		func(d *xdr.Decoder) {
			r.Status = getStatus(d)
			r.Wcc = getWcc(d)
		})
	return r, err
}

// LookupResult is the result of LOOKUP. Handle is set on NFS3_OK, and
// Attr and DirAttr are nil when the server did not send them.
type LookupResult struct {
	Status  nfs3.Nfsstat3
	Handle  []byte
	Attr    *Attr
	DirAttr *Attr
}

// Lookup looks up name in the directory dir.
func (c *Client) Lookup(ctx context.Context, dir []byte, name string) (LookupResult, error) {
	var r LookupResult
	err := c.nfsCall(ctx, nfs3.ProcLookup, "LOOKUP",
		func(e *xdr.Encoder) { putDirOp(e, dir, name) },
		func(d *xdr.Decoder) {
			if r.Status = getStatus(d); r.Status == nfs3.NFS3_OK {
				r.Handle = getFH(d)
				r.Attr = getPostOpAttr(d)
			}
			r.DirAttr = getPostOpAttr(d)
		})
	return r, err
}

// AccessResult is the result of ACCESS. Access holds the ACCESS3 bits the
// server grants out of those requested, on NFS3_OK.
type AccessResult struct {
	Status nfs3.Nfsstat3
	Attr   *Attr
	Access uint32
}

// Access asks which of the ACCESS3 bits in mask the caller has on fh.
func (c *Client) Access(ctx context.Context, fh []byte, mask uint32) (AccessResult, error) {
	var r AccessResult
	err := c.nfsCall(ctx, nfs3.ProcAccess, "ACCESS",
		func(e *xdr.Encoder) {
			e.Opaque(fh)
			e.Uint32(mask)
		},
		func(d *xdr.Decoder) {
			r.Status = getStatus(d)
			r.Attr = getPostOpAttr(d)
			if r.Status == nfs3.NFS3_OK {
				r.Access = d.Uint32()
			}
		})
	return r, err
}

// ReadResult is the result of READ. Count, EOF and Data are set on
// NFS3_OK.
type ReadResult struct {
	Status nfs3.Nfsstat3
	Attr   *Attr
	Count  uint32
	EOF    bool
	Data   []byte
}

// maxReadData bounds the data decoded from a READ reply: 64 MiB, far above
// any server's rtmax.
const maxReadData = 64 << 20

// Read reads up to count bytes of fh at offset.
func (c *Client) Read(ctx context.Context, fh []byte, offset uint64, count uint32) (ReadResult, error) {
	var r ReadResult
	err := c.nfsCall(ctx, nfs3.ProcRead, "READ",
		func(e *xdr.Encoder) {
			e.Opaque(fh)
			e.Uint64(offset)
			e.Uint32(count)
		},
		func(d *xdr.Decoder) {
			r.Status = getStatus(d)
			r.Attr = getPostOpAttr(d)
			if r.Status == nfs3.NFS3_OK {
				r.Count = d.Uint32()
				r.EOF = d.Bool()
				r.Data = d.Opaque(maxReadData)
			}
		})
	return r, err
}

// WriteResult is the result of WRITE. Count, Committed and Verifier are
// set on NFS3_OK. Committed says how durable the data is, and Verifier
// changes when the server restarts and may have lost UNSTABLE data.
type WriteResult struct {
	Status    nfs3.Nfsstat3
	Wcc       Wcc
	Count     uint32
	Committed nfs3.StableHow
	Verifier  [nfs3.NFS3_WRITEVERFSIZE]byte
}

// Write writes data to fh at offset. stable asks for UNSTABLE, DATA_SYNC or
// FILE_SYNC durability.
func (c *Client) Write(ctx context.Context, fh []byte, offset uint64, data []byte, stable nfs3.StableHow) (WriteResult, error) {
	var r WriteResult
	// Size the buffer for the data so that a large WRITE is encoded with
	// one allocation.
	e := xdr.NewEncoder(make([]byte, 0, 4+len(fh)+24+len(data)+4))
	e.Opaque(fh)
	e.Uint64(offset)
	e.Uint32(uint32(len(data)))
	e.Uint32(uint32(stable))
	e.Opaque(data)
	err := c.callEncoded(ctx, nfs3.Program, nfs3.Version, nfs3.ProcWrite, "WRITE", e.Bytes(),
		func(d *xdr.Decoder) {
			r.Status = getStatus(d)
			r.Wcc = getWcc(d)
			if r.Status == nfs3.NFS3_OK {
				r.Count = d.Uint32()
				r.Committed = nfs3.StableHow(d.Uint32())
				copy(r.Verifier[:], d.Fixed(nfs3.NFS3_WRITEVERFSIZE))
			}
		})
	return r, err
}

// CommitResult is the result of COMMIT. Verifier is set on NFS3_OK and
// matches the WRITE verifier unless the server restarted in between.
type CommitResult struct {
	Status   nfs3.Nfsstat3
	Wcc      Wcc
	Verifier [nfs3.NFS3_WRITEVERFSIZE]byte
}

// Commit asks the server to make count bytes of fh from offset durable. A
// count of 0 means up to the end of the file.
func (c *Client) Commit(ctx context.Context, fh []byte, offset uint64, count uint32) (CommitResult, error) {
	var r CommitResult
	err := c.nfsCall(ctx, nfs3.ProcCommit, "COMMIT",
		func(e *xdr.Encoder) {
			e.Opaque(fh)
			e.Uint64(offset)
			e.Uint32(count)
		},
		func(d *xdr.Decoder) {
			r.Status = getStatus(d)
			r.Wcc = getWcc(d)
			if r.Status == nfs3.NFS3_OK {
				copy(r.Verifier[:], d.Fixed(nfs3.NFS3_WRITEVERFSIZE))
			}
		})
	return r, err
}

// CreateResult is the result of CREATE and MKDIR. Handle and Attr are set
// on NFS3_OK when the server sent them, and DirWcc describes the parent
// directory.
type CreateResult struct {
	Status nfs3.Nfsstat3
	Handle []byte
	Attr   *Attr
	DirWcc Wcc
}

func decodeCreated(r *CreateResult) func(d *xdr.Decoder) {
	return func(d *xdr.Decoder) {
		if r.Status = getStatus(d); r.Status == nfs3.NFS3_OK {
			r.Handle = getPostOpFH(d)
			r.Attr = getPostOpAttr(d)
		}
		r.DirWcc = getWcc(d)
	}
}

// Create creates the regular file name in dir. how.Mode selects the
// semantics: UNCHECKED truncates an existing file per how.Attr, GUARDED
// fails with NFS3ERR_EXIST if name exists, and EXCLUSIVE succeeds again
// for a retry with the same how.Verifier and fails with NFS3ERR_EXIST for
// another verifier.
func (c *Client) Create(ctx context.Context, dir []byte, name string, how CreateHow) (CreateResult, error) {
	var r CreateResult
	err := c.nfsCall(ctx, nfs3.ProcCreate, "CREATE",
		func(e *xdr.Encoder) {
			putDirOp(e, dir, name)
			e.Uint32(uint32(how.Mode))
			if how.Mode == nfs3.EXCLUSIVE {
				e.Fixed(how.Verifier[:])
			} else {
				putSattr(e, &how.Attr)
			}
		},
		decodeCreated(&r))
	return r, err
}

// Mkdir creates the directory name in dir with the attributes in attr.
func (c *Client) Mkdir(ctx context.Context, dir []byte, name string, attr Sattr) (CreateResult, error) {
	var r CreateResult
	err := c.nfsCall(ctx, nfs3.ProcMkdir, "MKDIR",
		func(e *xdr.Encoder) {
			putDirOp(e, dir, name)
			putSattr(e, &attr)
		},
		decodeCreated(&r))
	return r, err
}

// Remove removes the non-directory name from dir. The result's Wcc
// describes dir.
func (c *Client) Remove(ctx context.Context, dir []byte, name string) (WccResult, error) {
	return c.dirOpWcc(ctx, nfs3.ProcRemove, "REMOVE", dir, name)
}

// Rmdir removes the empty directory name from dir. The result's Wcc
// describes dir.
func (c *Client) Rmdir(ctx context.Context, dir []byte, name string) (WccResult, error) {
	return c.dirOpWcc(ctx, nfs3.ProcRmdir, "RMDIR", dir, name)
}

func (c *Client) dirOpWcc(ctx context.Context, proc uint32, procName string, dir []byte, name string) (WccResult, error) {
	var r WccResult
	err := c.nfsCall(ctx, proc, procName,
		func(e *xdr.Encoder) { putDirOp(e, dir, name) },
		func(d *xdr.Decoder) {
			r.Status = getStatus(d)
			r.Wcc = getWcc(d)
		})
	return r, err
}

// RenameResult is the result of RENAME: the status and the wcc_data of
// the source and target directories.
type RenameResult struct {
	Status  nfs3.Nfsstat3
	FromWcc Wcc
	ToWcc   Wcc
}

// Rename renames fromName in fromDir to toName in toDir, replacing a
// compatible existing target.
func (c *Client) Rename(ctx context.Context, fromDir []byte, fromName string, toDir []byte, toName string) (RenameResult, error) {
	var r RenameResult
	err := c.nfsCall(ctx, nfs3.ProcRename, "RENAME",
		func(e *xdr.Encoder) {
			putDirOp(e, fromDir, fromName)
			putDirOp(e, toDir, toName)
		},
		func(d *xdr.Decoder) {
			r.Status = getStatus(d)
			r.FromWcc = getWcc(d)
			r.ToWcc = getWcc(d)
		})
	return r, err
}

// FSInfoResult is the result of FSINFO: the server's transfer sizes and
// properties, set on NFS3_OK.
type FSInfoResult struct {
	Status      nfs3.Nfsstat3
	Attr        *Attr
	RtMax       uint32 // maximum READ count in bytes
	RtPref      uint32
	RtMult      uint32
	WtMax       uint32 // maximum WRITE count in bytes
	WtPref      uint32
	WtMult      uint32
	DtPref      uint32 // preferred READDIR count in bytes
	MaxFileSize uint64
	TimeDelta   time.Duration
	Properties  uint32 // FSF3_* bits
}

// FSInfo returns the static file system information of the export that
// holds fh, usually the root handle.
func (c *Client) FSInfo(ctx context.Context, fh []byte) (FSInfoResult, error) {
	var r FSInfoResult
	err := c.nfsCall(ctx, nfs3.ProcFsinfo, "FSINFO",
		func(e *xdr.Encoder) { e.Opaque(fh) },
		func(d *xdr.Decoder) {
			r.Status = getStatus(d)
			r.Attr = getPostOpAttr(d)
			if r.Status != nfs3.NFS3_OK {
				return
			}
			r.RtMax, r.RtPref, r.RtMult = d.Uint32(), d.Uint32(), d.Uint32()
			r.WtMax, r.WtPref, r.WtMult = d.Uint32(), d.Uint32(), d.Uint32()
			r.DtPref = d.Uint32()
			r.MaxFileSize = d.Uint64()
			sec, nsec := d.Uint32(), d.Uint32()
			r.TimeDelta = time.Duration(sec)*time.Second + time.Duration(nsec)
			r.Properties = d.Uint32()
		})
	return r, err
}
