package nfs3

import (
	"context"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// noWcc is an empty wcc_data, for failures found before the backend runs.
var noWcc backend.Wcc

func (s *server) getattr(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a fhArgs
	r := argReader{d: d}
	decodeFHArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st != NFS3_OK {
		putStatus(e, st)
		return nil
	}
	cred := credOf(call)
	attr, err := s.fs.GetAttr(ctx, &cred, a.fh)
	if err != nil {
		putStatus(e, s.fail(ctx, call, "GETATTR", a.fh, err))
		return nil
	}
	putStatus(e, NFS3_OK)
	encodeFattr3(e, &attr)
	return nil
}

func (s *server) setattr(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a setattrArgs
	r := argReader{d: d}
	decodeSetattrArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st == NFS3_OK && s.readOnly {
		st = NFS3ERR_ROFS
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodeWccData(e, &noWcc)
		return nil
	}
	cred := credOf(call)
	var guard *time.Time
	if a.check {
		guard = &a.guardCtm
	}
	wcc, err := s.fs.SetAttr(ctx, &cred, a.fh, a.attr.setAttr(), guard)
	if err != nil {
		st = s.fail(ctx, call, "SETATTR", a.fh, err)
	}
	putStatus(e, st)
	encodeWccData(e, &wcc)
	return nil
}

func (s *server) lookup(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a dirOpArgs
	r := argReader{d: d}
	decodeDirOpArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodePostOpAttr(e, nil)
		return nil
	}
	cred := credOf(call)
	h, attr, dirAttr, err := s.fs.Lookup(ctx, &cred, a.dir, a.name)
	if err != nil {
		putStatus(e, s.fail(ctx, call, "LOOKUP", a.dir, err))
		encodePostOpAttr(e, dirAttr)
		return nil
	}
	putStatus(e, NFS3_OK)
	e.Opaque(h)
	encodePostOpAttr(e, attrOrNil(&attr))
	encodePostOpAttr(e, dirAttr)
	return nil
}

// modifyRights are the ACCESS bits a read-only export never grants.
const modifyRights = backend.AccessModify | backend.AccessExtend | backend.AccessDelete

func (s *server) access(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a accessArgs
	r := argReader{d: d}
	decodeAccessArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodePostOpAttr(e, nil)
		return nil
	}
	cred := credOf(call)
	granted, attr, err := s.fs.Access(ctx, &cred, a.fh, a.access)
	if err != nil {
		putStatus(e, s.fail(ctx, call, "ACCESS", a.fh, err))
		encodePostOpAttr(e, attrOrNil(&attr))
		return nil
	}
	if s.readOnly {
		granted &^= modifyRights
	}
	putStatus(e, NFS3_OK)
	encodePostOpAttr(e, attrOrNil(&attr))
	e.Uint32(granted & a.access)
	return nil
}

// decodeFHOrFail decodes arguments that are a single file handle, for the
// procedures whose error reply is a status and an empty post_op_attr. When
// ok is false the caller returns err: nil after this function encoded the
// error reply, or the decode error (GARBAGE_ARGS).
func decodeFHOrFail(d *xdr.Decoder, e *xdr.Encoder) (fh []byte, ok bool, err error) {
	var a fhArgs
	r := argReader{d: d}
	decodeFHArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return nil, false, err
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodePostOpAttr(e, nil)
		return nil, false, nil
	}
	return a.fh, true, nil
}

func (s *server) readlink(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	fh, ok, err := decodeFHOrFail(d, e)
	if !ok {
		return err
	}
	cred := credOf(call)
	target, attr, err := s.fs.Readlink(ctx, &cred, fh)
	if err != nil {
		putStatus(e, s.fail(ctx, call, "READLINK", fh, err))
		encodePostOpAttr(e, attr)
		return nil
	}
	putStatus(e, NFS3_OK)
	encodePostOpAttr(e, attr)
	e.String(target)
	return nil
}

// readHeaderMax is the largest READ3res before the data: status,
// post_op_attr with attributes, count, eof and the data length.
const readHeaderMax = 4 + postOpAttrMax + 4 + 4 + 4

// read serves READ. The backend reads straight into the reply buffer: the
// handler reserves room for the largest header, reads after it, then
// writes the header in front of the data. Only when the backend returns no
// attributes is the header shorter, and the data moves down to meet it.
func (s *server) read(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a readArgs
	r := argReader{d: d}
	decodeReadArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodePostOpAttr(e, nil)
		return nil
	}
	count := int(min(a.count, rtmax))
	start := e.Len()
	oncrpc.ReserveReply(e, readHeaderMax+count+4)
	region := e.Grow(readHeaderMax + count)
	cred := credOf(call)
	n, eof, attr, err := s.fs.Read(ctx, &cred, a.fh, a.offset, region[readHeaderMax:readHeaderMax+count])
	if err != nil {
		e.Truncate(start)
		putStatus(e, s.fail(ctx, call, "READ", a.fh, err))
		encodePostOpAttr(e, attr)
		return nil
	}
	n = max(0, min(n, count))

	headerLen := readHeaderMax
	if attr == nil {
		headerLen -= fattr3Size
		copy(region[headerLen:], region[readHeaderMax:readHeaderMax+n])
	}
	// The header encoder appends within region, which has room for it.
	var header xdr.Encoder
	header.Reset(region[:0])
	putStatus(&header, NFS3_OK)
	encodePostOpAttr(&header, attr)
	header.Uint32(uint32(n))
	header.Bool(eof)
	header.Uint32(uint32(n))
	end := headerLen + roundUp4(n)
	clear(region[headerLen+n : end])
	e.Truncate(start + end)
	return nil
}

func (s *server) write(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a writeArgs
	r := argReader{d: d}
	decodeWriteArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st == NFS3_OK && s.readOnly {
		st = NFS3ERR_ROFS
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodeWccData(e, &noWcc)
		return nil
	}
	data := a.data
	if len(data) > wtmax {
		data = data[:wtmax]
	}
	cred := credOf(call)
	n, committed, wcc, err := s.fs.Write(ctx, &cred, a.fh, a.offset, data, backend.Stable(a.stable))
	if err != nil {
		putStatus(e, s.fail(ctx, call, "WRITE", a.fh, err))
		encodeWccData(e, &wcc)
		return nil
	}
	putStatus(e, NFS3_OK)
	encodeWccData(e, &wcc)
	e.Uint32(uint32(n))
	e.Uint32(uint32(committed))
	verf := s.fs.WriteVerifier()
	e.Fixed(verf[:])
	return nil
}

// encodeCreated appends the result shared by CREATE, MKDIR, SYMLINK and
// MKNOD: on success the new object's handle and attributes, then the
// directory's wcc_data in both cases.
func encodeCreated(e *xdr.Encoder, st Nfsstat3, h []byte, attr *backend.Attr, dirWcc *backend.Wcc) {
	putStatus(e, st)
	if st == NFS3_OK {
		encodePostOpFH(e, h)
		encodePostOpAttr(e, attr)
	}
	encodeWccData(e, dirWcc)
}

func (s *server) create(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a createArgs
	r := argReader{d: d}
	decodeCreateArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st == NFS3_OK && s.readOnly {
		st = NFS3ERR_ROFS
	}
	if st != NFS3_OK {
		encodeCreated(e, st, nil, nil, &noWcc)
		return nil
	}
	cred := credOf(call)
	args := backend.CreateArgs{
		Mode:     backend.CreateMode(a.mode),
		Attr:     a.attr.setAttr(),
		Verifier: a.verifier,
	}
	h, attr, dirWcc, err := s.fs.Create(ctx, &cred, a.where.dir, a.where.name, args)
	if err != nil {
		st = s.fail(ctx, call, "CREATE", a.where.dir, err)
	}
	encodeCreated(e, st, h, attr, &dirWcc)
	return nil
}

func (s *server) mkdir(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a mkdirArgs
	r := argReader{d: d}
	decodeMkdirArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st == NFS3_OK && s.readOnly {
		st = NFS3ERR_ROFS
	}
	if st != NFS3_OK {
		encodeCreated(e, st, nil, nil, &noWcc)
		return nil
	}
	cred := credOf(call)
	h, attr, dirWcc, err := s.fs.Mkdir(ctx, &cred, a.where.dir, a.where.name, a.attr.setAttr())
	if err != nil {
		st = s.fail(ctx, call, "MKDIR", a.where.dir, err)
	}
	encodeCreated(e, st, h, attr, &dirWcc)
	return nil
}

func (s *server) symlink(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a mkdirArgs
	r := argReader{d: d}
	decodeSymlinkArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st == NFS3_OK && s.readOnly {
		st = NFS3ERR_ROFS
	}
	if st != NFS3_OK {
		encodeCreated(e, st, nil, nil, &noWcc)
		return nil
	}
	cred := credOf(call)
	h, attr, dirWcc, err := s.fs.Symlink(ctx, &cred, a.where.dir, a.where.name, a.target, a.attr.setAttr())
	if err != nil {
		st = s.fail(ctx, call, "SYMLINK", a.where.dir, err)
	}
	encodeCreated(e, st, h, attr, &dirWcc)
	return nil
}

func (s *server) mknod(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a mknodArgs
	r := argReader{d: d}
	decodeMknodArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st == NFS3_OK {
		switch a.ftype {
		case NF3CHR, NF3BLK, NF3SOCK, NF3FIFO:
		default:
			st = NFS3ERR_BADTYPE
		}
	}
	if st == NFS3_OK && s.readOnly {
		st = NFS3ERR_ROFS
	}
	if st != NFS3_OK {
		encodeCreated(e, st, nil, nil, &noWcc)
		return nil
	}
	cred := credOf(call)
	h, attr, dirWcc, err := s.fs.Mknod(ctx, &cred, a.where.dir, a.where.name,
		a.ftype, a.major, a.minor, a.attr.setAttr())
	if err != nil {
		st = s.fail(ctx, call, "MKNOD", a.where.dir, err)
	}
	encodeCreated(e, st, h, attr, &dirWcc)
	return nil
}

func (s *server) remove(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	return s.removeEntry(ctx, call, d, e, "REMOVE", s.fs.Remove)
}

func (s *server) rmdir(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	return s.removeEntry(ctx, call, d, e, "RMDIR", s.fs.Rmdir)
}

// removeEntry serves REMOVE and RMDIR, which differ only in the backend
// method.
func (s *server) removeEntry(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder,
	proc string, op func(context.Context, *backend.Cred, []byte, string) (backend.Wcc, error)) error {
	var a dirOpArgs
	r := argReader{d: d}
	decodeDirOpArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st == NFS3_OK && s.readOnly {
		st = NFS3ERR_ROFS
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodeWccData(e, &noWcc)
		return nil
	}
	cred := credOf(call)
	wcc, err := op(ctx, &cred, a.dir, a.name)
	if err != nil {
		st = s.fail(ctx, call, proc, a.dir, err)
	}
	putStatus(e, st)
	encodeWccData(e, &wcc)
	return nil
}

func (s *server) rename(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a renameArgs
	r := argReader{d: d}
	decodeRenameArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st == NFS3_OK && s.readOnly {
		st = NFS3ERR_ROFS
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodeWccData(e, &noWcc)
		encodeWccData(e, &noWcc)
		return nil
	}
	cred := credOf(call)
	fromWcc, toWcc, err := s.fs.Rename(ctx, &cred, a.from.dir, a.from.name, a.to.dir, a.to.name)
	if err != nil {
		st = s.fail(ctx, call, "RENAME", a.from.dir, err)
	}
	putStatus(e, st)
	encodeWccData(e, &fromWcc)
	encodeWccData(e, &toWcc)
	return nil
}

func (s *server) link(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a linkArgs
	r := argReader{d: d}
	decodeLinkArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st == NFS3_OK && s.readOnly {
		st = NFS3ERR_ROFS
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodePostOpAttr(e, nil)
		encodeWccData(e, &noWcc)
		return nil
	}
	cred := credOf(call)
	attr, dirWcc, err := s.fs.Link(ctx, &cred, a.fh, a.link.dir, a.link.name)
	if err != nil {
		st = s.fail(ctx, call, "LINK", a.fh, err)
	}
	putStatus(e, st)
	encodePostOpAttr(e, attr)
	encodeWccData(e, &dirWcc)
	return nil
}

func (s *server) fsstat(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	fh, ok, err := decodeFHOrFail(d, e)
	if !ok {
		return err
	}
	cred := credOf(call)
	fsst, attr, err := s.fs.FSStat(ctx, &cred, fh)
	if err != nil {
		putStatus(e, s.fail(ctx, call, "FSSTAT", fh, err))
		encodePostOpAttr(e, attr)
		return nil
	}
	putStatus(e, NFS3_OK)
	encodePostOpAttr(e, attr)
	e.Uint64(fsst.TotalBytes)
	e.Uint64(fsst.FreeBytes)
	e.Uint64(fsst.AvailBytes)
	e.Uint64(fsst.TotalFiles)
	e.Uint64(fsst.FreeFiles)
	e.Uint64(fsst.AvailFiles)
	e.Uint32(0) // invarsec: the values may change at any time
	return nil
}

// maxFileSize is the FSINFO maxfilesize: the largest offset a POSIX
// off_t can hold.
const maxFileSize = 1<<63 - 1

func (s *server) fsinfo(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	fh, ok, err := decodeFHOrFail(d, e)
	if !ok {
		return err
	}
	cred := credOf(call)
	attr, err := s.fs.GetAttr(ctx, &cred, fh)
	if err != nil {
		putStatus(e, s.fail(ctx, call, "FSINFO", fh, err))
		encodePostOpAttr(e, nil)
		return nil
	}
	putStatus(e, NFS3_OK)
	encodePostOpAttr(e, &attr)
	e.Uint32(rtmax)
	e.Uint32(rtmax) // rtpref
	e.Uint32(rtmult)
	e.Uint32(wtmax)
	e.Uint32(wtmax) // wtpref
	e.Uint32(wtmult)
	e.Uint32(dtpref)
	e.Uint64(maxFileSize)
	e.Uint32(0) // time_delta: one nanosecond
	e.Uint32(1)
	e.Uint32(FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME)
	return nil
}

func (s *server) pathconf(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	fh, ok, err := decodeFHOrFail(d, e)
	if !ok {
		return err
	}
	cred := credOf(call)
	pc, attr, err := s.fs.PathConf(ctx, &cred, fh)
	if err != nil {
		putStatus(e, s.fail(ctx, call, "PATHCONF", fh, err))
		encodePostOpAttr(e, attr)
		return nil
	}
	putStatus(e, NFS3_OK)
	encodePostOpAttr(e, attr)
	e.Uint32(pc.LinkMax)
	e.Uint32(pc.NameMax)
	e.Bool(pc.NoTrunc)
	e.Bool(pc.ChownRestricted)
	e.Bool(pc.CaseInsensitive)
	e.Bool(pc.CasePreserving)
	return nil
}

func (s *server) commit(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a readArgs
	r := argReader{d: d}
	decodeReadArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	if st != NFS3_OK {
		putStatus(e, st)
		encodeWccData(e, &noWcc)
		return nil
	}
	cred := credOf(call)
	wcc, err := s.fs.Commit(ctx, &cred, a.fh, a.offset, a.count)
	if err != nil {
		putStatus(e, s.fail(ctx, call, "COMMIT", a.fh, err))
		encodeWccData(e, &wcc)
		return nil
	}
	putStatus(e, NFS3_OK)
	encodeWccData(e, &wcc)
	verf := s.fs.WriteVerifier()
	e.Fixed(verf[:])
	return nil
}
