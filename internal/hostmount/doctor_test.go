package hostmount

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/burrow-nfs/burrow/internal/discover"
	"github.com/burrow-nfs/burrow/internal/probe"
)

const linuxMountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:44 / /home/u/burrow/dev rw,relatime shared:90 - nfs 192.168.64.5:/home/ubuntu/project rw,vers=3,rsize=1048576,hard,proto=tcp,port=2049,timeo=600,retrans=2,sec=sys,mountaddr=192.168.64.5,mountvers=3,mountport=2049,mountproto=tcp,local_lock=none,addr=192.168.64.5
41 22 0:45 / /mnt/nas rw,relatime shared:91 - nfs nas:/volume1 rw,vers=3,port=2049,mountport=20048,local_lock=none
42 22 0:46 / /home/u/burrow/web\040app rw,relatime shared:92 - nfs 10.0.0.9:/srv rw,vers=3,port=12049,mountport=12049,local_lock=all,addr=10.0.0.9
`

const darwinMountOutput = `/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)
devfs on /dev (devfs, local, nobrowse)
192.168.64.5:/home/ubuntu/project on /Users/u/burrow/dev (nfs, nodev, nosuid, nobrowse, mounted by u)
nas:/volume1 on /Volumes/nas (nfs, asynchronous)
`

func TestParseMountinfoFields(t *testing.T) {
	entries, err := ParseMountinfo([]byte(linuxMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Fatalf("got %d entries, want 4", len(entries))
	}
	m := entries[3]
	if m.MountPoint != "/home/u/burrow/web app" {
		t.Errorf("MountPoint = %q, want the octal escape decoded", m.MountPoint)
	}
	if m.Host() != "10.0.0.9" || m.Port() != 12049 {
		t.Errorf("Host, Port = %s, %d", m.Host(), m.Port())
	}
	if v, ok := entries[1].Option("local_lock"); !ok || v != "none" {
		t.Errorf("local_lock = %q, %v", v, ok)
	}
	if _, err := ParseMountinfo([]byte("1 2 3\n")); err == nil {
		t.Error("short line: want an error")
	}
}

func TestParseDarwinMountFields(t *testing.T) {
	entries := ParseDarwinMount([]byte(darwinMountOutput))
	if len(entries) != 4 {
		t.Fatalf("got %d entries, want 4", len(entries))
	}
	m := entries[2]
	if m.Source != "192.168.64.5:/home/ubuntu/project" || m.MountPoint != "/Users/u/burrow/dev" || m.FSType != "nfs" {
		t.Errorf("entry = %+v", m)
	}
	if _, ok := m.Option("nobrowse"); !ok {
		t.Errorf("options = %q, want nobrowse", m.Options)
	}
}

func TestIsBurrowMount(t *testing.T) {
	entries, _ := ParseMountinfo([]byte(linuxMountinfo))
	want := []bool{false, true, false, true}
	for i, m := range entries {
		if got := IsBurrowMount(m, "/home/u/burrow"); got != want[i] {
			t.Errorf("%s: got %v, want %v", m.MountPoint, got, want[i])
		}
	}
}

// fakeEnv returns a DoctorEnv where everything works: the VM resolves,
// the port accepts connections, the server replies, the client is
// installed and nothing is mounted.
func fakeEnv(goos string) DoctorEnv {
	return DoctorEnv{
		GOOS:         goos,
		Home:         "/home/u",
		MacOSVersion: "15.2",
		Target:       "multipass:dev",
		Resolve: func(context.Context, string) (discover.Endpoint, error) {
			return discover.Endpoint{Host: "192.168.64.5", Port: 2049, Name: "dev"}, nil
		},
		Dial: func(context.Context, string) error { return nil },
		Probe: func(_ context.Context, host string, port int) (probe.Result, error) {
			return probe.Result{Exports: []probe.Export{{Dir: "/home/ubuntu/project"}}}, nil
		},
		GetPort:  func(context.Context, string, uint32, uint32) (int, error) { return 2049, nil },
		Stat:     func(string) (fs.FileInfo, error) { return nil, nil },
		ReadFile: func(string) ([]byte, error) { return []byte("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"), nil },
		Run:      func(context.Context, string, ...string) ([]byte, error) { return nil, nil },
	}
}

func findResult(t *testing.T, results []CheckResult, name string) CheckResult {
	t.Helper()
	for _, r := range results {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no check named %q", name)
	return CheckResult{}
}

func assertFails(t *testing.T, r CheckResult, detail, fix string) {
	t.Helper()
	if r.Status != StatusFail {
		t.Errorf("%s: status = %v, want FAIL (detail %q)", r.Name, r.Status, r.Detail)
	}
	if !strings.Contains(r.Detail, detail) {
		t.Errorf("%s: detail = %q, want it to contain %q", r.Name, r.Detail, detail)
	}
	if !strings.Contains(r.Fix, fix) {
		t.Errorf("%s: fix = %q, want it to contain %q", r.Name, r.Fix, fix)
	}
}

func TestDoctorAllPass(t *testing.T) {
	for _, goos := range []string{Linux, Darwin} {
		env := fakeEnv(goos)
		if goos == Darwin {
			env.Home = "/Users/u"
		}
		for _, r := range RunDoctor(context.Background(), env) {
			if r.Status == StatusFail || r.Status == StatusWarn {
				t.Errorf("%s: %s: %v: %s", goos, r.Name, r.Status, r.Detail)
			}
		}
	}
}

func TestDoctorResolveFails(t *testing.T) {
	env := fakeEnv(Linux)
	env.Resolve = func(context.Context, string) (discover.Endpoint, error) {
		return discover.Endpoint{}, &discover.ToolMissingError{Tool: "multipass", Provider: "multipass"}
	}
	r := findResult(t, RunDoctor(context.Background(), env), "VM address resolves")
	assertFails(t, r, "multipass not found on PATH", "install multipass")
}

func TestDoctorResolveStoppedVM(t *testing.T) {
	env := fakeEnv(Linux)
	env.Resolve = func(context.Context, string) (discover.Endpoint, error) {
		return discover.Endpoint{}, errors.New("the instance has no IPv4 address")
	}
	r := findResult(t, RunDoctor(context.Background(), env), "VM address resolves")
	assertFails(t, r, "no IPv4 address", "start the VM")
}

func TestDoctorResolveLoopbackWarns(t *testing.T) {
	env := fakeEnv(Linux)
	env.Resolve = func(context.Context, string) (discover.Endpoint, error) {
		return discover.Endpoint{Host: "127.0.0.1", Port: 2049, Name: "dev", Note: "forward it"}, nil
	}
	r := findResult(t, RunDoctor(context.Background(), env), "VM address resolves")
	if r.Status != StatusWarn || !strings.Contains(r.Fix, "forward host port 2049 to guest port 2049") {
		t.Errorf("got %+v, want a warning with port forward advice", r)
	}
}

func TestDoctorPortRefused(t *testing.T) {
	env := fakeEnv(Linux)
	env.Dial = func(context.Context, string) error { return fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED) }
	results := RunDoctor(context.Background(), env)
	assertFails(t, findResult(t, results, "port reachable"), "nothing listens there", "run `burrow serve DIR` in the VM")
	if r := findResult(t, results, "burrow server replies"); r.Status != StatusSkip {
		t.Errorf("server check status = %v, want skip", r.Status)
	}
}

func TestDoctorFirewallTimeout(t *testing.T) {
	env := fakeEnv(Linux)
	env.Dial = func(context.Context, string) error { return fmt.Errorf("dial tcp: %w", context.DeadlineExceeded) }
	r := findResult(t, RunDoctor(context.Background(), env), "host firewall")
	assertFails(t, r, "timed out: a firewall drops the packets", "sudo ufw allow 2049/tcp")
}

func TestDoctorServerIsNotBurrow(t *testing.T) {
	env := fakeEnv(Linux)
	env.Probe = func(context.Context, string, int) (probe.Result, error) {
		return probe.Result{}, &probe.Error{Addr: "192.168.64.5:2049", Stage: probe.StageNFSNull, Err: probe.ErrProgramUnavailable}
	}
	r := findResult(t, RunDoctor(context.Background(), env), "burrow server replies")
	assertFails(t, r, "NFS v3 NULL failed", "runs something other than burrow")
}

func TestDoctorServerResetPointsToAllow(t *testing.T) {
	env := fakeEnv(Linux)
	env.Probe = func(context.Context, string, int) (probe.Result, error) {
		return probe.Result{}, &probe.Error{Addr: "192.168.64.5:2049", Stage: probe.StageNFSNull, Err: fmt.Errorf("read: %w", syscall.ECONNRESET)}
	}
	r := findResult(t, RunDoctor(context.Background(), env), "burrow server replies")
	assertFails(t, r, "connection reset", "--allow")
}

func TestDoctorReservedPortRejected(t *testing.T) {
	env := fakeEnv(Linux)
	env.Probe = func(context.Context, string, int) (probe.Result, error) {
		return probe.Result{}, &probe.Error{Stage: probe.StageExport, Err: probe.ErrAuthRejected}
	}
	r := findResult(t, RunDoctor(context.Background(), env), "reserved source port")
	assertFails(t, r, "source port above 1023", "add `insecure` to that server's export options")
}

func TestDoctorServerVersionSkipped(t *testing.T) {
	r := findResult(t, RunDoctor(context.Background(), fakeEnv(Linux)), "server version")
	if r.Status != StatusSkip || !strings.Contains(r.Detail, "does not report its version") {
		t.Errorf("got %+v", r)
	}
}

func TestDoctorLinuxClientMissing(t *testing.T) {
	env := fakeEnv(Linux)
	env.Stat = func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist }
	r := findResult(t, RunDoctor(context.Background(), env), "NFS client installed")
	assertFails(t, r, "/sbin/mount.nfs, /usr/sbin/mount.nfs", "nfs-common (Debian, Ubuntu) or nfs-utils (Fedora, Arch)")
}

func TestDoctorWindowsClientMissing(t *testing.T) {
	env := fakeEnv(Windows)
	env.Stat = func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist }
	r := findResult(t, RunDoctor(context.Background(), env), "NFS client installed")
	assertFails(t, r, "mount.exe", "Client for NFS")
}

func TestDoctorWindowsPortmapperMissing(t *testing.T) {
	env := fakeEnv(Windows)
	env.GetPort = func(_ context.Context, host string, _, _ uint32) (int, error) {
		return 0, fmt.Errorf("dial tcp %s:111: %w", host, syscall.ECONNREFUSED)
	}
	r := findResult(t, RunDoctor(context.Background(), env), "Windows portmapper")
	assertFails(t, r, "no portmapper (RPC program 100000) replies on 192.168.64.5:111", "start `burrow serve --portmap :111 DIR` as root")
}

func TestDoctorWindowsPortmapperNotRPC(t *testing.T) {
	env := fakeEnv(Windows)
	env.GetPort = func(context.Context, string, uint32, uint32) (int, error) {
		return 0, fmt.Errorf("%w: PROG_UNAVAIL", probe.ErrProgramUnavailable)
	}
	r := findResult(t, RunDoctor(context.Background(), env), "Windows portmapper")
	assertFails(t, r, "not as a portmapper", "burrow serve --portmap :111")
}

func TestDoctorWindowsPortmapperForeign(t *testing.T) {
	env := fakeEnv(Windows)
	env.GetPort = func(context.Context, string, uint32, uint32) (int, error) { return 0, nil }
	r := findResult(t, RunDoctor(context.Background(), env), "Windows portmapper")
	assertFails(t, r, "lists no MOUNT v3 over TCP", "sudo systemctl disable --now rpcbind.socket rpcbind.service")
	if !strings.Contains(r.Fix, "burrow serve --portmap :111") {
		t.Errorf("fix = %q, want it to name burrow serve --portmap :111", r.Fix)
	}
}

func TestDoctorWindowsPortmapperOtherPort(t *testing.T) {
	env := fakeEnv(Windows)
	env.GetPort = func(_ context.Context, _ string, prog, _ uint32) (int, error) {
		if prog == probe.ProgNFS {
			return 20049, nil
		}
		return 2049, nil
	}
	r := findResult(t, RunDoctor(context.Background(), env), "Windows portmapper")
	assertFails(t, r, "maps NFS v3 over TCP to port 20049, not to burrow's port 2049", "rpcbind")
}

func TestDoctorWindowsPortmapperOK(t *testing.T) {
	env := fakeEnv(Windows)
	var asked []uint32
	env.GetPort = func(_ context.Context, host string, prog, vers uint32) (int, error) {
		if host != "192.168.64.5" || vers != 3 {
			t.Errorf("GetPort(%s, %d, %d), want host 192.168.64.5 and version 3", host, prog, vers)
		}
		asked = append(asked, prog)
		return 2049, nil
	}
	r := findResult(t, RunDoctor(context.Background(), env), "Windows portmapper")
	if r.Status != StatusOK {
		t.Errorf("status = %v (%s), want ok", r.Status, r.Detail)
	}
	if want := []uint32{probe.ProgMount, probe.ProgNFS}; !slices.Equal(asked, want) {
		t.Errorf("programs looked up = %v, want %v", asked, want)
	}
}

func TestDoctorStaleMount(t *testing.T) {
	env := fakeEnv(Linux)
	env.ReadFile = func(name string) ([]byte, error) {
		if name != "/proc/self/mountinfo" {
			return nil, os.ErrNotExist
		}
		return []byte(linuxMountinfo), nil
	}
	env.Probe = func(_ context.Context, host string, port int) (probe.Result, error) {
		if host == "10.0.0.9" {
			return probe.Result{}, errors.New("connection refused")
		}
		return probe.Result{Exports: []probe.Export{{Dir: "/x"}}}, nil
	}
	r := findResult(t, RunDoctor(context.Background(), env), "burrow mounts")
	assertFails(t, r, "stale (the server does not reply): 10.0.0.9:/srv on /home/u/burrow/web app", "sudo umount -f -l MOUNTPOINT")
	if !strings.Contains(r.Detail, "live: 192.168.64.5:/home/ubuntu/project on /home/u/burrow/dev") {
		t.Errorf("detail = %q, want the live mount listed", r.Detail)
	}
}

func TestDoctorDarwinStaleMount(t *testing.T) {
	env := fakeEnv(Darwin)
	env.Home = "/Users/u"
	env.Run = func(_ context.Context, name string, _ ...string) ([]byte, error) {
		return []byte(darwinMountOutput), nil
	}
	env.Probe = func(context.Context, string, int) (probe.Result, error) {
		return probe.Result{}, errors.New("timed out")
	}
	r := findResult(t, RunDoctor(context.Background(), env), "burrow mounts")
	assertFails(t, r, "/Users/u/burrow/dev", "sudo diskutil unmount force MOUNTPOINT")
}

func TestDoctorLinuxLockingWithoutLocalLock(t *testing.T) {
	env := fakeEnv(Linux)
	env.ReadFile = func(string) ([]byte, error) { return []byte(linuxMountinfo), nil }
	r := findResult(t, RunDoctor(context.Background(), env), "locking (nolock vs locallocks)")
	assertFails(t, r, "/home/u/burrow/dev", "passes nolock")
	if strings.Contains(r.Detail, "web app") {
		t.Errorf("detail = %q lists a mount that has local_lock=all", r.Detail)
	}
}

func TestDoctorMacLocalNetworkDenied(t *testing.T) {
	env := fakeEnv(Darwin)
	env.Home = "/Users/u"
	env.Dial = func(context.Context, string) error { return fmt.Errorf("dial tcp: %w", syscall.EHOSTUNREACH) }
	r := findResult(t, RunDoctor(context.Background(), env), "macOS Local Network privacy")
	assertFails(t, r, "Local Network access", "Privacy & Security > Local Network")
}

func TestDoctorMacLocalNetworkOldMacOS(t *testing.T) {
	env := fakeEnv(Darwin)
	env.Home = "/Users/u"
	env.MacOSVersion = "14.6"
	env.Dial = func(context.Context, string) error { return syscall.EHOSTUNREACH }
	r := findResult(t, RunDoctor(context.Background(), env), "macOS Local Network privacy")
	assertFails(t, r, "predates Local Network privacy", "check that the VM is running")
}

func TestDoctorMacMountPointInDocuments(t *testing.T) {
	env := fakeEnv(Darwin)
	env.Home = "/Users/u"
	env.MountPoint = "/Users/u/Documents/dev"
	r := findResult(t, RunDoctor(context.Background(), env), "macOS mount point")
	assertFails(t, r, "inside ~/Documents", "mount under /Users/u/burrow instead")
}

func TestDoctorNoTargetSkipsNetwork(t *testing.T) {
	env := fakeEnv(Linux)
	env.Target = ""
	results := RunDoctor(context.Background(), env)
	for _, name := range []string{"VM address resolves", "port reachable", "burrow server replies"} {
		if r := findResult(t, results, name); r.Status != StatusSkip {
			t.Errorf("%s: status = %v, want skip", name, r.Status)
		}
	}
}
