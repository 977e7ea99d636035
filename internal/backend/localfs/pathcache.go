package localfs

import (
	"sync/atomic"

	"github.com/burrow-nfs/burrow/internal/handle"
)

// pathCacheSlots is the number of entries of the path cache. Each entry
// costs a pointer and, while filled, the path's names: about 2.5 MiB for
// a full cache of paths five levels deep (an estimate).
const pathCacheSlots = 1 << 14

// pathEntry is a path below the export root at which the object id was
// last resolved. Entries are never changed after they are stored.
type pathEntry struct {
	id    handle.ID
	names []string
}

// pathCache maps handle IDs to the path they were last resolved at, so
// that resolving a handle seen recently skips rebuilding the path from
// the hints, one hint store lookup per directory level. It is a
// direct-mapped table: an ID has one slot, and a new entry replaces the
// one there.
//
// A cached path is used exactly like a path rebuilt from hints: it is
// opened beneath the root with openat2 and the object is verified by inode
// number and generation. A path made wrong by a rename, inside or outside
// the server, therefore fails that check, and resolution falls back to the
// hints and then to the search.
type pathCache struct {
	slots [pathCacheSlots]atomic.Pointer[pathEntry]
}

func (c *pathCache) slot(id handle.ID) *atomic.Pointer[pathEntry] {
	// Inode numbers are often dense, so a Fibonacci hash spreads them.
	return &c.slots[(id.Ino*0x9E3779B97F4A7C15)>>(64-14)]
}

// get returns the cached path of id, or false.
func (c *pathCache) get(id handle.ID) ([]string, bool) {
	e := c.slot(id).Load()
	if e == nil || e.id != id {
		return nil, false
	}
	return e.names, true
}

// put records names as the path of id. The caller must not change names
// afterwards.
func (c *pathCache) put(id handle.ID, names []string) {
	s := c.slot(id)
	if e := s.Load(); e != nil && e.id == id && sameNames(e.names, names) {
		return
	}
	s.Store(&pathEntry{id: id, names: names})
}

// drop removes the entry of id, if it is cached.
func (c *pathCache) drop(id handle.ID) {
	s := c.slot(id)
	if e := s.Load(); e != nil && e.id == id {
		s.CompareAndSwap(e, nil)
	}
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
