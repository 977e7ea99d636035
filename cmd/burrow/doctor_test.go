package main

import (
	"context"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/burrow-nfs/burrow/internal/discover"
	"github.com/burrow-nfs/burrow/internal/hostmount"
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
