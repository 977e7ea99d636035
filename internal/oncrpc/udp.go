package oncrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// MaxDatagramSize is the largest RPC message carried in one UDP datagram:
// 65535 bytes of IPv4 packet minus 20 bytes of IP header and 8 bytes of UDP
// header. Over UDP each datagram holds exactly one message, with no record
// mark (RFC 5531, section 11).
const MaxDatagramSize = 65507

var errDatagramReplyTooLarge = errors.New("oncrpc: reply exceeds the UDP datagram limit")

// HandleDatagram runs the call in msg, one whole RPC message as a UDP
// datagram carries it, against the programs registered on s. It appends
// the reply message to reply and returns it, or returns ok false when no
// reply must be sent: msg is not a call, its header is cut off before the
// credential, or the handler panicked. The handler runs on the calling
// goroutine with ctx, and Options.Observer receives the call as for TCP.
func (s *Server) HandleDatagram(ctx context.Context, msg []byte, remote net.Addr, reply []byte) (out []byte, ok bool) {
	start := time.Now()
	var (
		call Call
		st   callDecodeState
		args xdr.Decoder
	)
	args.Reset(msg)
	call.Remote = remote
	res := xdr.NewEncoder(reply)
	base := len(reply)

	verdict, authStat, err := decodeCallHeader(&args, &call, &st, nil)
	switch verdict {
	case headerUnanswerable:
		s.log.Warn("invalid RPC datagram; dropped", "remote", remote.String(), "bytes", len(msg), "error", err)
		return reply, false
	case headerRPCMismatch:
		appendRPCMismatch(res, call.XID)
		s.observeDatagram(ctx, &call, "", "", start, errors.Join(&RejectedError{Stat: RPCMismatch, Low: rpcVersion, High: rpcVersion}, err))
		return res.Bytes(), true
	case headerAuthError:
		appendAuthError(res, call.XID, authStat)
		s.observeDatagram(ctx, &call, "", "", start, errors.Join(&RejectedError{Stat: AuthError, AuthStat: authStat}, err))
		return res.Bytes(), true
	}

	table := s.programs.Load()
	prog, found := table.versions[uint64(call.Prog)<<32|uint64(call.Vers)]
	if !found {
		r, known := table.ranges[call.Prog]
		if !known {
			appendAcceptedHeader(res, call.XID, ProgUnavail)
			s.observeDatagram(ctx, &call, "", "", start, &AcceptError{Stat: ProgUnavail})
			return res.Bytes(), true
		}
		appendAcceptedHeader(res, call.XID, ProgMismatch)
		res.Uint32(r.low)
		res.Uint32(r.high)
		s.observeDatagram(ctx, &call, "", "", start, &AcceptError{Stat: ProgMismatch, Low: r.low, High: r.high})
		return res.Bytes(), true
	}
	if uint64(call.Proc) >= uint64(len(prog.Procs)) || prog.Procs[call.Proc].Handler == nil {
		appendAcceptedHeader(res, call.XID, ProcUnavail)
		procName := ""
		if uint64(call.Proc) < uint64(len(prog.Procs)) {
			procName = prog.Procs[call.Proc].Name
		}
		s.observeDatagram(ctx, &call, prog.Name, procName, start, &AcceptError{Stat: ProcUnavail})
		return res.Bytes(), true
	}

	proc := &prog.Procs[call.Proc]
	appendAcceptedHeader(res, call.XID, Success)
	panicked, err := runDatagramHandler(ctx, proc.Handler, &call, &args, res)
	if panicked != nil {
		s.log.Error("RPC handler panicked on a datagram; no reply sent",
			"remote", remote.String(), "xid", call.XID,
			"program", prog.Name, "procedure", proc.Name,
			"panic", panicked, "stack", string(debug.Stack()))
		s.observeDatagram(ctx, &call, prog.Name, proc.Name, start, ErrHandlerPanicked)
		return reply, false
	}
	if err != nil {
		res.Truncate(base)
		switch {
		case errors.Is(err, ErrGarbageArgs):
			appendAcceptedHeader(res, call.XID, GarbageArgs)
		case errors.Is(err, ErrAuthTooWeak):
			appendAuthError(res, call.XID, AuthTooWeak)
		default:
			s.log.Error("RPC procedure failed; replied SYSTEM_ERR", "remote", remote.String(),
				"xid", call.XID, "program", prog.Name, "procedure", proc.Name, "error", err)
			appendAcceptedHeader(res, call.XID, SystemErr)
		}
	}
	if res.Len()-base > MaxDatagramSize {
		err = errDatagramReplyTooLarge
		s.log.Error("RPC reply too large for a datagram; replied SYSTEM_ERR", "remote", remote.String(),
			"xid", call.XID, "program", prog.Name, "procedure", proc.Name, "bytes", res.Len()-base)
		res.Truncate(base)
		appendAcceptedHeader(res, call.XID, SystemErr)
	}
	s.observeDatagram(ctx, &call, prog.Name, proc.Name, start, err)
	return res.Bytes(), true
}

// runDatagramHandler runs h and turns a panic into a returned value, so
// one bad datagram does not stop the caller's read loop.
func runDatagramHandler(ctx context.Context, h Handler, call *Call, args *xdr.Decoder, res *xdr.Encoder) (panicked any, err error) {
	defer func() {
		if v := recover(); v != nil {
			panicked = v
		}
	}()
	return nil, h(ctx, call, args, res)
}

// observeDatagram logs a finished datagram call at debug level and passes
// it to the observer.
func (s *Server) observeDatagram(ctx context.Context, call *Call, progName, procName string, start time.Time, err error) {
	debugOn := s.log.Enabled(ctx, slog.LevelDebug)
	if s.observer == nil && !debugOn {
		return
	}
	d := time.Since(start)
	if debugOn {
		s.log.LogAttrs(ctx, slog.LevelDebug, "RPC datagram call",
			slog.String("remote", call.Remote.String()),
			slog.Uint64("xid", uint64(call.XID)),
			slog.Uint64("prog", uint64(call.Prog)),
			slog.Uint64("vers", uint64(call.Vers)),
			slog.Uint64("proc", uint64(call.Proc)),
			slog.String("program", progName),
			slog.String("procedure", procName),
			slog.Duration("duration", d),
			slog.Any("error", err))
	}
	if s.observer != nil {
		s.observer(CallInfo{
			Prog: call.Prog, Vers: call.Vers, Proc: call.Proc,
			Program: progName, Procedure: procName,
			Duration: d, Err: err,
		})
	}
}

// CallDatagram sends one call as a single datagram on nc, which must be a
// connected UDP socket, and waits for the reply with the same xid until
// ctx ends. Replies with other xids are skipped. It does not retransmit,
// so the caller picks a ctx deadline that fits the network. The results of
// a SUCCESS reply are returned as for Client.Call.
func CallDatagram(ctx context.Context, nc net.Conn, prog, vers, proc uint32, cred Credential, args []byte) ([]byte, error) {
	if len(cred.Body) > MaxAuthBody {
		return nil, fmt.Errorf("oncrpc: credential body is %d bytes, maximum %d", len(cred.Body), MaxAuthBody)
	}
	xid := rand.Uint32()
	e := xdr.NewEncoder(make([]byte, 0, 40+len(cred.Body)+len(args)))
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
	if len(msg) > MaxDatagramSize {
		return nil, fmt.Errorf("oncrpc: call of %d bytes exceeds the datagram limit of %d", len(msg), MaxDatagramSize)
	}

	if deadline, ok := ctx.Deadline(); ok {
		if err := nc.SetReadDeadline(deadline); err != nil {
			return nil, fmt.Errorf("oncrpc: setting read deadline: %w", err)
		}
	}
	stop := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Now()) })
	defer stop()

	if _, err := nc.Write(msg); err != nil {
		return nil, fmt.Errorf("oncrpc: sending datagram call: %w", err)
	}
	buf := make([]byte, MaxDatagramSize)
	for {
		n, err := nc.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// The socket deadline is ctx's deadline, and it can expire
			// just before ctx reports it.
			if deadline, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(deadline) {
				return nil, context.DeadlineExceeded
			}
			return nil, fmt.Errorf("oncrpc: reading datagram reply: %w", err)
		}
		rec := buf[:n]
		var d xdr.Decoder
		d.Reset(rec)
		gotXID := d.Uint32()
		mtype := d.Uint32()
		if d.Err() != nil || gotXID != xid || mtype != msgReply {
			continue
		}
		body, err := decodeReply(rec, &d)
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), body...), nil
	}
}
