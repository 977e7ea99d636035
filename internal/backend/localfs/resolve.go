package localfs

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/handle"
)

// resolveFlags confine every openat2 call to the directory it starts from.
// RESOLVE_NO_XDEV keeps the server off other file systems mounted inside
// the export.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS |
	unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// maxHintDepth bounds the hint chain walked for one handle. A longer chain
// is a loop in stale hints (or a tree deeper than any path the kernel
// accepts), so the search takes over.
const maxHintDepth = 2048

// maxChunk is the longest relative path passed to one openat2 call. Deeper
// paths are opened in several steps because the kernel rejects paths of
// PATH_MAX (4096) bytes or more.
const maxChunk = 3800

// errMismatch means a path led to an object other than the one a handle
// names: another inode, another generation, or a removed object.
var errMismatch = errors.New("object does not match handle")

// object is a resolved file system object, open as an O_PATH descriptor.
type object struct {
	fd    int
	id    handle.ID
	st    unix.Stat_t // taken when the object was resolved
	names []string    // path from the export root, empty for the root
}

func (o *object) close() {
	if o != nil && o.fd >= 0 {
		unix.Close(o.fd)
		o.fd = -1
	}
}

func (o *object) isDir() bool { return o.st.Mode&unix.S_IFMT == unix.S_IFDIR }

// checkName rejects names that are not a single path component. Callers
// that accept "." and ".." (only Lookup) handle them before calling.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name: %w", unix.EINVAL)
	case len(name) > backend.MaxNameLen:
		return fmt.Errorf("name of %d bytes: %w", len(name), unix.ENAMETOOLONG)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("name %q contains '/' or NUL: %w", name, unix.EINVAL)
	case name == "." || name == "..":
		return fmt.Errorf("name %q: %w", name, unix.EINVAL)
	}
	return nil
}

// checkNewName is checkName for names that an operation creates, where "."
// and ".." already exist.
func checkNewName(name string) error {
	if name == "." || name == ".." {
		return fmt.Errorf("name %q: %w", name, unix.EEXIST)
	}
	return checkName(name)
}

// retryFD runs open until it succeeds or fails with an error other than a
// full descriptor table, shrinking the descriptor caches between tries.
// EAGAIN, which openat2 returns when a rename raced with RESOLVE_BENEATH
// resolution, is also retried.
func (fs *FS) retryFD(open func() (int, error)) (int, error) {
	for try := 0; ; try++ {
		fd, err := open()
		if err == nil {
			return fd, nil
		}
		switch {
		case err == unix.EAGAIN && try < 16:
			continue
		case (err == unix.EMFILE || err == unix.ENFILE) && try < 4:
			fs.shrinkCaches()
			continue
		}
		return -1, err
	}
}

// openBeneath opens path relative to dirfd without following symlinks,
// leaving dirfd or crossing a mount point. With O_PATH, a trailing symlink
// is opened itself.
func (fs *FS) openBeneath(dirfd int, path string, flags int) (int, error) {
	if len(path) > maxChunk {
		return -1, unix.ENAMETOOLONG
	}
	var buf pathBuf
	buf.joinNames([]string{path})
	return fs.openBeneathBuf(dirfd, &buf, flags)
}

// openBeneathBuf is openBeneath for a path already in a pathBuf.
func (fs *FS) openBeneathBuf(dirfd int, path *pathBuf, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Resolve: resolveFlags,
	}
	return fs.retryFD(func() (int, error) { return openat2Path(dirfd, path, &how) })
}

// openNames opens the path names below the root with flags, in chunks of
// at most maxChunk bytes.
func (fs *FS) openNames(names []string, flags int) (int, error) {
	if len(names) == 0 {
		return fs.openBeneath(fs.rootFD, ".", flags)
	}
	var buf pathBuf
	dirfd, owned := fs.rootFD, -1
	for len(names) > 0 {
		n, size := 0, 0
		for n < len(names) && (n == 0 || size+len(names[n])+1 <= maxChunk) {
			size += len(names[n]) + 1
			n++
		}
		buf.joinNames(names[:n])
		names = names[n:]
		f := flags
		if len(names) > 0 {
			f = unix.O_PATH | unix.O_DIRECTORY
		}
		fd, err := fs.openBeneathBuf(dirfd, &buf, f)
		if owned >= 0 {
			unix.Close(owned)
		}
		if err != nil {
			return -1, err
		}
		dirfd, owned = fd, fd
	}
	return dirfd, nil
}

// probeGenSource picks the generation source for the file system of fd.
func probeGenSource(fd int) genSource {
	if _, _, err := unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH); err == nil {
		return genKernelHandle
	}
	var stx unix.Statx_t
	err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME, &stx)
	if err == nil && stx.Mask&unix.STATX_BTIME != 0 {
		return genBirthTime
	}
	// NOTE: without kernel handles or birth times a reused inode number is
	// indistinguishable from the object that had it before.
	return genNone
}

// generation returns the generation of the object open as fd.
func (fs *FS) generation(fd int) (uint64, error) {
	return fs.generationAt(fd, "", unix.AT_EMPTY_PATH)
}

// generationAt returns the generation of name in dirfd, without following
// a trailing symlink.
func (fs *FS) generationAt(dirfd int, name string, flags int) (uint64, error) {
	switch fs.gen {
	case genKernelHandle:
		return kernelHandleHash(dirfd, name, flags)
	case genBirthTime:
		var stx unix.Statx_t
		err := statxName(dirfd, name, flags|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME, &stx)
		if err != nil {
			return 0, err
		}
		return uint64(stx.Btime.Sec)<<30 ^ uint64(stx.Btime.Nsec), nil
	}
	return 0, nil
}

// decode parses a handle issued by this export.
func (fs *FS) decode(h []byte) (handle.ID, error) {
	if len(h) > backend.MaxHandleSize {
		return handle.ID{}, fmt.Errorf("handle of %d bytes: %w", len(h), backend.ErrBadHandle)
	}
	return handle.Decode(fs.key, h)
}

func (fs *FS) encode(id handle.ID) []byte { return handle.Encode(fs.key, id) }

// resolve opens the object named by handle h as an O_PATH descriptor.
func (fs *FS) resolve(h []byte) (*object, error) {
	id, err := fs.decode(h)
	if err != nil {
		return nil, err
	}
	return fs.resolveID(id)
}

// resolveDir is resolve for a handle that must name a directory.
func (fs *FS) resolveDir(h []byte) (*object, error) {
	dir, err := fs.resolve(h)
	if err != nil {
		return nil, err
	}
	if !dir.isDir() {
		dir.close()
		return nil, unix.ENOTDIR
	}
	return dir, nil
}

// resolveID opens the object id: first along the path its hints give, then
// by searching the tree. It returns backend.ErrStale when the object is not
// in the export any more.
func (fs *FS) resolveID(id handle.ID) (*object, error) {
	if id.Ino == fs.rootIno {
		if id.Gen != fs.rootGen {
			return nil, backend.ErrStale
		}
		return fs.openVerified(nil, id)
	}
	if names, ok := fs.paths.get(id); ok {
		if obj, err := fs.openVerified(names, id); err == nil {
			return obj, nil
		}
		// The cached path is out of date or leads to an inaccessible
		// directory. The hints decide, as without the cache.
		fs.paths.drop(id)
	}
	if names, ok := fs.hintPath(id.Ino); ok {
		obj, err := fs.openVerified(names, id)
		if err == nil {
			fs.paths.put(id, names)
			return obj, nil
		}
		if !searchable(err) {
			return nil, err
		}
	}
	obj, err := fs.search(id)
	if err == nil {
		fs.paths.put(id, obj.names)
	}
	return obj, err
}

// searchable reports whether a failed open along a hint path may mean the
// hints are out of date, so that a search of the tree may still find the
// object.
func searchable(err error) bool {
	return errors.Is(err, errMismatch) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) ||
		errors.Is(err, unix.EXDEV)
}

// hintPath rebuilds the path of ino from the hints, or reports false when
// a hint is missing or the chain does not reach the root.
func (fs *FS) hintPath(ino uint64) ([]string, bool) {
	var rev []string
	for cur := ino; cur != fs.rootIno; {
		if len(rev) >= maxHintDepth {
			return nil, false
		}
		h, ok := fs.hints.Get(cur)
		if !ok || checkName(h.Name) != nil {
			return nil, false
		}
		rev = append(rev, h.Name)
		cur = h.Parent
	}
	names := make([]string, len(rev))
	for i, n := range rev {
		names[len(rev)-1-i] = n
	}
	return names, true
}

// openVerified opens names below the root as O_PATH and checks that it is
// the object id.
func (fs *FS) openVerified(names []string, id handle.ID) (*object, error) {
	fd, err := fs.openNames(names, unix.O_PATH)
	if err != nil {
		return nil, err
	}
	obj := &object{fd: fd, id: id, names: names}
	if err := fs.verify(obj); err != nil {
		obj.close()
		return nil, err
	}
	return obj, nil
}

// verify stats obj and checks its inode number, link count and generation
// against obj.id.
func (fs *FS) verify(obj *object) error {
	if err := unix.Fstat(obj.fd, &obj.st); err != nil {
		return err
	}
	if obj.st.Ino != obj.id.Ino || obj.st.Dev != fs.rootDev || obj.st.Nlink == 0 {
		return errMismatch
	}
	gen, err := fs.generation(obj.fd)
	if err != nil {
		return err
	}
	if gen != obj.id.Gen {
		return errMismatch
	}
	return nil
}

// openChild opens name in dir as O_PATH and returns it with its id.
// A mount point inside the export gives EACCES.
func (fs *FS) openChild(dir *object, name string) (*object, error) {
	fd, err := fs.openBeneath(dir.fd, name, unix.O_PATH)
	if err != nil {
		if err == unix.EXDEV {
			return nil, fmt.Errorf("%q is a mount point, which is not served: %w", name, unix.EACCES)
		}
		return nil, err
	}
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
	return obj, nil
}

// statChild stats name in dirfd into st without opening it and returns its
// id. A mount point gives EACCES, as in openChild. The statx mount-root flag
// also catches a bind mount from the export's own file system, where the
// device numbers match.
//
// NOTE: name can be replaced between the statx and the generation read, and
// the id then pairs one object's inode number with another's generation.
// Such a handle is stale at its first use, never another object's.
func (fs *FS) statChild(dirfd int, name string, st *unix.Stat_t) (handle.ID, error) {
	var stx unix.Statx_t
	err := statxName(dirfd, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_BASIC_STATS, &stx)
	if err != nil {
		return handle.ID{}, err
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		// Kernels before 5.8 do not report mount roots. Opening the name
		// with RESOLVE_NO_XDEV still rejects every mount point.
		return fs.openChildID(dirfd, name, st)
	}
	statFromStatx(st, &stx)
	if stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0 || st.Dev != fs.rootDev {
		return handle.ID{}, fmt.Errorf("%q is a mount point, which is not served: %w", name, unix.EACCES)
	}
	gen, err := fs.generationAt(dirfd, name, 0)
	if err != nil {
		return handle.ID{}, err
	}
	return handle.ID{Ino: st.Ino, Gen: gen}, nil
}

// openChildID is statChild by opening name, for kernels whose statx does
// not report mount roots.
func (fs *FS) openChildID(dirfd int, name string, st *unix.Stat_t) (handle.ID, error) {
	obj, err := fs.openChild(&object{fd: dirfd}, name)
	if err != nil {
		return handle.ID{}, err
	}
	defer obj.close()
	*st = obj.st
	return obj.id, nil
}

// statFromStatx fills st from the basic fields of stx, encoding device
// numbers as fstat does.
func statFromStatx(st *unix.Stat_t, stx *unix.Statx_t) {
	*st = unix.Stat_t{
		Dev:     unix.Mkdev(stx.Dev_major, stx.Dev_minor),
		Ino:     stx.Ino,
		Nlink:   uint64(stx.Nlink),
		Mode:    uint32(stx.Mode),
		Uid:     stx.Uid,
		Gid:     stx.Gid,
		Rdev:    unix.Mkdev(stx.Rdev_major, stx.Rdev_minor),
		Size:    int64(stx.Size),
		Blksize: int64(stx.Blksize),
		Blocks:  int64(stx.Blocks),
		Atim:    unix.Timespec{Sec: stx.Atime.Sec, Nsec: int64(stx.Atime.Nsec)},
		Mtim:    unix.Timespec{Sec: stx.Mtime.Sec, Nsec: int64(stx.Mtime.Nsec)},
		Ctim:    unix.Timespec{Sec: stx.Ctime.Sec, Nsec: int64(stx.Ctime.Nsec)},
	}
}

func childNames(parent []string, name string) []string {
	names := make([]string, len(parent)+1)
	copy(names, parent)
	names[len(parent)] = name
	return names
}

// putHint records that ino was last seen as name in directory parent. It
// skips the store write when the hint is already there.
func (fs *FS) putHint(ino, parent uint64, name string) {
	if ino == fs.rootIno {
		return
	}
	if h, ok := fs.hints.Get(ino); ok && h.Parent == parent && h.Name == name {
		return
	}
	fs.hints.Put(ino, handle.Hint{Parent: parent, Name: name})
}

// dropHint deletes the hint of ino if it still points at name in parent,
// after that name was removed or replaced.
func (fs *FS) dropHint(ino, parent uint64, name string) {
	if h, ok := fs.hints.Get(ino); ok && h.Parent == parent && h.Name == name {
		fs.hints.Delete(ino)
	}
}

// searchDir is a directory queued by search.
type searchDir struct {
	parent *searchDir
	name   string
	ino    uint64
}

func (d *searchDir) names() []string {
	var rev []string
	for p := d; p.parent != nil; p = p.parent {
		rev = append(rev, p.name)
	}
	names := make([]string, len(rev))
	for i, n := range rev {
		names[len(rev)-1-i] = n
	}
	return names
}

// search walks the export breadth first for an entry with inode number
// id.Ino and the right generation. It records hints for the object and its
// ancestors when it finds it, and returns backend.ErrStale otherwise.
// Directories it cannot open (removed meanwhile, no permission, mount
// points) are skipped.
//
// NOTE: a handle of an object that is gone costs a walk of the whole tree
// on every use; there is no negative cache yet.
func (fs *FS) search(id handle.ID) (*object, error) {
	bufp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bufp)
	queue := []*searchDir{{ino: fs.rootIno}}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		dfd, err := fs.openNames(d.names(), unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			continue
		}
		// A directory that fails to list part way is skipped, like one
		// that fails to open.
		var found *object
		readDirents(dfd, *bufp, func(e dirent) bool {
			if e.name == "." || e.name == ".." {
				return true
			}
			if e.ino == id.Ino {
				if obj, ok := fs.tryCandidate(dfd, d, e.name, id); ok {
					found = obj
					return false
				}
			}
			if e.typ == unix.DT_DIR || e.typ == unix.DT_UNKNOWN {
				queue = append(queue, &searchDir{parent: d, name: e.name, ino: e.ino})
			}
			return true
		})
		unix.Close(dfd)
		if found != nil {
			fs.putHint(id.Ino, d.ino, found.names[len(found.names)-1])
			for p := d; p.parent != nil; p = p.parent {
				fs.putHint(p.ino, p.parent.ino, p.name)
			}
			return found, nil
		}
	}
	return nil, fmt.Errorf("inode %d not found in export: %w", id.Ino, backend.ErrStale)
}

// tryCandidate opens name in directory dfd and returns it if it is id.
func (fs *FS) tryCandidate(dfd int, d *searchDir, name string, id handle.ID) (*object, bool) {
	fd, err := fs.openBeneath(dfd, name, unix.O_PATH)
	if err != nil {
		return nil, false
	}
	obj := &object{fd: fd, id: id, names: childNames(d.names(), name)}
	if fs.verify(obj) != nil {
		obj.close()
		return nil, false
	}
	return obj, true
}
