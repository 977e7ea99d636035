package nfsclient

import (
	"context"

	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// maxAuthFlavors bounds the flavor list decoded from a MNT reply.
const maxAuthFlavors = 64

// MountResult is the result of MNT.
type MountResult struct {
	Status mount.Mountstat3
	// Root is the file handle of the exported directory, set on MNT3_OK.
	Root []byte
	// Flavors lists the RPC authentication flavors the server accepts.
	Flavors []uint32
}

// Mount calls MOUNT v3 MNT for path, the export's directory path on the
// server, and returns the export's root handle.
func (c *Client) Mount(ctx context.Context, path string) (MountResult, error) {
	var r MountResult
	err := c.call(ctx, mount.Program, mount.Version, mount.ProcMnt, "MNT",
		func(e *xdr.Encoder) { e.String(path) },
		func(d *xdr.Decoder) {
			r.Status = mount.Mountstat3(d.Uint32())
			if r.Status != mount.MNT3_OK {
				return
			}
			r.Root = getFH(d)
			n := d.Uint32()
			if n > maxAuthFlavors {
				d.Fail(xdr.ErrTooLong)
				return
			}
			for range n {
				r.Flavors = append(r.Flavors, d.Uint32())
			}
		})
	return r, err
}

// Unmount calls MOUNT v3 UMNT for path, which removes this client from the
// server's mount list. It has no result.
func (c *Client) Unmount(ctx context.Context, path string) error {
	return c.call(ctx, mount.Program, mount.Version, mount.ProcUmnt, "UMNT",
		func(e *xdr.Encoder) { e.String(path) }, nil)
}
