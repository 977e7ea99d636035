package oncrpc

import (
	"bytes"
	"testing"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

func TestReadRecordGrowthStopsAtLimit(t *testing.T) {
	// A 1 MiB WRITE plus its headers: doubling past the limit would give
	// a 2 MiB buffer that the pool does not take back.
	data := bytes.Repeat([]byte{0x5a}, 1<<20+200)
	in := append(frame(data), data...)
	rr := NewRecordReader(bytes.NewReader(in), DefaultMaxRecordSize)
	rec, err := rr.ReadRecord(make([]byte, 0, smallBufferSize))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec, data) {
		t.Fatalf("record of %d bytes differs from the %d bytes sent", len(rec), len(data))
	}
	if cap(rec) > maxPooledBuffer {
		t.Errorf("record buffer capacity %d, want at most %d", cap(rec), maxPooledBuffer)
	}
}

func TestGrowRecordUsesLargePool(t *testing.T) {
	large := make([]byte, 0, largeBufferSize)
	largeBuffers.Put(&large)

	data := bytes.Repeat([]byte{0xa5}, 1<<20+200)
	in := append(frame(data), data...)
	rr := NewRecordReader(bytes.NewReader(in), DefaultMaxRecordSize)
	rr.grow = growRecord
	rec, err := rr.ReadRecord(make([]byte, 0, smallBufferSize))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec, data) {
		t.Fatalf("record of %d bytes differs from the %d bytes sent", len(rec), len(data))
	}
	// sync.Pool may drop the buffer at a garbage collection, so only the
	// capacity is checked, not that it is the same buffer.
	if cap(rec) < len(data) || cap(rec) > maxPooledBuffer {
		t.Errorf("record buffer capacity %d, want %d to %d", cap(rec), len(data), maxPooledBuffer)
	}
}

func TestReserveReplyKeepsHeader(t *testing.T) {
	buf := make([]byte, 0, smallBufferSize)
	var e xdr.Encoder
	e.Reset(buf)
	e.Uint32(0x01020304)
	e.Uint32(0x05060708)
	ReserveReply(&e, 1<<20)

	got := e.Bytes()
	if want := []byte{1, 2, 3, 4, 5, 6, 7, 8}; !bytes.Equal(got, want) {
		t.Fatalf("encoded bytes after ReserveReply are %x, want %x", got, want)
	}
	if cap(got)-len(got) < 1<<20 {
		t.Errorf("room after ReserveReply is %d bytes, want at least %d", cap(got)-len(got), 1<<20)
	}
	if cap(got) > maxPooledBuffer {
		t.Errorf("reply buffer capacity %d, want at most %d", cap(got), maxPooledBuffer)
	}
}

func TestPutBufferSizeClasses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		capacity int
		pooled   bool
	}{
		{"small", smallBufferSize, true},
		{"medium", 256 << 10, false},
		{"large", largeBufferSize, true},
		{"oversized", 2 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, 10, tc.capacity)
			putBuffer(&b)
			if len(b) != 0 {
				t.Errorf("length after putBuffer is %d, want 0", len(b))
			}
			if got := putBufferPools(tc.capacity); got != tc.pooled {
				t.Errorf("capacity %d pooled = %v, want %v", tc.capacity, got, tc.pooled)
			}
		})
	}
}
