package oncrpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// ErrClientClosed is returned by calls on a Client after Close, and by
// calls in flight when Close is called.
var ErrClientClosed = errors.New("oncrpc: client closed")

// Credential is an opaque_auth credential sent with a call.
type Credential struct {
	Flavor uint32
	Body   []byte
}

// AuthNoneCredential returns an AUTH_NONE credential.
func AuthNoneCredential() Credential { return Credential{Flavor: AuthNone} }

// AuthSysCredential encodes c as an AUTH_SYS credential. It fails if the
// machine name is longer than 255 bytes or there are more than 16 group
// ids, because servers reject such credentials.
func AuthSysCredential(c SysCred) (Credential, error) {
	if len(c.MachineName) > MaxMachineName {
		return Credential{}, fmt.Errorf("oncrpc: AUTH_SYS machine name is %d bytes, maximum %d", len(c.MachineName), MaxMachineName)
	}
	if len(c.GIDs) > MaxAuthSysGIDs {
		return Credential{}, fmt.Errorf("oncrpc: AUTH_SYS credential has %d group ids, maximum %d", len(c.GIDs), MaxAuthSysGIDs)
	}
	e := xdr.NewEncoder(make([]byte, 0, 20+len(c.MachineName)+4*len(c.GIDs)+4))
	e.Uint32(c.Stamp)
	e.String(c.MachineName)
	e.Uint32(c.UID)
	e.Uint32(c.GID)
	e.Uint32(uint32(len(c.GIDs)))
	for _, g := range c.GIDs {
		e.Uint32(g)
	}
	return Credential{Flavor: AuthSys, Body: e.Bytes()}, nil
}

// Client sends RPC calls over one stream connection. It is safe for
// concurrent use: calls from many goroutines are in flight at once and
// their replies are matched by xid on a single reader goroutine.
type Client struct {
	nc      net.Conn
	writeMu sync.Mutex

	mu      sync.Mutex
	pending map[uint32]chan callResult
	nextXID uint32
	err     error // set once the reader stops; guarded by mu

	done chan struct{} // closed when the reader goroutine exits
}

type callResult struct {
	body []byte
	err  error
}

// Dial connects to addr and returns a Client for the connection.
func Dial(ctx context.Context, network, addr string) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return NewClient(nc), nil
}

// NewClient returns a Client that uses nc, which it owns from then on.
func NewClient(nc net.Conn) *Client {
	c := &Client{
		nc:      nc,
		pending: make(map[uint32]chan callResult),
		nextXID: rand.Uint32(),
		done:    make(chan struct{}),
	}
	go c.readLoop()
	return c
}

// Close closes the connection and fails the calls in flight with
// ErrClientClosed. It waits for the reader goroutine to exit.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.err == nil {
		c.err = ErrClientClosed
	}
	c.mu.Unlock()
	err := c.nc.Close()
	<-c.done
	return err
}

// Call sends one call and waits for its reply or for ctx to end. On a
// SUCCESS reply it returns the encoded results. A rejected call returns a
// *RejectedError and an accepted call with another status returns an
// *AcceptError. If ctx ends first, Call returns ctx.Err() and a late reply
// is discarded.
// NOTE: ctx is not checked while the call is being written, so a server
// that stops reading can block Call until Close.
func (c *Client) Call(ctx context.Context, prog, vers, proc uint32, cred Credential, args []byte) ([]byte, error) {
	if len(cred.Body) > MaxAuthBody {
		return nil, fmt.Errorf("oncrpc: credential body is %d bytes, maximum %d", len(cred.Body), MaxAuthBody)
	}
	ch := make(chan callResult, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	xid := c.nextXID
	for {
		if _, busy := c.pending[xid]; !busy {
			break
		}
		xid++
	}
	c.nextXID = xid + 1
	c.pending[xid] = ch
	c.mu.Unlock()

	e := xdr.NewEncoder(make([]byte, 0, 44+len(cred.Body)+len(args)))
	e.Uint32(0) // record mark
	e.Uint32(xid)
	e.Uint32(msgCall)
	e.Uint32(rpcVersion)
	e.Uint32(prog)
	e.Uint32(vers)
	e.Uint32(proc)
	e.Uint32(cred.Flavor)
	e.Opaque(cred.Body)
	e.Uint32(AuthNone)
	e.Uint32(0)
	msg := append(e.Bytes(), args...)
	if len(msg)-recordMarkSize > maxFragmentSize {
		c.forget(xid)
		return nil, fmt.Errorf("oncrpc: call of %d bytes exceeds the fragment limit", len(msg))
	}
	putRecordMark(msg)

	c.writeMu.Lock()
	_, err := c.nc.Write(msg)
	c.writeMu.Unlock()
	if err != nil {
		c.forget(xid)
		return nil, fmt.Errorf("oncrpc: sending call: %w", err)
	}

	select {
	case r := <-ch:
		return r.body, r.err
	case <-ctx.Done():
		c.forget(xid)
		return nil, ctx.Err()
	}
}

func (c *Client) forget(xid uint32) {
	c.mu.Lock()
	delete(c.pending, xid)
	c.mu.Unlock()
}

// readLoop reads replies and hands each to the call waiting for its xid.
// A reply for an unknown xid, such as one for a canceled call, is dropped.
func (c *Client) readLoop() {
	defer close(c.done)
	rr := NewRecordReader(bufio.NewReader(c.nc), DefaultMaxRecordSize)
	var err error
	for {
		var rec []byte
		rec, err = rr.ReadRecord(nil)
		if err != nil {
			break
		}
		if len(rec) < 8 {
			err = fmt.Errorf("oncrpc: reply record of %d bytes is too short", len(rec))
			break
		}
		var d xdr.Decoder
		d.Reset(rec)
		xid := d.Uint32()
		if mtype := d.Uint32(); mtype != msgReply {
			err = fmt.Errorf("oncrpc: received message type %d, expected a reply", mtype)
			break
		}
		body, replyErr := decodeReply(rec, &d)
		c.mu.Lock()
		ch, ok := c.pending[xid]
		delete(c.pending, xid)
		c.mu.Unlock()
		if ok {
			ch <- callResult{body, replyErr}
		}
	}

	c.mu.Lock()
	if c.err == nil {
		c.err = fmt.Errorf("oncrpc: connection failed: %w", err)
	}
	for xid, ch := range c.pending {
		ch <- callResult{nil, c.err}
		delete(c.pending, xid)
	}
	c.mu.Unlock()
	c.nc.Close()
}

// decodeReply decodes the reply in rec, with d positioned after the xid
// and message type. It returns the results of a SUCCESS reply, which alias
// rec, or the error that the reply reports.
func decodeReply(rec []byte, d *xdr.Decoder) ([]byte, error) {
	switch stat := d.Uint32(); stat {
	case replyAccepted:
		d.Uint32() // verifier flavor
		d.Opaque(MaxAuthBody)
		as := AcceptStat(d.Uint32())
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("oncrpc: decoding accepted reply: %w", err)
		}
		switch as {
		case Success:
			return rec[d.Offset():], nil
		case ProgMismatch:
			low, high := d.Uint32(), d.Uint32()
			if err := d.Err(); err != nil {
				return nil, fmt.Errorf("oncrpc: decoding PROG_MISMATCH reply: %w", err)
			}
			return nil, &AcceptError{Stat: as, Low: low, High: high}
		default:
			return nil, &AcceptError{Stat: as}
		}
	case replyDenied:
		rs := RejectStat(d.Uint32())
		e := &RejectedError{Stat: rs}
		switch rs {
		case RPCMismatch:
			e.Low, e.High = d.Uint32(), d.Uint32()
		case AuthError:
			e.AuthStat = AuthStat(d.Uint32())
		}
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("oncrpc: decoding denied reply: %w", err)
		}
		return nil, e
	default:
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("oncrpc: decoding reply: %w", err)
		}
		return nil, fmt.Errorf("oncrpc: reply status %d is neither accepted nor denied", stat)
	}
}
