package oncrpc

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
)

// benchServer serves the test program with logging off.
func benchServer(b *testing.B) string {
	b.Helper()
	srv := NewServer(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv.Register(testProgram(2, newTestHooks()))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Shutdown(context.Background()) })
	return l.Addr().String()
}

// BenchmarkServerDispatch measures the server's own cost per call: header
// decode, AUTH_SYS decode, dispatch and reply, without a client's reply
// parsing. Calls are written in batches of 64, so the server reads several
// calls per read system call, as it does under load.
func BenchmarkServerDispatch(b *testing.B) {
	addr := benchServer(b)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	cred, _ := AuthSysCredential(SysCred{MachineName: "guest", UID: 1000, GID: 1000, GIDs: []uint32{1, 2, 3}})
	rec := framed(rawCall{xid: 1, rpcvers: 2, prog: testProg, vers: 2, proc: procNull,
		credFlavor: cred.Flavor, credBody: cred.Body}.bytes())
	const batch = 64
	var msg []byte
	for range batch {
		msg = append(msg, rec...)
	}
	replyLen := 4 + 24
	reply := make([]byte, batch*replyLen)

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		if _, err := nc.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(nc, reply); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientCallParallel measures round trips through Client from
// many goroutines on one connection.
func BenchmarkClientCallParallel(b *testing.B) {
	addr := benchServer(b)
	c, err := Dial(context.Background(), "tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	args := opaqueArg(make([]byte, 128))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Call(context.Background(), testProg, 2, procEcho, AuthNoneCredential(), args); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
