// Package mount implements version 3 of the MOUNT protocol (RFC 1813,
// appendix I), which gives NFSv3 clients the root file handle of the
// export. Linux and macOS clients mounting with NFSv3 speak MOUNT version 3
// only, so versions 1 and 2 are not served.
package mount

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// Program number and version of MOUNT.
const (
	Program = 100005
	Version = 3
)

// Procedure numbers of MOUNT version 3.
const (
	ProcNull    = 0
	ProcMnt     = 1
	ProcDump    = 2
	ProcUmnt    = 3
	ProcUmntall = 4
	ProcExport  = 5
)

// Sizes fixed by RFC 1813, appendix I.
const (
	MNTPATHLEN = 1024 // maximum dirpath length, in bytes
	MNTNAMLEN  = 255  // maximum host or group name length, in bytes
)

// Mountstat3 is the status of MNT.
type Mountstat3 uint32

// Mountstat3 values, named and numbered as in RFC 1813.
const (
	MNT3_OK             Mountstat3 = 0
	MNT3ERR_PERM        Mountstat3 = 1
	MNT3ERR_NOENT       Mountstat3 = 2
	MNT3ERR_IO          Mountstat3 = 5
	MNT3ERR_ACCES       Mountstat3 = 13
	MNT3ERR_NOTDIR      Mountstat3 = 20
	MNT3ERR_INVAL       Mountstat3 = 22
	MNT3ERR_NAMETOOLONG Mountstat3 = 63
	MNT3ERR_NOTSUPP     Mountstat3 = 10004
	MNT3ERR_SERVERFAULT Mountstat3 = 10006
)

// String returns the RFC 1813 name of s, such as "MNT3ERR_NOENT".
func (s Mountstat3) String() string {
	switch s {
	case MNT3_OK:
		return "MNT3_OK"
	case MNT3ERR_PERM:
		return "MNT3ERR_PERM"
	case MNT3ERR_NOENT:
		return "MNT3ERR_NOENT"
	case MNT3ERR_IO:
		return "MNT3ERR_IO"
	case MNT3ERR_ACCES:
		return "MNT3ERR_ACCES"
	case MNT3ERR_NOTDIR:
		return "MNT3ERR_NOTDIR"
	case MNT3ERR_INVAL:
		return "MNT3ERR_INVAL"
	case MNT3ERR_NAMETOOLONG:
		return "MNT3ERR_NAMETOOLONG"
	case MNT3ERR_NOTSUPP:
		return "MNT3ERR_NOTSUPP"
	case MNT3ERR_SERVERFAULT:
		return "MNT3ERR_SERVERFAULT"
	}
	return "Mountstat3(" + strconv.FormatUint(uint64(s), 10) + ")"
}

// maxMounts bounds the mount list kept for DUMP, so that a client calling
// MNT in a loop cannot grow it without limit. MNT still succeeds beyond it.
const maxMounts = 1024

// Options configure the MOUNT program.
type Options struct {
	// ExportPath is the absolute path of the exported directory in the
	// guest. MNT accepts it, with or without trailing slashes, and "/".
	ExportPath string
	// Logger receives MNT and UMNT calls at info level. Nil discards them.
	Logger *slog.Logger
}

// mountEntry is one record of the mount list: a client host and the path
// it mounted.
type mountEntry struct {
	host string
	path string
}

type server struct {
	fs         backend.FS
	exportPath string
	log        *slog.Logger

	mu     sync.Mutex
	mounts map[mountEntry]struct{}
	order  []mountEntry // mounts in the order of their first MNT, for DUMP
}

// NewProgram returns MOUNT version 3 (program 100005) for the export of
// fs, whose root is fs.Root().
func NewProgram(fs backend.FS, opts Options) oncrpc.Program {
	s := &server{
		fs:         fs,
		exportPath: opts.ExportPath,
		log:        opts.Logger,
		mounts:     make(map[mountEntry]struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	procs := []oncrpc.Procedure{
		ProcNull:    {Name: "NULL", Handler: s.null},
		ProcMnt:     {Name: "MNT", Handler: s.mnt},
		ProcDump:    {Name: "DUMP", Handler: s.dump},
		ProcUmnt:    {Name: "UMNT", Handler: s.umnt},
		ProcUmntall: {Name: "UMNTALL", Handler: s.umntall},
		ProcExport:  {Name: "EXPORT", Handler: s.export},
	}
	return oncrpc.Program{Name: "MOUNT", Prog: Program, Vers: Version, Procs: procs}
}

// decodeDirPath reads a dirpath. A path longer than MNTPATHLEN is skipped
// and reported with tooLong set, so that MNT can reply
// MNT3ERR_NAMETOOLONG instead of GARBAGE_ARGS.
func decodeDirPath(d *xdr.Decoder) (path string, tooLong bool, err error) {
	n := d.Uint32()
	if d.Err() == nil && n > MNTPATHLEN {
		d.Fixed(int(n))
		tooLong = true
	} else {
		path = string(d.Fixed(int(n)))
	}
	if err := d.Err(); err != nil {
		return "", false, fmt.Errorf("%w: %w", oncrpc.ErrGarbageArgs, err)
	}
	return path, tooLong, nil
}

// isExport reports whether path names the export: "/" or ExportPath, each
// with any number of trailing slashes.
func (s *server) isExport(path string) bool {
	if !strings.HasPrefix(path, "/") {
		return false
	}
	trimmed := strings.TrimRight(path, "/")
	return trimmed == "" || trimmed == strings.TrimRight(s.exportPath, "/")
}

// belowExport splits a path below the export into its names: a path under
// ExportPath, or, since "/" is the export too, any other absolute path.
// Clients such as libnfs mount the parent directory of the file they copy,
// so directories below the export must be mountable. It rejects "." and
// ".." so that a path cannot climb out of the export.
func (s *server) belowExport(path string) ([]string, bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	rest := path
	if exp := strings.TrimRight(s.exportPath, "/"); exp != "" && strings.HasPrefix(path, exp+"/") {
		rest = path[len(exp):]
	}
	var names []string
	for _, name := range strings.Split(rest, "/") {
		switch name {
		case "":
			continue
		case ".", "..":
			return nil, false
		}
		names = append(names, name)
	}
	return names, len(names) > 0
}

// lookupBelow looks up names one by one from the export root and returns
// the handle and attributes of the last one.
func (s *server) lookupBelow(ctx context.Context, cred *backend.Cred, root []byte, names []string) ([]byte, backend.Attr, error) {
	h := root
	var attr backend.Attr
	for _, name := range names {
		var err error
		h, attr, _, err = s.fs.Lookup(ctx, cred, h, name)
		if err != nil {
			return nil, backend.Attr{}, err
		}
	}
	return h, attr, nil
}

// clientHost returns the IP address of the caller, the host name that
// DUMP lists.
func clientHost(call *oncrpc.Call) string {
	if call.Remote == nil {
		return ""
	}
	addr := call.Remote.String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

func credOf(call *oncrpc.Call) backend.Cred {
	if call.Flavor == oncrpc.AuthSys && call.Sys != nil {
		return backend.Cred{UID: call.Sys.UID, GID: call.Sys.GID, Groups: call.Sys.GIDs}
	}
	return backend.Cred{UID: 65534, GID: 65534}
}

// rootStatus maps an error from reading the root's attributes to MNT's
// status.
func rootStatus(err error) Mountstat3 {
	var errno syscall.Errno
	switch {
	case errors.Is(err, backend.ErrStale), errors.Is(err, backend.ErrBadHandle):
		return MNT3ERR_NOENT
	case errors.As(err, &errno):
		switch errno {
		case syscall.ENOENT, syscall.ESTALE:
			return MNT3ERR_NOENT
		case syscall.EACCES:
			return MNT3ERR_ACCES
		case syscall.EPERM:
			return MNT3ERR_PERM
		case syscall.ENOTDIR:
			return MNT3ERR_NOTDIR
		}
	}
	return MNT3ERR_IO
}

func (s *server) null(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	return nil
}

// mnt serves MNT: it returns the handle of the export, or of a directory
// below it, and lists AUTH_SYS as the only flavor, which Linux and macOS
// clients both accept.
func (s *server) mnt(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	path, tooLong, err := decodeDirPath(d)
	if err != nil {
		return err
	}
	host := clientHost(call)
	st := MNT3_OK
	var names []string
	switch {
	case tooLong:
		st = MNT3ERR_NAMETOOLONG
	case s.isExport(path):
	default:
		var ok bool
		if names, ok = s.belowExport(path); !ok {
			st = MNT3ERR_NOENT
		}
	}
	var root []byte
	if st == MNT3_OK {
		root = s.fs.Root()
		cred := credOf(call)
		attr, err := s.fs.GetAttr(ctx, &cred, root)
		if err == nil && len(names) > 0 {
			root, attr, err = s.lookupBelow(ctx, &cred, root, names)
		}
		switch {
		case err != nil && len(names) > 0:
			st = rootStatus(err)
			s.log.DebugContext(ctx, "MNT of a directory below the export failed",
				"client", host, "path", path, "status", st.String(), "error", err)
		case err != nil:
			st = rootStatus(err)
			s.log.ErrorContext(ctx, "MNT failed to read the export's attributes",
				"client", host, "path", path, "status", st.String(), "error", err)
		case attr.Type != backend.TypeDir:
			st = MNT3ERR_NOTDIR
		}
	}
	s.log.InfoContext(ctx, "MNT", "client", host, "path", path, "status", st.String())
	e.Uint32(uint32(st))
	if st != MNT3_OK {
		return nil
	}
	s.addMount(mountEntry{host: host, path: path})
	e.Opaque(root)
	e.Uint32(1) // one auth flavor
	e.Uint32(oncrpc.AuthSys)
	return nil
}

func (s *server) addMount(m mountEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mounts[m]; ok || len(s.order) >= maxMounts {
		return
	}
	s.mounts[m] = struct{}{}
	s.order = append(s.order, m)
}

// removeMounts drops the mounts of host for which match returns true.
func (s *server) removeMounts(host string, match func(path string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.order[:0]
	for _, m := range s.order {
		if m.host == host && match(m.path) {
			delete(s.mounts, m)
			continue
		}
		kept = append(kept, m)
	}
	clear(s.order[len(kept):])
	s.order = kept
}

func (s *server) dump(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.order {
		e.Bool(true)
		e.String(m.host)
		e.String(m.path)
	}
	e.Bool(false)
	return nil
}

func (s *server) umnt(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	path, tooLong, err := decodeDirPath(d)
	if err != nil {
		return err
	}
	host := clientHost(call)
	s.log.InfoContext(ctx, "UMNT", "client", host, "path", path)
	if tooLong {
		return nil
	}
	s.removeMounts(host, func(p string) bool { return p == path })
	return nil
}

func (s *server) umntall(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	host := clientHost(call)
	s.log.InfoContext(ctx, "UMNTALL", "client", host)
	s.removeMounts(host, func(string) bool { return true })
	return nil
}

// export serves EXPORT: the export path and "/", both open to every host
// (an empty group list).
func (s *server) export(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	paths := []string{"/"}
	if trimmed := strings.TrimRight(s.exportPath, "/"); trimmed != "" {
		paths = []string{trimmed, "/"}
	}
	for _, p := range paths {
		e.Bool(true)
		e.String(p)
		e.Bool(false) // no groups
	}
	e.Bool(false)
	return nil
}
