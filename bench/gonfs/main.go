// Command gonfs serves a directory over NFSv3 with the go-nfs library
// (github.com/willscott/go-nfs), so that the benchmarks can compare burrow
// with it. It lives in its own module so that burrow does not depend on
// go-nfs.
//
// Usage: gonfs -listen 127.0.0.1:PORT DIR
//
// MOUNT and NFS share the one TCP port. MNT accepts any path.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	nfs "github.com/willscott/go-nfs"
	nfshelper "github.com/willscott/go-nfs/helpers"
)

// changeFS adds billy.Change to an osfs file system rooted at root, so
// that SETATTR and the attributes of CREATE and MKDIR reach the disk.
// Without it go-nfs treats the export as read-only for attribute changes.
type changeFS struct {
	billy.Filesystem
	root string
}

// path maps a name inside the export to its path on disk. go-nfs passes
// cleaned paths relative to the export root.
func (c changeFS) path(name string) string {
	return filepath.Join(c.root, filepath.Clean("/"+name))
}

func (c changeFS) Chmod(name string, mode os.FileMode) error {
	return os.Chmod(c.path(name), mode)
}

func (c changeFS) Lchown(name string, uid, gid int) error {
	return os.Lchown(c.path(name), uid, gid)
}

func (c changeFS) Chown(name string, uid, gid int) error {
	return os.Chown(c.path(name), uid, gid)
}

func (c changeFS) Chtimes(name string, atime, mtime time.Time) error {
	return os.Chtimes(c.path(name), atime, mtime)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback TCP address and port to listen on (ADDR:PORT)")
	handles := flag.Int("handles", 1<<20, "number of file handles the caching handler keeps; a handle evicted from it becomes stale")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: gonfs [-listen 127.0.0.1:PORT] [-handles N] DIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	root, err := filepath.Abs(flag.Arg(0))
	if err != nil {
		log.Fatalf("invalid directory %q: %v", flag.Arg(0), err)
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		log.Fatalf("cannot serve %s: not a directory (%v)", root, err)
	}

	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		log.Fatalf("invalid -listen %q: %v", *listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("invalid -listen %q: the benchmark server listens on loopback addresses only", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("cannot listen on %s: %v", *listen, err)
	}

	fs := changeFS{Filesystem: osfs.New(root), root: root}
	handler := nfshelper.NewCachingHandler(nfshelper.NewNullAuthHandler(fs), *handles)
	log.Printf("gonfs serving %s on %s", root, ln.Addr())
	if err := nfs.Serve(ln, handler); err != nil {
		log.Fatalf("serving stopped: %v", err)
	}
}
