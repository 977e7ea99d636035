package nfs3

import (
	"errors"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// Limits on variable-length arguments.
const (
	maxNameLen = backend.MaxNameLen // filename3, in bytes
	maxPathLen = backend.MaxPathLen // nfspath3 of SYMLINK, in bytes
)

// errBadEnum marks an enum or union discriminant outside its defined values.
var errBadEnum = errors.New("nfs3: enum value out of range")

// errCountMismatch marks a WRITE whose count differs from its data length.
var errCountMismatch = errors.New("nfs3: WRITE count differs from data length")

// argReader reads procedure arguments. Wire errors go to the decoder, whose
// error is sticky. Arguments that decode but cannot be served, such as a
// handle longer than NFS3_FHSIZE or a name longer than 255 bytes, set bad
// instead: the call then gets that status rather than GARBAGE_ARGS.
type argReader struct {
	d   *xdr.Decoder
	bad Nfsstat3
}

func (r *argReader) setBad(st Nfsstat3) {
	if r.bad == NFS3_OK {
		r.bad = st
	}
}

// opaque reads variable-length opaque data. Data longer than max is
// skipped and gives status tooLong.
func (r *argReader) opaque(max int, tooLong Nfsstat3) []byte {
	n := r.d.Uint32()
	if r.d.Err() != nil {
		return nil
	}
	if uint64(n) > uint64(max) {
		r.d.Fixed(int(n))
		r.setBad(tooLong)
		return nil
	}
	return r.d.Fixed(int(n))
}

// fh reads an nfs_fh3. The result aliases the call's buffer.
func (r *argReader) fh() []byte { return r.opaque(NFS3_FHSIZE, NFS3ERR_BADHANDLE) }

// name reads a filename3.
func (r *argReader) name() string { return string(r.opaque(maxNameLen, NFS3ERR_NAMETOOLONG)) }

// path reads an nfspath3.
func (r *argReader) path() string { return string(r.opaque(maxPathLen, NFS3ERR_NAMETOOLONG)) }

func (r *argReader) dirOp(a *dirOpArgs) {
	a.dir = r.fh()
	a.name = r.name()
}

// time reads an nfstime3. An nseconds value of a second or more is
// invalid and gives NFS3ERR_INVAL, because rolling it over into the seconds
// could leave the 32-bit range of nfstime3.
func (r *argReader) time() time.Time {
	sec := r.d.Uint32()
	nsec := r.d.Uint32()
	if nsec >= 1e9 {
		r.setBad(NFS3ERR_INVAL)
		nsec = 0
	}
	return time.Unix(int64(sec), int64(nsec))
}

// setTime reads a set_atime or set_mtime.
func (r *argReader) setTime() backend.SetTime {
	how := TimeHow(r.d.Uint32())
	switch how {
	case DONT_CHANGE, SET_TO_SERVER_TIME:
		return backend.SetTime{How: how}
	case SET_TO_CLIENT_TIME:
		return backend.SetTime{How: backend.TimeClient, Time: r.time()}
	}
	r.d.Fail(errBadEnum)
	return backend.SetTime{}
}

// sattr reads a sattr3.
func (r *argReader) sattr(s *sattr3) {
	if s.setMode = r.d.Bool(); s.setMode {
		s.mode = r.d.Uint32() & 0o7777
	}
	if s.setUID = r.d.Bool(); s.setUID {
		s.uid = r.d.Uint32()
	}
	if s.setGID = r.d.Bool(); s.setGID {
		s.gid = r.d.Uint32()
	}
	if s.setSize = r.d.Bool(); s.setSize {
		s.size = r.d.Uint64()
	}
	s.atime = r.setTime()
	s.mtime = r.setTime()
}

// dirOpArgs is a diropargs3: a directory and a name in it.
type dirOpArgs struct {
	dir  []byte
	name string
}

// sattr3 holds decoded settable attributes.
type sattr3 struct {
	setMode, setUID, setGID, setSize bool

	mode, uid, gid uint32
	size           uint64
	atime, mtime   backend.SetTime
}

// setAttr returns s as a backend.SetAttr whose pointers refer into s.
func (s *sattr3) setAttr() backend.SetAttr {
	var sa backend.SetAttr
	if s.setMode {
		sa.Mode = &s.mode
	}
	if s.setUID {
		sa.UID = &s.uid
	}
	if s.setGID {
		sa.GID = &s.gid
	}
	if s.setSize {
		sa.Size = &s.size
	}
	sa.Atime = s.atime
	sa.Mtime = s.mtime
	return sa
}

type fhArgs struct {
	fh []byte
}

func decodeFHArgs(r *argReader, a *fhArgs) {
	a.fh = r.fh()
}

type setattrArgs struct {
	fh       []byte
	attr     sattr3
	check    bool
	guardCtm time.Time
}

func decodeSetattrArgs(r *argReader, a *setattrArgs) {
	a.fh = r.fh()
	r.sattr(&a.attr)
	if a.check = r.d.Bool(); a.check {
		a.guardCtm = r.time()
	}
}

func decodeDirOpArgs(r *argReader, a *dirOpArgs) {
	r.dirOp(a)
}

type accessArgs struct {
	fh     []byte
	access uint32
}

func decodeAccessArgs(r *argReader, a *accessArgs) {
	a.fh = r.fh()
	a.access = r.d.Uint32()
}

// readArgs is the argument of READ and of COMMIT.
type readArgs struct {
	fh     []byte
	offset uint64
	count  uint32
}

func decodeReadArgs(r *argReader, a *readArgs) {
	a.fh = r.fh()
	a.offset = r.d.Uint64()
	a.count = r.d.Uint32()
}

type writeArgs struct {
	fh     []byte
	offset uint64
	count  uint32
	stable StableHow
	data   []byte
}

// decodeWriteArgs reads WRITE3args. A count that differs from the length
// of the data is GARBAGE_ARGS, as in the Linux kernel server, because RFC
// 1813 gives no status for it.
func decodeWriteArgs(r *argReader, a *writeArgs) {
	a.fh = r.fh()
	a.offset = r.d.Uint64()
	a.count = r.d.Uint32()
	a.stable = StableHow(r.d.Uint32())
	if a.stable > FILE_SYNC {
		r.d.Fail(errBadEnum)
	}
	n := r.d.Uint32()
	a.data = r.d.Fixed(int(n))
	if r.d.Err() == nil && n != a.count {
		r.d.Fail(errCountMismatch)
	}
}

type createArgs struct {
	where    dirOpArgs
	mode     Createmode3
	attr     sattr3
	verifier [NFS3_CREATEVERFSIZE]byte
}

func decodeCreateArgs(r *argReader, a *createArgs) {
	r.dirOp(&a.where)
	a.mode = Createmode3(r.d.Uint32())
	switch a.mode {
	case UNCHECKED, GUARDED:
		r.sattr(&a.attr)
	case EXCLUSIVE:
		copy(a.verifier[:], r.d.Fixed(NFS3_CREATEVERFSIZE))
	default:
		r.d.Fail(errBadEnum)
	}
}

// mkdirArgs is MKDIR3args, and SYMLINK3args with target set.
type mkdirArgs struct {
	where  dirOpArgs
	attr   sattr3
	target string
}

func decodeMkdirArgs(r *argReader, a *mkdirArgs) {
	r.dirOp(&a.where)
	r.sattr(&a.attr)
}

func decodeSymlinkArgs(r *argReader, a *mkdirArgs) {
	r.dirOp(&a.where)
	r.sattr(&a.attr)
	a.target = r.path()
}

type mknodArgs struct {
	where        dirOpArgs
	ftype        Ftype3
	attr         sattr3
	major, minor uint32
}

// decodeMknodArgs reads MKNOD3args. Types other than devices, sockets and
// FIFOs have no body, so they decode and the handler replies
// NFS3ERR_BADTYPE.
func decodeMknodArgs(r *argReader, a *mknodArgs) {
	r.dirOp(&a.where)
	a.ftype = Ftype3(r.d.Uint32())
	switch a.ftype {
	case NF3CHR, NF3BLK:
		r.sattr(&a.attr)
		a.major = r.d.Uint32()
		a.minor = r.d.Uint32()
	case NF3SOCK, NF3FIFO:
		r.sattr(&a.attr)
	}
}

type renameArgs struct {
	from, to dirOpArgs
}

func decodeRenameArgs(r *argReader, a *renameArgs) {
	r.dirOp(&a.from)
	r.dirOp(&a.to)
}

type linkArgs struct {
	fh   []byte
	link dirOpArgs
}

func decodeLinkArgs(r *argReader, a *linkArgs) {
	a.fh = r.fh()
	r.dirOp(&a.link)
}

// readdirArgs is READDIR3args and READDIRPLUS3args. For READDIR, dircount
// and maxcount are both the count argument.
type readdirArgs struct {
	fh       []byte
	cookie   uint64
	verifier [NFS3_COOKIEVERFSIZE]byte
	dircount uint32
	maxcount uint32
}

func decodeReaddirArgs(r *argReader, a *readdirArgs) {
	a.fh = r.fh()
	a.cookie = r.d.Uint64()
	copy(a.verifier[:], r.d.Fixed(NFS3_COOKIEVERFSIZE))
	a.maxcount = r.d.Uint32()
	a.dircount = a.maxcount
}

func decodeReaddirplusArgs(r *argReader, a *readdirArgs) {
	a.fh = r.fh()
	a.cookie = r.d.Uint64()
	copy(a.verifier[:], r.d.Fixed(NFS3_COOKIEVERFSIZE))
	a.dircount = r.d.Uint32()
	a.maxcount = r.d.Uint32()
}
