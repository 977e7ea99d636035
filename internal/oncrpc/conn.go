package oncrpc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

// readBufferSize is the size of each connection's read buffer. Small calls
// (GETATTR, LOOKUP) arrive several to one read system call, while a large
// WRITE bypasses the buffer and is read straight into its record.
const readBufferSize = 64 << 10

// conn is one client connection. Its reader goroutine (serve) decodes call
// headers and sends rejections itself; each dispatched call runs on its own
// goroutine and sends its reply with send.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote net.Addr
	ctx    context.Context // canceled by close
	cancel context.CancelFunc

	inFlight chan struct{} // semaphore of size srv.maxInFlight
	calls    sync.WaitGroup
	nCalls   atomic.Uint64

	jobs        chan callJob // unbuffered: received only by idle workers
	idleWorkers atomic.Int32

	// Idle tracking: started is the connection's start, lastActive the
	// time since started of the last record received or call finished,
	// and active the calls received and not yet finished. idleTimer runs
	// checkIdle and is guarded by idleMu.
	started    time.Time
	lastActive atomic.Int64
	active     atomic.Int32
	idleMu     sync.Mutex
	idleTimer  *time.Timer

	// Reply writing, guarded by writeMu (see send). writing is set while
	// one goroutine writes, and turn wakes the goroutines that wait to
	// write.
	writeMu  sync.Mutex
	writeErr error // first write failure
	writing  bool
	waiting  int    // goroutines waiting on turn
	pending  []byte // replies to write when the current write finishes
	spare    []byte // the second pending buffer, free while not written
	turn     sync.Cond

	closed   atomic.Bool // set when the server closed nc on purpose
	stopping atomic.Bool // set by Shutdown

	lastName string        // previous AUTH_SYS machine name; reader goroutine only
	br       *bufio.Reader // the socket's read buffer; reader goroutine only
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		srv:      s,
		nc:       nc,
		remote:   nc.RemoteAddr(),
		ctx:      ctx,
		cancel:   cancel,
		inFlight: make(chan struct{}, s.maxInFlight),
		started:  time.Now(),
		jobs:     make(chan callJob),
	}
	c.turn.L = &c.writeMu
	return c
}

// serve reads calls until the connection fails or the server shuts down,
// then waits for the calls in flight and closes the connection.
func (c *conn) serve() {
	defer c.srv.untrackConn(c)
	log := c.srv.log
	log.Info("RPC client connected", "remote", c.remote.String())
	c.startIdleTimer()

	c.readLoop()
	c.calls.Wait()
	c.close()
	c.stopIdleTimer()

	log.Info("RPC client disconnected", "remote", c.remote.String(), "calls", c.nCalls.Load())
}

func (c *conn) readLoop() {
	c.br = bufio.NewReaderSize(c.nc, readBufferSize)
	rr := NewRecordReader(c.br, c.srv.maxRecord)
	rr.grow = growRecord
	for {
		rec := getBuffer()
		var err error
		*rec, err = rr.ReadRecord((*rec)[:0])
		if err != nil {
			putBuffer(rec)
			c.logReadError(err)
			return
		}
		c.active.Add(1)
		c.touch()
		if !c.handleRecord(rec) {
			return
		}
	}
}

func (c *conn) logReadError(err error) {
	log := c.srv.log
	switch {
	case c.closed.Load():
		// The server closed the connection and logged why.
	case c.stopping.Load():
		log.Debug("RPC connection stopped reading for shutdown", "remote", c.remote.String())
	case errors.Is(err, io.EOF):
		// The client closed the connection between records.
	case errors.Is(err, syscall.ECONNRESET):
		// The client reset the connection, as libnfs and clients that
		// exit do: an ordinary close, logged with the disconnect line.
		log.Debug("RPC connection reset by the client", "remote", c.remote.String())
	case errors.Is(err, ErrRecordTooLarge):
		log.Warn("RPC record too large; closing connection", "remote", c.remote.String(), "error", err)
	default:
		log.Warn("reading RPC record failed; closing connection", "remote", c.remote.String(), "error", err)
	}
}

// callState is the pooled per-call storage: the decoded call, the argument
// decoder over the call record, and the reply encoder.
type callState struct {
	call Call
	dec  callDecodeState
	args xdr.Decoder
	res  xdr.Encoder
	rec  *[]byte // call record
	out  *[]byte // reply buffer
}

var callStatePool = sync.Pool{New: func() any { return new(callState) }}

func getCallState(rec *[]byte) *callState {
	st := callStatePool.Get().(*callState)
	st.rec = rec
	st.args.Reset(*rec)
	st.out = getBuffer()
	st.res.Reset((*st.out)[:0])
	return st
}

func putCallState(st *callState) {
	putBuffer(st.rec)
	*st.out = st.res.Bytes()
	putBuffer(st.out)
	st.res.Reset(nil)
	st.args.Reset(nil)
	st.call = Call{}
	st.dec.sys = SysCred{}
	st.rec, st.out = nil, nil
	callStatePool.Put(st)
}

// startReply resets the reply to an empty record with room for its
// record mark.
func (st *callState) startReply() {
	st.res.Truncate(0)
	st.res.Uint32(0) // record mark, filled in by send
}

// handleRecord decodes the call header in rec and either sends a
// rejection or starts the call's handler. It returns false if the
// connection must be closed.
func (c *conn) handleRecord(rec *[]byte) bool {
	start := time.Now()
	st := getCallState(rec)
	call := &st.call
	call.Remote = c.remote
	verdict, authStat, err := decodeCallHeader(&st.args, call, &st.dec, &c.lastName)

	switch verdict {
	case headerUnanswerable:
		c.srv.log.Warn("invalid RPC message; closing connection", "remote", c.remote.String(),
			"xid", call.XID, "bytes", len(*rec), "error", err)
		putCallState(st)
		c.active.Add(-1)
		c.close()
		return false
	case headerRPCMismatch:
		st.startReply()
		appendRPCMismatch(&st.res, call.XID)
		c.reject(st, "", "", start, &RejectedError{Stat: RPCMismatch, Low: rpcVersion, High: rpcVersion}, err)
		return true
	case headerAuthError:
		st.startReply()
		appendAuthError(&st.res, call.XID, authStat)
		c.reject(st, "", "", start, &RejectedError{Stat: AuthError, AuthStat: authStat}, err)
		return true
	}

	table := c.srv.programs.Load()
	prog, ok := table.versions[uint64(call.Prog)<<32|uint64(call.Vers)]
	if !ok {
		st.startReply()
		r, known := table.ranges[call.Prog]
		if !known {
			appendAcceptedHeader(&st.res, call.XID, ProgUnavail)
			c.reject(st, "", "", start, &AcceptError{Stat: ProgUnavail}, nil)
			return true
		}
		appendAcceptedHeader(&st.res, call.XID, ProgMismatch)
		st.res.Uint32(r.low)
		st.res.Uint32(r.high)
		c.reject(st, "", "", start, &AcceptError{Stat: ProgMismatch, Low: r.low, High: r.high}, nil)
		return true
	}
	if uint64(call.Proc) >= uint64(len(prog.Procs)) || prog.Procs[call.Proc].Handler == nil {
		st.startReply()
		appendAcceptedHeader(&st.res, call.XID, ProcUnavail)
		procName := ""
		if uint64(call.Proc) < uint64(len(prog.Procs)) {
			procName = prog.Procs[call.Proc].Name
		}
		c.reject(st, prog.Name, procName, start, &AcceptError{Stat: ProcUnavail}, nil)
		return true
	}

	if !c.acquireSlots() {
		putCallState(st)
		c.active.Add(-1)
		return false
	}
	c.calls.Add(1)
	proc := &prog.Procs[call.Proc]
	if proc.Quick != nil && c.active.Load() == 1 && c.br.Buffered() == 0 && proc.Quick(st.args) {
		// No other call of this connection runs or waits in the read
		// buffer, so the reader runs this one itself and no other thread
		// is woken. In a QEMU TCG guest, thread wake-ups and scheduling
		// took a third of the CPU profile of 4 KiB random reads. A call
		// that arrives meanwhile waits until this one finishes.
		c.runCall(st, prog, proc, start)
		return true
	}
	c.dispatch(callJob{st: st, prog: prog, proc: proc, start: start})
	return true
}

// maxIdleWorkers is the number of call goroutines a connection keeps
// waiting for its next call. A new goroutine starts with a small stack
// that grows by copying as the handler runs (runtime.newstack and
// copystack took 8% of the CPU profile of bench/loadgen's meta workload),
// while a kept one has already grown.
const maxIdleWorkers = 32

// callJob is a call whose handler is to run.
type callJob struct {
	st    *callState
	prog  *Program
	proc  *Procedure
	start time.Time
}

// dispatch runs job on an idle worker goroutine of the connection, or on a
// new one when none is idle.
func (c *conn) dispatch(job callJob) {
	select {
	case c.jobs <- job:
	default:
		go c.work(job)
	}
}

// work runs job and then further jobs of the connection, until more than
// maxIdleWorkers are idle or the connection is closed.
func (c *conn) work(job callJob) {
	for {
		c.runCall(job.st, job.prog, job.proc, job.start)
		if c.idleWorkers.Add(1) > maxIdleWorkers {
			c.idleWorkers.Add(-1)
			return
		}
		select {
		case job = <-c.jobs:
			c.idleWorkers.Add(-1)
		case <-c.ctx.Done():
			c.idleWorkers.Add(-1)
			return
		}
	}
}

// acquireSlots takes one slot of the connection's in-flight limit and one
// of the server's, waiting while either is used up, so the reader stops
// reading and TCP flow control slows the client down. A wait is logged at
// most once a minute for the server limit, and once a minute per remote
// address for the connection limit. acquireSlots returns false, holding
// no slot, if the connection is closed while it waits.
func (c *conn) acquireSlots() bool {
	select {
	case c.inFlight <- struct{}{}:
	default:
		c.srv.logLimited(slog.LevelInfo, "conn-in-flight "+remoteHost(c.remote),
			"RPC calls in flight reached the per-connection limit; reading from the client paused until one finishes",
			"remote", c.remote.String(), "max_in_flight_per_conn", c.srv.maxInFlight)
		select {
		case c.inFlight <- struct{}{}:
		case <-c.ctx.Done():
			return false
		}
	}

	select {
	case c.srv.inFlight <- struct{}{}:
		return true
	default:
	}
	c.srv.logLimited(slog.LevelInfo, "server-in-flight",
		"RPC calls in flight reached the server limit; reading paused until one finishes",
		"remote", c.remote.String(), "max_in_flight", cap(c.srv.inFlight))
	select {
	case c.srv.inFlight <- struct{}{}:
		return true
	case <-c.ctx.Done():
		<-c.inFlight
		return false
	}
}

// reject sends the rejection already encoded in st and records the call.
// cause, if not nil, is the decoding error behind the rejection.
func (c *conn) reject(st *callState, progName, procName string, start time.Time, rejection, cause error) {
	c.send(st.res.Bytes())
	if cause != nil {
		rejection = errors.Join(rejection, cause)
	}
	c.finishCall(&st.call, progName, procName, start, rejection)
	putCallState(st)
	c.touch()
	c.active.Add(-1)
}

// runCall runs one procedure handler, on a worker goroutine or for a quick
// call on the reader goroutine, and sends its reply. A panic in the handler is logged with its stack and closes the
// connection, because the handler may have left shared state inconsistent
// and the client gets no reply for the call anyway.
func (c *conn) runCall(st *callState, prog *Program, proc *Procedure, start time.Time) {
	defer func() {
		c.touch()
		c.active.Add(-1)
		<-c.srv.inFlight
		<-c.inFlight
		c.calls.Done()
	}()
	defer func() {
		if v := recover(); v != nil {
			c.srv.log.Error("RPC handler panicked; closing connection",
				"remote", c.remote.String(), "xid", st.call.XID,
				"program", prog.Name, "procedure", proc.Name,
				"panic", v, "stack", string(debug.Stack()))
			c.finishCall(&st.call, prog.Name, proc.Name, start, ErrHandlerPanicked)
			c.close()
			// st is not returned to the pool: goroutines started by the
			// handler may still refer to its buffers.
		}
	}()

	st.startReply()
	appendAcceptedHeader(&st.res, st.call.XID, Success)
	err := proc.Handler(c.ctx, &st.call, &st.args, &st.res)
	if err != nil {
		c.encodeHandlerError(st, prog, proc, err)
	}
	if st.res.Len()-recordMarkSize > maxFragmentSize {
		err = errReplyTooLarge
		c.srv.log.Error("RPC reply too large; replied SYSTEM_ERR", "remote", c.remote.String(),
			"xid", st.call.XID, "program", prog.Name, "procedure", proc.Name, "bytes", st.res.Len())
		st.startReply()
		appendAcceptedHeader(&st.res, st.call.XID, SystemErr)
	}
	c.send(st.res.Bytes())
	c.finishCall(&st.call, prog.Name, proc.Name, start, err)
	putCallState(st)
}

// ErrHandlerPanicked is the CallInfo.Err of a call whose handler panicked.
// Such a call gets no reply, and its connection is closed.
var ErrHandlerPanicked = errors.New("oncrpc: handler panicked")

var errReplyTooLarge = errors.New("oncrpc: reply exceeds the record fragment limit")

// encodeHandlerError replaces a partial result with the reply for a
// handler's error.
func (c *conn) encodeHandlerError(st *callState, prog *Program, proc *Procedure, err error) {
	st.startReply()
	switch {
	case errors.Is(err, ErrGarbageArgs):
		appendAcceptedHeader(&st.res, st.call.XID, GarbageArgs)
	case errors.Is(err, ErrAuthTooWeak):
		appendAuthError(&st.res, st.call.XID, AuthTooWeak)
	default:
		c.srv.log.Error("RPC procedure failed; replied SYSTEM_ERR", "remote", c.remote.String(),
			"xid", st.call.XID, "program", prog.Name, "procedure", proc.Name, "error", err)
		appendAcceptedHeader(&st.res, st.call.XID, SystemErr)
	}
}

// Replies of at most maxCoalescedReply bytes that finish while another
// reply is being written are copied into the connection's pending buffer
// and go out with the next write, so a busy connection needs fewer write
// system calls than replies. maxPendingReplies bounds that buffer: a reply
// that does not fit waits for its turn, as a larger reply does, so for a
// client that stops reading at most this much collects per connection.
const (
	maxCoalescedReply = 64 << 10
	maxPendingReplies = 256 << 10
)

// send writes one reply record. msg starts with four reserved bytes for
// the record mark. send returns once msg is written or copied to the
// pending buffer, whose writer then reports its errors. After the first
// write failure the connection is closed and later replies are dropped. A
// write that blocks for longer than the server's write timeout fails, so a
// client that stops reading loses its connection instead of holding the
// calls of that connection.
func (c *conn) send(msg []byte) {
	putRecordMark(msg)
	c.writeMu.Lock()
	for c.writeErr == nil && c.writing {
		// A reply joins the pending buffer only while no other reply
		// waits for its turn, so the writer drains the buffer and hands
		// over instead of keeping a waiting reply out indefinitely.
		if c.waiting == 0 && len(msg) <= maxCoalescedReply && len(c.pending)+len(msg) <= maxPendingReplies {
			c.pending = append(c.pending, msg...)
			c.writeMu.Unlock()
			return
		}
		c.waiting++
		c.turn.Wait()
		c.waiting--
	}
	if c.writeErr != nil {
		c.writeMu.Unlock()
		return
	}
	c.writing = true
	c.writeMu.Unlock()
	// With other calls of this connection still running, yield once so
	// that those about to finish add their replies to this write. In
	// bench/loadgen's meta workload this cut write system calls from one
	// per reply to one per five replies.
	if c.active.Load() > 1 {
		runtime.Gosched()
	}

	buf := msg
	var written []byte // the pending buffer in buf, to reuse once written
	for {
		err := c.write(buf)
		c.writeMu.Lock()
		if written != nil && cap(written) <= maxPendingReplies {
			c.spare = written[:0]
		}
		if err != nil {
			c.writeErr = err
			c.pending = nil
		}
		if err != nil || len(c.pending) == 0 {
			c.writing = false
			c.turn.Broadcast()
			c.writeMu.Unlock()
			if err != nil {
				c.logWriteError(err, len(buf))
			}
			return
		}
		buf, written = c.pending, c.pending
		c.pending, c.spare = c.spare, nil
		c.turn.Broadcast()
		c.writeMu.Unlock()
	}
}

// write writes buf to the socket with the write timeout.
func (c *conn) write(buf []byte) error {
	if c.srv.writeTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.writeTimeout))
	}
	_, err := c.nc.Write(buf)
	return err
}

func (c *conn) logWriteError(err error, n int) {
	switch {
	case c.closed.Load():
		// The server closed the connection and logged why.
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.srv.log.Warn("RPC client did not read its replies within the write timeout; closing connection",
			"remote", c.remote.String(), "write_timeout", c.srv.writeTimeout, "reply_bytes", n)
	default:
		c.srv.log.Warn("writing RPC reply failed; closing connection", "remote", c.remote.String(), "error", err)
	}
	c.close()
}

// touch records activity on the connection for the idle timeout.
func (c *conn) touch() {
	c.lastActive.Store(int64(time.Since(c.started)))
}

func (c *conn) startIdleTimer() {
	if c.srv.idleTimeout <= 0 {
		return
	}
	c.touch()
	c.idleMu.Lock()
	c.idleTimer = time.AfterFunc(c.srv.idleTimeout, c.checkIdle)
	c.idleMu.Unlock()
}

func (c *conn) stopIdleTimer() {
	c.idleMu.Lock()
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	c.idleMu.Unlock()
}

// checkIdle runs when the idle timer fires. It closes the connection if
// no call is in flight and nothing arrived for the idle timeout, and
// otherwise sets the timer to the moment the connection would become idle.
func (c *conn) checkIdle() {
	c.idleMu.Lock()
	defer c.idleMu.Unlock()
	if c.closed.Load() {
		return
	}
	timeout := c.srv.idleTimeout
	if c.active.Load() > 0 {
		c.idleTimer.Reset(timeout)
		return
	}
	idle := time.Since(c.started) - time.Duration(c.lastActive.Load())
	if idle < timeout {
		c.idleTimer.Reset(timeout - idle)
		return
	}
	c.srv.log.Info("closing idle RPC connection", "remote", c.remote.String(),
		"idle", idle.Round(time.Millisecond), "idle_timeout", timeout)
	c.close()
}

// finishCall counts a finished call, logs it at debug level and passes it
// to the observer.
func (c *conn) finishCall(call *Call, progName, procName string, start time.Time, err error) {
	c.nCalls.Add(1)
	log := c.srv.log
	debugOn := log.Enabled(c.ctx, slog.LevelDebug)
	if c.srv.observer == nil && !debugOn {
		return
	}
	d := time.Since(start)
	if debugOn {
		log.LogAttrs(c.ctx, slog.LevelDebug, "RPC call",
			slog.String("remote", c.remote.String()),
			slog.Uint64("xid", uint64(call.XID)),
			slog.Uint64("prog", uint64(call.Prog)),
			slog.Uint64("vers", uint64(call.Vers)),
			slog.Uint64("proc", uint64(call.Proc)),
			slog.String("program", progName),
			slog.String("procedure", procName),
			slog.Duration("duration", d),
			slog.Any("error", err))
	}
	if c.srv.observer != nil {
		c.srv.observer(CallInfo{
			Prog: call.Prog, Vers: call.Vers, Proc: call.Proc,
			Program: progName, Procedure: procName,
			Duration: d, Err: err,
		})
	}
}

// close closes the socket once and cancels the context of the calls in
// flight, whose replies can no longer be sent. The reader then fails and
// serve finishes.
func (c *conn) close() {
	if c.closed.CompareAndSwap(false, true) {
		c.cancel()
		c.nc.Close()
	}
}

// stopReading makes the reader stop at its next read without dropping
// calls in flight, whose replies are still written.
func (c *conn) stopReading() {
	c.stopping.Store(true)
	c.nc.SetReadDeadline(time.Now())
}
