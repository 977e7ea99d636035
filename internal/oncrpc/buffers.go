package oncrpc

import (
	"sync"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// Records and replies use pooled buffers of two size classes. Small ones
// hold the usual calls and replies. Large ones hold 1 MiB WRITE records
// and READ replies, and are kept apart so that a small reply does not take
// a large buffer and leave the next large record to allocate and clear
// a new one.
const (
	smallBufferSize = 16 << 10
	maxSmallBuffer  = 64 << 10

	// largeBufferSize is the capacity of a newly allocated large buffer:
	// DefaultMaxRecordSize, a 1 MiB READ or WRITE with room for the
	// headers.
	largeBufferSize = DefaultMaxRecordSize
	minLargeBuffer  = 1 << 20

	// maxPooledBuffer is the largest buffer capacity returned to the pool.
	// Larger ones, for records above the default limit, are left to the
	// garbage collector.
	maxPooledBuffer = 1<<20 + 64<<10
)

// The pools store pointers so that Put does not allocate.
var (
	smallBuffers = sync.Pool{
		New: func() any {
			b := make([]byte, 0, smallBufferSize)
			return &b
		},
	}
	// largeBuffers has no New function: Get returns nil when the pool is
	// empty, and the caller then grows its buffer step by step.
	largeBuffers sync.Pool
)

func getBuffer() *[]byte {
	return smallBuffers.Get().(*[]byte)
}

func putBuffer(b *[]byte) {
	c := cap(*b)
	*b = (*b)[:0]
	switch {
	case c <= maxSmallBuffer:
		smallBuffers.Put(b)
	case putBufferPools(c):
		largeBuffers.Put(b)
	}
}

// putBufferPools reports whether putBuffer keeps a buffer of capacity c.
// Buffers between the two classes, grown step by step for a record that
// found no large buffer, are dropped.
func putBufferPools(c int) bool {
	return c <= maxSmallBuffer || (c >= minLargeBuffer && c <= maxPooledBuffer)
}

// getLargeBuffer returns a pooled large buffer with room for at least n
// bytes, or nil when the pool has none.
func getLargeBuffer(n int) []byte {
	v := largeBuffers.Get()
	if v == nil {
		return nil
	}
	b := v.(*[]byte)
	if cap(*b) < n {
		largeBuffers.Put(b)
		return nil
	}
	return (*b)[:0]
}

// growRecord is the RecordReader's grow function on the server. A record
// that outgrows a small buffer moves to a pooled large one when the pool
// has one, so that 1 MiB WRITEs reuse their buffers. Otherwise it grows as
// growSlice does, at most readChunk bytes ahead of the data received, so a
// peer that announces a large record and stalls pins only buffers that
// already exist.
func growRecord(buf []byte, n, limit int) []byte {
	if cap(buf)-len(buf) >= n {
		return buf
	}
	if cap(buf) <= maxSmallBuffer && len(buf)+n > maxSmallBuffer {
		if nb := getLargeBuffer(min(limit, maxPooledBuffer)); nb != nil {
			nb = append(nb, buf...)
			old := buf[:0]
			smallBuffers.Put(&old)
			return nb
		}
	}
	return growSlice(buf, n, limit)
}

// ReserveReply makes room in e for n more bytes, taking a pooled large
// buffer when the reply would outgrow a small one. Handlers that append a
// large result, such as the data of a 1 MiB READ, call it first so that
// the reply reuses a buffer instead of allocating and clearing one.
func ReserveReply(e *xdr.Encoder, n int) {
	cur := e.Bytes()
	need := len(cur) + n
	if cap(cur) >= need || need > maxPooledBuffer {
		return
	}
	nb := getLargeBuffer(need)
	if nb == nil {
		nb = make([]byte, 0, largeBufferSize)
	}
	nb = append(nb, cur...)
	if cap(cur) <= maxSmallBuffer {
		old := cur[:0]
		smallBuffers.Put(&old)
	}
	e.Reset(nb)
}
