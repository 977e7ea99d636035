package localfs

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/handle"
)

// Default modes for objects created without a mode attribute. Clients
// normally send one. Exclusive creates get defaultExclusiveMode until the
// client's follow-up SETATTR sets the real mode.
const (
	defaultFileMode      = 0o644
	defaultDirMode       = 0o755
	defaultExclusiveMode = 0o600
)

// entryOp holds the directory of an entry operation and its attributes
// before the operation. synced is set when the operation made its change
// durable by syncing the new object, which also commits its entry.
type entryOp struct {
	dir    *object
	wcc    backend.Wcc
	synced bool
}

// beginEntryOp resolves dir for an operation on one of its entries.
func (fs *FS) beginEntryOp(dirH []byte) (*entryOp, error) {
	dir, err := fs.resolveDir(dirH)
	if err != nil {
		return nil, err
	}
	return &entryOp{dir: dir, wcc: backend.Wcc{Before: wccOf(&dir.st)}}, nil
}

// finish ends an entry operation that returned err. After a successful
// operation it syncs the directory, unless the new object was synced,
// because RFC 1813 (section 1.6) makes every procedure that changes a
// directory synchronous.
func (op *entryOp) finish(fs *FS, c *backend.Cred, err error) (backend.Wcc, error) {
	if err == nil && !op.synced {
		err = fs.syncDir(op.dir)
	}
	return op.end(fs, c), err
}

// syncDir commits the entries of dir to stable storage with fsync. When dir
// cannot be opened for fsync, because the caller cannot read it (mode 0333)
// or no descriptor is free, the whole file system is synced instead: the
// change is already made and must not be reported as failed.
func (fs *FS) syncDir(dir *object) error {
	fd, err := fs.retryFD(func() (int, error) {
		return unix.Openat(dir.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err == nil {
		err = unix.Fsync(fd)
		unix.Close(fd)
		fs.dirSyncs.Add(1)
		return err
	}
	fs.wholeSyncs.Add(1)
	if fs.syncFD < 0 {
		unix.Sync()
		return nil
	}
	return unix.Syncfs(fs.syncFD)
}

// end takes the directory's attributes after the operation, closes it and
// returns its Wcc.
func (op *entryOp) end(fs *FS, c *backend.Cred) backend.Wcc {
	op.wcc.After = fs.statAttr(c, op.dir.fd)
	op.dir.close()
	return op.wcc
}

// finishNew opens the new entry name in dir, applies sa, records its hint
// and returns its handle and attributes.
func (fs *FS) finishNew(c *backend.Cred, op *entryOp, name string, sa backend.SetAttr) ([]byte, *backend.Attr, error) {
	dir := op.dir
	obj, err := fs.openChild(dir, name)
	if err != nil {
		return nil, nil, err
	}
	defer obj.close()
	fs.putHint(obj.id.Ino, dir.id.Ino, name)
	if err := fs.applyAttr(c, obj, sa); err != nil {
		return fs.encode(obj.id), fs.statAttr(c, obj.fd), err
	}
	// The attributes were set after the entry was made, possibly after
	// another call's fsync committed the entry, so the parent's sync alone
	// may miss them. A new directory is synced itself instead, which
	// commits its entry in the parent too (see syncNew).
	// NOTE: symlinks and device nodes cannot be opened for fsync, so only
	// the parent's sync covers their attributes, and whether it does
	// depends on the file system's journal.
	if obj.isDir() {
		if err := fs.syncDir(obj); err != nil {
			return fs.encode(obj.id), fs.statAttr(c, obj.fd), err
		}
		op.synced = true
	}
	return fs.encode(obj.id), fs.statAttr(c, obj.fd), nil
}

// syncNew fsyncs a newly created regular file after its attributes were
// set, for the same reason finishNew syncs a new directory. On ext4 and
// XFS the fsync commits the journal up to the file's last change, which
// includes its earlier entry in the parent, and btrfs logs the entries of
// a new file with it. The parent then needs no fsync of its own, which on
// ext4 would force one more journal commit whenever other calls have
// changes pending.
func (fs *FS) syncNew(op *entryOp, obj *object) error {
	fs.fileSyncs.Add(1)
	if err := unix.Fsync(obj.fd); err != nil {
		return err
	}
	op.synced = true
	return nil
}

// Create creates a regular file. Unchecked and guarded creates set exactly
// the mode asked for, regardless of the process umask. An unchecked create
// of an existing regular file only applies the size, as knfsd does.
//
// An exclusive create stores the verifier in the new file's times as the
// Linux nfsd does: the first four bytes (native byte order, top bit
// cleared) become the mtime seconds and the last four the atime seconds.
// A retry finds a file of size 0 with those times and succeeds with the
// same handle; any other existing file gives EEXIST.
func (fs *FS) Create(ctx context.Context, c *backend.Cred, dirH []byte, name string, args backend.CreateArgs) ([]byte, *backend.Attr, backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return nil, nil, backend.Wcc{}, berr
	}
	defer restore()
	if err := checkNewName(name); err != nil {
		return nil, nil, backend.Wcc{}, err
	}
	op, err := fs.beginEntryOp(dirH)
	if err != nil {
		return nil, nil, backend.Wcc{}, err
	}
	var h []byte
	var attr *backend.Attr
	switch args.Mode {
	case backend.CreateUnchecked, backend.CreateGuarded:
		h, attr, err = fs.createChecked(c, op, name, args)
	case backend.CreateExclusive:
		h, attr, err = fs.createExclusive(c, op, name, args.Verifier)
	default:
		err = fmt.Errorf("create mode %d: %w", args.Mode, unix.EINVAL)
	}
	wcc, err := op.finish(fs, c, err)
	return h, attr, wcc, err
}

// openNew creates name in dir with O_EXCL and returns the new file open
// for reading and writing.
func (fs *FS) openNew(dir *object, name string, mode uint32) (int, error) {
	return fs.retryFD(func() (int, error) {
		return unix.Openat(dir.fd, name, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	})
}

// adoptNew wraps a descriptor of a file just created as name in dir.
func (fs *FS) adoptNew(dir *object, name string, fd int) (*object, error) {
	obj := &object{fd: fd, names: childNames(dir.names, name)}
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
	fs.putHint(obj.id.Ino, dir.id.Ino, name)
	return obj, nil
}

// keepOpen moves the descriptor of a new file into the open-file cache,
// where the WRITE calls that usually follow a CREATE find it.
func (fs *FS) keepOpen(obj *object) {
	f := fs.files.add(obj.id, obj.fd, true)
	fs.files.release(f)
	obj.fd = -1
}

func (fs *FS) createChecked(c *backend.Cred, op *entryOp, name string, args backend.CreateArgs) ([]byte, *backend.Attr, error) {
	dir := op.dir
	sa := args.Attr
	mode := uint32(defaultFileMode)
	if sa.Mode != nil {
		mode = *sa.Mode & 0o7777
	}
	fd, err := fs.openNew(dir, name, mode)
	if err == unix.EEXIST && args.Mode == backend.CreateUnchecked {
		return fs.createExisting(c, dir, name, sa.Size)
	}
	if err != nil {
		return nil, nil, err
	}
	obj, err := fs.adoptNew(dir, name, fd)
	if err != nil {
		return nil, nil, err
	}
	defer obj.close()

	if sa.Size != nil {
		if err := unix.Ftruncate(obj.fd, int64(min(*sa.Size, 1<<63-1))); err != nil {
			return fs.encode(obj.id), fs.statAttr(c, obj.fd), err
		}
		sa.Size = nil
	}
	// Set the mode explicitly because the umask may have cleared bits.
	sa.Mode = &mode
	if err := fs.applyAttr(c, obj, sa); err != nil {
		return fs.encode(obj.id), fs.statAttr(c, obj.fd), err
	}
	if err := fs.syncNew(op, obj); err != nil {
		return fs.encode(obj.id), fs.statAttr(c, obj.fd), err
	}
	attr := fs.statAttr(c, obj.fd)
	fs.keepOpen(obj)
	return fs.encode(obj.id), attr, nil
}

// createExisting handles an unchecked create of an existing name.
func (fs *FS) createExisting(c *backend.Cred, dir *object, name string, size *uint64) ([]byte, *backend.Attr, error) {
	obj, err := fs.openChild(dir, name)
	if err != nil {
		return nil, nil, err
	}
	defer obj.close()
	if obj.st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, fmt.Errorf("%q exists and is not a regular file: %w", name, unix.EEXIST)
	}
	fs.putHint(obj.id.Ino, dir.id.Ino, name)
	if size != nil {
		if err := fs.truncate(c, obj, *size); err != nil {
			return fs.encode(obj.id), fs.statAttr(c, obj.fd), err
		}
	}
	return fs.encode(obj.id), fs.statAttr(c, obj.fd), nil
}

// exclusiveTimes splits an exclusive create verifier into the mtime and
// atime seconds that store it.
func exclusiveTimes(v [8]byte) (mtime, atime int64) {
	return int64(binary.NativeEndian.Uint32(v[0:4]) & 0x7fffffff),
		int64(binary.NativeEndian.Uint32(v[4:8]) & 0x7fffffff)
}

func (fs *FS) createExclusive(c *backend.Cred, op *entryOp, name string, verifier [8]byte) ([]byte, *backend.Attr, error) {
	dir := op.dir
	mtime, atime := exclusiveTimes(verifier)
	fd, err := fs.openNew(dir, name, defaultExclusiveMode)

	// An existing file is a retry of this create if it still has the
	// verifier in its times.
	if err == unix.EEXIST {
		obj, err := fs.openChild(dir, name)
		if err != nil {
			return nil, nil, err
		}
		defer obj.close()
		st := &obj.st
		if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 || st.Mtim.Sec != mtime || st.Atim.Sec != atime {
			return nil, nil, fmt.Errorf("%q exists with another verifier: %w", name, unix.EEXIST)
		}
		fs.putHint(obj.id.Ino, dir.id.Ino, name)
		return fs.encode(obj.id), fs.attrPtr(c, st), nil
	}
	if err != nil {
		return nil, nil, err
	}

	obj, err := fs.adoptNew(dir, name, fd)
	if err != nil {
		return nil, nil, err
	}
	defer obj.close()
	if err := chmodFD(obj.fd, defaultExclusiveMode); err != nil {
		return fs.encode(obj.id), fs.statAttr(c, obj.fd), err
	}
	ts := []unix.Timespec{{Sec: atime}, {Sec: mtime}}
	if err := unix.UtimesNanoAt(obj.fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
		return fs.encode(obj.id), fs.statAttr(c, obj.fd), err
	}
	// A retry after a crash finds the file by the verifier in its times,
	// so they must be on disk before the reply.
	if err := fs.syncNew(op, obj); err != nil {
		return fs.encode(obj.id), fs.statAttr(c, obj.fd), err
	}
	attr := fs.statAttr(c, obj.fd)
	fs.keepOpen(obj)
	return fs.encode(obj.id), attr, nil
}

// Mkdir creates a directory with exactly the mode asked for. A setgid bit
// inherited from the parent directory is kept, as the kernel sets it.
func (fs *FS) Mkdir(ctx context.Context, c *backend.Cred, dirH []byte, name string, sa backend.SetAttr) ([]byte, *backend.Attr, backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return nil, nil, backend.Wcc{}, berr
	}
	defer restore()
	if err := checkNewName(name); err != nil {
		return nil, nil, backend.Wcc{}, err
	}
	op, err := fs.beginEntryOp(dirH)
	if err != nil {
		return nil, nil, backend.Wcc{}, err
	}
	mode := uint32(defaultDirMode)
	if sa.Mode != nil {
		mode = *sa.Mode & 0o7777
	}
	if op.dir.st.Mode&unix.S_ISGID != 0 {
		mode |= unix.S_ISGID
	}
	sa.Mode = &mode
	var h []byte
	var attr *backend.Attr
	err = unix.Mkdirat(op.dir.fd, name, mode)
	if err == nil {
		h, attr, err = fs.finishNew(c, op, name, sa)
	}
	wcc, err := op.finish(fs, c, err)
	return h, attr, wcc, err
}

// Symlink creates a symlink to target. The target is stored as it is and
// never followed by the server.
func (fs *FS) Symlink(ctx context.Context, c *backend.Cred, dirH []byte, name, target string, sa backend.SetAttr) ([]byte, *backend.Attr, backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return nil, nil, backend.Wcc{}, berr
	}
	defer restore()
	if err := checkNewName(name); err != nil {
		return nil, nil, backend.Wcc{}, err
	}
	if len(target) > backend.MaxPathLen {
		return nil, nil, backend.Wcc{}, fmt.Errorf("symlink target of %d bytes: %w", len(target), unix.ENAMETOOLONG)
	}
	if strings.IndexByte(target, 0) >= 0 {
		return nil, nil, backend.Wcc{}, fmt.Errorf("symlink target contains NUL: %w", unix.EINVAL)
	}
	op, err := fs.beginEntryOp(dirH)
	if err != nil {
		return nil, nil, backend.Wcc{}, err
	}
	sa.Mode = nil
	var h []byte
	var attr *backend.Attr
	err = unix.Symlinkat(target, op.dir.fd, name)
	if err == nil {
		h, attr, err = fs.finishNew(c, op, name, sa)
	}
	wcc, err := op.finish(fs, c, err)
	return h, attr, wcc, err
}

// Mknod creates a FIFO, socket or device node. Device nodes need
// CAP_MKNOD, so an unprivileged server gets EPERM from the kernel.
func (fs *FS) Mknod(ctx context.Context, c *backend.Cred, dirH []byte, name string, typ backend.FileType, major, minor uint32, sa backend.SetAttr) ([]byte, *backend.Attr, backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return nil, nil, backend.Wcc{}, berr
	}
	defer restore()
	if err := checkNewName(name); err != nil {
		return nil, nil, backend.Wcc{}, err
	}
	var ifmt uint32
	var dev uint64
	switch typ {
	case backend.TypeFIFO:
		ifmt = unix.S_IFIFO
	case backend.TypeSocket:
		ifmt = unix.S_IFSOCK
	case backend.TypeBlock:
		ifmt, dev = unix.S_IFBLK, unix.Mkdev(major, minor)
	case backend.TypeChar:
		ifmt, dev = unix.S_IFCHR, unix.Mkdev(major, minor)
	default:
		return nil, nil, backend.Wcc{}, fmt.Errorf("mknod of type %d: %w", typ, backend.ErrBadType)
	}

	op, err := fs.beginEntryOp(dirH)
	if err != nil {
		return nil, nil, backend.Wcc{}, err
	}
	mode := uint32(defaultFileMode)
	if sa.Mode != nil {
		mode = *sa.Mode & 0o7777
	}
	sa.Mode = &mode
	var h []byte
	var attr *backend.Attr
	err = unix.Mknodat(op.dir.fd, name, ifmt|mode, int(dev))
	if err == nil {
		h, attr, err = fs.finishNew(c, op, name, sa)
	}
	wcc, err := op.finish(fs, c, err)
	return h, attr, wcc, err
}

// forget drops what the backend keeps about the object ino after its
// entry name in parent was removed or replaced. st is the object's stat
// from before. An object with no other link is gone.
func (fs *FS) forget(ino, parent uint64, name string, st *unix.Stat_t) {
	lastLink := st.Nlink <= 1 || st.Mode&unix.S_IFMT == unix.S_IFDIR
	if lastLink {
		fs.hints.Delete(ino)
		fs.files.evictIno(ino)
		return
	}
	fs.dropHint(ino, parent, name)
}

// Remove removes a non-directory entry. The kernel's error for a
// directory (EISDIR) is returned as it is.
func (fs *FS) Remove(ctx context.Context, c *backend.Cred, dirH []byte, name string) (backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return backend.Wcc{}, berr
	}
	defer restore()
	return fs.removeEntry(c, dirH, name, 0)
}

// Rmdir removes an empty directory. A non-empty one gives ENOTEMPTY.
func (fs *FS) Rmdir(ctx context.Context, c *backend.Cred, dirH []byte, name string) (backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return backend.Wcc{}, berr
	}
	defer restore()
	return fs.removeEntry(c, dirH, name, unix.AT_REMOVEDIR)
}

func (fs *FS) removeEntry(c *backend.Cred, dirH []byte, name string, flags int) (backend.Wcc, error) {
	if err := checkName(name); err != nil {
		return backend.Wcc{}, err
	}
	op, err := fs.beginEntryOp(dirH)
	if err != nil {
		return backend.Wcc{}, err
	}
	var st unix.Stat_t
	err = unix.Fstatat(op.dir.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil {
		err = unix.Unlinkat(op.dir.fd, name, flags)
		if err == unix.EEXIST {
			err = unix.ENOTEMPTY
		}
	}
	if err == nil {
		fs.forget(st.Ino, op.dir.id.Ino, name, &st)
	}
	return op.finish(fs, c, err)
}

// Rename moves fromName in fromDir to toName in toDir with renameat, which
// replaces an existing file or empty directory atomically. Replacing a
// non-empty directory gives ENOTEMPTY.
func (fs *FS) Rename(ctx context.Context, c *backend.Cred, fromDirH []byte, fromName string, toDirH []byte, toName string) (backend.Wcc, backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return backend.Wcc{}, backend.Wcc{}, berr
	}
	defer restore()
	if err := checkName(fromName); err != nil {
		return backend.Wcc{}, backend.Wcc{}, err
	}
	if err := checkName(toName); err != nil {
		return backend.Wcc{}, backend.Wcc{}, err
	}
	from, err := fs.beginEntryOp(fromDirH)
	if err != nil {
		return backend.Wcc{}, backend.Wcc{}, err
	}
	to, err := fs.beginEntryOp(toDirH)
	if err != nil {
		return from.end(fs, c), backend.Wcc{}, err
	}

	var src, dst unix.Stat_t
	err = unix.Fstatat(from.dir.fd, fromName, &src, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil {
		dstErr := unix.Fstatat(to.dir.fd, toName, &dst, unix.AT_SYMLINK_NOFOLLOW)
		err = unix.Renameat(from.dir.fd, fromName, to.dir.fd, toName)
		if err == unix.EEXIST {
			err = unix.ENOTEMPTY
		}
		if err == nil {
			if dstErr == nil && dst.Ino != src.Ino {
				fs.forget(dst.Ino, to.dir.id.Ino, toName, &dst)
			}
			if dstErr != nil || dst.Ino != src.Ino {
				fs.putHint(src.Ino, to.dir.id.Ino, toName)
			}
		}
	}
	// A rename across directories syncs both, because a file system
	// without one shared journal keeps each half of the change apart.
	if err == nil && from.dir.id != to.dir.id {
		err = fs.syncDir(from.dir)
	}
	toWcc, err := to.finish(fs, c, err)
	return from.end(fs, c), toWcc, err
}

// Link creates name in dir as a new link to the object h. It uses linkat
// with AT_EMPTY_PATH, which needs CAP_DAC_READ_SEARCH, and falls back to
// the /proc magic link of the object's descriptor otherwise.
func (fs *FS) Link(ctx context.Context, c *backend.Cred, h []byte, dirH []byte, name string) (*backend.Attr, backend.Wcc, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return nil, backend.Wcc{}, berr
	}
	defer restore()
	if err := checkNewName(name); err != nil {
		return nil, backend.Wcc{}, err
	}
	obj, err := fs.resolve(h)
	if err != nil {
		return nil, backend.Wcc{}, err
	}
	defer obj.close()
	op, err := fs.beginEntryOp(dirH)
	if err != nil {
		return nil, backend.Wcc{}, err
	}
	err = unix.Linkat(obj.fd, "", op.dir.fd, name, unix.AT_EMPTY_PATH)
	if err == unix.ENOENT && obj.st.Nlink > 0 {
		err = unix.Linkat(unix.AT_FDCWD, procPath(obj.fd), op.dir.fd, name, unix.AT_SYMLINK_FOLLOW)
	}
	if err == nil {
		if _, ok := fs.hints.Get(obj.id.Ino); !ok {
			fs.putHint(obj.id.Ino, op.dir.id.Ino, name)
		}
	}
	wcc, err := op.finish(fs, c, err)
	return fs.statAttr(c, obj.fd), wcc, err
}
