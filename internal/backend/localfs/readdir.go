package localfs

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/handle"
)

// defaultReadDirEntries bounds a page when ReadDirArgs.MaxEntries is not
// positive.
const defaultReadDirEntries = 1024

// dirStream is an open directory positioned after the last entry returned,
// with the getdents64 records read but not returned yet.
type dirStream struct {
	fd   int
	bufp *[]byte
	rest []byte
}

func (s *dirStream) close() {
	unix.Close(s.fd)
	direntBufs.Put(s.bufp)
}

type streamKey struct {
	dir    handle.ID
	cookie uint64
}

// dirStreamCache keeps the open directories of listings in progress, keyed
// by directory and the cookie the next page starts at, so that sequential
// READDIR calls continue a stream instead of reopening and seeking.
type dirStreamCache struct {
	mu       sync.Mutex
	capacity int
	m        map[streamKey]*list.Element
	lru      list.List // of *cachedStream, most recent first
}

type cachedStream struct {
	key streamKey
	s   *dirStream
}

func newDirStreamCache(capacity int) *dirStreamCache {
	return &dirStreamCache{capacity: capacity, m: make(map[streamKey]*list.Element)}
}

// take removes and returns the stream for key, or nil.
func (c *dirStreamCache) take(key streamKey) *dirStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	if e == nil {
		return nil
	}
	c.lru.Remove(e)
	delete(c.m, key)
	return e.Value.(*cachedStream).s
}

// put stores s under key, closing the oldest streams over capacity.
func (c *dirStreamCache) put(key streamKey, s *dirStream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[key]; old != nil {
		c.lru.Remove(old)
		old.Value.(*cachedStream).s.close()
	}
	c.m[key] = c.lru.PushFront(&cachedStream{key: key, s: s})
	for c.lru.Len() > c.capacity {
		c.removeLocked(c.lru.Back())
	}
}

func (c *dirStreamCache) removeLocked(e *list.Element) {
	cs := e.Value.(*cachedStream)
	c.lru.Remove(e)
	delete(c.m, cs.key)
	cs.s.close()
}

// shrink closes the older half of the streams.
func (c *dirStreamCache) shrink() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := (c.lru.Len() + 1) / 2; n > 0; n-- {
		c.removeLocked(c.lru.Back())
	}
}

func (c *dirStreamCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.lru.Len() > 0 {
		c.removeLocked(c.lru.Back())
	}
}

// ReadDir lists directory dir from args.Cookie. Cookies are the kernel's
// d_off values, so they stay valid while the directory changes on file
// systems with stable offsets (ext4 hash cookies, xfs, btrfs, tmpfs since
// Linux 6.6). The cookie verifier is always zero, so a changed directory
// never gives ErrBadCookie. "." and ".." are listed as the kernel returns
// them, with ".." of the root carrying the root's file id.
//
// NOTE: on tmpfs before Linux 6.6 a cookie is an entry index, so entries
// removed before it shift the listing and may skip or repeat names.
func (fs *FS) ReadDir(ctx context.Context, c *backend.Cred, dirH []byte, args backend.ReadDirArgs) (backend.ReadDirResult, error) {
	restore, berr := fs.become(c)
	if berr != nil {
		return backend.ReadDirResult{}, berr
	}
	defer restore()
	dir, err := fs.resolveDir(dirH)
	if err != nil {
		return backend.ReadDirResult{}, err
	}
	defer dir.close()

	s, err := fs.openStream(dir, args.Cookie)
	if err != nil {
		return backend.ReadDirResult{}, err
	}
	limit := args.MaxEntries
	if limit <= 0 {
		limit = defaultReadDirEntries
	}

	var res backend.ReadDirResult
	for len(res.Entries) < limit {
		d, ok, err := s.next()
		if err != nil {
			s.close()
			return backend.ReadDirResult{}, err
		}
		if !ok {
			res.EOF = true
			break
		}
		e := backend.DirEntry{Name: d.name, FileID: d.ino, Cookie: d.off}
		if d.name == ".." && len(dir.names) == 0 {
			e.FileID = fs.rootIno
		}
		if args.Plus {
			fs.fillPlus(c, dir, s.fd, &e)
		}
		res.Entries = append(res.Entries, e)
	}
	if !res.EOF {
		more, err := s.more()
		if err != nil {
			s.close()
			return backend.ReadDirResult{}, err
		}
		res.EOF = !more
	}
	res.DirAttr = fs.statAttr(c, s.fd)
	if res.EOF || len(res.Entries) == 0 {
		s.close()
	} else {
		fs.dirs.put(streamKey{dir: dir.id, cookie: res.Entries[len(res.Entries)-1].Cookie}, s)
	}
	return res, nil
}

// openStream returns the cached stream of dir at cookie, or opens dir and
// seeks to cookie.
func (fs *FS) openStream(dir *object, cookie uint64) (*dirStream, error) {
	if s := fs.dirs.take(streamKey{dir: dir.id, cookie: cookie}); s != nil {
		return s, nil
	}
	fd, err := fs.openNames(dir.names, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if st.Ino != dir.st.Ino || st.Dev != dir.st.Dev {
		unix.Close(fd)
		return nil, errRaced
	}
	if cookie != 0 {
		if _, err := unix.Seek(fd, int64(cookie), 0); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("seek directory to cookie %d: %w", cookie, err)
		}
	}
	return &dirStream{fd: fd, bufp: direntBufs.Get().(*[]byte)}, nil
}

// next returns the next entry of the stream, or false at the end.
func (s *dirStream) next() (dirent, bool, error) {
	for {
		if d, rest, ok := nextDirent(s.rest); ok {
			s.rest = rest
			return d, true, nil
		}
		more, err := s.more()
		if err != nil || !more {
			return dirent{}, false, err
		}
	}
}

// more reads the next records when none are buffered and reports whether
// any remain.
func (s *dirStream) more() (bool, error) {
	if len(s.rest) > 0 {
		return true, nil
	}
	for {
		n, err := unix.Getdents(s.fd, *s.bufp)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, err
		}
		s.rest = (*s.bufp)[:max(n, 0)]
		return n > 0, nil
	}
}

// fillPlus adds the handle and attributes of entry e of dir, listed from
// the open directory dfd, and records its hint. Entries that vanished and
// mount points are left without them.
func (fs *FS) fillPlus(c *backend.Cred, dir *object, dfd int, e *backend.DirEntry) {
	switch {
	case e.Name == "." || (e.Name == ".." && len(dir.names) == 0):
		e.Handle = fs.encode(dir.id)
		e.Attr = fs.attrPtr(c, &dir.st)
		return
	case e.Name == "..":
		parent, err := fs.openParent(dir)
		if err != nil {
			return
		}
		defer parent.close()
		e.Handle = fs.encode(parent.id)
		e.Attr = fs.attrPtr(c, &parent.st)
		return
	}

	var st unix.Stat_t
	id, err := fs.statChild(dfd, e.Name, &st)
	if err != nil {
		return
	}
	e.FileID = st.Ino
	e.Handle = fs.encode(id)
	e.Attr = fs.attrPtr(c, &st)
	fs.putHint(st.Ino, dir.id.Ino, e.Name)
}
