package oncrpc

import (
	"errors"
	"fmt"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// Message and reply discriminants (RFC 5531, section 9).
const (
	msgCall  uint32 = 0
	msgReply uint32 = 1

	replyAccepted uint32 = 0
	replyDenied   uint32 = 1

	rpcVersion uint32 = 2
)

// Limits on credential and verifier bodies (RFC 5531, sections 8.2 and
// appendix A).
const (
	MaxAuthBody    = 400 // bytes in an opaque_auth body
	MaxMachineName = 255 // bytes in an AUTH_SYS machine name
	MaxAuthSysGIDs = 16  // supplementary group ids in an AUTH_SYS credential
)

// AcceptStat is the status of an accepted reply (RFC 5531, accept_stat).
type AcceptStat uint32

// Values of AcceptStat.
const (
	Success      AcceptStat = 0
	ProgUnavail  AcceptStat = 1
	ProgMismatch AcceptStat = 2
	ProcUnavail  AcceptStat = 3
	GarbageArgs  AcceptStat = 4
	SystemErr    AcceptStat = 5
)

func (s AcceptStat) String() string {
	switch s {
	case Success:
		return "SUCCESS"
	case ProgUnavail:
		return "PROG_UNAVAIL"
	case ProgMismatch:
		return "PROG_MISMATCH"
	case ProcUnavail:
		return "PROC_UNAVAIL"
	case GarbageArgs:
		return "GARBAGE_ARGS"
	case SystemErr:
		return "SYSTEM_ERR"
	}
	return fmt.Sprintf("accept_stat(%d)", uint32(s))
}

// RejectStat is the reason for a denied reply (RFC 5531, reject_stat).
type RejectStat uint32

// Values of RejectStat.
const (
	RPCMismatch RejectStat = 0
	AuthError   RejectStat = 1
)

func (s RejectStat) String() string {
	switch s {
	case RPCMismatch:
		return "RPC_MISMATCH"
	case AuthError:
		return "AUTH_ERROR"
	}
	return fmt.Sprintf("reject_stat(%d)", uint32(s))
}

// AuthStat is the reason for an AUTH_ERROR reply (RFC 5531, auth_stat).
type AuthStat uint32

// Values of AuthStat defined by RFC 5531.
const (
	AuthOK           AuthStat = 0
	AuthBadCred      AuthStat = 1
	AuthRejectedCred AuthStat = 2
	AuthBadVerf      AuthStat = 3
	AuthRejectedVerf AuthStat = 4
	AuthTooWeak      AuthStat = 5
	AuthInvalidResp  AuthStat = 6
	AuthFailed       AuthStat = 7
)

func (s AuthStat) String() string {
	switch s {
	case AuthOK:
		return "AUTH_OK"
	case AuthBadCred:
		return "AUTH_BADCRED"
	case AuthRejectedCred:
		return "AUTH_REJECTEDCRED"
	case AuthBadVerf:
		return "AUTH_BADVERF"
	case AuthRejectedVerf:
		return "AUTH_REJECTEDVERF"
	case AuthTooWeak:
		return "AUTH_TOOWEAK"
	case AuthInvalidResp:
		return "AUTH_INVALIDRESP"
	case AuthFailed:
		return "AUTH_FAILED"
	}
	return fmt.Sprintf("auth_stat(%d)", uint32(s))
}

// AcceptError is an accepted reply whose status is not SUCCESS. Low and
// High hold the supported version range when Stat is ProgMismatch.
type AcceptError struct {
	Stat      AcceptStat
	Low, High uint32
}

func (e *AcceptError) Error() string {
	if e.Stat == ProgMismatch {
		return fmt.Sprintf("oncrpc: call accepted but failed: %v (versions %d to %d supported)", e.Stat, e.Low, e.High)
	}
	return fmt.Sprintf("oncrpc: call accepted but failed: %v", e.Stat)
}

// RejectedError is a denied reply. Low and High hold the supported RPC
// version range when Stat is RPCMismatch, and AuthStat holds the reason
// when Stat is AuthError.
type RejectedError struct {
	Stat      RejectStat
	Low, High uint32
	AuthStat  AuthStat
}

func (e *RejectedError) Error() string {
	if e.Stat == RPCMismatch {
		return fmt.Sprintf("oncrpc: call rejected: %v (RPC versions %d to %d supported)", e.Stat, e.Low, e.High)
	}
	return fmt.Sprintf("oncrpc: call rejected: %v: %v", e.Stat, e.AuthStat)
}

// headerVerdict is the outcome of decoding a call header.
type headerVerdict int

const (
	// headerOK means the header is valid and the call can be dispatched.
	headerOK headerVerdict = iota
	// headerUnanswerable means the message is not a call or is cut off
	// before its credential; the connection is closed without a reply.
	headerUnanswerable
	// headerRPCMismatch means rpcvers is not 2.
	headerRPCMismatch
	// headerAuthError means the credential or verifier is rejected.
	headerAuthError
)

var (
	errNotCall       = errors.New("message is not a call")
	errHeaderCut     = errors.New("call header is cut off")
	errBadFlavor     = errors.New("credential flavor is not supported")
	errCredLength    = errors.New("AUTH_NONE credential body is not empty")
	errCredTrailing  = errors.New("AUTH_SYS credential has bytes after the group list")
	errTooManyGIDs   = errors.New("AUTH_SYS credential has more than 16 group ids")
	errBadVerifier   = errors.New("verifier is not an empty AUTH_NONE verifier")
	errVersionNotTwo = errors.New("RPC version is not 2")
)

// callDecodeState holds per-call storage that decodeCallHeader fills, so a
// pooled instance decodes an AUTH_SYS credential without allocating.
type callDecodeState struct {
	sys  SysCred
	gids [MaxAuthSysGIDs]uint32
}

// decodeCallHeader decodes the RPC call header at the start of a record
// into c and leaves d at the start of the procedure arguments. As in the
// Linux kernel's sunrpc server (net/sunrpc/svcauth.c and svcauth_unix.c),
// the RPC version is checked first, then the credential and verifier. A
// credential of another flavor or one that does not decode gives
// AUTH_BADCRED, and a verifier that is not an empty AUTH_NONE verifier
// gives AUTH_BADVERF. lastName caches the previous machine name, so a
// client that repeats it costs no allocation. It may be nil.
func decodeCallHeader(d *xdr.Decoder, c *Call, st *callDecodeState, lastName *string) (headerVerdict, AuthStat, error) {
	c.XID = d.Uint32()
	mtype := d.Uint32()
	if d.Err() != nil {
		return headerUnanswerable, 0, errHeaderCut
	}
	if mtype != msgCall {
		return headerUnanswerable, 0, fmt.Errorf("%w: message type %d", errNotCall, mtype)
	}
	vers := d.Uint32()
	if d.Err() != nil {
		return headerUnanswerable, 0, errHeaderCut
	}
	if vers != rpcVersion {
		return headerRPCMismatch, 0, fmt.Errorf("%w: %d", errVersionNotTwo, vers)
	}
	c.Prog = d.Uint32()
	c.Vers = d.Uint32()
	c.Proc = d.Uint32()
	if d.Err() != nil {
		return headerUnanswerable, 0, errHeaderCut
	}

	c.Flavor = d.Uint32()
	body := d.Opaque(MaxAuthBody)
	if err := d.Err(); err != nil {
		return headerAuthError, AuthBadCred, fmt.Errorf("credential: %w", err)
	}
	c.Sys = nil
	switch c.Flavor {
	case AuthNone:
		if len(body) != 0 {
			return headerAuthError, AuthBadCred, errCredLength
		}
	case AuthSys:
		if err := decodeSysCred(body, &st.sys, &st.gids, lastName); err != nil {
			return headerAuthError, AuthBadCred, err
		}
		c.Sys = &st.sys
	default:
		return headerAuthError, AuthBadCred, fmt.Errorf("%w: %d", errBadFlavor, c.Flavor)
	}

	verfFlavor := d.Uint32()
	verf := d.Opaque(MaxAuthBody)
	if err := d.Err(); err != nil {
		return headerAuthError, AuthBadCred, fmt.Errorf("verifier: %w", err)
	}
	if verfFlavor != AuthNone || len(verf) != 0 {
		return headerAuthError, AuthBadVerf, fmt.Errorf("%w: flavor %d, %d bytes", errBadVerifier, verfFlavor, len(verf))
	}
	return headerOK, AuthOK, nil
}

// decodeSysCred decodes an AUTH_SYS credential body strictly: the machine
// name is at most 255 bytes, there are at most 16 group ids, and no bytes
// follow the group list. Linux ignores trailing bytes, so this is stricter.
// The GIDs slice of sys aliases gids.
func decodeSysCred(body []byte, sys *SysCred, gids *[MaxAuthSysGIDs]uint32, lastName *string) error {
	var d xdr.Decoder
	d.Reset(body)

	sys.Stamp = d.Uint32()
	name := d.Opaque(MaxMachineName)
	sys.UID = d.Uint32()
	sys.GID = d.Uint32()
	n := d.Uint32()
	if err := d.Err(); err != nil {
		return fmt.Errorf("AUTH_SYS credential: %w", err)
	}
	if n > MaxAuthSysGIDs {
		return fmt.Errorf("%w: %d", errTooManyGIDs, n)
	}

	for i := range n {
		gids[i] = d.Uint32()
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("AUTH_SYS credential: %w", err)
	}
	if d.Remaining() != 0 {
		return fmt.Errorf("%w: %d bytes", errCredTrailing, d.Remaining())
	}
	sys.GIDs = gids[:n]

	switch {
	case lastName == nil:
		sys.MachineName = string(name)
	case *lastName == string(name): // the compiler does not allocate here
		sys.MachineName = *lastName
	default:
		*lastName = string(name)
		sys.MachineName = *lastName
	}
	return nil
}

// appendAcceptedHeader appends an accepted reply header with an AUTH_NONE
// verifier and the given status.
func appendAcceptedHeader(e *xdr.Encoder, xid uint32, stat AcceptStat) {
	e.Uint32(xid)
	e.Uint32(msgReply)
	e.Uint32(replyAccepted)
	e.Uint32(AuthNone)
	e.Uint32(0)
	e.Uint32(uint32(stat))
}

// appendRPCMismatch appends a denied reply that reports RPC version 2 as
// the only one supported.
func appendRPCMismatch(e *xdr.Encoder, xid uint32) {
	e.Uint32(xid)
	e.Uint32(msgReply)
	e.Uint32(replyDenied)
	e.Uint32(uint32(RPCMismatch))
	e.Uint32(rpcVersion)
	e.Uint32(rpcVersion)
}

// appendAuthError appends a denied reply with AUTH_ERROR and stat.
func appendAuthError(e *xdr.Encoder, xid uint32, stat AuthStat) {
	e.Uint32(xid)
	e.Uint32(msgReply)
	e.Uint32(replyDenied)
	e.Uint32(uint32(AuthError))
	e.Uint32(uint32(stat))
}
