package localfs

import (
	"strconv"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rootPath caches the export root's current absolute path, as the kernel
// reports it for the root descriptor, for cachedBeneath.
type rootPath struct {
	p atomic.Pointer[string]
}

// linkTarget writes into buf the path of the descriptor whose number is
// fdName. It reads the magic link relative to fs.procFDs, an open
// /proc/self/fd, so the kernel does not walk "/proc/self/fd" on every READ
// and WRITE of a cached file (a third of the cost of readlink natively).
func (fs *FS) linkTarget(fdName string, buf []byte) ([]byte, error) {
	dirfd, name := fs.procFDs, fdName
	if dirfd < 0 {
		dirfd, name = unix.AT_FDCWD, procFDDir+"/"+fdName
	}
	path, err := newNameBuf(name)
	if err != nil {
		return nil, err
	}
	n, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirfd),
		uintptr(unsafe.Pointer(&path[0])), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if errno != 0 {
		return nil, errno
	}
	if int(n) >= len(buf) {
		// Possibly cut short. The kernel keeps these links below
		// PATH_MAX, so this does not happen with a PATH_MAX buffer.
		return nil, unix.ENAMETOOLONG
	}
	return buf[:n], nil
}

// cachedBeneath reports whether the open descriptor whose number is
// fdName, in decimal, still names a file beneath the export root. A cached descriptor skips path resolution, so
// without this check a file that a process in the VM moved out of the
// export would stay readable and writable through a handle already in use.
// The root's path is refreshed once on a mismatch, because the export
// directory itself may have been renamed.
//
// NOTE: this compares the paths that the kernel reports. A move out of the
// export between this check and the next pread or pwrite still reaches the
// file once, and a fresh open has the same window.
func (fs *FS) cachedBeneath(fdName string) bool {
	var buf [unix.PathMax]byte
	p, err := fs.linkTarget(fdName, buf[:])
	if err != nil {
		return false
	}
	if root := fs.root.p.Load(); root != nil && isBeneath(p, *root) {
		return true
	}
	var rootBuf [unix.PathMax]byte
	rb, err := fs.linkTarget(strconv.Itoa(fs.rootFD), rootBuf[:])
	if err != nil {
		return false
	}
	root := string(rb)
	fs.root.p.Store(&root)
	return isBeneath(p, root)
}

// isBeneath reports whether path p lies below directory root.
func isBeneath(p []byte, root string) bool {
	if root == "/" {
		return len(p) > 1 && p[0] == '/'
	}
	return len(p) > len(root) && string(p[:len(root)]) == root && p[len(root)] == '/'
}
