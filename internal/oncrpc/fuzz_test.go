package oncrpc

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// FuzzReadRecord checks that the record reader never returns a record over
// its maximum and that each record is the concatenation of its fragments,
// as parsed independently here.
func FuzzReadRecord(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 2, 'a', 'b', 0x80, 0, 0, 1, 'c'})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add(append(frame(nullCall(1).bytes()), nullCall(1).bytes()...))
	const maxSize = 64
	f.Fuzz(func(t *testing.T, in []byte) {
		rr := NewRecordReader(bytes.NewReader(in), maxSize)
		rest := in
		for {
			rec, err := rr.ReadRecord(nil)
			want, wantErr, next := parseRecord(rest, maxSize)
			if (err == nil) != (wantErr == nil) || (err != nil && !errors.Is(err, wantErr)) {
				t.Fatalf("ReadRecord error %v, reference parser %v", err, wantErr)
			}
			if err != nil {
				return
			}
			if len(rec) > maxSize {
				t.Fatalf("record of %d bytes exceeds the maximum %d", len(rec), maxSize)
			}
			if !bytes.Equal(rec, want) {
				t.Fatalf("record %x, reference parser %x", rec, want)
			}
			rest = next
		}
	})
}

// parseRecord is a plain reference parser for one record.
func parseRecord(in []byte, maxSize int) (rec []byte, err error, rest []byte) {
	if len(in) == 0 {
		return nil, io.EOF, nil
	}
	rec = []byte{}
	for {
		if len(in) < 4 {
			return nil, io.ErrUnexpectedEOF, nil
		}
		mark := uint32(in[0])<<24 | uint32(in[1])<<16 | uint32(in[2])<<8 | uint32(in[3])
		n := int(mark & 0x7fffffff)
		in = in[4:]
		if len(rec)+n > maxSize {
			return nil, ErrRecordTooLarge, nil
		}
		if len(in) < n {
			return nil, io.ErrUnexpectedEOF, nil
		}
		rec = append(rec, in[:n]...)
		in = in[n:]
		if mark&0x80000000 != 0 {
			return rec, nil, in
		}
	}
}

// FuzzDecodeCallHeader checks that the call header decoder never panics,
// that an accepted header respects the AUTH_SYS limits, and that encoding
// the decoded header again gives back the bytes that were consumed.
func FuzzDecodeCallHeader(f *testing.F) {
	f.Add(nullCall(1).bytes())
	f.Add(rawCall{xid: 2, rpcvers: 3}.bytes())
	f.Add(rawCall{xid: 3, rpcvers: 2, prog: 100003, vers: 3, proc: 1, credFlavor: AuthSys,
		credBody: sysCredBody(nil, "client", 3, 0), args: []byte{1, 2, 3, 4}}.bytes())
	f.Add(rawCall{xid: 4, rpcvers: 2, credFlavor: AuthSys, credBody: sysCredBody(nil, "x", 17, 0)}.bytes())
	f.Add(rawCall{xid: 5, rpcvers: 2, credFlavor: 6, credBody: []byte{1, 2, 3, 4}}.bytes())
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		var d xdr.Decoder
		d.Reset(in)
		var c Call
		var st callDecodeState
		lastName := "client"
		verdict, authStat, err := decodeCallHeader(&d, &c, &st, &lastName)
		if verdict == headerOK {
			if err != nil || authStat != AuthOK {
				t.Fatalf("accepted header with error %v, auth stat %v", err, authStat)
			}
		} else if err == nil {
			t.Fatalf("verdict %d without an error", verdict)
		}
		if verdict == headerAuthError && authStat == AuthOK {
			t.Fatal("auth error verdict with AUTH_OK")
		}
		if verdict != headerOK {
			return
		}

		e := xdr.NewEncoder(nil)
		e.Uint32(c.XID)
		e.Uint32(msgCall)
		e.Uint32(rpcVersion)
		e.Uint32(c.Prog)
		e.Uint32(c.Vers)
		e.Uint32(c.Proc)
		e.Uint32(c.Flavor)
		switch c.Flavor {
		case AuthNone:
			if c.Sys != nil {
				t.Fatal("AUTH_NONE call has an AUTH_SYS credential")
			}
			e.Uint32(0)
		case AuthSys:
			if c.Sys == nil {
				t.Fatal("AUTH_SYS call lacks its credential")
			}
			if len(c.Sys.MachineName) > MaxMachineName || len(c.Sys.GIDs) > MaxAuthSysGIDs {
				t.Fatalf("credential over the limits: %d-byte name, %d gids", len(c.Sys.MachineName), len(c.Sys.GIDs))
			}
			cred, err := AuthSysCredential(*c.Sys)
			if err != nil {
				t.Fatal(err)
			}
			e.Opaque(cred.Body)
		default:
			t.Fatalf("accepted flavor %d", c.Flavor)
		}
		e.Uint32(AuthNone)
		e.Uint32(0)
		if !bytes.Equal(e.Bytes(), in[:d.Offset()]) {
			t.Fatalf("re-encoded header %x differs from input %x", e.Bytes(), in[:d.Offset()])
		}
	})
}
