package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/status"
)

// startStatusSocket serves counters with one GETATTR call on
// dir/<port>.sock until the test ends.
func startStatusSocket(t *testing.T, dir string, port int) string {
	t.Helper()
	c := status.New(status.Info{Version: "v9", PID: 77, Export: "/srv/project", Listen: "127.0.0.1:2049"})
	c.Observe(oncrpc.CallInfo{Prog: 100003, Vers: 3, Proc: 1, Program: "NFS", Procedure: "GETATTR"})
	path := filepath.Join(dir, strconv.Itoa(port)+".sock")
	l, err := status.ListenSocket(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- status.Serve(ctx, l, c, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return path
}

func runStatus(t *testing.T, dirs []string, args ...string) (string, error) {
	t.Helper()
	cmd := newStatusCmdWith(func() []string { return dirs })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestStatusPrintsSummary(t *testing.T) {
	dir := t.TempDir()
	startStatusSocket(t, dir, 2049)
	out, err := runStatus(t, []string{dir})
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, want := range []string{"burrow v9, pid 77", "export:     /srv/project", "listen:     127.0.0.1:2049", "NFS      3     GETATTR    1"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary has no %q:\n%s", want, out)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	dir := t.TempDir()
	path := startStatusSocket(t, dir, 2049)
	out, err := runStatus(t, nil, "--socket", path, "--json")
	if err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	var s status.Snapshot
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("output is not a JSON snapshot: %v\n%s", err, out)
	}
	if s.PID != 77 || s.Calls != 1 || s.Export != "/srv/project" {
		t.Errorf("snapshot %+v, expected pid 77, 1 call, export /srv/project", s)
	}
}

func TestStatusPicksPort(t *testing.T) {
	dir := t.TempDir()
	startStatusSocket(t, dir, 2049)
	startStatusSocket(t, dir, 2050)

	_, err := runStatus(t, []string{dir})
	if err == nil || !strings.Contains(err.Error(), "2 status sockets found") {
		t.Errorf("two sockets without --port: error %v, expected a choice error", err)
	}
	out, err := runStatus(t, []string{filepath.Join(dir, "none"), dir}, "--port", "2050")
	if err != nil {
		t.Fatalf("status --port 2050: %v", err)
	}
	if !strings.Contains(out, "pid 77") {
		t.Errorf("summary for --port 2050 missing the server line:\n%s", out)
	}
	_, err = runStatus(t, []string{dir}, "--port", "3000")
	if err == nil || !strings.Contains(err.Error(), "port 3000") {
		t.Errorf("--port 3000: error %v, expected one naming the port", err)
	}
}

func TestStatusNoServer(t *testing.T) {
	dir := t.TempDir()
	_, err := runStatus(t, []string{dir})
	if err == nil || !strings.Contains(err.Error(), "no status socket found in "+dir) {
		t.Errorf("no socket: error %v, expected one naming %s", err, dir)
	}
	_, err = runStatus(t, nil, "--socket", filepath.Join(dir, "gone.sock"))
	if err == nil || !strings.Contains(err.Error(), "is burrow serve running") {
		t.Errorf("missing --socket: error %v, expected a connect error with advice", err)
	}
}
