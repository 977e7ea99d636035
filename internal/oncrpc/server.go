package oncrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxInFlightPerConn is the per-connection limit on calls being
// handled at once when Options.MaxInFlightPerConn is zero.
// NOTE: 128 is an estimate, not a measurement: enough for client readahead
// and writeback on one mount, small enough that one client cannot start
// unbounded goroutines and buffers.
const DefaultMaxInFlightPerConn = 128

// DefaultMaxInFlight is the limit on calls being handled at once across
// all connections when Options.MaxInFlight is zero. Each call holds its
// call record and reply buffer, so with 1 MiB WRITE calls the records of
// 256 calls take about 256 MiB.
// NOTE: 256 is an estimate, not a measurement: twice the per-connection
// limit, so two busy mounts run at full depth at once.
const DefaultMaxInFlight = 256

// DefaultMaxConns is the limit on open connections when Options.MaxConns
// is zero. A mount uses one connection (up to 16 with the Linux nconnect
// option), and MOUNT calls and probes add short-lived ones, so 256 leaves
// room for several hosts. An idle connection costs one goroutine and a
// 64 KiB read buffer, so 256 of them take about 16 MiB.
const DefaultMaxConns = 256

// DefaultIdleTimeout is how long a connection may stay without calls
// before the server closes it, when Options.IdleTimeout is zero. The
// Linux client closes its own idle NFS connections after 5 minutes
// (XS_IDLE_DISC_TO in net/sunrpc/xprtsock.c) and reconnects on the next
// call, so 15 minutes never cuts a working Linux mount first. The timeout
// reclaims connections from peers that went silent without closing.
const DefaultIdleTimeout = 15 * time.Minute

// DefaultWriteTimeout is how long writing one reply may block before the
// server closes the connection, when Options.WriteTimeout is zero. A
// client that reads its socket drains a 1 MiB reply in well under a second
// on a host-only network, so 30 seconds only catches a client that stopped
// reading. Without the timeout such a client would keep the calls of its
// connection, their buffers and goroutines, until Shutdown.
const DefaultWriteTimeout = 30 * time.Second

// rejectLogInterval is the least time between two log lines for the same
// kind of event from the same remote address.
const rejectLogInterval = time.Minute

// ErrServerClosed is returned by Serve after Shutdown has been called.
var ErrServerClosed = errors.New("oncrpc: server closed")

// CallInfo describes one finished call for Options.Observer.
type CallInfo struct {
	Prog, Vers, Proc uint32
	Program          string // program name, empty if the program is not registered
	Procedure        string // procedure name, empty if the procedure is not registered
	Duration         time.Duration
	// Err is nil for a SUCCESS reply. For a rejection it is an
	// *AcceptError or *RejectedError, for a handler failure the handler's
	// error, and for a handler panic ErrHandlerPanicked.
	Err error
}

// Options configures a Server. The zero value is valid.
type Options struct {
	// Logger receives the server's log lines. Nil discards them.
	Logger *slog.Logger
	// MaxRecordSize is the largest call record accepted, in bytes; a larger
	// record is logged and its connection closed. Zero means
	// DefaultMaxRecordSize.
	MaxRecordSize int
	// MaxInFlightPerConn bounds the calls of one connection that run at
	// once; the connection's reader waits while the bound is reached. Zero
	// means DefaultMaxInFlightPerConn.
	MaxInFlightPerConn int
	// MaxInFlight bounds the calls of all connections that run at once; a
	// connection's reader waits while the bound is reached. Zero means
	// DefaultMaxInFlight.
	MaxInFlight int
	// MaxConns bounds the open connections. A connection accepted while
	// the bound is reached is closed at once without a reply. Zero means
	// DefaultMaxConns.
	MaxConns int
	// IdleTimeout closes a connection that has had no call in flight and
	// has received no complete record for this long, which includes a
	// client that stalls in the middle of a record. Zero means
	// DefaultIdleTimeout, and a negative value keeps idle connections open.
	IdleTimeout time.Duration
	// WriteTimeout bounds how long writing one reply may block on a client
	// that does not read; the connection is then closed. Zero means
	// DefaultWriteTimeout, and a negative value lets writes block.
	WriteTimeout time.Duration
	// AcceptConn decides whether a new connection is served. It runs on the
	// accepting goroutine. Nil accepts every connection. A rejected
	// connection is closed without a reply and logged, at most once a
	// minute for each remote address.
	AcceptConn func(remote net.Addr) bool
	// Observer, if set, is called once per call after its reply has been
	// written or has failed to write, and once for a call whose handler
	// panicked. It runs on the call's goroutine, concurrently with other
	// calls, so it must be safe for concurrent use and should be fast.
	// Calls that close the connection before dispatch (a message that is
	// not a call, a cut-off header) are not reported.
	Observer func(CallInfo)
}

// programTable is an immutable snapshot of the registered programs, so
// that lookups on the call path take no lock.
type programTable struct {
	versions map[uint64]*Program     // key: prog<<32 | vers
	ranges   map[uint32]versionRange // key: prog
}

type versionRange struct{ low, high uint32 }

// Server serves registered RPC programs over TCP with record marking.
type Server struct {
	log          *slog.Logger
	maxRecord    int
	maxInFlight  int // per connection
	maxConns     int
	idleTimeout  time.Duration // zero or less disables
	writeTimeout time.Duration // zero or less disables
	acceptConn   func(net.Addr) bool
	observer     func(CallInfo)

	inFlight   chan struct{} // semaphore of the calls of all connections
	logLimiter *logLimiter

	programs atomic.Pointer[programTable]
	regMu    sync.Mutex // serializes Register

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	connWG    sync.WaitGroup
}

// NewServer returns a Server with no programs registered.
func NewServer(opts Options) *Server {
	s := &Server{
		log:          opts.Logger,
		maxRecord:    opts.MaxRecordSize,
		maxInFlight:  opts.MaxInFlightPerConn,
		maxConns:     opts.MaxConns,
		idleTimeout:  opts.IdleTimeout,
		writeTimeout: opts.WriteTimeout,
		acceptConn:   opts.AcceptConn,
		observer:     opts.Observer,
		logLimiter:   newLogLimiter(rejectLogInterval),
		listeners:    make(map[net.Listener]struct{}),
		conns:        make(map[*conn]struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.maxRecord <= 0 {
		s.maxRecord = DefaultMaxRecordSize
	}
	if s.maxInFlight <= 0 {
		s.maxInFlight = DefaultMaxInFlightPerConn
	}
	maxTotal := opts.MaxInFlight
	if maxTotal <= 0 {
		maxTotal = DefaultMaxInFlight
	}
	s.inFlight = make(chan struct{}, maxTotal)
	if s.maxConns <= 0 {
		s.maxConns = DefaultMaxConns
	}
	if s.idleTimeout == 0 {
		s.idleTimeout = DefaultIdleTimeout
	}
	if s.writeTimeout == 0 {
		s.writeTimeout = DefaultWriteTimeout
	}
	s.programs.Store(&programTable{
		versions: map[uint64]*Program{},
		ranges:   map[uint32]versionRange{},
	})
	return s
}

// Register adds one version of a program. It may be called while the
// server is serving. Register panics if the same program number and
// version are registered twice, because that is a programming error.
func (s *Server) Register(p Program) {
	s.regMu.Lock()
	defer s.regMu.Unlock()

	old := s.programs.Load()
	key := uint64(p.Prog)<<32 | uint64(p.Vers)
	if _, dup := old.versions[key]; dup {
		panic(fmt.Sprintf("oncrpc: program %d version %d registered twice", p.Prog, p.Vers))
	}
	next := &programTable{
		versions: make(map[uint64]*Program, len(old.versions)+1),
		ranges:   make(map[uint32]versionRange, len(old.ranges)+1),
	}
	for k, v := range old.versions {
		next.versions[k] = v
	}
	for k, v := range old.ranges {
		next.ranges[k] = v
	}
	next.versions[key] = &p
	r, ok := next.ranges[p.Prog]
	if !ok {
		r = versionRange{p.Vers, p.Vers}
	}
	r.low = min(r.low, p.Vers)
	r.high = max(r.high, p.Vers)
	next.ranges[p.Prog] = r
	s.programs.Store(next)
}

// Serve accepts connections on l and serves each on its own goroutines
// until Shutdown is called or Accept fails permanently. It returns
// ErrServerClosed after Shutdown, and otherwise the Accept error. Serve
// closes l before it returns, and may be called for several listeners at
// once.
func (s *Server) Serve(l net.Listener) error {
	if !s.trackListener(l) {
		l.Close()
		return ErrServerClosed
	}
	defer l.Close()
	defer s.untrackListener(l)
	s.log.Info("RPC server listening", "listener", l.Addr().String())

	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if isTemporaryAcceptError(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accepting RPC connection failed; retrying", "listener", l.Addr().String(), "error", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			s.log.Error("accepting RPC connection failed; listener stopped", "listener", l.Addr().String(), "error", err)
			return err
		}
		backoff = 0

		remote := nc.RemoteAddr()
		if s.acceptConn != nil && !s.acceptConn(remote) {
			s.logLimited(slog.LevelWarn, "access "+remoteHost(remote),
				"RPC connection rejected by access control; closed without a reply",
				"remote", remote.String())
			nc.Close()
			continue
		}
		c := newConn(s, nc)
		switch s.trackConn(c) {
		case trackClosing:
			nc.Close()
			return ErrServerClosed
		case trackFull:
			s.logLimited(slog.LevelWarn, "conns "+remoteHost(remote),
				"RPC connection rejected: connection limit reached; closed without a reply",
				"remote", remote.String(), "max_conns", s.maxConns)
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// Shutdown stops accepting connections, stops reading new calls, waits for
// calls in flight to finish and send their replies, and closes every
// connection. If ctx ends first, Shutdown closes the remaining connections
// at once, cancels the contexts of their calls, and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		if err := l.Close(); err != nil {
			s.log.Warn("closing RPC listener failed", "listener", l.Addr().String(), "error", err)
		}
	}
	for c := range s.conns {
		c.stopReading()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.log.Info("RPC server stopped")
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			c.close()
		}
		s.mu.Unlock()
		s.log.Warn("RPC server shutdown timed out; closed connections with calls in flight", "connections", n, "error", ctx.Err())
		return ctx.Err()
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Server) trackListener(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) untrackListener(l net.Listener) {
	s.mu.Lock()
	delete(s.listeners, l)
	s.mu.Unlock()
}

// trackResult is the outcome of trackConn.
type trackResult int

const (
	trackOK      trackResult = iota
	trackClosing             // the server is shutting down
	trackFull                // Options.MaxConns connections are open
)

// trackConn registers c unless the server is shutting down or full, so
// Shutdown reaches every connection that starts serving.
func (s *Server) trackConn(c *conn) trackResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return trackClosing
	}
	if len(s.conns) >= s.maxConns {
		return trackFull
	}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	return trackOK
}

// connCount returns the number of open connections.
func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) untrackConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connWG.Done()
}

// isTemporaryAcceptError reports accept failures that a later Accept may
// not repeat, such as a timeout or running out of file descriptors
// (EMFILE, which the net package marks as temporary).
func isTemporaryAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
