package localfs

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/backend"
)

// squashID is the uid and gid that root callers run as in passthrough mode
// unless Options.NoRootSquash is set, as knfsd's default anonuid.
const squashID = 65534

// threadCreds are the file system credentials of one OS thread.
type threadCreds struct {
	uid, gid uint32
	groups   []int
}

// callerCreds returns the credentials a passthrough call of c runs with.
// Root squashing maps uid 0 and gid 0, also among the supplementary
// groups, to 65534.
func (fs *FS) callerCreds(c *backend.Cred) threadCreds {
	if c == nil {
		return threadCreds{uid: squashID, gid: squashID}
	}
	squash := func(id uint32) uint32 {
		if id == 0 && !fs.noSquash {
			return squashID
		}
		return id
	}
	cr := threadCreds{uid: squash(c.UID), gid: squash(c.GID)}
	for _, g := range c.Groups {
		cr.groups = append(cr.groups, int(squash(g)))
	}
	return cr
}

// noRestore is the restore function of calls that switch nothing.
func noRestore() {}

// become switches the current OS thread to the caller's credentials in
// passthrough mode and returns the function that switches back. The
// goroutine stays locked to its thread in between. In owner mode it does
// nothing. Every FS method calls it first and defers the restore, so the
// system calls of one request all run as the caller.
//
// If switching back fails, the goroutine stays locked to the thread, so
// the Go runtime ends the thread when the goroutine exits instead of
// reusing it with the caller's credentials.
func (fs *FS) become(c *backend.Cred) (restore func(), err error) {
	if fs.identity != PassthroughMode {
		return noRestore, nil
	}
	runtime.LockOSThread()
	if err := setThreadCreds(fs.callerCreds(c)); err != nil {
		if setThreadCreds(fs.base) == nil {
			runtime.UnlockOSThread()
		}
		return nil, fmt.Errorf("switch to the caller's credentials: %w", err)
	}
	return func() {
		if setThreadCreds(fs.base) == nil {
			runtime.UnlockOSThread()
		}
	}, nil
}

// setThreadCreds sets the supplementary groups, fsgid and fsuid of the
// current thread. setgroups in golang.org/x/sys/unix is a plain system
// call, which on Linux changes only the calling thread, unlike
// syscall.Setgroups.
func setThreadCreds(cr threadCreds) error {
	if err := unix.Setgroups(cr.groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	unix.Setfsgid(int(cr.gid))
	// setfsgid and setfsuid report failure only by leaving the id
	// unchanged; an invalid id (-1) reads the current one back.
	if cur, _ := unix.SetfsgidRetGid(-1); cur != int(cr.gid) {
		return fmt.Errorf("setfsgid %d: %w", cr.gid, unix.EPERM)
	}
	unix.Setfsuid(int(cr.uid))
	if cur, _ := unix.SetfsuidRetUid(-1); cur != int(cr.uid) {
		return fmt.Errorf("setfsuid %d: %w", cr.uid, unix.EPERM)
	}
	return nil
}

// ownerUID is the uid whose files the current call may open despite their
// mode (see openData): the serving user in owner mode, the caller after
// squashing in passthrough mode.
func (fs *FS) ownerUID(c *backend.Cred) uint32 {
	if fs.identity == PassthroughMode {
		return fs.callerCreds(c).uid
	}
	return fs.realUID
}

// mayUseCached reports whether the caller may use a descriptor that the
// open-file cache holds, which another caller may have opened. Only
// passthrough mode needs the check, because in owner mode every call has
// the same credentials.
func (fs *FS) mayUseCached(c *backend.Cred, f *cachedFile, write bool) error {
	if fs.identity != PassthroughMode {
		return nil
	}
	mode := uint32(unix.R_OK)
	if write {
		mode = unix.W_OK
	}
	err := unix.Faccessat2(f.fd, "", mode, unix.AT_EMPTY_PATH|unix.AT_EACCESS)
	if err == nil {
		return nil
	}
	var st unix.Stat_t
	if unix.Fstat(f.fd, &st) == nil && st.Uid == fs.ownerUID(c) {
		return nil
	}
	return err
}
