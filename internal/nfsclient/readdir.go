package nfsclient

import (
	"context"
	"fmt"

	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// EntryPlus is one entryplus3 of a READDIRPLUS reply. Attr and Handle are
// nil when the server did not send them.
type EntryPlus struct {
	FileID uint64
	Name   string
	Cookie uint64
	Attr   *Attr
	Handle []byte
}

// ReadDirPlusResult is the result of READDIRPLUS. Verifier, Entries and
// EOF are set on NFS3_OK. Pass Verifier and the Cookie of the last entry
// to the next call to continue the listing.
type ReadDirPlusResult struct {
	Status   nfs3.Nfsstat3
	DirAttr  *Attr
	Verifier [nfs3.NFS3_COOKIEVERFSIZE]byte
	Entries  []EntryPlus
	EOF      bool
}

// maxEntries bounds the entries decoded from one READDIRPLUS reply, so a
// malformed reply cannot grow the slice without limit.
const maxEntries = 1 << 20

// ReadDirPlus lists dir from cookie, the cookie of the last entry already
// seen, or 0 to start. verifier is the cookie verifier of the previous
// reply, or zero to start. dircount bounds the bytes of names and cookies
// and maxcount the size of the whole reply.
func (c *Client) ReadDirPlus(ctx context.Context, dir []byte, cookie uint64, verifier [nfs3.NFS3_COOKIEVERFSIZE]byte, dircount, maxcount uint32) (ReadDirPlusResult, error) {
	var r ReadDirPlusResult
	err := c.nfsCall(ctx, nfs3.ProcReaddirplus, "READDIRPLUS",
		func(e *xdr.Encoder) {
			e.Opaque(dir)
			e.Uint64(cookie)
			e.Fixed(verifier[:])
			e.Uint32(dircount)
			e.Uint32(maxcount)
		},
		func(d *xdr.Decoder) {
			r.Status = getStatus(d)
			r.DirAttr = getPostOpAttr(d)
			if r.Status != nfs3.NFS3_OK {
				return
			}
			copy(r.Verifier[:], d.Fixed(nfs3.NFS3_COOKIEVERFSIZE))
			for d.Bool() {
				if len(r.Entries) == maxEntries {
					d.Fail(xdr.ErrTooLong)
					return
				}
				var ent EntryPlus
				ent.FileID = d.Uint64()
				ent.Name = d.String(maxNameLen)
				ent.Cookie = d.Uint64()
				ent.Attr = getPostOpAttr(d)
				ent.Handle = getPostOpFH(d)
				r.Entries = append(r.Entries, ent)
			}
			r.EOF = d.Bool()
		})
	return r, err
}

// maxReadDirCalls bounds the calls ReadDirPlusAll makes, so that a server
// that never sets eof cannot keep it looping.
const maxReadDirCalls = 100000

// ReadDirPlusAll lists all of dir with READDIRPLUS calls of the given
// sizes, following cookies until eof. It returns the entries, "." and ".."
// included when the server sends them, and the number of calls made. A
// status other than NFS3_OK returns a *StatusError.
func (c *Client) ReadDirPlusAll(ctx context.Context, dir []byte, dircount, maxcount uint32) ([]EntryPlus, int, error) {
	var (
		all      []EntryPlus
		cookie   uint64
		verifier [nfs3.NFS3_COOKIEVERFSIZE]byte
	)
	for calls := 1; calls <= maxReadDirCalls; calls++ {
		r, err := c.ReadDirPlus(ctx, dir, cookie, verifier, dircount, maxcount)
		if err != nil {
			return all, calls, err
		}
		if err := StatusErr("READDIRPLUS", r.Status); err != nil {
			return all, calls, err
		}
		all = append(all, r.Entries...)
		if r.EOF {
			return all, calls, nil
		}
		if len(r.Entries) == 0 {
			return all, calls, fmt.Errorf("nfsclient: READDIRPLUS returned no entries and no eof at cookie %d", cookie)
		}
		cookie = r.Entries[len(r.Entries)-1].Cookie
		verifier = r.Verifier
	}
	return all, maxReadDirCalls, fmt.Errorf("nfsclient: READDIRPLUS did not reach eof in %d calls", maxReadDirCalls)
}
