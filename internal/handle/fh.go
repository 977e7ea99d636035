package handle

import (
	"encoding/binary"
	"fmt"

	"github.com/burrow-nfs/burrow/internal/backend"
)

// Version is the layout version stored in the first byte of every handle.
const Version = 1

// Size is the length of an encoded handle in bytes.
const Size = 1 + 8 + 8 + 8

// Offsets of the fields of an encoded handle.
const (
	offKey = 1
	offIno = offKey + 8
	offGen = offIno + 8
)

// ID identifies a file system object: its inode number, and a generation
// value that distinguishes objects that had the same inode number at
// different times. Gen is opaque to this package.
type ID struct {
	Ino uint64
	Gen uint64
}

// Encode returns a new handle of Size bytes naming id in the export key.
func Encode(key [8]byte, id ID) []byte {
	b := make([]byte, Size)
	b[0] = Version
	copy(b[offKey:offIno], key[:])
	binary.BigEndian.PutUint64(b[offIno:offGen], id.Ino)
	binary.BigEndian.PutUint64(b[offGen:], id.Gen)
	return b
}

// Decode parses a handle made by Encode with the same export key. It
// returns an error wrapping backend.ErrBadHandle if b has the wrong
// length, an unknown version or another export key. It does not check that
// the object still exists.
func Decode(key [8]byte, b []byte) (ID, error) {
	if len(b) != Size {
		return ID{}, fmt.Errorf("%w: length %d, expected %d", backend.ErrBadHandle, len(b), Size)
	}
	if b[0] != Version {
		return ID{}, fmt.Errorf("%w: unknown version %d, expected %d", backend.ErrBadHandle, b[0], Version)
	}
	if [8]byte(b[offKey:offIno]) != key {
		// key goes by value: slicing it would move it to the heap on
		// every call, not only on this error.
		return ID{}, fmt.Errorf("%w: export key %x does not match this export (%x)",
			backend.ErrBadHandle, b[offKey:offIno], key)
	}
	id := ID{
		Ino: binary.BigEndian.Uint64(b[offIno:offGen]),
		Gen: binary.BigEndian.Uint64(b[offGen:]),
	}
	return id, nil
}
