package nfs3

import (
	"errors"
	"strconv"
	"syscall"

	"github.com/burrow-nfs/burrow/internal/backend"
)

// Nfsstat3 is the status of an NFSv3 procedure (RFC 1813, section 2.6).
type Nfsstat3 uint32

// Nfsstat3 values, named and numbered as in RFC 1813.
const (
	NFS3_OK             Nfsstat3 = 0
	NFS3ERR_PERM        Nfsstat3 = 1
	NFS3ERR_NOENT       Nfsstat3 = 2
	NFS3ERR_IO          Nfsstat3 = 5
	NFS3ERR_NXIO        Nfsstat3 = 6
	NFS3ERR_ACCES       Nfsstat3 = 13
	NFS3ERR_EXIST       Nfsstat3 = 17
	NFS3ERR_XDEV        Nfsstat3 = 18
	NFS3ERR_NODEV       Nfsstat3 = 19
	NFS3ERR_NOTDIR      Nfsstat3 = 20
	NFS3ERR_ISDIR       Nfsstat3 = 21
	NFS3ERR_INVAL       Nfsstat3 = 22
	NFS3ERR_FBIG        Nfsstat3 = 27
	NFS3ERR_NOSPC       Nfsstat3 = 28
	NFS3ERR_ROFS        Nfsstat3 = 30
	NFS3ERR_MLINK       Nfsstat3 = 31
	NFS3ERR_NAMETOOLONG Nfsstat3 = 63
	NFS3ERR_NOTEMPTY    Nfsstat3 = 66
	NFS3ERR_DQUOT       Nfsstat3 = 69
	NFS3ERR_STALE       Nfsstat3 = 70
	NFS3ERR_REMOTE      Nfsstat3 = 71
	NFS3ERR_BADHANDLE   Nfsstat3 = 10001
	NFS3ERR_NOT_SYNC    Nfsstat3 = 10002
	NFS3ERR_BAD_COOKIE  Nfsstat3 = 10003
	NFS3ERR_NOTSUPP     Nfsstat3 = 10004
	NFS3ERR_TOOSMALL    Nfsstat3 = 10005
	NFS3ERR_SERVERFAULT Nfsstat3 = 10006
	NFS3ERR_BADTYPE     Nfsstat3 = 10007
	NFS3ERR_JUKEBOX     Nfsstat3 = 10008
)

var statusNames = map[Nfsstat3]string{
	NFS3_OK:             "NFS3_OK",
	NFS3ERR_PERM:        "NFS3ERR_PERM",
	NFS3ERR_NOENT:       "NFS3ERR_NOENT",
	NFS3ERR_IO:          "NFS3ERR_IO",
	NFS3ERR_NXIO:        "NFS3ERR_NXIO",
	NFS3ERR_ACCES:       "NFS3ERR_ACCES",
	NFS3ERR_EXIST:       "NFS3ERR_EXIST",
	NFS3ERR_XDEV:        "NFS3ERR_XDEV",
	NFS3ERR_NODEV:       "NFS3ERR_NODEV",
	NFS3ERR_NOTDIR:      "NFS3ERR_NOTDIR",
	NFS3ERR_ISDIR:       "NFS3ERR_ISDIR",
	NFS3ERR_INVAL:       "NFS3ERR_INVAL",
	NFS3ERR_FBIG:        "NFS3ERR_FBIG",
	NFS3ERR_NOSPC:       "NFS3ERR_NOSPC",
	NFS3ERR_ROFS:        "NFS3ERR_ROFS",
	NFS3ERR_MLINK:       "NFS3ERR_MLINK",
	NFS3ERR_NAMETOOLONG: "NFS3ERR_NAMETOOLONG",
	NFS3ERR_NOTEMPTY:    "NFS3ERR_NOTEMPTY",
	NFS3ERR_DQUOT:       "NFS3ERR_DQUOT",
	NFS3ERR_STALE:       "NFS3ERR_STALE",
	NFS3ERR_REMOTE:      "NFS3ERR_REMOTE",
	NFS3ERR_BADHANDLE:   "NFS3ERR_BADHANDLE",
	NFS3ERR_NOT_SYNC:    "NFS3ERR_NOT_SYNC",
	NFS3ERR_BAD_COOKIE:  "NFS3ERR_BAD_COOKIE",
	NFS3ERR_NOTSUPP:     "NFS3ERR_NOTSUPP",
	NFS3ERR_TOOSMALL:    "NFS3ERR_TOOSMALL",
	NFS3ERR_SERVERFAULT: "NFS3ERR_SERVERFAULT",
	NFS3ERR_BADTYPE:     "NFS3ERR_BADTYPE",
	NFS3ERR_JUKEBOX:     "NFS3ERR_JUKEBOX",
}

// String returns the RFC 1813 name of s, such as "NFS3ERR_STALE", or
// "Nfsstat3(N)" for a value the RFC does not define.
func (s Nfsstat3) String() string {
	if name, ok := statusNames[s]; ok {
		return name
	}
	return "Nfsstat3(" + strconv.FormatUint(uint64(s), 10) + ")"
}

// errnoStatus maps the errno values a backend returns to NFSv3 statuses.
// The choices follow the Linux kernel NFS server (fs/nfsd/vfs.c nfserrno
// and nfsd3_map_status): ELOOP is NFS3ERR_INVAL because NFSv3 has no
// symlink status, and EAGAIN, ENOMEM and ETIMEDOUT ask the client to retry
// later with NFS3ERR_JUKEBOX. ENOSYS and EMFILE are additions of this
// server: the first is NFS3ERR_NOTSUPP and the second, running out of file
// descriptors, is NFS3ERR_SERVERFAULT like ENFILE.
var errnoStatus = map[syscall.Errno]Nfsstat3{
	syscall.EPERM:        NFS3ERR_PERM,
	syscall.ENOENT:       NFS3ERR_NOENT,
	syscall.EIO:          NFS3ERR_IO,
	syscall.ENXIO:        NFS3ERR_NXIO,
	syscall.EACCES:       NFS3ERR_ACCES,
	syscall.EEXIST:       NFS3ERR_EXIST,
	syscall.EXDEV:        NFS3ERR_XDEV,
	syscall.ENODEV:       NFS3ERR_NODEV,
	syscall.ENOTDIR:      NFS3ERR_NOTDIR,
	syscall.EISDIR:       NFS3ERR_ISDIR,
	syscall.EINVAL:       NFS3ERR_INVAL,
	syscall.EFBIG:        NFS3ERR_FBIG,
	syscall.ENOSPC:       NFS3ERR_NOSPC,
	syscall.EROFS:        NFS3ERR_ROFS,
	syscall.EMLINK:       NFS3ERR_MLINK,
	syscall.ENAMETOOLONG: NFS3ERR_NAMETOOLONG,
	syscall.ENOTEMPTY:    NFS3ERR_NOTEMPTY,
	syscall.EDQUOT:       NFS3ERR_DQUOT,
	syscall.ESTALE:       NFS3ERR_STALE,
	syscall.EBADF:        NFS3ERR_STALE,
	syscall.ELOOP:        NFS3ERR_INVAL,
	syscall.EOPNOTSUPP:   NFS3ERR_NOTSUPP,
	syscall.ENOSYS:       NFS3ERR_NOTSUPP,
	syscall.EAGAIN:       NFS3ERR_JUKEBOX,
	syscall.ENOMEM:       NFS3ERR_JUKEBOX,
	syscall.ETIMEDOUT:    NFS3ERR_JUKEBOX,
	syscall.ENFILE:       NFS3ERR_SERVERFAULT,
	syscall.EMFILE:       NFS3ERR_SERVERFAULT,
}

// StatusOf maps an error from a backend.FS method to the NFSv3 status sent
// to the client. It recognises the backend sentinel errors and
// syscall.Errno values, wrapped or not. nil is NFS3_OK, and any other error
// is NFS3ERR_IO.
func StatusOf(err error) Nfsstat3 {
	if err == nil {
		return NFS3_OK
	}
	switch {
	case errors.Is(err, backend.ErrBadHandle):
		return NFS3ERR_BADHANDLE
	case errors.Is(err, backend.ErrStale):
		return NFS3ERR_STALE
	case errors.Is(err, backend.ErrNotSync):
		return NFS3ERR_NOT_SYNC
	case errors.Is(err, backend.ErrBadCookie):
		return NFS3ERR_BAD_COOKIE
	case errors.Is(err, backend.ErrBadType):
		return NFS3ERR_BADTYPE
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if st, ok := errnoStatus[errno]; ok {
			return st
		}
	}
	return NFS3ERR_IO
}
