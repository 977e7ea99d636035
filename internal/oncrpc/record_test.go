package oncrpc

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadRecordFragments(t *testing.T) {
	in := hexBytes(t, ""+
		"00000002 6162"+ // "ab"
		"00000000"+ // empty fragment
		"80000001 63"+ // last fragment "c"
		"80000000"+ // empty record
		"80000003 646566") // "def"
	rr := NewRecordReader(iotest.OneByteReader(bytes.NewReader(in)), 100)
	want := []string{"abc", "", "def"}
	for i, w := range want {
		rec, err := rr.ReadRecord(nil)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if string(rec) != w {
			t.Fatalf("record %d is %q, want %q", i, rec, w)
		}
	}
	if _, err := rr.ReadRecord(nil); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
}

func TestReadRecordAppends(t *testing.T) {
	rr := NewRecordReader(bytes.NewReader(hexBytes(t, "80000002 6364")), 100)
	rec, err := rr.ReadRecord([]byte("ab"))
	if err != nil {
		t.Fatal(err)
	}
	if string(rec) != "abcd" {
		t.Fatalf("got %q, want %q", rec, "abcd")
	}
}

func TestReadRecordUnexpectedEOF(t *testing.T) {
	tests := map[string]string{
		"inside fragment header":   "8000",
		"inside fragment data":     "80000004 6162",
		"before the last fragment": "00000001 61",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			rr := NewRecordReader(bytes.NewReader(hexBytes(t, in)), 100)
			if _, err := rr.ReadRecord(nil); err != io.ErrUnexpectedEOF {
				t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

func TestReadRecordTooLarge(t *testing.T) {
	tests := map[string]string{
		"one fragment":     "80000009",
		"sum of fragments": "00000005 0102030405 80000004",
		"maximum length":   "ffffffff",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			rr := NewRecordReader(bytes.NewReader(hexBytes(t, in)), 8)
			if _, err := rr.ReadRecord(nil); !errors.Is(err, ErrRecordTooLarge) {
				t.Fatalf("got %v, want ErrRecordTooLarge", err)
			}
		})
	}
}

func TestReadRecordLargeFragment(t *testing.T) {
	// Larger than readChunk, so the buffer grows while data arrives.
	data := bytes.Repeat([]byte{0x5a}, 3*readChunk+17)
	in := append(frame(data), data...)
	rr := NewRecordReader(bytes.NewReader(in), len(data))
	rec, err := rr.ReadRecord(make([]byte, 0, 10))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec, data) {
		t.Fatalf("record of %d bytes differs from the %d bytes sent", len(rec), len(data))
	}
}

func TestWriteRecordRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRecord(&buf, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if want := hexBytes(t, "80000005 68656c6c6f"); !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("wrote %x, want %x", buf.Bytes(), want)
	}
	rec, err := NewRecordReader(&buf, 0).ReadRecord(nil)
	if err != nil || string(rec) != "hello" {
		t.Fatalf("read back %q, %v", rec, err)
	}
}
