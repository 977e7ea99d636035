package oncrpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

const testProg = 0x20000042

// Procedure numbers of the test program.
const (
	procNull    = 0
	procEcho    = 1
	procGarbage = 2
	procFail    = 3
	procUnset   = 4
	procSlow    = 5
	procPanic   = 6
	procTooWeak = 7
	procWhoAmI  = 8
	procQuick   = 9 // SLOW marked Quick
)

// testHooks lets a test control the SLOW procedure.
type testHooks struct {
	slowStarted chan struct{} // receives once per SLOW call that started
	slowRelease chan struct{} // SLOW returns when this is closed
	slowCtxErr  chan error    // receives ctx.Err() if SLOW ends by cancellation
}

func newTestHooks() *testHooks {
	return &testHooks{
		slowStarted: make(chan struct{}, 16),
		slowRelease: make(chan struct{}),
		slowCtxErr:  make(chan error, 16),
	}
}

func testProgram(vers uint32, h *testHooks) Program {
	return Program{
		Name: "TEST",
		Prog: testProg,
		Vers: vers,
		Procs: []Procedure{
			procNull: {Name: "NULL", Handler: func(context.Context, *Call, *xdr.Decoder, *xdr.Encoder) error { return nil }},
			procEcho: {Name: "ECHO", Handler: func(_ context.Context, _ *Call, args *xdr.Decoder, res *xdr.Encoder) error {
				b := args.Opaque(1 << 30)
				if args.Err() != nil {
					return ErrGarbageArgs
				}
				res.Opaque(b)
				return nil
			}},
			procGarbage: {Name: "GARBAGE", Handler: func(_ context.Context, _ *Call, _ *xdr.Decoder, res *xdr.Encoder) error {
				res.Uint32(0xdeadbeef) // partial result that must not be sent
				return ErrGarbageArgs
			}},
			procFail: {Name: "FAIL", Handler: func(_ context.Context, _ *Call, _ *xdr.Decoder, res *xdr.Encoder) error {
				res.Uint32(0xdeadbeef)
				return errors.New("backend exploded")
			}},
			procUnset: {Name: "UNSET"},
			procSlow: {Name: "SLOW", Handler: func(ctx context.Context, _ *Call, _ *xdr.Decoder, res *xdr.Encoder) error {
				h.slowStarted <- struct{}{}
				select {
				case <-h.slowRelease:
					res.Uint32(7)
					return nil
				case <-ctx.Done():
					h.slowCtxErr <- ctx.Err()
					return ctx.Err()
				}
			}},
			procQuick: {Name: "QUICK", Quick: func(xdr.Decoder) bool { return true }, Handler: func(ctx context.Context, _ *Call, _ *xdr.Decoder, res *xdr.Encoder) error {
				h.slowStarted <- struct{}{}
				select {
				case <-h.slowRelease:
					res.Uint32(9)
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}},
			procPanic: {Name: "PANIC", Handler: func(context.Context, *Call, *xdr.Decoder, *xdr.Encoder) error {
				panic("handler bug")
			}},
			procTooWeak: {Name: "TOOWEAK", Handler: func(context.Context, *Call, *xdr.Decoder, *xdr.Encoder) error {
				return ErrAuthTooWeak
			}},
			procWhoAmI: {Name: "WHOAMI", Handler: func(_ context.Context, c *Call, _ *xdr.Decoder, res *xdr.Encoder) error {
				res.Uint32(c.Flavor)
				if c.Sys != nil {
					res.Uint32(c.Sys.Stamp)
					res.String(c.Sys.MachineName)
					res.Uint32(c.Sys.UID)
					res.Uint32(c.Sys.GID)
					res.Uint32(uint32(len(c.Sys.GIDs)))
					for _, g := range c.Sys.GIDs {
						res.Uint32(g)
					}
				}
				return nil
			}},
		},
	}
}

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForLog waits until the log contains substr.
func (b *logBuffer) waitForLog(t *testing.T, substr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("log does not contain %q; log:\n%s", substr, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type testServer struct {
	srv   *Server
	addr  string
	hooks *testHooks
	log   *logBuffer
}

// startServer serves versions 2 and 4 of the test program on a loopback
// port and shuts the server down when the test ends.
func startServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	ts := &testServer{hooks: newTestHooks(), log: &logBuffer{}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(ts.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ts.srv = NewServer(opts)
	ts.srv.Register(testProgram(2, ts.hooks))
	ts.srv.Register(testProgram(4, ts.hooks))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- ts.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ts
}

func (ts *testServer) dial(t *testing.T) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, "tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (ts *testServer) dialRaw(t *testing.T) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc
}

// hexBytes decodes a hex string that may contain spaces.
func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// rawCall builds a call record body without its record mark.
type rawCall struct {
	xid, rpcvers, prog, vers, proc uint32
	credFlavor                     uint32
	credBody                       []byte
	verfFlavor                     uint32
	verfBody                       []byte
	args                           []byte
}

func (r rawCall) bytes() []byte {
	e := xdr.NewEncoder(nil)
	e.Uint32(r.xid)
	e.Uint32(msgCall)
	e.Uint32(r.rpcvers)
	e.Uint32(r.prog)
	e.Uint32(r.vers)
	e.Uint32(r.proc)
	e.Uint32(r.credFlavor)
	e.Opaque(r.credBody)
	e.Uint32(r.verfFlavor)
	e.Opaque(r.verfBody)
	return append(e.Bytes(), r.args...)
}

// frame prefixes rec with a last-fragment record mark.
func frame(rec []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, lastFragment|uint32(len(rec)))
}

func framed(rec []byte) []byte {
	return append(frame(rec), rec...)
}

// readRawReply reads one single-fragment reply, record mark included.
func readRawReply(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(nc, hdr); err != nil {
		t.Fatalf("reading reply record mark: %v", err)
	}
	mark := binary.BigEndian.Uint32(hdr)
	if mark&lastFragment == 0 {
		t.Fatalf("reply fragment %#x lacks the last-fragment bit", mark)
	}
	body := make([]byte, mark&maxFragmentSize)
	if _, err := io.ReadFull(nc, body); err != nil {
		t.Fatalf("reading reply body: %v", err)
	}
	return append(hdr, body...)
}

// expectClosed asserts that the server closes nc without sending more.
// A reset counts as closed: the kernel sends one instead of a FIN when the
// server closes a socket with unread input.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(nc)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading until close: %v (got %x)", err, b)
	}
	if len(b) != 0 {
		t.Fatalf("server sent %x before closing, want nothing", b)
	}
}

func opaqueArg(b []byte) []byte {
	e := xdr.NewEncoder(nil)
	e.Opaque(b)
	return e.Bytes()
}
