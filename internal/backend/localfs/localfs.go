// Package localfs serves a directory of the local file system through the
// backend.FS interface.
//
// # Confinement
//
// Every operation works relative to directory file descriptors. A file
// handle names an object by inode number and generation. To find it, the
// backend rebuilds a path from hints (parent inode and name, as last seen)
// up to the export root. It opens that path with openat2 and
// RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS, RESOLVE_NO_MAGICLINKS and
// RESOLVE_NO_XDEV, then checks inode and generation with fstat. When a hint
// is missing or wrong it searches the tree from the root for the inode
// number. The path a handle was last resolved at is cached and tried
// first, with the same openat2 flags and checks, so a cached path that a
// rename made wrong costs one failed open and never reaches another
// object. The server never follows a symlink, never passes ".." to the
// kernel, and rejects names containing '/' before any system call.
//
// # Mount points
//
// Other file systems mounted inside the export are not served. They appear
// in directory listings (without handle and attributes in READDIRPLUS), and
// Lookup of such a name fails with EACCES.
//
// # Identity
//
// In owner mode (the default) every system call runs as the serving user,
// whatever the caller's credentials. Attributes report objects owned by the
// serving user as owned by the caller, so a client whose uid differs from
// the VM user's still sees its files as its own. Access is decided by the
// kernel for the serving user: owner bits for objects the serving user
// owns, group or other bits otherwise, plus ACLs and capabilities.
//
// # Durability
//
// RFC 1813 (section 1.6) makes CREATE, MKDIR, SYMLINK, MKNOD, REMOVE,
// RMDIR, RENAME and LINK synchronous: their changes must be on stable
// storage when the reply leaves, as the Linux nfsd ensures with its default
// sync export option. The backend fsyncs a new regular file or directory,
// which on ext4, XFS and btrfs also commits its entry in the parent, and
// otherwise the changed directories, before it returns. WRITE is durable when the client asks for FILE_SYNC or DATA_SYNC,
// or after COMMIT. SETATTR is not synchronous in the RFC and is not synced.
//
// # Generations
//
// The generation in a handle is a 64-bit hash of the kernel's own file
// handle (name_to_handle_at), which contains the inode generation on ext4,
// xfs, btrfs and tmpfs. Where the file system has no kernel handles, the
// birth time from statx is used instead. A handle whose inode number now
// belongs to an object with another generation is stale.
package localfs

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/handle"
)

// Identity selects whose credentials the backend uses for system calls.
type Identity int

const (
	// OwnerMode runs every call as the serving user and maps the serving
	// user's uid and gid to the caller's in returned attributes.
	OwnerMode Identity = iota
	// PassthroughMode runs each call with the caller's uid, gid and
	// groups. It needs root (CAP_SETUID, CAP_SETGID).
	PassthroughMode
)

// Options configures New. The zero value is valid.
type Options struct {
	// StatePath is the file of the persistent handle hints. Empty means
	// handle.DefaultStatePath for this export.
	StatePath string
	// Logger receives the hint store's messages. Nil means slog.Default.
	Logger *slog.Logger
	// Identity is OwnerMode or PassthroughMode.
	Identity Identity
	// OpenFiles bounds the cache of open file descriptors used by Read,
	// Write and Commit. Zero means 1024.
	OpenFiles int
	// NoRootSquash keeps uid 0 callers as root in PassthroughMode.
	// Without it they run as 65534.
	NoRootSquash bool
	// HintEntries is the number of hints the store keeps in memory. Zero
	// leaves the choice to the store.
	HintEntries int

	// serving overrides the serving user's uid and gid, for tests that run
	// as root but need to check the owner mapping of another user.
	serving *servingUser
}

// servingUser is the identity system calls run as in owner mode.
type servingUser struct {
	uid, gid uint32
}

// genSource is where generations come from on the exported file system.
type genSource int

const (
	genKernelHandle genSource = iota // hash of name_to_handle_at bytes
	genBirthTime                     // statx btime
	genNone                          // neither is available; always 0
)

// FS is a backend.FS serving one directory. It is safe for concurrent use.
type FS struct {
	rootFD   int // O_PATH descriptor of the export root
	syncFD   int // read-only descriptor of the export root for syncfs, or -1
	procFDs  int // O_PATH descriptor of /proc/self/fd, or -1
	root     rootPath
	rootIno  uint64
	rootGen  uint64
	rootDev  uint64
	key      [8]byte // export key, part of every handle
	fsid     uint64
	verifier [8]byte
	gen      genSource
	serving  servingUser
	host     hostUser
	realUID  uint32      // effective uid of the process
	base     threadCreds // credentials restored after passthrough calls
	identity Identity
	noSquash bool
	logger   *slog.Logger

	hints *handle.Store
	paths *pathCache
	files *fileCache
	dirs  *dirStreamCache

	dirSyncs   atomic.Uint64 // directory fsyncs by syncDir
	fileSyncs  atomic.Uint64 // fsyncs of new regular files by syncNew
	wholeSyncs atomic.Uint64 // syncfs or sync calls by syncDir
}

var _ backend.FS = (*FS)(nil)

// New opens root for serving. root must be a directory. The handle hints
// are kept in opts.StatePath. Close releases the descriptors and the hint
// store.
func New(root string, opts Options) (*FS, error) {
	if opts.Identity != OwnerMode && opts.Identity != PassthroughMode {
		return nil, fmt.Errorf("localfs: invalid identity mode %d", opts.Identity)
	}
	if opts.Identity == PassthroughMode && os.Geteuid() != 0 {
		return nil, errors.New("localfs: passthrough identity mode needs root; run as root or use owner mode")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}

	rootFD, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("localfs: open export root %q: %w", root, err)
	}
	fs := &FS{rootFD: rootFD, syncFD: -1, procFDs: -1, identity: opts.Identity, noSquash: opts.NoRootSquash, logger: logger}
	ok := false
	defer func() {
		if !ok {
			unix.Close(rootFD)
			if fs.syncFD >= 0 {
				unix.Close(fs.syncFD)
			}
			if fs.procFDs >= 0 {
				unix.Close(fs.procFDs)
			}
		}
	}()
	// The fd directory of this process, shared by its threads, for the
	// checks of cached descriptors. Without procfs those checks fail and
	// every call resolves its handle again.
	if fd, err := unix.Open(procFDDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		fs.procFDs = fd
	}
	// syncDir falls back to syncfs through this descriptor when it cannot
	// open a directory for reading. The export root is readable when it is
	// served at all, so failing here leaves only the slower sync(2).
	if fd, err := unix.Openat(rootFD, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		fs.syncFD = fd
	}

	var st unix.Stat_t
	if err := unix.Fstat(rootFD, &st); err != nil {
		return nil, fmt.Errorf("localfs: stat export root %q: %w", root, err)
	}
	fs.rootIno, fs.rootDev = st.Ino, st.Dev
	fs.gen = probeGenSource(rootFD)
	fs.rootGen, err = fs.generation(rootFD)
	if err != nil {
		return nil, fmt.Errorf("localfs: read generation of export root %q: %w", root, err)
	}
	fs.key, err = exportKey(rootFD, st.Ino)
	if err != nil {
		return nil, fmt.Errorf("localfs: derive export key of %q: %w", root, err)
	}
	fs.fsid = binary.BigEndian.Uint64(fs.key[:])
	if _, err := rand.Read(fs.verifier[:]); err != nil {
		return nil, fmt.Errorf("localfs: generate write verifier: %w", err)
	}

	fs.realUID = uint32(os.Geteuid())
	fs.serving = servingUser{uid: fs.realUID, gid: uint32(os.Getegid())}
	fs.base = threadCreds{uid: fs.realUID, gid: uint32(os.Getegid())}
	if fs.base.groups, err = unix.Getgroups(); err != nil {
		return nil, fmt.Errorf("localfs: read supplementary groups: %w", err)
	}
	if opts.serving != nil {
		fs.serving = *opts.serving
	}

	statePath := opts.StatePath
	if statePath == "" {
		statePath, err = handle.DefaultStatePath(fs.key)
		if err != nil {
			return nil, fmt.Errorf("localfs: choose handle state path: %w", err)
		}
	}
	fs.hints, err = handle.Open(statePath, handle.Options{MemEntries: opts.HintEntries, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("localfs: open handle state %q: %w", statePath, err)
	}

	openFiles := opts.OpenFiles
	if openFiles <= 0 {
		openFiles = 1024
	}
	fs.files = newFileCache(openFiles)
	fs.dirs = newDirStreamCache(64)
	fs.paths = new(pathCache)
	ok = true
	return fs, nil
}

// Close closes cached descriptors, flushes and closes the hint store and
// closes the export root. No method may be called during or after Close.
func (fs *FS) Close() error {
	fs.files.closeAll()
	fs.dirs.closeAll()
	err := fs.hints.Flush()
	if cerr := fs.hints.Close(); err == nil {
		err = cerr
	}
	if cerr := unix.Close(fs.rootFD); err == nil {
		err = cerr
	}
	if fs.syncFD >= 0 {
		unix.Close(fs.syncFD)
	}
	if fs.procFDs >= 0 {
		unix.Close(fs.procFDs)
	}
	return err
}

// Root returns the handle of the export root.
func (fs *FS) Root() []byte {
	return handle.Encode(fs.key, handle.ID{Ino: fs.rootIno, Gen: fs.rootGen})
}

// WriteVerifier returns the random verifier chosen by New.
func (fs *FS) WriteVerifier() [8]byte { return fs.verifier }

// Known reports whether h is the root or has its path or an open
// descriptor cached, so that resolving it needs no search of the tree.
func (fs *FS) Known(h []byte) bool {
	id, err := fs.decode(h)
	if err != nil {
		return false
	}
	if id.Ino == fs.rootIno {
		return true
	}
	if _, ok := fs.paths.get(id); ok {
		return true
	}
	return fs.files.has(id)
}

// exportKey derives the key that ties handles to this export. It hashes the
// file system id, the kernel handle of the root (when there is one) and the
// root inode number. All of them survive restarts and reboots on
// persistent file systems, so handles stay valid even without the hint
// store.
func exportKey(rootFD int, rootIno uint64) ([8]byte, error) {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(rootFD, &sfs); err != nil {
		return [8]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte("burrow localfs export\x00"))
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:4], uint32(sfs.Fsid.Val[0]))
	binary.LittleEndian.PutUint32(b[4:], uint32(sfs.Fsid.Val[1]))
	h.Write(b[:])
	if kh, _, err := unix.NameToHandleAt(rootFD, "", unix.AT_EMPTY_PATH); err == nil {
		binary.LittleEndian.PutUint32(b[:4], uint32(kh.Type()))
		h.Write(b[:4])
		h.Write(kh.Bytes())
	}
	binary.LittleEndian.PutUint64(b[:], rootIno)
	h.Write(b[:])
	var key [8]byte
	copy(key[:], h.Sum(nil))
	return key, nil
}
