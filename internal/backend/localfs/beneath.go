package localfs

import (
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// rootPath caches the export root's current absolute path, as the kernel
// reports it for the root descriptor, for cachedBeneath.
type rootPath struct {
	p atomic.Pointer[string]
}

// fdPath writes the path the kernel reports for descriptor fd into buf and
// returns it.
func fdPath(fd int, buf []byte) ([]byte, error) {
	var name [32]byte
	link := append(append(name[:0], "/proc/self/fd/"...), strconv.Itoa(fd)...)
	n, err := unix.Readlink(string(link), buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// cachedBeneath reports whether the open descriptor fd still names a file
// beneath the export root. A cached descriptor skips path resolution, so
// without this check a file that a process in the VM moved out of the
// export would stay readable and writable through a handle already in use.
// The root's path is refreshed once on a mismatch, because the export
// directory itself may have been renamed.
//
// NOTE: this compares the paths the kernel reports, so a move out of the
// export between this check and the following pread or pwrite still
// reaches the file once; a fresh open has the same window.
func (fs *FS) cachedBeneath(fd int) bool {
	var buf [unix.PathMax]byte
	p, err := fdPath(fd, buf[:])
	if err != nil {
		return false
	}
	if root := fs.root.p.Load(); root != nil && isBeneath(p, *root) {
		return true
	}
	var rootBuf [unix.PathMax]byte
	rb, err := fdPath(fs.rootFD, rootBuf[:])
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
