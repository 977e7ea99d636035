package localfs

import (
	"errors"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
)

// fileType converts the S_IFMT bits of a stat mode.
func fileType(mode uint32) backend.FileType {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return backend.TypeDir
	case unix.S_IFBLK:
		return backend.TypeBlock
	case unix.S_IFCHR:
		return backend.TypeChar
	case unix.S_IFLNK:
		return backend.TypeSymlink
	case unix.S_IFSOCK:
		return backend.TypeSocket
	case unix.S_IFIFO:
		return backend.TypeFIFO
	}
	return backend.TypeRegular
}

func timeOf(ts unix.Timespec) time.Time { return time.Unix(ts.Sec, ts.Nsec) }

// attr converts st to the attributes reported to caller c. In owner mode the
// serving user's uid and gid are reported as the caller's, or for a root
// caller as the last non-root caller's (see hostUser).
func (fs *FS) attr(c *backend.Cred, st *unix.Stat_t) backend.Attr {
	a := backend.Attr{
		Type:   fileType(st.Mode),
		Mode:   st.Mode & 0o7777,
		Nlink:  uint32(st.Nlink),
		UID:    st.Uid,
		GID:    st.Gid,
		Size:   uint64(st.Size),
		Used:   uint64(st.Blocks) * 512,
		FSID:   fs.fsid,
		FileID: st.Ino,
		Atime:  timeOf(st.Atim),
		Mtime:  timeOf(st.Mtim),
		Ctime:  timeOf(st.Ctim),
	}
	if a.Type == backend.TypeBlock || a.Type == backend.TypeChar {
		a.Major, a.Minor = unix.Major(st.Rdev), unix.Minor(st.Rdev)
	}
	if fs.identity == OwnerMode && c != nil {
		// Owner mode only: in passthrough mode ids are reported as they are.
		uid, gid := fs.host.view(c)
		if st.Uid == fs.serving.uid {
			a.UID = uid
		}
		if st.Gid == fs.serving.gid {
			a.GID = gid
		}
	}
	return a
}

// attrPtr is attr returning a pointer, for the optional attributes of
// results.
func (fs *FS) attrPtr(c *backend.Cred, st *unix.Stat_t) *backend.Attr {
	a := fs.attr(c, st)
	return &a
}

// statAttr stats fd and returns its attributes, or nil when fstat fails.
func (fs *FS) statAttr(c *backend.Cred, fd int) *backend.Attr {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return nil
	}
	return fs.attrPtr(c, &st)
}

func wccOf(st *unix.Stat_t) *backend.WccAttr {
	return &backend.WccAttr{Size: uint64(st.Size), Mtime: timeOf(st.Mtim), Ctime: timeOf(st.Ctim)}
}

// statWcc stats fd and returns the pre-operation attributes, or nil when
// fstat fails.
func statWcc(fd int) *backend.WccAttr {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return nil
	}
	return wccOf(&st)
}

// procPath is the /proc magic link of fd, the fallback for system calls
// that do not take AT_EMPTY_PATH on older kernels.
func procPath(fd int) string { return procFDDir + "/" + strconv.Itoa(fd) }

// procFDDir is the directory of this process's open descriptors.
const procFDDir = "/proc/self/fd"

// chmodFD sets the permission bits of the object open as fd, which may be
// an O_PATH descriptor. It uses fchmodat2 with AT_EMPTY_PATH (Linux 6.6 and
// later) and falls back to the /proc magic link.
func chmodFD(fd int, mode uint32) error {
	err := unix.Fchmodat(fd, "", mode, unix.AT_EMPTY_PATH)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		err = unix.Fchmodat(unix.AT_FDCWD, procPath(fd), mode, 0)
	}
	return err
}

// utimesFD sets the times of the object open as fd, which may be an O_PATH
// descriptor of a symlink.
func utimesFD(fd int, ts []unix.Timespec) error {
	err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.EINVAL) {
		err = unix.UtimesNanoAt(unix.AT_FDCWD, procPath(fd), ts, 0)
	}
	return err
}

// timespecOf converts a SetTime for utimensat.
func timespecOf(t backend.SetTime) unix.Timespec {
	switch t.How {
	case backend.TimeServer:
		return unix.Timespec{Nsec: unix.UTIME_NOW}
	case backend.TimeClient:
		return unix.Timespec{Sec: t.Time.Unix(), Nsec: int64(t.Time.Nanosecond())}
	}
	return unix.Timespec{Nsec: unix.UTIME_OMIT}
}

// applyAttr changes the attributes sa of obj: owner, then mode (chown may
// clear setuid bits), then size, then times. obj.st must be current.
// In owner mode a uid or gid equal to the one the caller is shown for the
// serving user's objects means the serving user's.
func (fs *FS) applyAttr(c *backend.Cred, obj *object, sa backend.SetAttr) error {
	uid, gid := -1, -1
	var viewUID, viewGID uint32
	if fs.identity == OwnerMode && c != nil {
		viewUID, viewGID = fs.host.view(c)
	}
	if sa.UID != nil {
		u := *sa.UID
		if fs.identity == OwnerMode && c != nil && u == viewUID {
			u = fs.serving.uid
		}
		if u != obj.st.Uid {
			uid = int(u)
		}
	}
	if sa.GID != nil {
		g := *sa.GID
		if fs.identity == OwnerMode && c != nil && g == viewGID {
			g = fs.serving.gid
		}
		if g != obj.st.Gid {
			gid = int(g)
		}
	}
	if uid != -1 || gid != -1 {
		err := unix.Fchownat(obj.fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return err
		}
	}

	// Linux has no permission bits on symlinks; knfsd ignores mode
	// changes on them too.
	if sa.Mode != nil && obj.st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := chmodFD(obj.fd, *sa.Mode&0o7777); err != nil {
			return err
		}
	}

	if sa.Size != nil {
		if err := fs.truncate(c, obj, *sa.Size); err != nil {
			return err
		}
	}

	if sa.Atime.How != backend.TimeDontChange || sa.Mtime.How != backend.TimeDontChange {
		ts := []unix.Timespec{timespecOf(sa.Atime), timespecOf(sa.Mtime)}
		if err := utimesFD(obj.fd, ts); err != nil {
			return err
		}
	}
	return nil
}

// truncate sets the size of the regular file obj.
func (fs *FS) truncate(c *backend.Cred, obj *object, size uint64) error {
	switch obj.st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return unix.EISDIR
	default:
		return unix.EINVAL
	}
	if size > 1<<63-1 {
		return unix.EFBIG
	}
	f, err := fs.openFileObj(c, obj, true)
	if err != nil {
		return err
	}
	defer fs.files.release(f)
	return unix.Ftruncate(f.fd, int64(size))
}
