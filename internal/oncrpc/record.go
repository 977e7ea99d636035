package oncrpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Record marking (RFC 5531, section 11) sends each record on a byte stream
// as one or more fragments. Each fragment starts with a 4-byte big-endian
// header: the high bit marks the last fragment of the record, and the low
// 31 bits are the fragment length in bytes.
const (
	lastFragment    = 1 << 31
	maxFragmentSize = 1<<31 - 1
	recordMarkSize  = 4
)

// DefaultMaxRecordSize is the record size limit used when
// Options.MaxRecordSize is zero: 1 MiB of payload plus 64 KiB for the RPC
// header, credentials and NFS arguments. It admits WRITE calls and READ
// replies of the 1 MiB that burrow's NFS layer advertises as rtmax and
// wtmax, and keeps the memory that calls in flight can pin four times
// lower than a 4 MiB limit would.
const DefaultMaxRecordSize = 1<<20 + 64<<10

// ErrRecordTooLarge is returned when the fragments of one record add up to
// more than the reader's maximum record size.
var ErrRecordTooLarge = errors.New("oncrpc: record exceeds maximum size")

// readChunk bounds how much a RecordReader allocates ahead of the bytes it
// has received, so a peer that announces a large fragment and then stalls
// does not make the reader allocate the whole fragment up front.
const readChunk = 256 << 10

// RecordReader reads record-marked RPC messages from a byte stream. It is
// not safe for concurrent use.
type RecordReader struct {
	r   io.Reader
	max int
	hdr [recordMarkSize]byte

	// grow, if set, replaces growSlice. The server sets it to take large
	// record buffers from its pool.
	grow func(buf []byte, n, limit int) []byte
}

// NewRecordReader returns a RecordReader that reads from r and rejects
// records longer than max bytes. A max of zero or less means
// DefaultMaxRecordSize. Callers that read small fragments should pass a
// buffered reader, because each fragment header is a separate read.
func NewRecordReader(r io.Reader, max int) *RecordReader {
	if max <= 0 {
		max = DefaultMaxRecordSize
	}
	return &RecordReader{r: r, max: max}
}

// ReadRecord reads the next whole record, joining its fragments, and
// appends it to buf. Zero-length fragments are accepted, and a record may
// be empty. ReadRecord returns io.EOF if the stream ends before a record
// starts, io.ErrUnexpectedEOF if it ends inside one, and an error wrapping
// ErrRecordTooLarge as soon as a fragment header announces more than the
// maximum. After any error the stream position is undefined, so the caller
// must stop reading.
func (rr *RecordReader) ReadRecord(buf []byte) ([]byte, error) {
	start := len(buf)
	first := true
	for {
		if _, err := io.ReadFull(rr.r, rr.hdr[:]); err != nil {
			if err == io.EOF && !first {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
		first = false
		mark := binary.BigEndian.Uint32(rr.hdr[:])
		n := int(mark & maxFragmentSize)
		if total := len(buf) - start + n; total > rr.max {
			return buf, fmt.Errorf("%w: at least %d bytes, maximum %d", ErrRecordTooLarge, total, rr.max)
		}
		var err error
		buf, err = rr.readFragment(buf, n)
		if err != nil {
			return buf, err
		}
		if mark&lastFragment != 0 {
			return buf, nil
		}
	}
}

// readFragment appends n bytes from the stream to buf, growing buf by at
// most readChunk bytes ahead of the data received.
func (rr *RecordReader) readFragment(buf []byte, n int) ([]byte, error) {
	for n > 0 {
		step := n
		if free := cap(buf) - len(buf); step > free {
			step = min(n, max(free, readChunk))
			if rr.grow != nil {
				buf = rr.grow(buf, step, rr.max)
			} else {
				buf = growSlice(buf, step, rr.max)
			}
		}
		end := len(buf) + step
		if _, err := io.ReadFull(rr.r, buf[len(buf):end]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
		buf = buf[:end]
		n -= step
	}
	return buf, nil
}

// growSlice returns buf with room for at least n more bytes. It doubles the
// capacity but stops at limit, the maximum record size, so that a buffer
// grown for a record of up to limit bytes is not larger than needed. The
// unbounded doubling from 1 MiB to 2 MiB for a 1 MiB WRITE plus its
// header made the buffer too large for the server's pool. Every such record
// then allocated and cleared 256 KiB, 512 KiB, 1 MiB and 2 MiB.
func growSlice(buf []byte, n, limit int) []byte {
	if cap(buf)-len(buf) >= n {
		return buf
	}
	newCap := 2 * cap(buf)
	if newCap > limit {
		newCap = limit
	}
	nb := make([]byte, len(buf), max(newCap, len(buf)+n))
	copy(nb, buf)
	return nb
}

// WriteRecord writes rec to w as a single last fragment. It issues two
// writes, so callers that share w between goroutines must serialize calls.
func WriteRecord(w io.Writer, rec []byte) error {
	if len(rec) > maxFragmentSize {
		return fmt.Errorf("oncrpc: record of %d bytes exceeds the fragment limit of %d", len(rec), maxFragmentSize)
	}
	var hdr [recordMarkSize]byte
	binary.BigEndian.PutUint32(hdr[:], lastFragment|uint32(len(rec)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(rec)
	return err
}

// putRecordMark fills the first four bytes of msg, which the caller
// reserved, with a last-fragment header for the rest of msg.
func putRecordMark(msg []byte) {
	binary.BigEndian.PutUint32(msg, lastFragment|uint32(len(msg)-recordMarkSize))
}
