package handle

import (
	"sync"
	"sync/atomic"
)

// maxShards is the largest number of cache shards. Each shard has its own
// lock, so up to this many goroutines can update the cache at once.
const maxShards = 64

// cache is a bounded in-memory map from inode number to hint, split into
// shards that each evict with the CLOCK algorithm. A lookup sets the
// entry's reference bit. An insert into a full shard moves the clock hand
// over the entries, clearing set bits, and replaces the first entry whose
// bit was already clear. Lookups take only a read lock.
type cache struct {
	shards []cacheShard
	shift  uint // 64 - log2(len(shards)), for picking a shard from a hash
}

type cacheShard struct {
	mu      sync.RWMutex
	index   map[uint64]int32 // inode number to position in slots
	slots   []cacheSlot
	limit   int
	hand    int
	version uint64 // incremented by every set and remove
}

type cacheSlot struct {
	ino  uint64
	hint Hint
	ref  atomic.Bool
}

// newCache returns a cache that holds at most limit entries; limit must be
// at least 1. Each shard holds limit/shards entries, so the cache may hold
// up to shards-1 fewer entries than limit.
func newCache(limit int) *cache {
	n := 1
	for n*2 <= maxShards && n*2 <= limit {
		n *= 2
	}
	return newShardedCache(limit, n)
}

// newShardedCache returns a cache of limit entries in n shards, where n is
// a power of two no larger than limit.
func newShardedCache(limit, n int) *cache {
	shift := uint(64)
	for i := n; i > 1; i /= 2 {
		shift--
	}
	c := &cache{shards: make([]cacheShard, n), shift: shift}
	for i := range c.shards {
		c.shards[i].limit = limit / n
		c.shards[i].index = make(map[uint64]int32)
	}
	return c
}

// shard returns the shard of ino. Inode numbers are often dense, so they
// are mixed with a Fibonacci hash before the top bits pick the shard.
func (c *cache) shard(ino uint64) *cacheShard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[(ino*0x9E3779B97F4A7C15)>>c.shift]
}

// get returns the hint of ino and whether it was found, and on a miss the
// shard version to pass to setIfVersion.
func (c *cache) get(ino uint64) (h Hint, ok bool, version uint64) {
	s := c.shard(ino)
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.index[ino]
	if !ok {
		return Hint{}, false, s.version
	}
	slot := &s.slots[i]
	if !slot.ref.Load() {
		slot.ref.Store(true)
	}
	return slot.hint, true, 0
}

// set stores h for ino, evicting another entry if the shard is full.
func (c *cache) set(ino uint64, h Hint) {
	s := c.shard(ino)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	s.store(ino, h)
}

// setIfVersion stores h for ino only if no set or remove ran in the shard
// since get returned version. A reader uses it to cache a hint it read
// from the file without overwriting a newer one stored meanwhile.
func (c *cache) setIfVersion(ino uint64, h Hint, version uint64) {
	s := c.shard(ino)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.version != version {
		return
	}
	s.store(ino, h)
}

func (c *cache) remove(ino uint64) {
	s := c.shard(ino)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	i, ok := s.index[ino]
	if !ok {
		return
	}
	delete(s.index, ino)
	last := len(s.slots) - 1
	if int(i) != last {
		s.slots[i].ino = s.slots[last].ino
		s.slots[i].hint = s.slots[last].hint
		s.slots[i].ref.Store(s.slots[last].ref.Load())
		s.index[s.slots[i].ino] = i
	}
	s.slots[last] = cacheSlot{}
	s.slots = s.slots[:last]
	if s.hand >= len(s.slots) {
		s.hand = 0
	}
}

// len returns the number of cached entries.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.slots)
		s.mu.RUnlock()
	}
	return n
}

// store inserts or replaces the entry of ino. The caller holds s.mu.
func (s *cacheShard) store(ino uint64, h Hint) {
	if i, ok := s.index[ino]; ok {
		s.slots[i].hint = h
		s.slots[i].ref.Store(true)
		return
	}
	if s.limit == 0 {
		return
	}
	if len(s.slots) < s.limit {
		s.slots = append(s.slots, cacheSlot{ino: ino, hint: h})
		s.index[ino] = int32(len(s.slots) - 1)
		return
	}

	// The shard is full: advance the clock hand to an entry not used
	// since the hand last passed it, and reuse its slot. The loop ends
	// within two turns because each step clears a reference bit.
	for {
		slot := &s.slots[s.hand]
		if slot.ref.Load() {
			slot.ref.Store(false)
			s.hand = (s.hand + 1) % len(s.slots)
			continue
		}
		delete(s.index, slot.ino)
		slot.ino = ino
		slot.hint = h
		s.index[ino] = int32(s.hand)
		s.hand = (s.hand + 1) % len(s.slots)
		return
	}
}
