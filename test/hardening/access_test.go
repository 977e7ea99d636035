package hardening

import (
	"strings"
	"testing"

	"github.com/burrow-nfs/burrow/internal/access"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
)

func TestAccessRejectsLoopbackClient(t *testing.T) {
	// 192.0.2.0/24 is a documentation range: the list allows no address
	// that this test connects from.
	allow, err := access.Parse([]string{"192.0.2.0/24", "fd00::/64"})
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, oncrpc.Options{AcceptConn: allow.AllowConn}, nfs3.Options{}, nil)

	for range 3 {
		nc := s.dialRaw(t)
		if _, err := nc.Write(framed(nfsCall(1, nfs3.ProcNull, nil).bytes())); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, nc)
	}

	const line = "RPC connection rejected by access control"
	log := s.log.String()
	if n := strings.Count(log, line); n != 1 {
		t.Fatalf("log has %d rejection lines for 3 connections from one address, want 1:\n%s", n, log)
	}
	if !strings.Contains(log, "remote=127.0.0.1:") {
		t.Errorf("rejection line lacks the remote address:\n%s", log)
	}
	if strings.Contains(log, "RPC client connected") {
		t.Errorf("a rejected connection was served:\n%s", log)
	}
}

func TestAccessAllowsListedClient(t *testing.T) {
	allow, err := access.Parse([]string{"192.0.2.0/24", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, oncrpc.Options{AcceptConn: allow.AllowConn}, nfs3.Options{}, nil)
	s.expectNull(t)
	if strings.Contains(s.log.String(), "rejected by access control") {
		t.Errorf("allowed client was logged as rejected:\n%s", s.log.String())
	}
}

func TestAccessDefaultAllowsLoopback(t *testing.T) {
	allow, err := access.Default()
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, oncrpc.Options{AcceptConn: allow.AllowConn}, nfs3.Options{}, nil)
	s.expectNull(t)
}
