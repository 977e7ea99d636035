// Package xdr encodes and decodes the External Data Representation of
// RFC 4506: big-endian 4-byte units, opaque data and strings padded to a
// multiple of four bytes.
//
// The Decoder reads from a byte slice that holds one whole RPC record. Every
// read is bounded by the bytes that remain, so a cut-off or hostile record
// yields ErrShort or ErrTooLong instead of a panic or a large allocation.
// Errors are sticky: after the first failure every read returns a zero value,
// and Err reports the failure, so decoders can read a whole structure and
// check once at the end.
package xdr

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var (
	// ErrShort means the input ended inside an item.
	ErrShort = errors.New("xdr: input too short")
	// ErrTooLong means a length prefix exceeds the caller's maximum.
	ErrTooLong = errors.New("xdr: length exceeds maximum")
	// ErrBadBool means a boolean was neither 0 nor 1.
	ErrBadBool = errors.New("xdr: boolean is neither 0 nor 1")
	// ErrPadding means the padding after opaque data was not zero.
	ErrPadding = errors.New("xdr: non-zero padding")
)

// pad returns the number of zero bytes that follow n bytes of opaque data.
func pad(n int) int { return (4 - n&3) & 3 }

// Decoder reads XDR items from a byte slice.
type Decoder struct {
	buf []byte
	off int
	err error
}

// NewDecoder returns a Decoder that reads buf. It does not copy buf.
func NewDecoder(buf []byte) *Decoder { return &Decoder{buf: buf} }

// Reset makes d read buf from the start and clears any error.
func (d *Decoder) Reset(buf []byte) { *d = Decoder{buf: buf} }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Remaining returns the number of bytes not yet read.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Offset returns the number of bytes read so far.
func (d *Decoder) Offset() int { return d.off }

// Fail records err as the decoder's error unless one is already recorded.
// Callers use it to report semantic errors found while decoding.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf)-d.off {
		d.err = ErrShort
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

// Uint32 reads an unsigned int.
func (d *Decoder) Uint32() uint32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// Int32 reads a signed int.
func (d *Decoder) Int32() int32 { return int32(d.Uint32()) }

// Uint64 reads an unsigned hyper.
func (d *Decoder) Uint64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Int64 reads a signed hyper.
func (d *Decoder) Int64() int64 { return int64(d.Uint64()) }

// Bool reads a boolean; any value other than 0 or 1 is an error.
func (d *Decoder) Bool() bool {
	v := d.Uint32()
	if v > 1 {
		d.Fail(ErrBadBool)
		return false
	}
	return v == 1
}

// Fixed reads n bytes of fixed-length opaque data and its padding. The
// result aliases the input buffer.
func (d *Decoder) Fixed(n int) []byte {
	b := d.take(n)
	p := d.take(pad(n))
	for _, c := range p {
		if c != 0 {
			d.Fail(ErrPadding)
			return nil
		}
	}
	return b
}

// Opaque reads variable-length opaque data of at most max bytes. The result
// aliases the input buffer.
func (d *Decoder) Opaque(max int) []byte {
	n := d.Uint32()
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(max) {
		d.Fail(fmt.Errorf("%w: %d > %d", ErrTooLong, n, max))
		return nil
	}
	return d.Fixed(int(n))
}

// String reads a string of at most max bytes. The bytes are returned as
// they are, without any UTF-8 check, because file names are byte strings.
func (d *Decoder) String(max int) string {
	return string(d.Opaque(max))
}

// Encoder appends XDR items to a byte slice.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an Encoder that appends to buf.
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Bytes returns the encoded bytes.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of encoded bytes.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset replaces the encoder's buffer with buf.
func (e *Encoder) Reset(buf []byte) { e.buf = buf }

// Truncate drops everything after the first n encoded bytes.
func (e *Encoder) Truncate(n int) { e.buf = e.buf[:n] }

// Uint32 appends an unsigned int.
func (e *Encoder) Uint32(v uint32) { e.buf = binary.BigEndian.AppendUint32(e.buf, v) }

// Int32 appends a signed int.
func (e *Encoder) Int32(v int32) { e.Uint32(uint32(v)) }

// Uint64 appends an unsigned hyper.
func (e *Encoder) Uint64(v uint64) { e.buf = binary.BigEndian.AppendUint64(e.buf, v) }

// Int64 appends a signed hyper.
func (e *Encoder) Int64(v int64) { e.Uint64(uint64(v)) }

// Bool appends a boolean.
func (e *Encoder) Bool(v bool) {
	if v {
		e.Uint32(1)
	} else {
		e.Uint32(0)
	}
}

var zeros [4]byte

// Fixed appends fixed-length opaque data and its padding.
func (e *Encoder) Fixed(b []byte) {
	e.buf = append(e.buf, b...)
	e.buf = append(e.buf, zeros[:pad(len(b))]...)
}

// Opaque appends variable-length opaque data.
func (e *Encoder) Opaque(b []byte) {
	e.Uint32(uint32(len(b)))
	e.Fixed(b)
}

// String appends a string.
func (e *Encoder) String(s string) {
	e.Uint32(uint32(len(s)))
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, zeros[:pad(len(s))]...)
}

// Grow returns a slice of n bytes appended to the encoder, followed by the
// padding, for callers that fill opaque data in place (READ replies).
func (e *Encoder) Grow(n int) []byte {
	start := len(e.buf)
	total := n + pad(n)
	if cap(e.buf)-start < total {
		nb := make([]byte, start, 2*cap(e.buf)+total)
		copy(nb, e.buf)
		e.buf = nb
	}
	e.buf = e.buf[:start+total]
	clear(e.buf[start+n : start+total])
	return e.buf[start : start+n]
}
