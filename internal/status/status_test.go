package status

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

var testStart = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

// fakeClock returns a clock that reads testStart plus *offset.
func fakeClock(offset *time.Duration) func() time.Time {
	return func() time.Time { return testStart.Add(*offset) }
}

func testInfo() Info {
	return Info{Version: "v1.2.3", PID: 4242, Export: "/home/dev/project", Listen: "0.0.0.0:2049"}
}

func TestObserveCountsCallsAndErrors(t *testing.T) {
	var offset time.Duration
	c := newWithClock(testInfo(), fakeClock(&offset))
	getattr := oncrpc.CallInfo{Prog: 100003, Vers: 3, Proc: 1, Program: "NFS", Procedure: "GETATTR", Duration: 2 * time.Millisecond}
	c.Observe(getattr)
	c.Observe(getattr)
	failed := getattr
	failed.Err = &oncrpc.AcceptError{Stat: oncrpc.GarbageArgs}
	c.Observe(failed)
	c.Observe(oncrpc.CallInfo{Prog: 100005, Vers: 3, Proc: 1, Program: "MOUNT", Procedure: "MNT", Duration: time.Millisecond})
	offset = 90 * time.Second

	s := c.Snapshot()
	if s.Calls != 4 {
		t.Errorf("calls %d, expected 4", s.Calls)
	}
	if s.Errors != 1 {
		t.Errorf("errors %d, expected 1", s.Errors)
	}
	if s.UptimeSeconds != 90 {
		t.Errorf("uptime %v s, expected 90", s.UptimeSeconds)
	}
	if len(s.Procedures) != 2 {
		t.Fatalf("%d procedures, expected 2: %+v", len(s.Procedures), s.Procedures)
	}
	nfs := s.Procedures[0]
	if nfs.Program != "NFS" || nfs.Procedure != "GETATTR" || nfs.Calls != 3 || nfs.Errors != 1 {
		t.Errorf("first procedure %+v, expected NFS GETATTR with 3 calls and 1 error", nfs)
	}
	if nfs.TotalSeconds != 0.006 {
		t.Errorf("GETATTR total %v s, expected 0.006", nfs.TotalSeconds)
	}
	if !strings.Contains(nfs.LastError, "GARBAGE_ARGS") {
		t.Errorf("GETATTR last error %q, expected GARBAGE_ARGS", nfs.LastError)
	}
	mnt := s.Procedures[1]
	if mnt.Program != "MOUNT" || mnt.Calls != 1 || mnt.Errors != 0 || mnt.LastError != "" {
		t.Errorf("second procedure %+v, expected MOUNT MNT with 1 call and no error", mnt)
	}
}

func TestObserveBucketsUnregistered(t *testing.T) {
	c := New(testInfo())
	for prog := uint32(1); prog <= 50; prog++ {
		c.Observe(oncrpc.CallInfo{Prog: prog, Vers: 1, Proc: 7, Err: &oncrpc.AcceptError{Stat: oncrpc.ProgUnavail}})
	}
	for proc := uint32(30); proc < 40; proc++ {
		c.Observe(oncrpc.CallInfo{Prog: 100003, Vers: 3, Proc: proc, Program: "NFS", Err: &oncrpc.AcceptError{Stat: oncrpc.ProcUnavail}})
	}
	s := c.Snapshot()
	if len(s.Procedures) != 2 {
		t.Fatalf("%d procedures, expected 2 buckets: %+v", len(s.Procedures), s.Procedures)
	}
	unknownProc, unknownProg := s.Procedures[0], s.Procedures[1]
	if unknownProc.Program != "NFS" || unknownProc.Procedure != "(unregistered)" || unknownProc.Calls != 10 {
		t.Errorf("unregistered procedure bucket %+v, expected NFS with 10 calls", unknownProc)
	}
	if unknownProg.Program != "(unregistered)" || unknownProg.Calls != 50 || unknownProg.Errors != 50 {
		t.Errorf("unregistered program bucket %+v, expected 50 calls and 50 errors", unknownProg)
	}
}

func TestConnectedAndDisconnected(t *testing.T) {
	c := New(testInfo())
	a := c.Connected(&net.TCPAddr{IP: net.IPv4(192, 168, 64, 1), Port: 700})
	b := c.Connected(&net.TCPAddr{IP: net.IPv4(192, 168, 64, 1), Port: 701})
	if n := len(c.Snapshot().Clients); n != 2 {
		t.Fatalf("%d clients after two connects, expected 2", n)
	}
	a()
	a()
	s := c.Snapshot()
	if len(s.Clients) != 1 || s.Clients[0].Remote != "192.168.64.1:701" {
		t.Errorf("clients after one disconnect %+v, expected only 192.168.64.1:701", s.Clients)
	}
	if s.ConnectionsTotal != 2 {
		t.Errorf("connections total %d, expected 2", s.ConnectionsTotal)
	}
	b()
	if n := len(c.Snapshot().Clients); n != 0 {
		t.Errorf("%d clients after both disconnects, expected 0", n)
	}
}

// TestWrapListenerWithRPCServer serves a NULL procedure through a wrapped
// listener and checks that the connection, its bytes and the call are
// counted, and that the client is gone once it disconnects.
func TestWrapListenerWithRPCServer(t *testing.T) {
	c := New(testInfo())
	srv := oncrpc.NewServer(oncrpc.Options{Observer: c.Observe})
	srv.Register(oncrpc.Program{Name: "TEST", Prog: 0x20000099, Vers: 1, Procs: []oncrpc.Procedure{
		{Name: "NULL", Handler: func(context.Context, *oncrpc.Call, *xdr.Decoder, *xdr.Encoder) error { return nil }},
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(c.WrapListener(ln)) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	local := nc.LocalAddr().String()
	client := oncrpc.NewClient(nc)
	if _, err := client.Call(ctx, 0x20000099, 1, 0, oncrpc.AuthNoneCredential(), nil); err != nil {
		t.Fatalf("NULL call: %v", err)
	}
	if _, err := client.Call(ctx, 0x20000099, 1, 5, oncrpc.AuthNoneCredential(), nil); err == nil {
		t.Fatal("call of procedure 5 succeeded, expected PROC_UNAVAIL")
	}

	// The server calls the observer after it sends the reply, so the
	// second count can lag behind the client.
	s := waitFor(t, c, func(s Snapshot) bool { return s.Calls == 2 })
	if len(s.Clients) != 1 {
		t.Fatalf("%d clients while connected, expected 1", len(s.Clients))
	}
	if s.Clients[0].Remote != local {
		t.Errorf("client remote %q, expected %q", s.Clients[0].Remote, local)
	}
	if s.Clients[0].BytesIn == 0 || s.Clients[0].BytesOut == 0 {
		t.Errorf("client bytes in %d out %d, expected both above 0", s.Clients[0].BytesIn, s.Clients[0].BytesOut)
	}
	if s.Calls != 2 || s.Errors != 1 {
		t.Errorf("calls %d errors %d, expected 2 and 1", s.Calls, s.Errors)
	}

	client.Close()
	s = waitFor(t, c, func(s Snapshot) bool { return len(s.Clients) == 0 })
	if total := s.ConnectionsTotal; total != 1 {
		t.Errorf("connections total %d, expected 1", total)
	}
}

// waitFor polls c until cond holds for a snapshot and returns it, and
// fails the test after 5 seconds.
func waitFor(t *testing.T, c *Counters, cond func(Snapshot) bool) Snapshot {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := c.Snapshot()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within 5 s; last snapshot %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSocketRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "burrow", "2049.sock")
	c := New(testInfo())
	c.Observe(oncrpc.CallInfo{Prog: 100003, Vers: 3, Proc: 1, Program: "NFS", Procedure: "GETATTR"})

	l, err := ListenSocket(path)
	if err != nil {
		t.Fatalf("ListenSocket: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %04o, expected 0600", st.Mode().Perm())
	}
	dst, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %04o, expected 0700", dst.Mode().Perm())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, c, nil) }()

	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer fcancel()
	s, err := Fetch(fctx, path)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if s.Export != "/home/dev/project" || s.PID != 4242 || s.Version != "v1.2.3" || s.Listen != "0.0.0.0:2049" {
		t.Errorf("snapshot info %+v, expected the test Info", s)
	}
	if s.Calls != 1 || len(s.Procedures) != 1 || s.Procedures[0].Procedure != "GETATTR" {
		t.Errorf("snapshot calls %d procedures %+v, expected one GETATTR", s.Calls, s.Procedures)
	}

	found, err := FindSockets([]string{filepath.Join(dir, "missing"), filepath.Dir(path)})
	if err != nil || len(found) != 1 || found[0] != path {
		t.Errorf("FindSockets = %v, %v; expected [%s]", found, err, path)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve returned %v after cancel, expected nil", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file still exists after Serve stopped: %v", err)
	}
}

func TestListenSocketRemovesStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "2049.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // leaves the socket file without a server, as after a crash

	l, err := ListenSocket(path)
	if err != nil {
		t.Fatalf("ListenSocket over a stale socket: %v", err)
	}
	l.Close()
}

func TestListenSocketRejectsLiveServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "2049.sock")
	first, err := ListenSocket(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := ListenSocket(path); err == nil || !strings.Contains(err.Error(), "another burrow serve") {
		t.Errorf("second ListenSocket: error %v, expected one naming another burrow serve", err)
	}
}

func TestListenSocketRejectsOpenDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := ListenSocket(filepath.Join(dir, "2049.sock"))
	if err == nil || !strings.Contains(err.Error(), "other users can write") {
		t.Errorf("ListenSocket in a mode 0777 directory: error %v, expected a mode complaint", err)
	}
}

func TestListenSocketRejectsNonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "2049.sock")
	if err := os.WriteFile(path, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenSocket(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("ListenSocket over a regular file: error %v, expected a not-a-socket error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "data" {
		t.Error("ListenSocket changed the regular file at the socket path")
	}
}

func TestDirs(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}
	got := Dirs(func(k string) string { return env[k] }, 1000)
	want := []string{"/run/user/1000/burrow", "/tmp/burrow-1000"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Dirs with XDG_RUNTIME_DIR = %v, expected %v", got, want)
	}
	got = Dirs(func(string) string { return "" }, 1000)
	if strings.Join(got, " ") != "/tmp/burrow-1000" {
		t.Errorf("Dirs without XDG_RUNTIME_DIR = %v, expected [/tmp/burrow-1000]", got)
	}
}

func TestWriteSummary(t *testing.T) {
	s := Snapshot{
		Version:          "v1.2.3",
		PID:              4242,
		Export:           "/home/dev/project",
		Listen:           "0.0.0.0:2049",
		Portmapper:       "0.0.0.0:111",
		Started:          testStart,
		UptimeSeconds:    3723.4,
		ConnectionsTotal: 3,
		Clients: []ClientStats{
			{Remote: "192.168.64.1:1001", Connected: testStart.Add(time.Minute), BytesIn: 2048, BytesOut: 5 << 20},
		},
		Calls:  1502,
		Errors: 2,
		Procedures: []ProcedureStats{
			{Program: "NFS", Prog: 100003, Vers: 3, Procedure: "GETATTR", Proc: 1, Calls: 1500, TotalSeconds: 0.18},
			{Program: "MOUNT", Prog: 100005, Vers: 3, Procedure: "MNT", Proc: 1, Calls: 2, Errors: 2, TotalSeconds: 0.005, LastError: "oncrpc: call rejected: AUTH_ERROR: AUTH_TOOWEAK"},
		},
	}
	now := testStart.Add(3723 * time.Second)
	var buf bytes.Buffer
	if err := WriteSummary(&buf, s, now); err != nil {
		t.Fatal(err)
	}
	want := `burrow v1.2.3, pid 4242, up 1h2m3s (since 2025-03-04 10:00:00)
export:     /home/dev/project
listen:     0.0.0.0:2049
portmapper: 0.0.0.0:111
clients:    1 connected, 3 connections since start
  REMOTE             CONNECTED            FOR     IN       OUT
  192.168.64.1:1001  2025-03-04 10:01:00  1h1m3s  2.0 KiB  5.0 MiB
calls:      1502, 2 with RPC errors
  PROGRAM  VERS  PROCEDURE  CALLS  ERRORS  MEAN
  NFS      3     GETATTR    1500   0       120µs
  MOUNT    3     MNT        2      2       2.5ms
last error of MOUNT MNT: oncrpc: call rejected: AUTH_ERROR: AUTH_TOOWEAK
`
	if buf.String() != want {
		t.Errorf("summary:\n%s\nexpected:\n%s", buf.String(), want)
	}
}

func TestWriteSummaryIdle(t *testing.T) {
	s := Snapshot{Version: "dev", PID: 1, Export: "/srv", Listen: "127.0.0.1:2049", Started: testStart}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, s, testStart); err != nil {
		t.Fatal(err)
	}
	want := `burrow dev, pid 1, up 0s (since 2025-03-04 10:00:00)
export:     /srv
listen:     127.0.0.1:2049
portmapper: off
clients:    0 connected, 0 connections since start
calls:      0, 0 with RPC errors
`
	if buf.String() != want {
		t.Errorf("summary:\n%s\nexpected:\n%s", buf.String(), want)
	}
}

func TestFormatBytes(t *testing.T) {
	cases := map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"}
	for n, want := range cases {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, expected %q", n, got, want)
		}
	}
}
