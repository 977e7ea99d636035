package localfs

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
)

// The wrappers in this file build path arguments in stack buffers. The
// x/sys/unix wrappers allocate a copy of every path (and NameToHandleAt a
// handle buffer), which cost about 6 percent of the CPU time of the
// loopback metadata benchmark.

// maxKernelHandle is MAX_HANDLE_SZ, the largest file handle the kernel
// returns from name_to_handle_at.
const maxKernelHandle = 128

// kernelHandle has the layout of the kernel's struct file_handle with room
// for the largest handle.
type kernelHandle struct {
	size uint32
	typ  int32
	data [maxKernelHandle]byte
}

// nameBuf is a NUL-terminated single path component, or the empty path.
type nameBuf [backend.MaxNameLen + 1]byte

// newNameBuf copies name into a nameBuf. A name longer than a component
// gives ENAMETOOLONG and one with a NUL byte EINVAL.
func newNameBuf(name string) (nameBuf, error) {
	var b nameBuf
	if len(name) >= len(b) {
		return b, unix.ENAMETOOLONG
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return b, unix.EINVAL
		}
	}
	copy(b[:], name)
	return b, nil
}

// Parameters of 64-bit FNV-1a.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// kernelHandleHash returns the FNV-1a hash of the kernel handle of name in
// dirfd: its type (4 bytes, little-endian), then its bytes. The hash must
// not change, because handles already issued to clients contain it.
func kernelHandleHash(dirfd int, name string, flags int) (uint64, error) {
	path, err := newNameBuf(name)
	if err != nil {
		return 0, err
	}
	kh := kernelHandle{size: maxKernelHandle}
	var mountID int32
	_, _, errno := unix.Syscall6(unix.SYS_NAME_TO_HANDLE_AT, uintptr(dirfd),
		uintptr(unsafe.Pointer(&path[0])), uintptr(unsafe.Pointer(&kh)),
		uintptr(unsafe.Pointer(&mountID)), uintptr(flags), 0)
	if errno != 0 {
		return 0, errno
	}
	if kh.size > maxKernelHandle {
		return 0, unix.EOVERFLOW
	}
	var typ [4]byte
	binary.LittleEndian.PutUint32(typ[:], uint32(kh.typ))
	h := uint64(fnvOffset)
	for _, c := range typ {
		h = (h ^ uint64(c)) * fnvPrime
	}
	for _, c := range kh.data[:kh.size] {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h, nil
}

// statxName calls statx for a single path component, or for "" with
// AT_EMPTY_PATH, without allocating.
func statxName(dirfd int, name string, flags, mask int, stx *unix.Statx_t) error {
	path, err := newNameBuf(name)
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall6(unix.SYS_STATX, uintptr(dirfd),
		uintptr(unsafe.Pointer(&path[0])), uintptr(flags), uintptr(mask),
		uintptr(unsafe.Pointer(stx)), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// pathBuf is a NUL-terminated relative path of at most maxChunk bytes.
type pathBuf [maxChunk + 1]byte

// joinNames writes names joined by '/' into b with a terminating NUL. The
// caller keeps the total within maxChunk.
func (b *pathBuf) joinNames(names []string) {
	n := 0
	for i, name := range names {
		if i > 0 {
			b[n] = '/'
			n++
		}
		n += copy(b[n:], name)
	}
	b[n] = 0
}

// openat2Path calls openat2 for a path in a pathBuf.
func openat2Path(dirfd int, path *pathBuf, how *unix.OpenHow) (int, error) {
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT2, uintptr(dirfd),
		uintptr(unsafe.Pointer(&path[0])), uintptr(unsafe.Pointer(how)),
		unsafe.Sizeof(*how), 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}
