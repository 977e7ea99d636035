// Package status keeps the counters of a running "burrow serve" and serves
// them as JSON on a unix socket, for "burrow status" to print.
package status

import (
	"cmp"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/burrow-nfs/burrow/internal/oncrpc"
)

// Info is the fixed part of a snapshot, set when serving starts.
type Info struct {
	Version    string // burrow version
	PID        int    // process id of burrow serve
	Export     string // absolute path of the exported directory
	Listen     string // NFS and MOUNT listen address
	Portmapper string // portmapper listen address, empty when none runs
}

// Snapshot is the state of a running server as the status socket sends
// it.
type Snapshot struct {
	Version          string           `json:"version"`
	PID              int              `json:"pid"`
	Export           string           `json:"export"`
	Listen           string           `json:"listen"`
	Portmapper       string           `json:"portmapper,omitempty"`
	Started          time.Time        `json:"started"`
	UptimeSeconds    float64          `json:"uptime_seconds"`
	ConnectionsTotal uint64           `json:"connections_total"`
	Clients          []ClientStats    `json:"clients"`
	Calls            uint64           `json:"calls"`
	Errors           uint64           `json:"errors"`
	Procedures       []ProcedureStats `json:"procedures"`
}

// ClientStats describes one connected client.
type ClientStats struct {
	Remote    string    `json:"remote"`
	Connected time.Time `json:"connected"`
	BytesIn   uint64    `json:"bytes_in"`
	BytesOut  uint64    `json:"bytes_out"`
}

// ProcedureStats counts the calls of one procedure. Errors counts calls
// whose RPC reply was not SUCCESS, or that got no reply. An NFS status such
// as NFS3ERR_NOENT is a successful RPC reply and is not counted.
type ProcedureStats struct {
	Program      string  `json:"program"`
	Prog         uint32  `json:"prog"`
	Vers         uint32  `json:"vers"`
	Procedure    string  `json:"procedure"`
	Proc         uint32  `json:"proc"`
	Calls        uint64  `json:"calls"`
	Errors       uint64  `json:"errors"`
	TotalSeconds float64 `json:"total_seconds"`
	LastError    string  `json:"last_error,omitempty"`
}

// Buckets for calls whose program or procedure is not registered. Without
// them a client that sends random numbers would add a counter per number.
const (
	unregisteredProg = ^uint32(0)
	unregisteredProc = ^uint32(0)
)

type procKey struct{ prog, vers, proc uint32 }

type procCounter struct {
	program, procedure string
	calls, errors      atomic.Uint64
	nanos              atomic.Int64
	lastError          atomic.Pointer[string]
}

type clientState struct {
	remote    string
	connected time.Time
	bytesIn   atomic.Uint64
	bytesOut  atomic.Uint64
}

// Counters collects the state of one server. It is safe for concurrent
// use: Observe runs on every call's goroutine and takes no lock once the
// procedure has been seen.
type Counters struct {
	info  Info
	start time.Time
	now   func() time.Time

	procs sync.Map // procKey -> *procCounter

	mu        sync.Mutex
	clients   map[*clientState]struct{}
	connTotal uint64
}

// New returns Counters for a server that starts now.
func New(info Info) *Counters {
	return newWithClock(info, time.Now)
}

func newWithClock(info Info, now func() time.Time) *Counters {
	return &Counters{info: info, start: now(), now: now, clients: map[*clientState]struct{}{}}
}

// Observe counts one finished call. It has the signature of
// oncrpc.Options.Observer.
func (c *Counters) Observe(ci oncrpc.CallInfo) {
	key := procKey{ci.Prog, ci.Vers, ci.Proc}
	switch {
	case ci.Program == "":
		key = procKey{unregisteredProg, 0, 0}
	case ci.Procedure == "":
		key.proc = unregisteredProc
	}
	v, ok := c.procs.Load(key)
	if !ok {
		pc := &procCounter{program: ci.Program, procedure: ci.Procedure}
		if key.prog == unregisteredProg {
			pc.program, pc.procedure = "(unregistered)", "(any)"
		} else if key.proc == unregisteredProc {
			pc.procedure = "(unregistered)"
		}
		v, _ = c.procs.LoadOrStore(key, pc)
	}
	pc := v.(*procCounter)
	pc.calls.Add(1)
	pc.nanos.Add(int64(ci.Duration))
	if ci.Err != nil {
		pc.errors.Add(1)
		msg := ci.Err.Error()
		pc.lastError.Store(&msg)
	}
}

// Connected records a client connection from remote and returns the
// function that records its end. The returned function may be called more
// than once.
func (c *Counters) Connected(remote net.Addr) (disconnected func()) {
	cs := c.connect(remote)
	var once sync.Once
	return func() { once.Do(func() { c.disconnect(cs) }) }
}

func (c *Counters) connect(remote net.Addr) *clientState {
	name := "unknown"
	if remote != nil {
		name = remote.String()
	}
	cs := &clientState{remote: name, connected: c.now()}
	c.mu.Lock()
	c.clients[cs] = struct{}{}
	c.connTotal++
	c.mu.Unlock()
	return cs
}

func (c *Counters) disconnect(cs *clientState) {
	c.mu.Lock()
	delete(c.clients, cs)
	c.mu.Unlock()
}

// WrapListener returns a listener whose connections are counted as
// clients from Accept until Close, with the bytes read and written.
// Serving the returned listener with oncrpc.Server counts every
// connection, because the server closes each connection when it ends.
func (c *Counters) WrapListener(l net.Listener) net.Listener {
	return &countingListener{Listener: l, counters: c}
}

type countingListener struct {
	net.Listener
	counters *Counters
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: nc, counters: l.counters, client: l.counters.connect(nc.RemoteAddr())}, nil
}

type countingConn struct {
	net.Conn
	counters *Counters
	client   *clientState
	closed   atomic.Bool
}

func (cc *countingConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	cc.client.bytesIn.Add(uint64(n))
	return n, err
}

func (cc *countingConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	cc.client.bytesOut.Add(uint64(n))
	return n, err
}

func (cc *countingConn) Close() error {
	if cc.closed.CompareAndSwap(false, true) {
		cc.counters.disconnect(cc.client)
	}
	return cc.Conn.Close()
}

// Snapshot returns the current state. Clients are sorted by connect time
// and procedures by program, version and procedure number.
func (c *Counters) Snapshot() Snapshot {
	now := c.now()
	s := Snapshot{
		Version:       c.info.Version,
		PID:           c.info.PID,
		Export:        c.info.Export,
		Listen:        c.info.Listen,
		Portmapper:    c.info.Portmapper,
		Started:       c.start,
		UptimeSeconds: now.Sub(c.start).Seconds(),
		Clients:       []ClientStats{},
		Procedures:    []ProcedureStats{},
	}

	c.mu.Lock()
	s.ConnectionsTotal = c.connTotal
	for cs := range c.clients {
		s.Clients = append(s.Clients, ClientStats{
			Remote:    cs.remote,
			Connected: cs.connected,
			BytesIn:   cs.bytesIn.Load(),
			BytesOut:  cs.bytesOut.Load(),
		})
	}
	c.mu.Unlock()
	slices.SortFunc(s.Clients, func(a, b ClientStats) int {
		return cmp.Or(a.Connected.Compare(b.Connected), cmp.Compare(a.Remote, b.Remote))
	})

	c.procs.Range(func(k, v any) bool {
		key, pc := k.(procKey), v.(*procCounter)
		ps := ProcedureStats{
			Program:      pc.program,
			Prog:         key.prog,
			Vers:         key.vers,
			Procedure:    pc.procedure,
			Proc:         key.proc,
			Calls:        pc.calls.Load(),
			Errors:       pc.errors.Load(),
			TotalSeconds: time.Duration(pc.nanos.Load()).Seconds(),
		}
		if msg := pc.lastError.Load(); msg != nil {
			ps.LastError = *msg
		}
		s.Calls += ps.Calls
		s.Errors += ps.Errors
		s.Procedures = append(s.Procedures, ps)
		return true
	})
	slices.SortFunc(s.Procedures, func(a, b ProcedureStats) int {
		return cmp.Or(cmp.Compare(a.Prog, b.Prog), cmp.Compare(a.Vers, b.Vers), cmp.Compare(a.Proc, b.Proc))
	})
	return s
}
