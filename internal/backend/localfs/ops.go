package localfs

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/handle"
)

// GetAttr returns the attributes of the object named by h.
func (fs *FS) GetAttr(ctx context.Context, c *backend.Cred, h []byte) (backend.Attr, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return backend.Attr{}, berr
	}
	defer restore()
	obj, err := fs.resolve(h)
	if err != nil {
		return backend.Attr{}, err
	}
	defer obj.close()
	return fs.attr(c, &obj.st), nil
}

// SetAttr changes the attributes in sa, after checking the ctime guard.
// A failed change may leave earlier changes of the same call in place, as
// with knfsd.
func (fs *FS) SetAttr(ctx context.Context, c *backend.Cred, h []byte, sa backend.SetAttr, guard *time.Time) (backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return backend.Wcc{}, berr
	}
	defer restore()
	obj, err := fs.resolve(h)
	if err != nil {
		return backend.Wcc{}, err
	}
	defer obj.close()
	wcc := backend.Wcc{Before: wccOf(&obj.st)}
	if guard != nil && !timeOf(obj.st.Ctim).Equal(*guard) {
		wcc.After = fs.attrPtr(c, &obj.st)
		return wcc, backend.ErrNotSync
	}
	err = fs.applyAttr(c, obj, sa)
	wcc.After = fs.statAttr(c, obj.fd)
	return wcc, err
}

// Lookup finds name in directory dir and records the hint of the child.
// "." is dir itself and ".." its parent, or dir when dir is the root.
func (fs *FS) Lookup(ctx context.Context, c *backend.Cred, dirH []byte, name string) ([]byte, backend.Attr, *backend.Attr, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return nil, backend.Attr{}, nil, berr
	}
	defer restore()
	if name != "." && name != ".." {
		if err := checkName(name); err != nil {
			return nil, backend.Attr{}, nil, err
		}
	}
	dir, err := fs.resolveDir(dirH)
	if err != nil {
		return nil, backend.Attr{}, nil, err
	}
	defer dir.close()

	// LOOKUP does not change the directory, so the attributes taken when
	// it was resolved, earlier in this call, serve as its post-operation
	// attributes without another fstat.
	dirAttr := fs.attrPtr(c, &dir.st)
	switch {
	case name == "." || (name == ".." && len(dir.names) == 0):
		return fs.encode(dir.id), fs.attr(c, &dir.st), dirAttr, nil
	case name == "..":
		parent, err := fs.openParent(dir)
		if err != nil {
			return nil, backend.Attr{}, dirAttr, err
		}
		defer parent.close()
		return fs.encode(parent.id), fs.attr(c, &parent.st), dirAttr, nil
	}
	var st unix.Stat_t
	id, err := fs.statChild(dir.fd, name, &st)
	if err != nil {
		return nil, backend.Attr{}, dirAttr, err
	}
	fs.putHint(id.Ino, dir.id.Ino, name)
	fs.paths.put(id, childNames(dir.names, name))
	return fs.encode(id), fs.attr(c, &st), dirAttr, nil
}

// openParent opens the parent of dir, which is not the root, along the
// path dir was resolved by. No ".." reaches the kernel.
func (fs *FS) openParent(dir *object) (*object, error) {
	names := dir.names[:len(dir.names)-1]
	fd, err := fs.openNames(names, unix.O_PATH)
	if err != nil {
		return nil, err
	}
	obj := &object{fd: fd, names: names}
	if err := unix.Fstat(fd, &obj.st); err != nil {
		obj.close()
		return nil, err
	}
	gen, err := fs.generation(fd)
	if err != nil {
		obj.close()
		return nil, err
	}
	obj.id = handle.ID{Ino: obj.st.Ino, Gen: gen}
	return obj, nil
}

// Access returns the requested access bits that the kernel grants the
// serving user (in owner mode) on the object. It calls faccessat2 with
// AT_EACCESS, so the result follows mode bits, ACLs, capabilities and
// read-only mounts. As in knfsd, DELETE is granted only on directories,
// where it means removing entries, and LOOKUP only on directories.
func (fs *FS) Access(ctx context.Context, c *backend.Cred, h []byte, mask uint32) (uint32, backend.Attr, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return 0, backend.Attr{}, berr
	}
	defer restore()
	obj, err := fs.resolve(h)
	if err != nil {
		return 0, backend.Attr{}, err
	}
	defer obj.close()

	type check struct {
		bit  uint32
		mode uint32
	}
	var checks []check
	if obj.isDir() {
		checks = []check{
			{backend.AccessRead, unix.R_OK},
			{backend.AccessLookup, unix.X_OK},
			{backend.AccessModify, unix.W_OK | unix.X_OK},
			{backend.AccessExtend, unix.W_OK | unix.X_OK},
			{backend.AccessDelete, unix.W_OK | unix.X_OK},
		}
	} else {
		checks = []check{
			{backend.AccessRead, unix.R_OK},
			{backend.AccessModify, unix.W_OK},
			{backend.AccessExtend, unix.W_OK},
			{backend.AccessExecute, unix.X_OK},
		}
	}
	var granted uint32
	for _, ch := range checks {
		if mask&ch.bit != 0 && fs.accessOK(obj, ch.mode) {
			granted |= ch.bit
		}
	}
	return granted, fs.attr(c, &obj.st), nil
}

// accessOK reports whether the kernel grants the serving user has access mode to
// obj. Kernels before 5.8 lack faccessat2, so the mode bits decide there.
func (fs *FS) accessOK(obj *object, mode uint32) bool {
	err := unix.Faccessat2(obj.fd, "", mode, unix.AT_EMPTY_PATH|unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW)
	if err != unix.ENOSYS {
		return err == nil
	}
	return modeAllows(&obj.st, fs.serving.uid, fs.serving.gid, mode)
}

// modeAllows applies the permission bits of st for a user uid with primary
// group gid, without supplementary groups, ACLs or capabilities except
// root's.
func modeAllows(st *unix.Stat_t, uid, gid uint32, mode uint32) bool {
	perm := st.Mode & 0o7
	switch {
	case uid == 0:
		if mode&unix.X_OK != 0 && st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Mode&0o111 == 0 {
			return false
		}
		return true
	case st.Uid == uid:
		perm = (st.Mode >> 6) & 0o7
	case st.Gid == gid:
		perm = (st.Mode >> 3) & 0o7
	}
	return perm&mode == mode
}

// Readlink returns the target of the symlink h. It reads the link through
// the O_PATH descriptor of the link itself, never following it.
func (fs *FS) Readlink(ctx context.Context, c *backend.Cred, h []byte) (string, *backend.Attr, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return "", nil, berr
	}
	defer restore()
	obj, err := fs.resolve(h)
	if err != nil {
		return "", nil, err
	}
	defer obj.close()
	attr := fs.attrPtr(c, &obj.st)
	if obj.st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", attr, fmt.Errorf("not a symlink: %w", unix.EINVAL)
	}
	buf := make([]byte, backend.MaxPathLen+1)
	n, err := unix.Readlinkat(obj.fd, "", buf)
	if err != nil {
		return "", attr, err
	}
	if n > backend.MaxPathLen {
		return "", attr, fmt.Errorf("symlink target longer than %d bytes: %w", backend.MaxPathLen, unix.ENAMETOOLONG)
	}
	return string(buf[:n]), attr, nil
}

// Read reads from the regular file h at off with pread on a cached
// descriptor. A file removed meanwhile (link count 0) is stale.
func (fs *FS) Read(ctx context.Context, c *backend.Cred, h []byte, off uint64, buf []byte) (int, bool, *backend.Attr, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return 0, false, nil, berr
	}
	defer restore()
	if off > math.MaxInt64 {
		return 0, false, nil, fmt.Errorf("read offset %d: %w", off, unix.EINVAL)
	}
	f, err := fs.openFile(c, h, false)
	if err != nil {
		return 0, false, nil, err
	}
	defer fs.files.release(f)

	n := 0
	for n < len(buf) {
		m, err := unix.Pread(f.fd, buf[n:], int64(off)+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, false, fs.statAttr(c, f.fd), err
		}
		if m == 0 {
			break
		}
		n += m
	}

	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, false, nil, err
	}
	if st.Nlink == 0 {
		fs.files.evict(f.id)
		return 0, false, nil, fmt.Errorf("file was removed: %w", backend.ErrStale)
	}
	eof := off+uint64(n) >= uint64(st.Size)
	return n, eof, fs.attrPtr(c, &st), nil
}

// Write writes data to the regular file h at off with pwrite on a cached
// descriptor, then syncs as stable requests: nothing for Unstable, fdatasync
// for DataSync, fsync for FileSync. committed is the stability reached.
func (fs *FS) Write(ctx context.Context, c *backend.Cred, h []byte, off uint64, data []byte, stable backend.Stable) (int, backend.Stable, backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return 0, 0, backend.Wcc{}, berr
	}
	defer restore()
	if off > math.MaxInt64 || uint64(len(data)) > math.MaxInt64-off {
		return 0, 0, backend.Wcc{}, fmt.Errorf("write at offset %d: %w", off, unix.EFBIG)
	}
	f, err := fs.openFile(c, h, true)
	if err != nil {
		return 0, 0, backend.Wcc{}, err
	}
	defer fs.files.release(f)

	var before unix.Stat_t
	if err := unix.Fstat(f.fd, &before); err != nil {
		return 0, 0, backend.Wcc{}, err
	}
	if before.Nlink == 0 {
		fs.files.evict(f.id)
		return 0, 0, backend.Wcc{}, fmt.Errorf("file was removed: %w", backend.ErrStale)
	}
	wcc := backend.Wcc{Before: wccOf(&before)}

	n := 0
	for n < len(data) {
		m, err := unix.Pwrite(f.fd, data[n:], int64(off)+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			wcc.After = fs.statAttr(c, f.fd)
			return 0, 0, wcc, err
		}
		n += m
	}

	committed := backend.Unstable
	switch stable {
	case backend.DataSync:
		err = unix.Fdatasync(f.fd)
		committed = backend.DataSync
	case backend.FileSync:
		err = unix.Fsync(f.fd)
		committed = backend.FileSync
	}
	wcc.After = fs.statAttr(c, f.fd)
	if err != nil {
		return 0, 0, wcc, err
	}
	return n, committed, wcc, nil
}

// Commit flushes the whole file h with fsync, whatever off and count say.
// The fsync error (such as EIO) is returned as it is. Because descriptors stay
// cached, an error from write-back of data written through the cache is
// seen here.
func (fs *FS) Commit(ctx context.Context, c *backend.Cred, h []byte, off uint64, count uint32) (backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return backend.Wcc{}, berr
	}
	defer restore()
	f, err := fs.openFile(c, h, false)
	if err != nil {
		return backend.Wcc{}, err
	}
	defer fs.files.release(f)
	wcc := backend.Wcc{Before: statWcc(f.fd)}
	err = unix.Fsync(f.fd)
	wcc.After = fs.statAttr(c, f.fd)
	return wcc, err
}

// FSStat returns the space and file counts from fstatfs.
func (fs *FS) FSStat(ctx context.Context, c *backend.Cred, h []byte) (backend.FSStat, *backend.Attr, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return backend.FSStat{}, nil, berr
	}
	defer restore()
	obj, err := fs.resolve(h)
	if err != nil {
		return backend.FSStat{}, nil, err
	}
	defer obj.close()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(obj.fd, &sfs); err != nil {
		return backend.FSStat{}, fs.attrPtr(c, &obj.st), err
	}
	bsize := uint64(sfs.Bsize)
	st := backend.FSStat{
		TotalBytes: sfs.Blocks * bsize,
		FreeBytes:  sfs.Bfree * bsize,
		AvailBytes: sfs.Bavail * bsize,
		TotalFiles: sfs.Files,
		FreeFiles:  sfs.Ffree,
		AvailFiles: sfs.Ffree,
	}
	return st, fs.attrPtr(c, &obj.st), nil
}

// linkMax is the maximum link count of common Linux file systems, keyed by
// statfs f_type, from each file system's kernel source.
var linkMax = map[int64]uint32{
	unix.EXT4_SUPER_MAGIC:  65000,
	unix.BTRFS_SUPER_MAGIC: 65535,
	unix.XFS_SUPER_MAGIC:   1<<31 - 1,
	unix.TMPFS_MAGIC:       math.MaxUint32,
}

// PathConf returns the POSIX limits of the exported file system.
func (fs *FS) PathConf(ctx context.Context, c *backend.Cred, h []byte) (backend.PathConf, *backend.Attr, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return backend.PathConf{}, nil, berr
	}
	defer restore()
	obj, err := fs.resolve(h)
	if err != nil {
		return backend.PathConf{}, nil, err
	}
	defer obj.close()
	pc := backend.PathConf{
		LinkMax:         127, // glibc's LINUX_LINK_MAX, for file systems not listed
		NameMax:         backend.MaxNameLen,
		NoTrunc:         true,
		ChownRestricted: true,
		CaseInsensitive: false,
		CasePreserving:  true,
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(obj.fd, &sfs); err == nil {
		if m, ok := linkMax[int64(sfs.Type)]; ok {
			pc.LinkMax = m
		}
		if sfs.Namelen > 0 && sfs.Namelen < backend.MaxNameLen {
			pc.NameMax = uint32(sfs.Namelen)
		}
	}
	return pc, fs.attrPtr(c, &obj.st), nil
}
