// Package nfs3 implements the NFS version 3 protocol of RFC 1813 on top of
// a backend.FS. Each procedure decodes its arguments, calls the backend
// with the caller's credentials and encodes the result; the package makes
// no system calls of its own.
package nfs3

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// Transfer sizes announced by FSINFO, in bytes.
const (
	rtmax  = 1 << 20 // maximum READ count; larger counts are cut to it
	wtmax  = 1 << 20 // maximum WRITE length; longer data is written in part
	rtmult = 4096
	wtmult = 4096
	dtpref = 64 << 10
)

// maxDirReply bounds the reply of READDIR and READDIRPLUS whatever count
// the client sends.
const maxDirReply = 1 << 20

// Credentials of a caller that sent AUTH_NONE: the user and group nobody.
const (
	nobodyUID = 65534
	nobodyGID = 65534
)

// Options configure the NFS program.
type Options struct {
	// Logger receives failed calls: errors that map to NFS3ERR_IO or
	// NFS3ERR_SERVERFAULT at error level, other failures at debug level.
	// Nil discards them.
	Logger *slog.Logger
	// ReadOnly makes every procedure that modifies the file system fail
	// with NFS3ERR_ROFS before it reaches the backend, and ACCESS grant no
	// modify, extend or delete rights.
	ReadOnly bool
}

// server carries the state shared by all procedures of one program.
type server struct {
	fs       backend.FS
	log      *slog.Logger
	readOnly bool
}

// quickProcs are the procedures that only read. Their handlers wait at
// most for a disk read, never for an fsync or a large write, as long as
// their handle is known to the backend, which can otherwise search the
// whole tree for it.
var quickProcs = map[int]bool{
	ProcNull: true, ProcGetattr: true, ProcLookup: true, ProcAccess: true,
	ProcReadlink: true, ProcRead: true, ProcReaddir: true, ProcReaddirplus: true,
	ProcFsstat: true, ProcFsinfo: true, ProcPathconf: true,
}

// NewProgram returns NFS version 3 (program 100003) serving fs, with one
// handler for each of the 22 procedures of RFC 1813.
func NewProgram(fs backend.FS, opts Options) oncrpc.Program {
	s := &server{fs: fs, log: opts.Logger, readOnly: opts.ReadOnly}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	procs := make([]oncrpc.Procedure, ProcCommit+1)
	set := func(proc int, name string, h oncrpc.Handler) {
		procs[proc] = oncrpc.Procedure{Name: name, Handler: h}
		if quickProcs[proc] {
			procs[proc].Quick = s.knownHandle
		}
	}
	set(ProcNull, "NULL", s.null)
	set(ProcGetattr, "GETATTR", s.getattr)
	set(ProcSetattr, "SETATTR", s.setattr)
	set(ProcLookup, "LOOKUP", s.lookup)
	set(ProcAccess, "ACCESS", s.access)
	set(ProcReadlink, "READLINK", s.readlink)
	set(ProcRead, "READ", s.read)
	set(ProcWrite, "WRITE", s.write)
	set(ProcCreate, "CREATE", s.create)
	set(ProcMkdir, "MKDIR", s.mkdir)
	set(ProcSymlink, "SYMLINK", s.symlink)
	set(ProcMknod, "MKNOD", s.mknod)
	set(ProcRemove, "REMOVE", s.remove)
	set(ProcRmdir, "RMDIR", s.rmdir)
	set(ProcRename, "RENAME", s.rename)
	set(ProcLink, "LINK", s.link)
	set(ProcReaddir, "READDIR", s.readdir)
	set(ProcReaddirplus, "READDIRPLUS", s.readdirplus)
	set(ProcFsstat, "FSSTAT", s.fsstat)
	set(ProcFsinfo, "FSINFO", s.fsinfo)
	set(ProcPathconf, "PATHCONF", s.pathconf)
	set(ProcCommit, "COMMIT", s.commit)
	return oncrpc.Program{Name: "NFS", Prog: Program, Vers: Version, Procs: procs}
}

// knownHandle reports whether the arguments start with a file handle that
// backend.FS.Known accepts. Every quick procedure but NULL starts with a
// handle, and NULL, with no arguments, has nothing to wait for.
func (s *server) knownHandle(args xdr.Decoder) bool {
	if args.Remaining() == 0 {
		return true
	}
	fh := args.Opaque(NFS3_FHSIZE)
	return args.Err() == nil && s.fs.Known(fh)
}

// finish returns oncrpc.ErrGarbageArgs, wrapped with the cause, when the
// arguments did not decode. Otherwise it returns the status that arguments
// which decode but cannot be served must get, or NFS3_OK.
func (r *argReader) finish() (Nfsstat3, error) {
	if err := r.d.Err(); err != nil {
		return NFS3_OK, fmt.Errorf("%w: %w", oncrpc.ErrGarbageArgs, err)
	}
	return r.bad, nil
}

// credOf returns the backend credentials of a call: the AUTH_SYS user and
// groups, or nobody for any other flavor.
func credOf(call *oncrpc.Call) backend.Cred {
	if call.Flavor == oncrpc.AuthSys && call.Sys != nil {
		return backend.Cred{UID: call.Sys.UID, GID: call.Sys.GID, Groups: call.Sys.GIDs}
	}
	return backend.Cred{UID: nobodyUID, GID: nobodyGID}
}

// fail maps a backend error to the status sent to the client and logs it.
// Statuses that point at a server problem (NFS3ERR_IO, NFS3ERR_SERVERFAULT)
// are logged at error level, the rest, such as a missing file, at debug
// level.
func (s *server) fail(ctx context.Context, call *oncrpc.Call, proc string, fh []byte, err error) Nfsstat3 {
	st := StatusOf(err)
	level := slog.LevelDebug
	if st == NFS3ERR_IO || st == NFS3ERR_SERVERFAULT {
		level = slog.LevelError
	}
	if s.log.Enabled(ctx, level) {
		s.log.LogAttrs(ctx, level, "NFS procedure failed",
			slog.String("proc", proc),
			slog.String("fh", hex.EncodeToString(fh)),
			slog.String("status", st.String()),
			slog.Any("error", err),
			slog.Any("client", call.Remote))
	}
	return st
}

func putStatus(e *xdr.Encoder, st Nfsstat3) { e.Uint32(uint32(st)) }

func (s *server) null(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	return nil
}
