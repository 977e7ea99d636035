// Package nfsclient is a small NFSv3 and MOUNT v3 client (RFC 1813) over
// one ONC RPC connection, for tests, benchmarks and tools that speak the
// protocol directly instead of going through a kernel mount.
//
// Every procedure method returns a result struct and an error. The error
// is non-nil only when the call itself failed: the connection broke, the
// server rejected the RPC, or the reply did not decode as the procedure's
// result. An NFS failure such as NFS3ERR_NOENT is not an error: it is the
// Status field of the result, and the result then holds the fields that
// RFC 1813 sends with a failure, such as the directory's wcc_data.
// StatusError turns a status into an error for callers that want one.
//
// Replies are decoded strictly: trailing bytes after a result are an
// error, so a server that sends a malformed reply is caught.
//
// A Client is safe for concurrent use, and calls from many goroutines are
// in flight at once on its connection. Handles, names and data in results
// alias the reply record, which the client does not reuse, so callers may
// keep them.
package nfsclient

import (
	"context"
	"fmt"
	"os"

	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// Client sends NFSv3 and MOUNT v3 calls over one connection with one
// credential.
type Client struct {
	rpc  *oncrpc.Client
	cred oncrpc.Credential
	own  bool // Close closes rpc
}

// Dial connects to the NFS and MOUNT server at addr (host:port, both
// programs on that one TCP port) and returns a Client that calls as the
// current process's uid and gid with AUTH_SYS.
func Dial(ctx context.Context, addr string) (*Client, error) {
	cred, err := oncrpc.AuthSysCredential(oncrpc.SysCred{
		MachineName: "nfsclient",
		UID:         uint32(os.Getuid()),
		GID:         uint32(os.Getgid()),
	})
	if err != nil {
		return nil, err
	}
	rpc, err := oncrpc.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("nfsclient: connecting to %s: %w", addr, err)
	}
	return &Client{rpc: rpc, cred: cred, own: true}, nil
}

// New returns a Client that sends calls over rpc with cred. Close on the
// returned Client does not close rpc.
func New(rpc *oncrpc.Client, cred oncrpc.Credential) *Client {
	return &Client{rpc: rpc, cred: cred}
}

// WithCredential returns a Client that shares c's connection but sends
// cred. Close on the returned Client does nothing: close c to close the
// connection.
func (c *Client) WithCredential(cred oncrpc.Credential) *Client {
	return &Client{rpc: c.rpc, cred: cred}
}

// RPC returns the underlying ONC RPC client, for calls this package does
// not wrap.
func (c *Client) RPC() *oncrpc.Client { return c.rpc }

// Close closes the connection if Dial opened it, failing calls in flight.
func (c *Client) Close() error {
	if !c.own {
		return nil
	}
	return c.rpc.Close()
}

// StatusError is the error form of an NFS status other than NFS3_OK.
type StatusError struct {
	Proc   string
	Status nfs3.Nfsstat3
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("nfsclient: %s: %v", e.Proc, e.Status)
}

// StatusErr returns nil for NFS3_OK and a *StatusError naming proc for any
// other status.
func StatusErr(proc string, st nfs3.Nfsstat3) error {
	if st == nfs3.NFS3_OK {
		return nil
	}
	return &StatusError{Proc: proc, Status: st}
}

// call sends one call with arguments built by encode and decodes the reply
// with decode, which must consume the whole reply.
func (c *Client) call(ctx context.Context, prog, vers, proc uint32, name string, encode func(e *xdr.Encoder), decode func(d *xdr.Decoder)) error {
	e := xdr.NewEncoder(make([]byte, 0, 256))
	if encode != nil {
		encode(e)
	}
	return c.callEncoded(ctx, prog, vers, proc, name, e.Bytes(), decode)
}

func (c *Client) callEncoded(ctx context.Context, prog, vers, proc uint32, name string, args []byte, decode func(d *xdr.Decoder)) error {
	res, err := c.rpc.Call(ctx, prog, vers, proc, c.cred, args)
	if err != nil {
		return fmt.Errorf("nfsclient: %s: %w", name, err)
	}
	d := xdr.NewDecoder(res)
	if decode != nil {
		decode(d)
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("nfsclient: decoding %s reply: %w", name, err)
	}
	if n := d.Remaining(); n != 0 {
		return fmt.Errorf("nfsclient: %s reply has %d bytes after the result", name, n)
	}
	return nil
}

// nfsCall calls NFS version 3 procedure proc.
func (c *Client) nfsCall(ctx context.Context, proc uint32, name string, encode func(e *xdr.Encoder), decode func(d *xdr.Decoder)) error {
	return c.call(ctx, nfs3.Program, nfs3.Version, proc, name, encode, decode)
}

// Null calls the NFS NULL procedure, which checks that the server answers.
func (c *Client) Null(ctx context.Context) error {
	return c.nfsCall(ctx, nfs3.ProcNull, "NULL", nil, nil)
}
