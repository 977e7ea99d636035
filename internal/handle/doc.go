// Package handle encodes NFS file handles and stores the hints that let an
// unprivileged backend find the object a handle names.
//
// # Requirements
//
// A file handle names an object, not a path. It must stay valid across
// renames of the object and of any ancestor directory, across server
// restarts and VM reboots, and whatever the server has forgotten, for trees
// of a million files and more with bounded memory. A handle of a removed
// object must be reported as stale even when the kernel has given its inode
// number to a new object. NFSv3 allows at most 64 bytes.
//
// # Handle layout
//
// Every handle is Size (25) bytes:
//
//	offset  size  field
//	0       1     version, currently 1
//	1       8     export key
//	9       8     inode number, big-endian
//	17      8     generation, big-endian
//
// The backend derives the export key from the identity of the exported file
// system and the inode number of the export root, so it is the same after
// every restart and does not depend on the hint file. A handle from another
// export or another layout is rejected by Decode with an error wrapping
// backend.ErrBadHandle.
//
// The inode number and generation together form an ID. The generation is
// opaque here. The backend derives it from the bytes that
// name_to_handle_at(2) returns or from the birth time. An object created
// later with a reused inode number then has another ID, so an old handle
// of that inode number is detected as stale.
//
// # Finding an object from its handle
//
// An unprivileged process cannot call open_by_handle_at(2), which needs
// CAP_DAC_READ_SEARCH, so the backend needs a path to open an object. For
// each inode number the Store keeps a Hint: the inode number of the parent
// directory and the name the object had there when the backend last saw
// it. To resolve an ID, the backend follows hints up to the root, opens the
// resulting path beneath the root (openat2 with RESOLVE_BENEATH) and checks
// that the inode number and generation of what it opened match the ID.
// When a hint is missing or wrong, because of a rename or removal by
// another process or a lost batch, the backend searches the tree and
// stores the hints it finds. Hints are therefore a cache: a wrong hint
// costs a search, never a wrong result.
//
// # Store
//
// The Store keeps all hints in a bbolt file, by default
// $XDG_STATE_HOME/burrow/<export key in hex>.db (see DefaultStatePath),
// and the most recently used ones in a sharded in-memory CLOCK cache of
// Options.MemEntries entries. Entries evicted from memory stay in the file,
// so memory does not grow with the number of handles issued.
//
// One bbolt transaction per LOOKUP would be far too slow, so Put and Delete
// add to a pending batch in memory, and a background goroutine writes the
// batch in one transaction every 100 ms, or sooner when it reaches 4096
// entries. Flush and Close write it at once. Get looks in the cache, then in
// the pending batch, then in the file, so it returns a change before its
// batch is written. Put and Delete write the batch themselves when it
// reaches 32768 entries, which bounds its memory when the file is slow.
//
// The file is opened with bbolt's NoSync and NoFreelistSync options, so
// commits are never fsynced. A crash of the burrow process loses only the
// pending batch, because committed pages are in the kernel page cache. A
// crash of the VM may lose the last batches or, since bbolt then cannot
// rely on write order, leave a damaged file. Both are safe, because hints
// are only a cache: a missing or wrong hint makes the backend search, and
// handles themselves carry everything needed to verify the object. On
// Open, a file that bbolt cannot read or that has an unknown format is
// renamed to <path>.corrupt-<time>, a warning is logged, and an empty file
// replaces it.
//
// bbolt locks the file, so a second burrow serving the same directory with
// the same state directory fails in Open after one second with an error
// that names the file.
package handle
