package localfs

import (
	"container/list"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/handle"
)

// fileShards is the number of independently locked parts of the open-file
// cache, so that READ and WRITE of different files do not contend.
const fileShards = 32

// cachedFile is an open descriptor of a regular file, shared by concurrent
// READ, WRITE and COMMIT calls. refs counts the users; an evicted file is
// closed when the last user releases it.
type cachedFile struct {
	id       handle.ID
	fd       int
	fdName   string // fd in decimal, for cachedBeneath on every hit
	writable bool
	refs     int
	evicted  bool
	elem     *list.Element
}

type fileShard struct {
	mu  sync.Mutex
	m   map[handle.ID]*cachedFile
	lru list.List // of *cachedFile, most recently used first
}

// fileCache is a bounded LRU of open file descriptors keyed by inode number
// and generation. Each shard holds the files of some inode numbers and has
// its own lock and capacity.
type fileCache struct {
	perShard int
	shards   [fileShards]fileShard
}

func newFileCache(capacity int) *fileCache {
	c := &fileCache{perShard: max(1, capacity/fileShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[handle.ID]*cachedFile)
	}
	return c
}

func (c *fileCache) shard(ino uint64) *fileShard { return &c.shards[ino%fileShards] }

// get returns the cached file id with a reference, or nil when it is not
// cached or not open for writing when write is set.
func (c *fileCache) get(id handle.ID, write bool) *cachedFile {
	s := c.shard(id.Ino)
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.m[id]
	if f == nil || (write && !f.writable) {
		return nil
	}
	f.refs++
	s.lru.MoveToFront(f.elem)
	return f
}

// has reports whether file id is cached.
func (c *fileCache) has(id handle.ID) bool {
	s := c.shard(id.Ino)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[id] != nil
}

// add caches fd as file id and returns the entry with a reference. If
// another call cached the same file meanwhile with enough access, fd is
// closed and that entry is returned. add takes ownership of fd.
func (c *fileCache) add(id handle.ID, fd int, writable bool) *cachedFile {
	s := c.shard(id.Ino)
	s.mu.Lock()
	var toClose []int
	if old := s.m[id]; old != nil {
		if old.writable || !writable {
			old.refs++
			s.lru.MoveToFront(old.elem)
			s.mu.Unlock()
			unix.Close(fd)
			return old
		}
		toClose = s.removeLocked(old, toClose)
	}
	f := &cachedFile{id: id, fd: fd, fdName: strconv.Itoa(fd), writable: writable, refs: 1}
	f.elem = s.lru.PushFront(f)
	s.m[id] = f
	for s.lru.Len() > c.perShard {
		toClose = s.removeLocked(s.lru.Back().Value.(*cachedFile), toClose)
	}
	s.mu.Unlock()
	closeFDs(toClose)
	return f
}

// removeLocked drops f from the shard. Unless f is in use, it appends f's
// descriptor to toClose, which the caller closes after unlocking the
// shard. The last close of a removed file frees its blocks in the kernel,
// and the other files of the shard must not wait for that.
func (s *fileShard) removeLocked(f *cachedFile, toClose []int) []int {
	if f.evicted {
		return toClose
	}
	f.evicted = true
	s.lru.Remove(f.elem)
	delete(s.m, f.id)
	if f.refs == 0 {
		toClose = append(toClose, f.fd)
	}
	return toClose
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// release drops the reference get or add returned.
func (c *fileCache) release(f *cachedFile) {
	s := c.shard(f.id.Ino)
	s.mu.Lock()
	f.refs--
	last := f.refs == 0 && f.evicted
	s.mu.Unlock()
	if last {
		unix.Close(f.fd)
	}
}

// evict drops the cached file id, for example after its object turned out
// to be removed.
func (c *fileCache) evict(id handle.ID) {
	s := c.shard(id.Ino)
	var toClose [1]int
	s.mu.Lock()
	fds := toClose[:0]
	if f := s.m[id]; f != nil {
		fds = s.removeLocked(f, fds)
	}
	s.mu.Unlock()
	closeFDs(fds)
}

// evictIno drops every cached file with inode number ino, whatever its
// generation, so that a removed file's space is freed.
func (c *fileCache) evictIno(ino uint64) {
	s := c.shard(ino)
	var toClose [1]int
	fds := toClose[:0]
	s.mu.Lock()
	for id, f := range s.m {
		if id.Ino == ino {
			fds = s.removeLocked(f, fds)
		}
	}
	s.mu.Unlock()
	closeFDs(fds)
}

// shrink drops the older half of every shard, to free descriptors when
// the process runs out of them.
func (c *fileCache) shrink() {
	for i := range c.shards {
		s := &c.shards[i]
		var fds []int
		s.mu.Lock()
		for n := (s.lru.Len() + 1) / 2; n > 0; n-- {
			fds = s.removeLocked(s.lru.Back().Value.(*cachedFile), fds)
		}
		s.mu.Unlock()
		closeFDs(fds)
	}
}

func (c *fileCache) closeAll() {
	for i := range c.shards {
		s := &c.shards[i]
		var fds []int
		s.mu.Lock()
		for s.lru.Len() > 0 {
			fds = s.removeLocked(s.lru.Back().Value.(*cachedFile), fds)
		}
		s.mu.Unlock()
		closeFDs(fds)
	}
}

// len returns the number of cached files, for tests.
func (c *fileCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

func (fs *FS) shrinkCaches() {
	fs.files.shrink()
	fs.dirs.shrink()
}

// openFile returns an open descriptor of the regular file named by h, from
// the cache or newly opened, with a reference the caller releases.
func (fs *FS) openFile(c *backend.Cred, h []byte, write bool) (*cachedFile, error) {
	id, err := fs.decode(h)
	if err != nil {
		return nil, err
	}
	if f := fs.files.get(id, write); f != nil {
		if !fs.cachedBeneath(f.fdName) {
			// Moved out of the export, or its path is unknown: drop it and
			// resolve the handle beneath the root again, which gives
			// ErrStale for a file that is now outside.
			fs.files.release(f)
			fs.files.evict(id)
		} else if err := fs.mayUseCached(c, f, write); err != nil {
			fs.files.release(f)
			return nil, err
		} else {
			return f, nil
		}
	}
	for try := 0; ; try++ {
		obj, err := fs.resolveID(id)
		if err != nil {
			return nil, err
		}
		f, err := fs.openFileObj(c, obj, write)
		obj.close()
		if errors.Is(err, errRaced) && try < 3 {
			continue
		}
		return f, err
	}
}

// errRaced means the path of an object led elsewhere between resolving it
// and opening it for I/O, because of a concurrent rename or removal.
var errRaced = fmt.Errorf("object moved during the call: %w", backend.ErrStale)

// openFileObj is openFile for a resolved object.
func (fs *FS) openFileObj(c *backend.Cred, obj *object, write bool) (*cachedFile, error) {
	if f := fs.files.get(obj.id, write); f != nil {
		if err := fs.mayUseCached(c, f, write); err != nil {
			fs.files.release(f)
			return nil, err
		}
		return f, nil
	}
	switch obj.st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return nil, unix.EISDIR
	default:
		return nil, fmt.Errorf("not a regular file: %w", unix.EINVAL)
	}
	fd, writable, err := fs.openData(obj, write, fs.ownerUID(c))
	if err != nil {
		return nil, err
	}
	return fs.files.add(obj.id, fd, writable), nil
}

// openData opens the regular file obj for I/O: read-write when allowed,
// else read-only or write-only as needed. Sometimes owner (the serving
// user, or the caller in passthrough mode) owns the file but its mode
// denies the access, as with mode 0444 or 0111. Then the owner bits are
// added for the open and restored afterwards. knfsd also lets the owner
// override such modes, because clients check access at open(2).
//
// NOTE: while the owner bits are added, another process sees the wider
// mode, and a chmod by someone else in that window is overwritten by the
// restore. Overrides of the same inode are serialized.
func (fs *FS) openData(obj *object, write bool, owner uint32) (fd int, writable bool, err error) {
	fd, writable, err = fs.openDataModes(obj, write)
	if err != unix.EACCES || obj.st.Uid != owner {
		return fd, writable, err
	}

	lock := &overrideLocks[obj.id.Ino%uint64(len(overrideLocks))]
	lock.Lock()
	defer lock.Unlock()
	var st unix.Stat_t
	if err := unix.Fstat(obj.fd, &st); err != nil {
		return -1, false, err
	}
	mode := st.Mode & 0o7777
	want := uint32(unix.S_IRUSR)
	if write {
		want |= unix.S_IWUSR
	}
	if err := chmodFD(obj.fd, mode|want); err != nil {
		return -1, false, unix.EACCES
	}
	fd, writable, err = fs.openDataModes(obj, write)
	if rerr := chmodFD(obj.fd, mode); rerr != nil && err == nil {
		unix.Close(fd)
		return -1, false, rerr
	}
	return fd, writable, err
}

var overrideLocks [64]sync.Mutex

// openDataModes opens obj read-write, falling back to the one access mode
// the call needs. It checks that the path still leads to obj.
func (fs *FS) openDataModes(obj *object, write bool) (int, bool, error) {
	const flags = unix.O_NONBLOCK | unix.O_NOCTTY
	fd, err := fs.openNames(obj.names, unix.O_RDWR|flags)
	writable := true
	switch {
	case err == unix.EACCES && write:
		fd, err = fs.openNames(obj.names, unix.O_WRONLY|flags)
	case err == unix.EACCES || err == unix.EROFS:
		fd, err = fs.openNames(obj.names, unix.O_RDONLY|flags)
		writable = false
	}
	if err != nil {
		if searchable(err) {
			return -1, false, fmt.Errorf("file moved while opening: %w", errRaced)
		}
		return -1, false, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, false, err
	}
	if st.Ino != obj.st.Ino || st.Dev != obj.st.Dev {
		unix.Close(fd)
		return -1, false, fmt.Errorf("file replaced while opening: %w", errRaced)
	}
	return fd, writable, nil
}
