// Package probe checks that a burrow server answers on a host and port: an
// RPC NULL call to NFS version 3, then MOUNT version 3 EXPORT, which lists
// the exported paths (RFC 1813, section 5.2.5).
//
// The RPC transport is injected as a Dialer. OncrpcDialer, built on
// internal/oncrpc, is the one burrow uses; tests also inject their own.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// RPC program numbers and procedures used by the probe (RFC 1813).
const (
	ProgNFS    uint32 = 100003
	ProgMount  uint32 = 100005
	Version3   uint32 = 3
	ProcNull   uint32 = 0
	ProcExport uint32 = 5
	maxDirPath        = 1024 // MNTPATHLEN
	maxName           = 255  // MNTNAMLEN
	maxExports        = 1024 // our limit on list length; a server sends one export
	maxGroups         = 1024 // our limit on groups per export
)

// DefaultTimeout bounds the whole probe when the caller's context has no
// earlier deadline.
const DefaultTimeout = 5 * time.Second

// Caller makes one RPC call with an AUTH_NONE credential and returns the
// procedure's result bytes.
type Caller interface {
	Call(ctx context.Context, prog, vers, proc uint32, args []byte) ([]byte, error)
	Close() error
}

// Dialer opens an RPC connection over TCP to addr (host:port).
type Dialer func(ctx context.Context, addr string) (Caller, error)

// Errors that a Dialer's Caller wraps so that Probe can tell why a call
// failed. Other errors are reported as they are.
var (
	// ErrProgramUnavailable means the server does not run the program or
	// version: RPC PROG_UNAVAIL or PROG_MISMATCH.
	ErrProgramUnavailable = errors.New("program or version not available")
	// ErrAuthRejected means the server denied the call with AUTH_ERROR,
	// which NFS servers send when they require a reserved source port.
	ErrAuthRejected = errors.New("call rejected for its credential")
)

// Stage names the step of the probe that failed.
type Stage string

const (
	StageConnect Stage = "connect"
	StageNFSNull Stage = "NFS v3 NULL"
	StageExport  Stage = "MOUNT v3 EXPORT"
)

// Error is a failed probe. Err is the cause.
type Error struct {
	Addr  string
	Stage Stage
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("probe %s: %s failed: %v", e.Addr, e.Stage, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Export is one entry of the MOUNT EXPORT list.
type Export struct {
	Dir    string   // exported path, such as "/home/vagrant/project"
	Groups []string // hosts or groups allowed to mount it; empty means all
}

// Result is what a successful probe learned.
type Result struct {
	Addr    string
	Exports []Export
	RTT     time.Duration // duration of the NFS NULL call
}

// Probe connects to host:port and runs NFS v3 NULL and MOUNT v3 EXPORT. It
// fails with *Error, and also when the server exports nothing.
func Probe(ctx context.Context, dial Dialer, host string, port int) (Result, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}

	c, err := dial(ctx, addr)
	if err != nil {
		return Result{}, &Error{Addr: addr, Stage: StageConnect, Err: err}
	}
	defer c.Close()

	start := time.Now()
	if _, err := c.Call(ctx, ProgNFS, Version3, ProcNull, nil); err != nil {
		return Result{}, &Error{Addr: addr, Stage: StageNFSNull, Err: err}
	}
	rtt := time.Since(start)

	res, err := c.Call(ctx, ProgMount, Version3, ProcExport, nil)
	if err != nil {
		return Result{}, &Error{Addr: addr, Stage: StageExport, Err: err}
	}
	exports, err := DecodeExports(res)
	if err != nil {
		return Result{}, &Error{Addr: addr, Stage: StageExport, Err: err}
	}
	if len(exports) == 0 {
		return Result{}, &Error{Addr: addr, Stage: StageExport, Err: errors.New("the server exports no directory")}
	}
	return Result{Addr: addr, Exports: exports, RTT: rtt}, nil
}

// DecodeExports decodes the result of MOUNT v3 EXPORT: an optional-data
// linked list of exportnode, each with a dirpath and a linked list of group
// names.
func DecodeExports(b []byte) ([]Export, error) {
	d := xdr.NewDecoder(b)
	var exports []Export
	for d.Bool() {
		if len(exports) == maxExports {
			return nil, fmt.Errorf("export list has more than %d entries", maxExports)
		}
		ex := Export{Dir: d.String(maxDirPath)}
		for d.Bool() {
			if len(ex.Groups) == maxGroups {
				return nil, fmt.Errorf("export %q has more than %d groups", ex.Dir, maxGroups)
			}
			ex.Groups = append(ex.Groups, d.String(maxName))
		}
		if d.Err() != nil {
			break
		}
		exports = append(exports, ex)
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("invalid EXPORT reply: %w", err)
	}
	if d.Remaining() != 0 {
		return nil, fmt.Errorf("invalid EXPORT reply: %d bytes after the list", d.Remaining())
	}
	return exports, nil
}

// EncodeExports encodes exports as a MOUNT v3 EXPORT result. Tests and fake
// servers use it.
func EncodeExports(exports []Export) []byte {
	e := xdr.NewEncoder(nil)
	for _, ex := range exports {
		e.Bool(true)
		e.String(ex.Dir)
		for _, g := range ex.Groups {
			e.Bool(true)
			e.String(g)
		}
		e.Bool(false)
	}
	e.Bool(false)
	return e.Bytes()
}
