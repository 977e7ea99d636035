// Package backend defines the protocol-neutral file system interface that the
// protocol front ends (MOUNT, NFSv3, later SMB2) serve, and the types it uses.
//
// A backend uses no wire formats. It names objects by opaque file
// handles of at most MaxHandleSize bytes, reports errors as errno values
// (syscall.Errno, possibly wrapped) or the sentinel errors below, and returns
// the attributes a protocol needs for its weak cache consistency data.
//
// Every method may be called concurrently from many goroutines. Every method
// takes the caller's credentials, because the attributes it returns depend
// on them: in owner mode, objects owned by the serving user are reported as
// owned by the caller.
package backend

import (
	"context"
	"errors"
	"time"
)

// MaxHandleSize is the largest file handle a backend may issue. NFSv3
// allows 64 bytes (RFC 1813, section 2.5 NFS3_FHSIZE).
const MaxHandleSize = 64

// MaxNameLen is the longest single path component accepted, in bytes.
const MaxNameLen = 255

// MaxPathLen is the longest symlink target accepted, in bytes.
const MaxPathLen = 4096

var (
	// ErrBadHandle means a handle could not be parsed: wrong length,
	// version or export. NFSv3 reports it as NFS3ERR_BADHANDLE.
	ErrBadHandle = errors.New("malformed file handle")
	// ErrStale means a handle parsed but its object no longer exists, or
	// its inode number now belongs to another object. NFS3ERR_STALE.
	ErrStale = errors.New("stale file handle")
	// ErrNotSync means a SetAttr guard did not match the object's ctime.
	// NFS3ERR_NOT_SYNC.
	ErrNotSync = errors.New("ctime guard does not match")
	// ErrBadCookie means a directory cookie is no longer valid.
	// NFS3ERR_BAD_COOKIE.
	ErrBadCookie = errors.New("invalid directory cookie")
	// ErrBadType means the object type is not supported by the call, such
	// as MKNOD of an unknown type. NFS3ERR_BADTYPE.
	ErrBadType = errors.New("object type not supported")
)

// FileType is the type of a file system object.
type FileType uint32

// File types, numbered as NFSv3 ftype3 so the front end can send them as
// they are.
const (
	TypeRegular FileType = 1
	TypeDir     FileType = 2
	TypeBlock   FileType = 3
	TypeChar    FileType = 4
	TypeSymlink FileType = 5
	TypeSocket  FileType = 6
	TypeFIFO    FileType = 7
)

// Attr holds the attributes of one object.
type Attr struct {
	Type   FileType
	Mode   uint32 // permission bits with setuid, setgid and sticky (07777)
	Nlink  uint32
	UID    uint32 // as the caller should see it (owner mapping applied)
	GID    uint32
	Size   uint64
	Used   uint64 // bytes allocated on disk
	Major  uint32 // device numbers of block and character devices
	Minor  uint32
	FSID   uint64
	FileID uint64 // unique and non-zero within FSID
	Atime  time.Time
	Mtime  time.Time
	Ctime  time.Time
}

// WccAttr is the subset of attributes taken before an operation, for weak
// cache consistency (RFC 1813, section 2.6 wcc_attr).
type WccAttr struct {
	Size  uint64
	Mtime time.Time
	Ctime time.Time
}

// Wcc is the state of an object before and after an operation. Either part
// may be nil when the backend could not take it.
type Wcc struct {
	Before *WccAttr
	After  *Attr
}

// TimeHow selects how SetAttr changes a time.
type TimeHow uint32

// TimeHow values, numbered as NFSv3 time_how.
const (
	TimeDontChange TimeHow = 0
	TimeServer     TimeHow = 1 // set to the server's current time
	TimeClient     TimeHow = 2 // set to SetTime.Time
)

// SetTime is one time to change in SetAttr.
type SetTime struct {
	How  TimeHow
	Time time.Time
}

// SetAttr lists the attributes to change; nil pointers and TimeDontChange
// leave an attribute alone.
type SetAttr struct {
	Mode  *uint32
	UID   *uint32
	GID   *uint32
	Size  *uint64
	Atime SetTime
	Mtime SetTime
}

// Cred is the caller's identity as sent in AUTH_SYS credentials. A caller
// with AUTH_NONE has UID and GID 65534 (nobody).
type Cred struct {
	UID    uint32
	GID    uint32
	Groups []uint32
}

// Access bits, as NFSv3 ACCESS3_*.
const (
	AccessRead    uint32 = 0x0001
	AccessLookup  uint32 = 0x0002
	AccessModify  uint32 = 0x0004
	AccessExtend  uint32 = 0x0008
	AccessDelete  uint32 = 0x0010
	AccessExecute uint32 = 0x0020
)

// Stable is the durability a write must reach before Write returns,
// numbered as NFSv3 stable_how.
type Stable uint32

// Stable values.
const (
	Unstable Stable = 0
	DataSync Stable = 1
	FileSync Stable = 2
)

// CreateMode selects the semantics of Create, numbered as NFSv3 createmode3.
type CreateMode uint32

// CreateMode values.
const (
	CreateUnchecked CreateMode = 0
	CreateGuarded   CreateMode = 1
	CreateExclusive CreateMode = 2
)

// CreateArgs are the arguments of Create.
type CreateArgs struct {
	Mode     CreateMode
	Attr     SetAttr // initial attributes for unchecked and guarded creates
	Verifier [8]byte // exclusive create verifier
}

// DirEntry is one directory entry returned by ReadDir.
type DirEntry struct {
	Name   string
	FileID uint64
	Cookie uint64 // position after this entry, never 0
	// Handle and Attr are filled only when ReadDir is asked for them
	// (READDIRPLUS). Attr may be nil if the entry vanished meanwhile.
	Handle []byte
	Attr   *Attr
}

// ReadDirArgs are the arguments of ReadDir.
type ReadDirArgs struct {
	Cookie   uint64
	Verifier [8]byte
	// MaxEntries bounds the number of entries returned; the front end
	// computes it from the client's count. The backend may return fewer.
	MaxEntries int
	Plus       bool // also return handles and attributes
}

// ReadDirResult is one page of a directory listing.
type ReadDirResult struct {
	Entries  []DirEntry
	EOF      bool
	Verifier [8]byte
	DirAttr  *Attr
}

// FSStat is the space and file count of the file system (NFSv3 FSSTAT).
type FSStat struct {
	TotalBytes, FreeBytes, AvailBytes uint64
	TotalFiles, FreeFiles, AvailFiles uint64
}

// PathConf holds POSIX limits (NFSv3 PATHCONF).
type PathConf struct {
	LinkMax         uint32
	NameMax         uint32
	NoTrunc         bool
	ChownRestricted bool
	CaseInsensitive bool
	CasePreserving  bool
}

// FS is a file system served to clients. Handles passed in are what the
// same backend issued; a handle it cannot parse gives ErrBadHandle, one
// whose object is gone gives ErrStale. Names are single path components;
// the backend rejects empty names, names with '/' or NUL, and names longer
// than MaxNameLen. "." and ".." are accepted only by Lookup.
type FS interface {
	// Root returns the handle of the exported directory.
	Root() []byte
	// WriteVerifier returns the verifier of unstable writes; it changes
	// every time the server starts.
	WriteVerifier() [8]byte
	// Known reports whether handle h names an object that the backend can
	// find without a search: one it resolved recently. A call on such a
	// handle that only reads returns quickly.
	Known(h []byte) bool

	GetAttr(ctx context.Context, c *Cred, h []byte) (Attr, error)
	// SetAttr changes attributes. If guard is non-nil, it fails with
	// ErrNotSync unless the object's ctime equals *guard.
	SetAttr(ctx context.Context, c *Cred, h []byte, sa SetAttr, guard *time.Time) (Wcc, error)
	// Lookup finds name in directory dir. ".." of the root is the root.
	Lookup(ctx context.Context, c *Cred, dir []byte, name string) (h []byte, attr Attr, dirAttr *Attr, err error)
	// Access returns the subset of the requested access bits the caller
	// is granted.
	Access(ctx context.Context, c *Cred, h []byte, mask uint32) (granted uint32, attr Attr, err error)
	Readlink(ctx context.Context, c *Cred, h []byte) (target string, attr *Attr, err error)
	// Read reads into buf at off and reports whether the read reached the
	// end of the file.
	Read(ctx context.Context, c *Cred, h []byte, off uint64, buf []byte) (n int, eof bool, attr *Attr, err error)
	// Write writes data at off. committed is how durable the data is now,
	// at least the requested stability.
	Write(ctx context.Context, c *Cred, h []byte, off uint64, data []byte, stable Stable) (n int, committed Stable, wcc Wcc, err error)
	Create(ctx context.Context, c *Cred, dir []byte, name string, args CreateArgs) (h []byte, attr *Attr, dirWcc Wcc, err error)
	Mkdir(ctx context.Context, c *Cred, dir []byte, name string, sa SetAttr) (h []byte, attr *Attr, dirWcc Wcc, err error)
	Symlink(ctx context.Context, c *Cred, dir []byte, name, target string, sa SetAttr) (h []byte, attr *Attr, dirWcc Wcc, err error)
	// Mknod creates a FIFO, socket or device node.
	Mknod(ctx context.Context, c *Cred, dir []byte, name string, typ FileType, major, minor uint32, sa SetAttr) (h []byte, attr *Attr, dirWcc Wcc, err error)
	Remove(ctx context.Context, c *Cred, dir []byte, name string) (dirWcc Wcc, err error)
	Rmdir(ctx context.Context, c *Cred, dir []byte, name string) (dirWcc Wcc, err error)
	// Rename atomically replaces an existing target where POSIX allows.
	Rename(ctx context.Context, c *Cred, fromDir []byte, fromName string, toDir []byte, toName string) (fromWcc, toWcc Wcc, err error)
	Link(ctx context.Context, c *Cred, h []byte, dir []byte, name string) (attr *Attr, dirWcc Wcc, err error)
	ReadDir(ctx context.Context, c *Cred, dir []byte, args ReadDirArgs) (ReadDirResult, error)
	FSStat(ctx context.Context, c *Cred, h []byte) (FSStat, *Attr, error)
	PathConf(ctx context.Context, c *Cred, h []byte) (PathConf, *Attr, error)
	// Commit makes all data written to the file durable. An fsync error
	// is returned as it is (EIO).
	Commit(ctx context.Context, c *Cred, h []byte, off uint64, count uint32) (Wcc, error)
}
