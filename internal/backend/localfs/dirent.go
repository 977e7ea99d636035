package localfs

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"
)

// direntBufSize is the buffer size for one getdents64 call.
const direntBufSize = 32 << 10

var direntBufs = sync.Pool{New: func() any {
	b := make([]byte, direntBufSize)
	return &b
}}

// dirent is one entry decoded from getdents64 output.
type dirent struct {
	ino  uint64
	off  uint64 // kernel cookie of the position after this entry
	typ  uint8  // DT_* value
	name string
}

// nextDirent decodes the linux_dirent64 record at the start of buf and
// returns it with the rest of buf. ok is false when buf holds no complete
// record.
func nextDirent(buf []byte) (d dirent, rest []byte, ok bool) {
	const header = 19 // d_ino, d_off, d_reclen, d_type
	if len(buf) < header {
		return dirent{}, nil, false
	}
	reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
	if reclen < header || reclen > len(buf) {
		return dirent{}, nil, false
	}
	name := buf[header:reclen]
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	d = dirent{
		ino:  binary.NativeEndian.Uint64(buf[0:8]),
		off:  binary.NativeEndian.Uint64(buf[8:16]),
		typ:  buf[18],
		name: string(name),
	}
	return d, buf[reclen:], true
}

// readDirents reads the directory fd from its current position to the end,
// calling fn for each entry until fn returns false.
func readDirents(fd int, buf []byte, fn func(dirent) bool) error {
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		rest := buf[:n]
		for {
			d, r, ok := nextDirent(rest)
			if !ok {
				break
			}
			rest = r
			if !fn(d) {
				return nil
			}
		}
	}
}
