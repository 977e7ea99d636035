package xdr

import (
	"bytes"
	"errors"
	"testing"
)

func TestEncodeGolden(t *testing.T) {
	e := NewEncoder(nil)
	e.Uint32(0x01020304)
	e.Int32(-2)
	e.Uint64(0x0102030405060708)
	e.Bool(true)
	e.Bool(false)
	e.Opaque([]byte{0xaa, 0xbb, 0xcc})
	e.String("hello")
	e.Fixed([]byte{1, 2, 3, 4})
	e.Opaque(nil)
	want := []byte{
		1, 2, 3, 4,
		0xff, 0xff, 0xff, 0xfe,
		1, 2, 3, 4, 5, 6, 7, 8,
		0, 0, 0, 1,
		0, 0, 0, 0,
		0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0,
		0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0,
		1, 2, 3, 4,
		0, 0, 0, 0,
	}
	if !bytes.Equal(e.Bytes(), want) {
		t.Fatalf("encoded\n%x\nwant\n%x", e.Bytes(), want)
	}
}

func TestDecodeGolden(t *testing.T) {
	in := []byte{
		1, 2, 3, 4,
		0xff, 0xff, 0xff, 0xfe,
		1, 2, 3, 4, 5, 6, 7, 8,
		0, 0, 0, 1,
		0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0,
		0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0,
	}
	d := NewDecoder(in)
	if v := d.Uint32(); v != 0x01020304 {
		t.Errorf("Uint32 = %#x", v)
	}
	if v := d.Int32(); v != -2 {
		t.Errorf("Int32 = %d", v)
	}
	if v := d.Uint64(); v != 0x0102030405060708 {
		t.Errorf("Uint64 = %#x", v)
	}
	if v := d.Bool(); !v {
		t.Errorf("Bool = false")
	}
	if v := d.Opaque(16); !bytes.Equal(v, []byte{0xaa, 0xbb, 0xcc}) {
		t.Errorf("Opaque = %x", v)
	}
	if v := d.String(16); v != "hello" {
		t.Errorf("String = %q", v)
	}
	if d.Err() != nil {
		t.Errorf("Err = %v", d.Err())
	}
	if d.Remaining() != 0 {
		t.Errorf("Remaining = %d", d.Remaining())
	}
}

func TestDecodeTruncated(t *testing.T) {
	full := []byte{0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0}
	for n := 0; n < len(full); n++ {
		d := NewDecoder(full[:n])
		_ = d.String(255)
		if !errors.Is(d.Err(), ErrShort) {
			t.Errorf("prefix of %d bytes: err = %v, want ErrShort", n, d.Err())
		}
	}
}

func TestDecodeErrorsAreSticky(t *testing.T) {
	d := NewDecoder([]byte{0, 0})
	if v := d.Uint32(); v != 0 {
		t.Errorf("Uint32 on short input = %d", v)
	}
	if d.Err() == nil {
		t.Fatal("no error on short input")
	}
	d.Reset([]byte{0, 0, 0, 7, 0, 0})
	if v := d.Uint32(); v != 7 || d.Err() != nil {
		t.Fatalf("after Reset: Uint32 = %d, err = %v", v, d.Err())
	}
	d.Uint32()
	if v := d.Uint32(); v != 0 {
		t.Errorf("read after error = %d, want 0", v)
	}
}

func TestDecodeLengthOverMax(t *testing.T) {
	d := NewDecoder([]byte{0, 0, 1, 0})
	if b := d.Opaque(255); b != nil {
		t.Errorf("Opaque = %x, want nil", b)
	}
	if !errors.Is(d.Err(), ErrTooLong) {
		t.Errorf("err = %v, want ErrTooLong", d.Err())
	}
}

func TestDecodeHugeLengthDoesNotAllocate(t *testing.T) {
	d := NewDecoder([]byte{0xff, 0xff, 0xff, 0xff, 1, 2})
	if b := d.Opaque(int(^uint32(0))); b != nil {
		t.Errorf("Opaque = %x, want nil", b)
	}
	if !errors.Is(d.Err(), ErrShort) {
		t.Errorf("err = %v, want ErrShort", d.Err())
	}
}

func TestDecodeBadBoolAndPadding(t *testing.T) {
	d := NewDecoder([]byte{0, 0, 0, 2})
	d.Bool()
	if !errors.Is(d.Err(), ErrBadBool) {
		t.Errorf("bool 2: err = %v, want ErrBadBool", d.Err())
	}
	d = NewDecoder([]byte{0, 0, 0, 1, 'a', 0, 1, 0})
	d.Opaque(8)
	if !errors.Is(d.Err(), ErrPadding) {
		t.Errorf("padding: err = %v, want ErrPadding", d.Err())
	}
}

func TestEncoderGrow(t *testing.T) {
	e := NewEncoder(make([]byte, 0, 4))
	e.Uint32(7)
	b := e.Grow(5)
	copy(b, "abcde")
	want := []byte{0, 0, 0, 7, 'a', 'b', 'c', 'd', 'e', 0, 0, 0}
	if !bytes.Equal(e.Bytes(), want) {
		t.Fatalf("after Grow: %x, want %x", e.Bytes(), want)
	}
	e.Truncate(4)
	if e.Len() != 4 {
		t.Errorf("Len after Truncate = %d", e.Len())
	}
}

// FuzzDecoder reads arbitrary bytes as a mix of items and checks that the
// decoder never panics and never reads past its input.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(in)
		for d.Err() == nil && d.Remaining() > 0 {
			switch d.Uint32() % 5 {
			case 0:
				d.Opaque(1024)
			case 1:
				d.String(255)
			case 2:
				d.Uint64()
			case 3:
				d.Bool()
			case 4:
				d.Fixed(3)
			}
		}
		if d.Offset() > len(in) {
			t.Fatalf("offset %d past input length %d", d.Offset(), len(in))
		}
	})
}
