package oncrpc

import (
	"context"
	"errors"
	"net"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// Auth flavors (RFC 5531, section 8.2).
const (
	AuthNone  uint32 = 0
	AuthSys   uint32 = 1
	AuthShort uint32 = 2
)

// SysCred is the body of an AUTH_SYS credential (RFC 5531, appendix A).
type SysCred struct {
	Stamp       uint32
	MachineName string
	UID         uint32
	GID         uint32
	GIDs        []uint32
}

// Call is one decoded RPC call as a procedure handler sees it.
type Call struct {
	XID    uint32
	Prog   uint32
	Vers   uint32
	Proc   uint32
	Flavor uint32   // credential flavor: AuthNone or AuthSys
	Sys    *SysCred // set when Flavor is AuthSys
	Remote net.Addr // address of the client connection
}

// ErrGarbageArgs is returned by a handler whose arguments do not decode;
// the server replies GARBAGE_ARGS.
var ErrGarbageArgs = errors.New("oncrpc: arguments do not decode")

// ErrAuthTooWeak is returned by a handler that refuses the call's
// credential flavor; the server replies AUTH_ERROR with AUTH_TOOWEAK.
var ErrAuthTooWeak = errors.New("oncrpc: credential too weak")

// Handler runs one procedure. It reads its arguments from args and encodes
// its result into res. Protocol-level failures (an NFS status) are part of
// the result and return nil. ErrGarbageArgs gives GARBAGE_ARGS; any other
// error is a server fault, logged and answered with SYSTEM_ERR.
//
// The server reuses call, the bytes behind args and the buffer of res once
// the handler returns, so a handler copies whatever it keeps. res already
// contains the reply header when the handler starts, so a handler only
// appends to it.
type Handler func(ctx context.Context, call *Call, args *xdr.Decoder, res *xdr.Encoder) error

// Procedure is one entry of a program version's dispatch table.
type Procedure struct {
	Name    string // procedure name for logs, such as "GETATTR"
	Handler Handler
	// Quick, when set, reports whether the call with these arguments (a
	// copy of the decoder) returns without waiting long. The reader
	// goroutine runs such a call itself when no other call of its
	// connection is running or waiting.
	Quick func(args xdr.Decoder) bool
}

// Program is one version of an RPC program. Procs is indexed by procedure
// number; a number past its end or with a nil Handler gives PROC_UNAVAIL.
type Program struct {
	Name  string // program name for logs, such as "NFS"
	Prog  uint32
	Vers  uint32
	Procs []Procedure
}
