package localfs

import (
	"sync/atomic"

	"github.com/burrow-nfs/burrow/internal/backend"
)

// hostUser remembers the uid and gid of the last caller that was not root,
// so that owner mode can show root callers the same owner as everyone else.
//
// NFS clients cache attributes per file, not per user: when root on the host
// (sudo, the mount itself) fetches attributes, every host user sees the
// owner that root was shown until the cache expires. If root were shown its
// own uid, the host user would briefly see its files owned by root, and git
// would report "dubious ownership". A development VM is mounted by one host
// user, so reporting that user's identity to root as well keeps every view
// the same. Before any non-root call, root is shown its own identity.
type hostUser struct {
	id atomic.Uint64 // uid<<32 | gid; 0 means none seen yet
}

// view returns the uid and gid that objects owned by the serving user are
// reported with to caller c, and records c when it is not root.
func (h *hostUser) view(c *backend.Cred) (uid, gid uint32) {
	if c.UID != 0 {
		id := uint64(c.UID)<<32 | uint64(c.GID)
		if h.id.Load() != id {
			h.id.Store(id)
		}
		return c.UID, c.GID
	}
	if id := h.id.Load(); id != 0 {
		return uint32(id >> 32), uint32(id)
	}
	return c.UID, c.GID
}
