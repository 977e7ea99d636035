package oncrpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/xdr"
)

func nullCall(xid uint32) rawCall {
	return rawCall{xid: xid, rpcvers: 2, prog: testProg, vers: 2, proc: procNull}
}

func TestNullCallGolden(t *testing.T) {
	ts := startServer(t, Options{})
	nc := ts.dialRaw(t)

	call := hexBytes(t, "80000028 01020304 00000000 00000002 20000042 00000002 00000000 00000000 00000000 00000000 00000000")
	if got := framed(nullCall(0x01020304).bytes()); !bytes.Equal(got, call) {
		t.Fatalf("test call encoder:\n got %x\nwant %x", got, call)
	}
	if _, err := nc.Write(call); err != nil {
		t.Fatal(err)
	}
	want := hexBytes(t, "80000018 01020304 00000001 00000000 00000000 00000000 00000000")
	if got := readRawReply(t, nc); !bytes.Equal(got, want) {
		t.Fatalf("NULL reply:\n got %x\nwant %x", got, want)
	}
}

func sysCredBody(_ *testing.T, name string, gids int, trailing int) []byte {
	e := xdr.NewEncoder(nil)
	e.Uint32(1)
	e.String(name)
	e.Uint32(1000)
	e.Uint32(1000)
	e.Uint32(uint32(gids))
	for i := range gids {
		e.Uint32(uint32(i))
	}
	for range trailing {
		e.Uint32(0)
	}
	return e.Bytes()
}

func TestRejectionGolden(t *testing.T) {
	const xid = 0x0a0b0c0d
	base := rawCall{xid: xid, rpcvers: 2, prog: testProg, vers: 2}
	with := func(f func(*rawCall)) []byte {
		c := base
		f(&c)
		return framed(c.bytes())
	}
	tests := []struct {
		name  string
		call  []byte
		reply string
	}{
		{"rpc version 3", with(func(c *rawCall) { c.rpcvers = 3 }),
			"80000018 0a0b0c0d 00000001 00000001 00000000 00000002 00000002"},
		{"flavor RPCSEC_GSS", with(func(c *rawCall) { c.credFlavor = 6 }),
			"80000014 0a0b0c0d 00000001 00000001 00000001 00000001"},
		{"AUTH_NONE with body", with(func(c *rawCall) { c.credBody = []byte{1, 2, 3, 4} }),
			"80000014 0a0b0c0d 00000001 00000001 00000001 00000001"},
		{"AUTH_SYS 17 gids", with(func(c *rawCall) { c.credFlavor = AuthSys; c.credBody = sysCredBody(t, "host", 17, 0) }),
			"80000014 0a0b0c0d 00000001 00000001 00000001 00000001"},
		{"AUTH_SYS name 256 bytes", with(func(c *rawCall) {
			c.credFlavor = AuthSys
			c.credBody = sysCredBody(t, strings.Repeat("h", 256), 0, 0)
		}), "80000014 0a0b0c0d 00000001 00000001 00000001 00000001"},
		{"AUTH_SYS trailing bytes", with(func(c *rawCall) { c.credFlavor = AuthSys; c.credBody = sysCredBody(t, "host", 2, 1) }),
			"80000014 0a0b0c0d 00000001 00000001 00000001 00000001"},
		{"AUTH_SYS cut off", with(func(c *rawCall) { c.credFlavor = AuthSys; c.credBody = sysCredBody(t, "host", 2, 0)[:16] }),
			"80000014 0a0b0c0d 00000001 00000001 00000001 00000001"},
		{"credential over 400 bytes", with(func(c *rawCall) { c.credFlavor = AuthSys; c.credBody = make([]byte, 404) }),
			"80000014 0a0b0c0d 00000001 00000001 00000001 00000001"},
		{"verifier AUTH_SYS", with(func(c *rawCall) { c.verfFlavor = AuthSys }),
			"80000014 0a0b0c0d 00000001 00000001 00000001 00000003"},
		{"verifier with body", with(func(c *rawCall) { c.verfBody = []byte{9, 9, 9, 9} }),
			"80000014 0a0b0c0d 00000001 00000001 00000001 00000003"},
		{"unknown program", with(func(c *rawCall) { c.prog = testProg + 1 }),
			"80000018 0a0b0c0d 00000001 00000000 00000000 00000000 00000001"},
		{"unknown version", with(func(c *rawCall) { c.vers = 3 }),
			"80000020 0a0b0c0d 00000001 00000000 00000000 00000000 00000002 00000002 00000004"},
		{"procedure without handler", with(func(c *rawCall) { c.proc = procUnset }),
			"80000018 0a0b0c0d 00000001 00000000 00000000 00000000 00000003"},
		{"procedure out of range", with(func(c *rawCall) { c.proc = 99 }),
			"80000018 0a0b0c0d 00000001 00000000 00000000 00000000 00000003"},
		{"garbage arguments", with(func(c *rawCall) { c.proc = procGarbage }),
			"80000018 0a0b0c0d 00000001 00000000 00000000 00000000 00000004"},
		{"handler error", with(func(c *rawCall) { c.proc = procFail }),
			"80000018 0a0b0c0d 00000001 00000000 00000000 00000000 00000005"},
		{"handler too weak", with(func(c *rawCall) { c.proc = procTooWeak }),
			"80000014 0a0b0c0d 00000001 00000001 00000001 00000005"},
	}
	ts := startServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := ts.dialRaw(t)
			if _, err := nc.Write(tt.call); err != nil {
				t.Fatal(err)
			}
			want := hexBytes(t, tt.reply)
			if got := readRawReply(t, nc); !bytes.Equal(got, want) {
				t.Fatalf("reply:\n got %x\nwant %x", got, want)
			}

			// The connection stays usable after a rejection.
			if _, err := nc.Write(framed(nullCall(0x55).bytes())); err != nil {
				t.Fatal(err)
			}
			wantNull := hexBytes(t, "80000018 00000055 00000001 00000000 00000000 00000000 00000000")
			if got := readRawReply(t, nc); !bytes.Equal(got, wantNull) {
				t.Fatalf("NULL reply after rejection:\n got %x\nwant %x", got, wantNull)
			}
		})
	}
}

func TestSystemErrLogged(t *testing.T) {
	ts := startServer(t, Options{})
	c := ts.dial(t)
	_, err := c.Call(context.Background(), testProg, 2, procFail, AuthNoneCredential(), nil)
	var ae *AcceptError
	if !errors.As(err, &ae) || ae.Stat != SystemErr {
		t.Fatalf("FAIL returned %v, want *AcceptError SYSTEM_ERR", err)
	}
	ts.log.waitForLog(t, "RPC procedure failed")
	line := ""
	for l := range strings.Lines(ts.log.String()) {
		if strings.Contains(l, "RPC procedure failed") {
			line = l
		}
	}
	for _, want := range []string{"level=ERROR", "program=TEST", "procedure=FAIL", "xid=", `error="backend exploded"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
}

func TestClientTypedErrors(t *testing.T) {
	ts := startServer(t, Options{})
	c := ts.dial(t)
	ctx := context.Background()

	_, err := c.Call(ctx, testProg, 3, procNull, AuthNoneCredential(), nil)
	var ae *AcceptError
	if !errors.As(err, &ae) {
		t.Fatalf("version 3 returned %v, want *AcceptError", err)
	}
	if ae.Stat != ProgMismatch || ae.Low != 2 || ae.High != 4 {
		t.Fatalf("version 3 returned %+v, want PROG_MISMATCH 2..4", *ae)
	}

	_, err = c.Call(ctx, testProg, 2, procNull, Credential{Flavor: 6}, nil)
	var re *RejectedError
	if !errors.As(err, &re) {
		t.Fatalf("flavor 6 returned %v, want *RejectedError", err)
	}
	if re.Stat != AuthError || re.AuthStat != AuthBadCred {
		t.Fatalf("flavor 6 returned %+v, want AUTH_ERROR AUTH_BADCRED", *re)
	}

	_, err = c.Call(ctx, testProg, 2, procGarbage, AuthNoneCredential(), nil)
	if !errors.As(err, &ae) || ae.Stat != GarbageArgs {
		t.Fatalf("GARBAGE returned %v, want GARBAGE_ARGS", err)
	}
}

func TestAuthSysCredentialDecoded(t *testing.T) {
	ts := startServer(t, Options{})
	c := ts.dial(t)
	sys := SysCred{Stamp: 77, MachineName: "guest", UID: 1001, GID: 1002, GIDs: []uint32{4, 24, 27}}
	cred, err := AuthSysCredential(sys)
	if err != nil {
		t.Fatal(err)
	}
	// Two calls: the second takes the cached machine name path.
	for i := range 2 {
		res, err := c.Call(context.Background(), testProg, 4, procWhoAmI, cred, nil)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		d := xdr.NewDecoder(res)
		if f := d.Uint32(); f != AuthSys {
			t.Fatalf("flavor %d, want AUTH_SYS", f)
		}
		got := SysCred{Stamp: d.Uint32(), MachineName: d.String(255), UID: d.Uint32(), GID: d.Uint32()}
		n := d.Uint32()
		for range n {
			got.GIDs = append(got.GIDs, d.Uint32())
		}
		if d.Err() != nil || d.Remaining() != 0 {
			t.Fatalf("decoding WHOAMI result %x: err %v, %d bytes left", res, d.Err(), d.Remaining())
		}
		if got.Stamp != sys.Stamp || got.MachineName != sys.MachineName || got.UID != sys.UID || got.GID != sys.GID {
			t.Fatalf("server decoded %+v, want %+v", got, sys)
		}
		if !slicesEqual(got.GIDs, sys.GIDs) {
			t.Fatalf("server decoded gids %v, want %v", got.GIDs, sys.GIDs)
		}
	}
}

func slicesEqual(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAuthSysCredentialLimits(t *testing.T) {
	if _, err := AuthSysCredential(SysCred{MachineName: strings.Repeat("x", 256)}); err == nil {
		t.Error("256-byte machine name accepted")
	}
	if _, err := AuthSysCredential(SysCred{GIDs: make([]uint32, 17)}); err == nil {
		t.Error("17 group ids accepted")
	}
}

func TestMultiFragmentRecord(t *testing.T) {
	ts := startServer(t, Options{})
	nc := ts.dialRaw(t)

	payload := bytes.Repeat([]byte("abcdefg"), 1000)
	rec := rawCall{xid: 9, rpcvers: 2, prog: testProg, vers: 2, proc: procEcho, args: opaqueArg(payload)}.bytes()
	// Fragments: 10 bytes, an empty one, the middle, and the tail marked last.
	var msg []byte
	appendFrag := func(b []byte, last bool) {
		mark := uint32(len(b))
		if last {
			mark |= lastFragment
		}
		msg = append(msg, byte(mark>>24), byte(mark>>16), byte(mark>>8), byte(mark))
		msg = append(msg, b...)
	}
	appendFrag(rec[:10], false)
	appendFrag(nil, false)
	appendFrag(rec[10:5000], false)
	appendFrag(rec[5000:], true)
	// Write in small pieces so fragments also straddle TCP segments.
	for len(msg) > 0 {
		n := min(len(msg), 777)
		if _, err := nc.Write(msg[:n]); err != nil {
			t.Fatal(err)
		}
		msg = msg[n:]
	}

	reply := readRawReply(t, nc)
	want := append(hexBytes(t, "00000009 00000001 00000000 00000000 00000000 00000000"), opaqueArg(payload)...)
	if !bytes.Equal(reply[4:], want) {
		t.Fatalf("ECHO reply differs: got %d bytes, want %d", len(reply)-4, len(want))
	}
}

func TestOversizedRecordClosesConnection(t *testing.T) {
	ts := startServer(t, Options{MaxRecordSize: 1024})
	nc := ts.dialRaw(t)

	// Two fragments of 600 bytes: the second pushes the record past 1024.
	frag := make([]byte, 600)
	msg := append([]byte{0, 0, 0x02, 0x58}, frag...)
	msg = append(msg, 0x80, 0, 0x02, 0x58)
	if _, err := nc.Write(msg); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, nc)
	ts.log.waitForLog(t, "RPC record too large")

	// A record of exactly the maximum is accepted.
	nc2 := ts.dialRaw(t)
	payload := make([]byte, 1024-40-4)
	rec := rawCall{xid: 3, rpcvers: 2, prog: testProg, vers: 2, proc: procEcho, args: opaqueArg(payload)}.bytes()
	if len(rec) != 1024 {
		t.Fatalf("test record is %d bytes, want 1024", len(rec))
	}
	if _, err := nc2.Write(framed(rec)); err != nil {
		t.Fatal(err)
	}
	if reply := readRawReply(t, nc2); len(reply) != 4+24+4+len(payload) {
		t.Fatalf("reply is %d bytes", len(reply))
	}
}

func TestUnanswerableMessagesCloseConnection(t *testing.T) {
	tests := []struct {
		name string
		rec  []byte
	}{
		{"empty record", nil},
		{"only xid", hexBytes(t, "00000001")},
		{"cut after rpcvers", hexBytes(t, "00000001 00000000 00000002")},
		{"cut in procedure", hexBytes(t, "00000001 00000000 00000002 20000042 00000002")},
		{"reply message", hexBytes(t, "00000001 00000001 00000000 00000000 00000000 00000000")},
		{"unknown message type", hexBytes(t, "00000001 00000007 00000002 20000042 00000002 00000000")},
	}
	ts := startServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := ts.dialRaw(t)
			if _, err := nc.Write(framed(tt.rec)); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, nc)
		})
	}
	ts.log.waitForLog(t, "invalid RPC message; closing connection")
}

func TestTruncatedRecordClosesConnection(t *testing.T) {
	ts := startServer(t, Options{})
	nc := ts.dialRaw(t)
	rec := framed(nullCall(1).bytes())
	if _, err := nc.Write(rec[:len(rec)-3]); err != nil {
		t.Fatal(err)
	}
	nc.(*net.TCPConn).CloseWrite()
	expectClosed(t, nc)
	ts.log.waitForLog(t, "reading RPC record failed")
}

func TestSlowCallDoesNotBlockFastCall(t *testing.T) {
	ts := startServer(t, Options{})
	c := ts.dial(t)
	ctx := context.Background()

	slowDone := make(chan error, 1)
	go func() {
		res, err := c.Call(ctx, testProg, 2, procSlow, AuthNoneCredential(), nil)
		if err == nil && !bytes.Equal(res, []byte{0, 0, 0, 7}) {
			err = errors.New("SLOW returned wrong result")
		}
		slowDone <- err
	}()
	<-ts.hooks.slowStarted

	// Many fast calls complete while SLOW is still running.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			arg := []byte{byte(i), 1, 2}
			res, err := c.Call(ctx, testProg, 2, procEcho, AuthNoneCredential(), opaqueArg(arg))
			if err != nil {
				t.Errorf("ECHO %d: %v", i, err)
				return
			}
			if !bytes.Equal(res, opaqueArg(arg)) {
				t.Errorf("ECHO %d returned %x", i, res)
			}
		})
	}
	wg.Wait()
	select {
	case err := <-slowDone:
		t.Fatalf("SLOW finished before release: %v", err)
	default:
	}

	close(ts.hooks.slowRelease)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
}

// quickThenEcho sends a QUICK call with xid 1 and an ECHO call with xid 2
// on a raw connection, together in one write or one after the other, and
// reports whether ECHO's reply arrived while QUICK was still running.
func quickThenEcho(t *testing.T, together bool) bool {
	t.Helper()
	ts := startServer(t, Options{})
	nc := ts.dialRaw(t)
	quick := framed(rawCall{xid: 1, rpcvers: 2, prog: testProg, vers: 2, proc: procQuick}.bytes())
	echo := framed(rawCall{xid: 2, rpcvers: 2, prog: testProg, vers: 2, proc: procEcho, args: opaqueArg([]byte("hi"))}.bytes())
	if together {
		quick = append(quick, echo...)
	}
	if _, err := nc.Write(quick); err != nil {
		t.Fatal(err)
	}
	<-ts.hooks.slowStarted
	if !together {
		if _, err := nc.Write(echo); err != nil {
			t.Fatal(err)
		}
	}

	// When ECHO must wait, 300 ms without its reply is enough to tell. When
	// it must not, a loaded machine gets 5 s to deliver it.
	wait := 300 * time.Millisecond
	if together {
		wait = 5 * time.Second
	}
	nc.SetReadDeadline(time.Now().Add(wait))
	hdr := make([]byte, 8)
	_, err := io.ReadFull(nc, hdr)
	early := err == nil
	if early && binary.BigEndian.Uint32(hdr[4:]) != 2 {
		t.Fatalf("first reply has xid %d, want ECHO's 2", binary.BigEndian.Uint32(hdr[4:]))
	}
	close(ts.hooks.slowRelease)
	nc.SetReadDeadline(time.Time{})
	return early
}

// TestQuickCallRunsOnReader checks that a quick call arriving alone runs on
// the reader goroutine, so a call sent after it waits until it finishes.
func TestQuickCallRunsOnReader(t *testing.T) {
	if quickThenEcho(t, false) {
		t.Error("ECHO was answered while a lone QUICK call ran: QUICK did not run on the reader")
	}
}

// TestBufferedQuickCallGoesToWorker checks that a quick call with another
// call behind it in the read buffer goes to a worker, so both run at once.
func TestBufferedQuickCallGoesToWorker(t *testing.T) {
	if !quickThenEcho(t, true) {
		t.Error("ECHO, sent with QUICK in one write, waited for QUICK to finish")
	}
}

func TestMaxInFlightBlocksReader(t *testing.T) {
	ts := startServer(t, Options{MaxInFlightPerConn: 1})
	c := ts.dial(t)
	ctx := context.Background()

	slowDone := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, testProg, 2, procSlow, AuthNoneCredential(), nil)
		slowDone <- err
	}()
	<-ts.hooks.slowStarted

	echoDone := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, testProg, 2, procEcho, AuthNoneCredential(), opaqueArg(nil))
		echoDone <- err
	}()
	select {
	case err := <-echoDone:
		t.Fatalf("ECHO finished while the only slot was busy: %v", err)
	case <-time.After(200 * time.Millisecond):
	}

	close(ts.hooks.slowRelease)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	if err := <-echoDone; err != nil {
		t.Fatal(err)
	}
}

func TestHandlerPanicClosesConnection(t *testing.T) {
	ts := startServer(t, Options{})
	victim := ts.dial(t)
	other := ts.dial(t)
	ctx := context.Background()

	if _, err := other.Call(ctx, testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
		t.Fatal(err)
	}
	_, err := victim.Call(ctx, testProg, 2, procPanic, AuthNoneCredential(), nil)
	if err == nil {
		t.Fatal("PANIC call succeeded")
	}
	var ae *AcceptError
	var re *RejectedError
	if errors.As(err, &ae) || errors.As(err, &re) {
		t.Fatalf("PANIC call got an RPC reply %v, want a closed connection", err)
	}
	ts.log.waitForLog(t, "RPC handler panicked")
	log := ts.log.String()
	if !strings.Contains(log, "handler bug") || !strings.Contains(log, "runtime/debug.Stack") {
		t.Errorf("panic log lacks value or stack:\n%s", log)
	}

	if _, err := other.Call(ctx, testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
		t.Fatalf("other connection failed after panic: %v", err)
	}
	fresh := ts.dial(t)
	if _, err := fresh.Call(ctx, testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
		t.Fatalf("new connection failed after panic: %v", err)
	}
}

func TestShutdownWaitsForInFlightCalls(t *testing.T) {
	ts := startServer(t, Options{})
	c := ts.dial(t)
	idle := ts.dial(t)
	if _, err := idle.Call(context.Background(), testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
		t.Fatal(err)
	}

	slowDone := make(chan error, 1)
	go func() {
		res, err := c.Call(context.Background(), testProg, 2, procSlow, AuthNoneCredential(), nil)
		if err == nil && !bytes.Equal(res, []byte{0, 0, 0, 7}) {
			err = errors.New("SLOW returned wrong result")
		}
		slowDone <- err
	}()
	<-ts.hooks.slowStarted

	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- ts.srv.Shutdown(context.Background()) }()
	select {
	case err := <-shutdownDone:
		t.Fatalf("Shutdown returned %v with a call in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	// The listener is closed: new connections fail.
	if nc, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		nc.Close()
		t.Error("dial succeeded after Shutdown started")
	}

	close(ts.hooks.slowRelease)
	if err := <-slowDone; err != nil {
		t.Fatalf("in-flight call during Shutdown: %v", err)
	}
	if err := <-shutdownDone; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := idle.Call(context.Background(), testProg, 2, procNull, AuthNoneCredential(), nil); err == nil {
		t.Error("call on an idle connection succeeded after Shutdown")
	}
}

func TestShutdownDeadlineCancelsCalls(t *testing.T) {
	ts := startServer(t, Options{})
	c := ts.dial(t)
	slowDone := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), testProg, 2, procSlow, AuthNoneCredential(), nil)
		slowDone <- err
	}()
	<-ts.hooks.slowStarted

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown returned %v, want DeadlineExceeded", err)
	}
	if err := <-ts.hooks.slowCtxErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler context ended with %v, want Canceled", err)
	}
	if err := <-slowDone; err == nil {
		t.Fatal("SLOW call succeeded after forced shutdown")
	}
}

func TestAcceptConnRejects(t *testing.T) {
	var mu sync.Mutex
	var seen []net.Addr
	ts := startServer(t, Options{AcceptConn: func(remote net.Addr) bool {
		mu.Lock()
		seen = append(seen, remote)
		mu.Unlock()
		return false
	}})
	nc := ts.dialRaw(t)
	if _, err := nc.Write(framed(nullCall(1).bytes())); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, nc)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].String() != nc.LocalAddr().String() {
		t.Fatalf("AcceptConn saw %v, want [%v]", seen, nc.LocalAddr())
	}
}

func TestObserverReportsCalls(t *testing.T) {
	var mu sync.Mutex
	var infos []CallInfo
	ts := startServer(t, Options{Observer: func(ci CallInfo) {
		mu.Lock()
		infos = append(infos, ci)
		mu.Unlock()
	}})
	c := ts.dial(t)
	ctx := context.Background()
	c.Call(ctx, testProg, 2, procEcho, AuthNoneCredential(), opaqueArg([]byte("x")))
	c.Call(ctx, testProg, 2, procFail, AuthNoneCredential(), nil)
	c.Call(ctx, testProg+1, 2, procNull, AuthNoneCredential(), nil)

	// The observer runs after the reply is written, so it may lag the client.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(infos)
		mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(infos) != 3 {
		t.Fatalf("observer saw %d calls, want 3: %+v", len(infos), infos)
	}
	// Calls are matched by number because observers may run out of order.
	byProc := map[uint32]CallInfo{}
	for _, ci := range infos {
		byProc[ci.Proc] = ci
	}
	if ci := byProc[procEcho]; ci.Program != "TEST" || ci.Procedure != "ECHO" || ci.Err != nil {
		t.Errorf("ECHO call observed as %+v", ci)
	}
	if ci := byProc[procFail]; ci.Procedure != "FAIL" || ci.Err == nil || ci.Err.Error() != "backend exploded" {
		t.Errorf("FAIL call observed as %+v", ci)
	}
	var ae *AcceptError
	if ci := byProc[procNull]; ci.Prog != testProg+1 || ci.Program != "" || !errors.As(ci.Err, &ae) || ae.Stat != ProgUnavail {
		t.Errorf("unknown program observed as %+v", ci)
	}
	for i, ci := range infos {
		if ci.Duration <= 0 {
			t.Errorf("call %d has duration %v", i, ci.Duration)
		}
	}
}

func TestConnectLogging(t *testing.T) {
	ts := startServer(t, Options{})
	c := ts.dial(t)
	for range 3 {
		if _, err := c.Call(context.Background(), testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	ts.log.waitForLog(t, "RPC client disconnected")
	log := ts.log.String()
	if !strings.Contains(log, `level=INFO msg="RPC client connected"`) {
		t.Errorf("no connect line:\n%s", log)
	}
	if !strings.Contains(log, "calls=3") {
		t.Errorf("disconnect line lacks calls=3:\n%s", log)
	}
	if !strings.Contains(log, `level=DEBUG msg="RPC call"`) || !strings.Contains(log, "procedure=NULL") {
		t.Errorf("no debug call line:\n%s", log)
	}
}

func TestClientContextCancel(t *testing.T) {
	ts := startServer(t, Options{})
	c := ts.dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Call(ctx, testProg, 2, procSlow, AuthNoneCredential(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call returned %v, want DeadlineExceeded", err)
	}
	close(ts.hooks.slowRelease)
	// The late reply is dropped and the client keeps working.
	if _, err := c.Call(context.Background(), testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestClientCloseFailsCalls(t *testing.T) {
	ts := startServer(t, Options{})
	c := ts.dial(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), testProg, 2, procSlow, AuthNoneCredential(), nil)
		done <- err
	}()
	<-ts.hooks.slowStarted
	c.Close()
	if err := <-done; !errors.Is(err, ErrClientClosed) {
		t.Fatalf("in-flight call returned %v, want ErrClientClosed", err)
	}
	if _, err := c.Call(context.Background(), testProg, 2, procNull, AuthNoneCredential(), nil); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("call after Close returned %v, want ErrClientClosed", err)
	}
	close(ts.hooks.slowRelease)
}

func TestRegisterDuplicatePanics(t *testing.T) {
	s := NewServer(Options{})
	s.Register(Program{Name: "A", Prog: 1, Vers: 1})
	defer func() {
		if recover() == nil {
			t.Fatal("second Register of program 1 version 1 did not panic")
		}
	}()
	s.Register(Program{Name: "B", Prog: 1, Vers: 1})
}

func TestConcurrentRepliesOfMixedSizes(t *testing.T) {
	// Small replies that finish during a write are coalesced, and replies
	// over maxCoalescedReply wait for their turn. Every reply must still
	// arrive whole and match its call.
	ts := startServer(t, Options{})
	c := ts.dial(t)
	ctx := context.Background()
	sizes := []int{1, 300, 4 << 10, maxCoalescedReply - 100, maxCoalescedReply + 100, 300 << 10}

	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			arg := bytes.Repeat([]byte{byte(i)}, sizes[i%len(sizes)])
			res, err := c.Call(ctx, testProg, 2, procEcho, AuthNoneCredential(), opaqueArg(arg))
			if err != nil {
				t.Errorf("ECHO %d of %d bytes: %v", i, len(arg), err)
				return
			}
			if !bytes.Equal(res, opaqueArg(arg)) {
				t.Errorf("ECHO %d of %d bytes returned %d other bytes", i, len(arg), len(res))
			}
		})
	}
	wg.Wait()
}
