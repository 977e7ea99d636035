package oncrpc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestLogLimiterInterval(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLogLimiter(time.Minute)
	l.now = func() time.Time { return now }

	if ok, n := l.allow("a"); !ok || n != 0 {
		t.Fatalf("first line: allow = %v, suppressed %d; want true, 0", ok, n)
	}
	for i := range 3 {
		now = now.Add(10 * time.Second)
		if ok, _ := l.allow("a"); ok {
			t.Fatalf("line %d within the interval was allowed", i+2)
		}
	}
	if ok, n := l.allow("b"); !ok || n != 0 {
		t.Fatalf("other key: allow = %v, suppressed %d; want true, 0", ok, n)
	}
	now = now.Add(31 * time.Second)
	if ok, n := l.allow("a"); !ok || n != 3 {
		t.Fatalf("line after the interval: allow = %v, suppressed %d; want true, 3", ok, n)
	}
	now = now.Add(time.Minute)
	if ok, n := l.allow("a"); !ok || n != 0 {
		t.Fatalf("line after a quiet interval: allow = %v, suppressed %d; want true, 0", ok, n)
	}
}

func TestLogLimiterOverflowKey(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLogLimiter(time.Minute)
	l.now = func() time.Time { return now }
	for i := range maxLimitedKeys {
		if ok, _ := l.allow(fmt.Sprint(i)); !ok {
			t.Fatalf("key %d: first line held back", i)
		}
	}

	// The map is full of live keys: new keys share the overflow key.
	if ok, _ := l.allow("new-1"); !ok {
		t.Fatal("first overflow line held back")
	}
	if ok, _ := l.allow("new-2"); ok {
		t.Fatal("second overflow line within the interval was allowed")
	}
	if len(l.keys) != maxLimitedKeys+1 {
		t.Fatalf("limiter tracks %d keys, want %d", len(l.keys), maxLimitedKeys+1)
	}

	// Once the interval has passed, a sweep makes room for new keys again.
	now = now.Add(2 * time.Minute)
	if ok, _ := l.allow("new-3"); !ok {
		t.Fatal("line after the sweep held back")
	}
	if len(l.keys) != 1 {
		t.Fatalf("limiter tracks %d keys after the sweep, want 1", len(l.keys))
	}
}

func TestAcceptConnRejectLogRateLimited(t *testing.T) {
	ts := startServer(t, Options{AcceptConn: func(net.Addr) bool { return false }})
	for range 3 {
		nc := ts.dialRaw(t)
		if _, err := nc.Write(framed(nullCall(1).bytes())); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, nc)
	}
	const line = "RPC connection rejected by access control"
	if n := strings.Count(ts.log.String(), line); n != 1 {
		t.Fatalf("log has %d rejection lines for 3 rejected connections, want 1:\n%s", n, ts.log.String())
	}
	if !strings.Contains(ts.log.String(), "suppressed=0") {
		t.Errorf("rejection line lacks the suppressed count:\n%s", ts.log.String())
	}
}

func TestMaxConnsRejectsExtra(t *testing.T) {
	ts := startServer(t, Options{MaxConns: 2})
	ctx := context.Background()
	first := ts.dial(t)
	second := ts.dial(t)
	for i, c := range []*Client{first, second} {
		if _, err := c.Call(ctx, testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
	}

	extra := ts.dialRaw(t)
	if _, err := extra.Write(framed(nullCall(1).bytes())); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, extra)
	ts.log.waitForLog(t, "connection limit reached")
	if !strings.Contains(ts.log.String(), "max_conns=2") {
		t.Errorf("limit line lacks max_conns=2:\n%s", ts.log.String())
	}

	// The open connections still work, and a slot frees when one closes.
	if _, err := second.Call(ctx, testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
		t.Fatalf("open connection failed after the limit was hit: %v", err)
	}
	first.Close()
	waitFor(t, "one open connection", func() bool { return ts.srv.connCount() == 1 })
	next := ts.dial(t)
	if _, err := next.Call(ctx, testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
		t.Fatalf("connection after a slot freed: %v", err)
	}
}

func TestMaxInFlightAcrossConnections(t *testing.T) {
	ts := startServer(t, Options{MaxInFlight: 2})
	ctx := context.Background()

	slowDone := make(chan error, 2)
	for range 2 {
		c := ts.dial(t)
		go func() {
			_, err := c.Call(ctx, testProg, 2, procSlow, AuthNoneCredential(), nil)
			slowDone <- err
		}()
		<-ts.hooks.slowStarted
	}

	third := ts.dial(t)
	echoDone := make(chan error, 1)
	go func() {
		_, err := third.Call(ctx, testProg, 2, procEcho, AuthNoneCredential(), opaqueArg([]byte("x")))
		echoDone <- err
	}()
	select {
	case err := <-echoDone:
		t.Fatalf("ECHO on a third connection finished while both server slots were busy: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	ts.log.waitForLog(t, "reached the server limit")
	if !strings.Contains(ts.log.String(), "max_in_flight=2") {
		t.Errorf("limit line lacks max_in_flight=2:\n%s", ts.log.String())
	}

	close(ts.hooks.slowRelease)
	for range 2 {
		if err := <-slowDone; err != nil {
			t.Fatalf("SLOW: %v", err)
		}
	}
	if err := <-echoDone; err != nil {
		t.Fatalf("ECHO after slots freed: %v", err)
	}
}

func TestMaxInFlightPerConnLogged(t *testing.T) {
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
		_, err := c.Call(ctx, testProg, 2, procNull, AuthNoneCredential(), nil)
		echoDone <- err
	}()
	ts.log.waitForLog(t, "reached the per-connection limit")
	if !strings.Contains(ts.log.String(), "max_in_flight_per_conn=1") {
		t.Errorf("limit line lacks max_in_flight_per_conn=1:\n%s", ts.log.String())
	}
	close(ts.hooks.slowRelease)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	if err := <-echoDone; err != nil {
		t.Fatal(err)
	}
}

func TestIdleTimeoutClosesSilentConnection(t *testing.T) {
	const idle = 200 * time.Millisecond
	ts := startServer(t, Options{IdleTimeout: idle})
	// The server may accept the connection and start its idle timer
	// before dialRaw returns, so the clock starts before the dial.
	start := time.Now()
	nc := ts.dialRaw(t)
	expectClosed(t, nc)
	if elapsed := time.Since(start); elapsed < idle {
		t.Fatalf("connection closed after %v, before the idle timeout %v", elapsed, idle)
	}
	ts.log.waitForLog(t, "closing idle RPC connection")
}

func TestIdleTimeoutClosesStalledRecord(t *testing.T) {
	ts := startServer(t, Options{IdleTimeout: 200 * time.Millisecond})
	nc := ts.dialRaw(t)
	rec := framed(nullCall(1).bytes())
	if _, err := nc.Write(rec[:10]); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, nc)
	ts.log.waitForLog(t, "closing idle RPC connection")
}

func TestIdleTimeoutSparesBusyConnection(t *testing.T) {
	const idle = 150 * time.Millisecond
	ts := startServer(t, Options{IdleTimeout: idle})
	c := ts.dial(t)
	ctx := context.Background()

	// Calls more often than the timeout keep the connection open.
	for i := range 8 {
		if _, err := c.Call(ctx, testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
			t.Fatalf("call %d on an active connection: %v", i, err)
		}
		time.Sleep(idle / 3)
	}

	// A call in flight for longer than the timeout keeps it open too.
	slowDone := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, testProg, 2, procSlow, AuthNoneCredential(), nil)
		slowDone <- err
	}()
	<-ts.hooks.slowStarted
	time.Sleep(3 * idle)
	if strings.Contains(ts.log.String(), "closing idle RPC connection") {
		t.Fatalf("connection with a call in flight was closed as idle:\n%s", ts.log.String())
	}
	close(ts.hooks.slowRelease)
	if err := <-slowDone; err != nil {
		t.Fatalf("SLOW call across the idle timeout: %v", err)
	}

	// Once the call is done, the connection goes idle and is closed.
	ts.log.waitForLog(t, "closing idle RPC connection")
	if _, err := c.Call(ctx, testProg, 2, procNull, AuthNoneCredential(), nil); err == nil {
		t.Fatal("call on a connection closed as idle succeeded")
	}
}

func TestWriteTimeoutClosesNonReadingClient(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := startServer(t, Options{WriteTimeout: timeout})
	nc := ts.dialRaw(t)
	if err := nc.(interface{ SetReadBuffer(int) error }).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}

	// 64 ECHO calls of 256 KiB each ask for 16 MiB of replies, more than
	// the socket buffers of both ends hold, and the client reads none.
	payload := bytes.Repeat([]byte{0xa5}, 256<<10)
	var calls []byte
	for i := range 64 {
		c := rawCall{xid: uint32(i + 1), rpcvers: 2, prog: testProg, vers: 2, proc: procEcho, args: opaqueArg(payload)}
		calls = append(calls, framed(c.bytes())...)
	}
	go nc.Write(calls) // fails once the server closes the connection

	ts.log.waitForLog(t, "did not read its replies within the write timeout")
	if !strings.Contains(ts.log.String(), "write_timeout=300ms") {
		t.Errorf("timeout line lacks write_timeout=300ms:\n%s", ts.log.String())
	}
	waitFor(t, "no open connection", func() bool { return ts.srv.connCount() == 0 })

	fresh := ts.dial(t)
	if _, err := fresh.Call(context.Background(), testProg, 2, procNull, AuthNoneCredential(), nil); err != nil {
		t.Fatalf("new connection after the write timeout: %v", err)
	}
}

func TestLimitDefaults(t *testing.T) {
	s := NewServer(Options{})
	if s.maxConns != DefaultMaxConns || cap(s.inFlight) != DefaultMaxInFlight ||
		s.maxInFlight != DefaultMaxInFlightPerConn || s.maxRecord != DefaultMaxRecordSize {
		t.Errorf("count limits: conns %d, in flight %d, per conn %d, record %d; want the defaults",
			s.maxConns, cap(s.inFlight), s.maxInFlight, s.maxRecord)
	}
	if s.idleTimeout != DefaultIdleTimeout || s.writeTimeout != DefaultWriteTimeout {
		t.Errorf("timeouts: idle %v, write %v; want %v and %v",
			s.idleTimeout, s.writeTimeout, DefaultIdleTimeout, DefaultWriteTimeout)
	}
	off := NewServer(Options{IdleTimeout: -1, WriteTimeout: -1})
	if off.idleTimeout > 0 || off.writeTimeout > 0 {
		t.Errorf("negative timeouts give idle %v, write %v; want both disabled", off.idleTimeout, off.writeTimeout)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
