package nfs3

import (
	"context"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// Encoded sizes of the parts of READDIR and READDIRPLUS replies, in bytes.
const (
	// dirReplyFixed is the status, cookieverf3, the end of the entry list
	// and eof. The directory's post_op_attr is added separately.
	dirReplyFixed = 4 + cookieVerfSize + 4 + 4
	// dirEntryFixed is an entry3 without its name's bytes: the
	// value-follows flag, fileid, name length and cookie.
	dirEntryFixed = 4 + 8 + 4 + 8
	// minPlusEntry is the smallest entryplus3 that carries attributes and
	// a handle: a name of up to four bytes and a handle of up to 16.
	minPlusEntry = dirEntryFixed + 4 + postOpAttrMax + 4 + 4 + 16
)

// maxDirEntries bounds the entries asked of the backend in one call.
const maxDirEntries = 1024

func (s *server) readdir(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a readdirArgs
	r := argReader{d: d}
	decodeReaddirArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	return s.serveReaddir(ctx, call, e, "READDIR", &a, st, false)
}

func (s *server) readdirplus(ctx context.Context, call *oncrpc.Call, d *xdr.Decoder, e *xdr.Encoder) error {
	var a readdirArgs
	r := argReader{d: d}
	decodeReaddirplusArgs(&r, &a)
	st, err := r.finish()
	if err != nil {
		return err
	}
	return s.serveReaddir(ctx, call, e, "READDIRPLUS", &a, st, true)
}

// dirEntrySize returns the encoded size of an entry3 named name.
func dirEntrySize(name string) int { return dirEntryFixed + roundUp4(len(name)) }

// plusEntrySize returns the encoded size of the entryplus3 for ent.
func plusEntrySize(ent *backend.DirEntry) int {
	size := dirEntrySize(ent.Name) + 4 + postOpFHSize(ent.Handle)
	if ent.Attr != nil {
		size += fattr3Size
	}
	return size
}

// serveReaddir serves READDIR and READDIRPLUS. The whole reply, counted
// from the status, stays within maxcount. For READDIRPLUS the entries
// without their attributes and handles also stay within dircount, except
// that the first entry is sent whenever it fits in maxcount, so a client
// with a tiny dircount still makes progress. When the first entry does not
// fit in maxcount the reply is NFS3ERR_TOOSMALL.
func (s *server) serveReaddir(ctx context.Context, call *oncrpc.Call, e *xdr.Encoder,
	proc string, a *readdirArgs, st Nfsstat3, plus bool) error {
	if st != NFS3_OK {
		putStatus(e, st)
		encodePostOpAttr(e, nil)
		return nil
	}
	maxcount := int(min(a.maxcount, maxDirReply))
	dircount := int(min(a.dircount, maxDirReply))

	maxEntries := maxcount / (dirEntryFixed + 4)
	if plus {
		maxEntries = min(maxcount/minPlusEntry, dircount/(dirEntryFixed+4))
	}
	maxEntries = min(maxEntries+1, maxDirEntries)

	cred := credOf(call)
	res, err := s.fs.ReadDir(ctx, &cred, a.fh, backend.ReadDirArgs{
		Cookie:     a.cookie,
		Verifier:   a.verifier,
		MaxEntries: maxEntries,
		Plus:       plus,
	})
	if err != nil {
		putStatus(e, s.fail(ctx, call, proc, a.fh, err))
		encodePostOpAttr(e, res.DirAttr)
		return nil
	}
	if len(res.Entries) == 0 && !res.EOF {
		// An empty page that is not the end would make the client ask
		// again with the same cookie for ever.
		s.log.ErrorContext(ctx, "backend returned an empty directory page before the end",
			"proc", proc, "cookie", a.cookie)
		putStatus(e, NFS3ERR_SERVERFAULT)
		encodePostOpAttr(e, res.DirAttr)
		return nil
	}

	size := dirReplyFixed + 4
	if res.DirAttr != nil {
		size += fattr3Size
	}
	dirBytes := 0
	fit := 0
	for i := range res.Entries {
		ent := &res.Entries[i]
		dirSize := dirEntrySize(ent.Name)
		entSize := dirSize
		if plus {
			entSize = plusEntrySize(ent)
		}
		if size+entSize > maxcount || (plus && fit > 0 && dirBytes+dirSize > dircount) {
			break
		}
		size += entSize
		dirBytes += dirSize
		fit++
	}
	if fit == 0 && len(res.Entries) > 0 {
		putStatus(e, NFS3ERR_TOOSMALL)
		encodePostOpAttr(e, res.DirAttr)
		return nil
	}

	putStatus(e, NFS3_OK)
	encodePostOpAttr(e, res.DirAttr)
	e.Fixed(res.Verifier[:])
	for i := range res.Entries[:fit] {
		ent := &res.Entries[i]
		e.Bool(true)
		e.Uint64(ent.FileID)
		e.String(ent.Name)
		e.Uint64(ent.Cookie)
		if plus {
			encodePostOpAttr(e, ent.Attr)
			encodePostOpFH(e, ent.Handle)
		}
	}
	e.Bool(false)
	e.Bool(res.EOF && fit == len(res.Entries))
	return nil
}
