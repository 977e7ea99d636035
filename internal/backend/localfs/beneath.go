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

// procFDPath returns the magic link that names descriptor fd's file.
func procFDPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// linkTarget writes the path that the magic link procPath reports into buf
// and returns it.
func linkTarget(procPath string, buf []byte) ([]byte, error) {
	n, err := unix.Readlink(procPath, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// cachedBeneath reports whether the open descriptor whose magic link is
// procPath still names a file beneath the export root. A cached descriptor skips path resolution, so
// without this check a file that a process in the VM moved out of the
// export would stay readable and writable through a handle already in use.
// The root's path is refreshed once on a mismatch, because the export
// directory itself may have been renamed.
//
// NOTE: this compares the paths that the kernel reports. A move out of the
// export between this check and the next pread or pwrite still reaches the
// file once, and a fresh open has the same window.
func (fs *FS) cachedBeneath(procPath string) bool {
	var buf [unix.PathMax]byte
	p, err := linkTarget(procPath, buf[:])
	if err != nil {
		return false
	}
	if root := fs.root.p.Load(); root != nil && isBeneath(p, *root) {
		return true
	}
	var rootBuf [unix.PathMax]byte
	rb, err := linkTarget(procFDPath(fs.rootFD), rootBuf[:])
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
