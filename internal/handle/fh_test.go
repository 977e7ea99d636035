package handle

import (
	"bytes"
	"errors"
	"testing"

	"github.com/burrow-nfs/burrow/internal/backend"
)

var testKey = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	ids := []ID{
		{},
		{Ino: 2, Gen: 1},
		{Ino: 1<<64 - 1, Gen: 1<<64 - 1},
		{Ino: 0x0102030405060708, Gen: 0x1112131415161718},
	}
	for _, id := range ids {
		b := Encode(testKey, id)
		if len(b) > backend.MaxHandleSize {
			t.Errorf("Encode(%+v) has %d bytes, max %d", id, len(b), backend.MaxHandleSize)
		}
		if len(b) != Size {
			t.Errorf("Encode(%+v) has %d bytes, expected Size %d", id, len(b), Size)
		}
		got, err := Decode(testKey, b)
		if err != nil {
			t.Errorf("Decode(Encode(%+v)): %v", id, err)
			continue
		}
		if got != id {
			t.Errorf("Decode(Encode(%+v)) = %+v", id, got)
		}
	}
}

func TestEncodeReturnsFreshSlice(t *testing.T) {
	a := Encode(testKey, ID{Ino: 5, Gen: 6})
	b := Encode(testKey, ID{Ino: 5, Gen: 6})
	a[0] = 0xff
	if b[0] != Version {
		t.Fatalf("changing one encoded handle changed another: version byte %d", b[0])
	}
}

func TestEncodeLayout(t *testing.T) {
	b := Encode(testKey, ID{Ino: 0x0102030405060708, Gen: 0x1112131415161718})
	want := []byte{
		Version,
		1, 2, 3, 4, 5, 6, 7, 8,
		1, 2, 3, 4, 5, 6, 7, 8,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("Encode = %x, expected %x", b, want)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := Encode(testKey, ID{Ino: 42, Gen: 7})
	badVersion := bytes.Clone(good)
	badVersion[0] = Version + 1
	zeroVersion := bytes.Clone(good)
	zeroVersion[0] = 0
	otherKey := Encode([8]byte{8, 7, 6, 5, 4, 3, 2, 1}, ID{Ino: 42, Gen: 7})
	oneKeyByte := bytes.Clone(good)
	oneKeyByte[offKey+7] ^= 1

	cases := []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"version only", good[:1]},
		{"one byte short", good[:Size-1]},
		{"one byte long", append(bytes.Clone(good), 0)},
		{"max size", append(bytes.Clone(good), make([]byte, backend.MaxHandleSize-Size)...)},
		{"bad version", badVersion},
		{"zero version", zeroVersion},
		{"other key", otherKey},
		{"key differs in one bit", oneKeyByte},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := Decode(testKey, c.b)
			if !errors.Is(err, backend.ErrBadHandle) {
				t.Fatalf("Decode(%x) = %+v, %v; expected ErrBadHandle", c.b, id, err)
			}
			if id != (ID{}) {
				t.Errorf("Decode(%x) returned ID %+v with its error", c.b, id)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(testKey, ID{Ino: 1, Gen: 2}))
	f.Add(Encode([8]byte{}, ID{}))
	f.Add([]byte{})
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := Decode(testKey, b)
		if err != nil {
			if !errors.Is(err, backend.ErrBadHandle) {
				t.Fatalf("Decode(%x) error %v does not wrap ErrBadHandle", b, err)
			}
			return
		}
		if again := Encode(testKey, id); !bytes.Equal(again, b) {
			t.Fatalf("Decode(%x) = %+v, which encodes to %x", b, id, again)
		}
	})
}
