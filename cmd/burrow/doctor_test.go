package main

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/burrow-nfs/burrow/internal/discover"
	"github.com/burrow-nfs/burrow/internal/hostmount"
	"github.com/burrow-nfs/burrow/internal/portmap"
	"github.com/burrow-nfs/burrow/internal/probe"
)

func TestDoctorPrintsFixAndFails(t *testing.T) {
	envFor := func(_ context.Context, target, mountPoint string, port int) hostmount.DoctorEnv {
		return hostmount.DoctorEnv{
			GOOS:   hostmount.Linux,
			Home:   "/home/u",
			Target: target,
			Resolve: func(context.Context, string) (discover.Endpoint, error) {
				return discover.Endpoint{Host: "127.0.0.1", Port: 2049, Name: "dev"}, nil
			},
			Dial:     func(context.Context, string) error { return syscall.ECONNREFUSED },
			Probe:    func(context.Context, string, int) (probe.Result, error) { return probe.Result{}, nil },
			Stat:     func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist },
			ReadFile: func(string) ([]byte, error) { return nil, nil },
			Run:      func(context.Context, string, ...string) ([]byte, error) { return nil, nil },
		}
	}
	out, _, err := runCmd(t, newDoctorCmdWith(envFor), "127.0.0.1")
	if err == nil || !strings.Contains(err.Error(), "checks failed") {
		t.Errorf("err = %v, want a failed checks error", err)
	}
	for _, want := range []string{
		"[FAIL] port reachable: 127.0.0.1:2049 refused the connection",
		"       fix: run `burrow serve DIR` in the VM",
		"[FAIL] NFS client installed: not found: /sbin/mount.nfs, /usr/sbin/mount.nfs",
		"       fix: install nfs-common (Debian, Ubuntu) or nfs-utils (Fedora, Arch)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPortmapGetPortReal(t *testing.T) {
	l, err := portmap.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entries := []portmap.Mapping{
		{Prog: probe.ProgMount, Vers: 3, Protocol: portmap.TCP, Port: 2049},
		{Prog: probe.ProgNFS, Vers: 3, Protocol: portmap.TCP, Port: 2049},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- portmap.Serve(ctx, l, entries, portmap.Options{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("portmapper: %v", err)
		}
	})
	addr := l.TCP.Addr().String()

	for _, tc := range []struct {
		prog, vers uint32
		want       int
	}{
		{probe.ProgMount, 3, 2049},
		{probe.ProgNFS, 3, 2049},
		{probe.ProgNFS, 4, 0},
		{100021, 4, 0}, // NLM, which burrow does not serve
	} {
		got, err := portmapGetPort(context.Background(), probe.OncrpcDialer, addr, tc.prog, tc.vers)
		if err != nil {
			t.Errorf("GETPORT %d version %d: %v", tc.prog, tc.vers, err)
			continue
		}
		if got != tc.want {
			t.Errorf("GETPORT %d version %d = %d, want %d", tc.prog, tc.vers, got, tc.want)
		}
	}
}

func TestPortmapGetPortRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = portmapGetPort(context.Background(), probe.OncrpcDialer, addr, probe.ProgNFS, 3)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want ECONNREFUSED", err)
	}
}
