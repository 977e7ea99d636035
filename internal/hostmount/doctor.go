package hostmount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/burrow-nfs/burrow/internal/discover"
	"github.com/burrow-nfs/burrow/internal/probe"
)

// Status is the outcome of one doctor check.
type Status int

const (
	StatusOK Status = iota
	StatusWarn
	StatusFail
	StatusSkip
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusWarn:
		return "warn"
	case StatusFail:
		return "FAIL"
	}
	return "skip"
}

// CheckResult is the outcome of one check: what was found and, unless the
// check passed, how to fix it.
type CheckResult struct {
	Name   string
	Status Status
	Detail string
	Fix    string
}

// DoctorEnv is the host as the doctor checks see it. Every function is
// injected so tests never touch the real system.
type DoctorEnv struct {
	GOOS string
	Home string
	// MacOSVersion is the macOS product version, such as "15.1"; empty
	// when unknown or not on macOS.
	MacOSVersion string
	// Target is the mount target as the user gave it; empty checks only
	// the host.
	Target string
	// MountPoint is the mount point to check; empty means the default for
	// Target.
	MountPoint string

	Resolve  func(ctx context.Context, target string) (discover.Endpoint, error)
	Dial     func(ctx context.Context, addr string) error // connect over TCP and close
	Probe    func(ctx context.Context, host string, port int) (probe.Result, error)
	Stat     func(name string) (fs.FileInfo, error)
	ReadFile func(name string) ([]byte, error)
	Run      func(ctx context.Context, name string, args ...string) ([]byte, error)
	// GetPort queries the portmapper (RPC program 100000) on port 111 of
	// host with PMAP version 2 GETPORT over TCP, and returns the TCP port
	// of version vers of program prog, or 0 when none is listed.
	GetPort func(ctx context.Context, host string, prog, vers uint32) (int, error)
}

// RunDoctor runs every check in order and returns their results.
func RunDoctor(ctx context.Context, env DoctorEnv) []CheckResult {
	var results []CheckResult
	add := func(r CheckResult) { results = append(results, r) }

	resolveResult, ep := checkResolve(ctx, env)
	add(resolveResult)

	if ep == nil {
		for _, name := range []string{"port reachable", "burrow server replies", "server version", "reserved source port", "host firewall", "macOS Local Network privacy", "Windows portmapper"} {
			add(CheckResult{Name: name, Status: StatusSkip, Detail: "no VM address to check"})
		}
	} else {
		dialErr := env.Dial(ctx, ep.Addr())
		add(checkPortReachable(*ep, dialErr))
		var probeErr error
		var res probe.Result
		if dialErr == nil {
			res, probeErr = env.Probe(ctx, ep.Host, ep.Port)
			add(checkServer(*ep, res, probeErr))
		} else {
			add(CheckResult{Name: "burrow server replies", Status: StatusSkip, Detail: "the port is not reachable"})
		}
		add(checkServerVersion(dialErr, probeErr))
		add(checkReservedPort(dialErr, probeErr))
		add(checkFirewall(*ep, dialErr))
		add(checkLocalNetwork(env, *ep, dialErr))
		add(checkPortmapper(ctx, env, *ep))
	}

	add(checkClient(env))
	mountsResult, burrowMounts := checkMounts(ctx, env)
	add(mountsResult)
	add(checkLocking(env, burrowMounts))
	add(checkMacMountPoint(env, ep))
	return results
}

func checkResolve(ctx context.Context, env DoctorEnv) (CheckResult, *discover.Endpoint) {
	r := CheckResult{Name: "VM address resolves"}
	if env.Target == "" {
		r.Status, r.Detail = StatusSkip, "no TARGET given"
		return r, nil
	}
	ep, err := env.Resolve(ctx, env.Target)
	if err != nil {
		r.Status, r.Detail = StatusFail, err.Error()
		var missing *discover.ToolMissingError
		target, _ := discover.Parse(env.Target)
		switch {
		case errors.As(err, &missing):
			r.Fix = fmt.Sprintf("install %s, or give the VM's address as HOST[:PORT]", missing.Tool)
		case target.Provider != "":
			r.Fix = "start the VM, check its name, or give its address as HOST[:PORT]"
		default:
			r.Fix = "check the host name, or give the VM's IP address instead"
		}
		return r, nil
	}
	r.Status, r.Detail = StatusOK, ep.Addr()
	if ep.Note != "" {
		r.Status, r.Detail = StatusWarn, ep.Addr()+": "+ep.Note
		r.Fix = fmt.Sprintf("forward host port %d to guest port %d, or use the VM's private network address as HOST[:PORT]", ep.Port, ep.Port)
	}
	return r, &ep
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

func isHostUnreachable(err error) bool {
	return errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

func checkPortReachable(ep discover.Endpoint, dialErr error) CheckResult {
	r := CheckResult{Name: "port reachable"}
	switch {
	case dialErr == nil:
		r.Status, r.Detail = StatusOK, ep.Addr()+" accepts TCP connections"
	case isRefused(dialErr):
		r.Status, r.Detail = StatusFail, ep.Addr()+" refused the connection: nothing listens there"
		r.Fix = fmt.Sprintf("run `burrow serve DIR` in the VM, listening on port %d of an address the host reaches; behind NAT, forward host port %d to the guest", ep.Port, ep.Port)
	default:
		r.Status, r.Detail = StatusFail, fmt.Sprintf("cannot connect to %s: %v", ep.Addr(), dialErr)
		r.Fix = "see the host firewall and Local Network checks below"
	}
	return r
}

func checkServer(ep discover.Endpoint, res probe.Result, err error) CheckResult {
	r := CheckResult{Name: "burrow server replies"}
	if err == nil {
		dirs := make([]string, len(res.Exports))
		for i, ex := range res.Exports {
			dirs[i] = ex.Dir
		}
		r.Status, r.Detail = StatusOK, "exports "+strings.Join(dirs, ", ")
		return r
	}
	r.Status, r.Detail = StatusFail, err.Error()
	switch {
	case errors.Is(err, probe.ErrProgramUnavailable):
		r.Fix = fmt.Sprintf("port %d runs something other than burrow: start `burrow serve DIR` in the VM or give burrow's port as HOST:PORT", ep.Port)
	case errors.Is(err, probe.ErrAuthRejected):
		r.Fix = "see the reserved source port check below"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
		r.Fix = "the server closed the connection without a reply, which is what it does to an address outside its --allow list: " +
			"if its log shows \"RPC connection rejected by access control\", restart `burrow serve` with --allow set to this host's address or network"
	default:
		r.Fix = "check that `burrow serve` is running in the VM and that its log shows no error"
	}
	return r
}

func checkServerVersion(dialErr, probeErr error) CheckResult {
	r := CheckResult{Name: "server version", Status: StatusSkip}
	if dialErr != nil || probeErr != nil {
		r.Detail = "the server did not reply"
		return r
	}
	// TODO: report the version once the server exposes it over RPC.
	r.Detail = "the server does not report its version; run `burrow version` in the VM"
	return r
}

func checkReservedPort(dialErr, probeErr error) CheckResult {
	r := CheckResult{Name: "reserved source port"}
	if dialErr != nil {
		r.Status, r.Detail = StatusSkip, "the port is not reachable"
		return r
	}
	if errors.Is(probeErr, probe.ErrAuthRejected) {
		r.Status = StatusFail
		r.Detail = "the server rejected a call from a source port above 1023, as a kernel NFS server with the default `secure` export option does"
		r.Fix = "burrow accepts any source port, so this is not burrow: mount burrow's port instead, or add `insecure` to that server's export options"
		return r
	}
	r.Status, r.Detail = StatusOK, "burrow accepts unprivileged source ports, so NAT port forwards and non-root clients work without `insecure`"
	return r
}

func checkFirewall(ep discover.Endpoint, dialErr error) CheckResult {
	r := CheckResult{Name: "host firewall"}
	if dialErr == nil || isRefused(dialErr) {
		r.Status, r.Detail = StatusOK, "packets reach the VM"
		return r
	}
	if !isTimeout(dialErr) {
		r.Status, r.Detail = StatusSkip, "the connection failed for another reason"
		return r
	}
	r.Status = StatusFail
	r.Detail = fmt.Sprintf("connecting to %s timed out: a firewall drops the packets", ep.Addr())
	r.Fix = fmt.Sprintf("allow TCP port %d in the VM's firewall (`sudo ufw allow %d/tcp` or `sudo firewall-cmd --add-port=%d/tcp`) and allow outgoing connections to the VM in the host's firewall or security software", ep.Port, ep.Port, ep.Port)
	return r
}

// macOSMajor returns the major number of a macOS product version, or 0.
func macOSMajor(version string) int {
	major, _, _ := strings.Cut(version, ".")
	n, _ := strconv.Atoi(major)
	return n
}

func checkLocalNetwork(env DoctorEnv, ep discover.Endpoint, dialErr error) CheckResult {
	r := CheckResult{Name: "macOS Local Network privacy"}
	if env.GOOS != Darwin {
		r.Status, r.Detail = StatusSkip, "only macOS has Local Network privacy"
		return r
	}
	if ip := net.ParseIP(ep.Host); ip != nil && ip.IsLoopback() {
		r.Status, r.Detail = StatusOK, "127.0.0.1 is not on the local network"
		return r
	}
	if dialErr == nil || !isHostUnreachable(dialErr) {
		r.Status, r.Detail = StatusOK, "the terminal may reach the local network"
		return r
	}
	r.Status = StatusFail
	r.Detail = fmt.Sprintf("connecting to %s failed with %v", ep.Addr(), dialErr)
	if macOSMajor(env.MacOSVersion) < 15 {
		r.Detail += "; this macOS predates Local Network privacy (macOS 15), so look at the VM's network"
		r.Fix = "check that the VM is running and that its network adapter is up"
		return r
	}
	r.Detail += ", which macOS 15 and later return when the terminal app lacks Local Network access"
	r.Fix = "open System Settings > Privacy & Security > Local Network, turn on your terminal app, then restart it"
	return r
}

// portmapLookups are the programs that an NFSv3 client without port
// options, such as the Windows Client for NFS, looks up in the portmapper.
var portmapLookups = []struct {
	name string
	prog uint32
}{
	{"MOUNT v3", probe.ProgMount},
	{"NFS v3", probe.ProgNFS},
}

func checkPortmapper(ctx context.Context, env DoctorEnv, ep discover.Endpoint) CheckResult {
	r := CheckResult{Name: "Windows portmapper"}
	if env.GOOS != Windows {
		r.Status, r.Detail = StatusSkip, "only the Windows NFS client needs the portmapper"
		return r
	}
	addr := net.JoinHostPort(ep.Host, "111")
	serveFix := "in the VM, start `burrow serve --portmap :111 DIR` as root, for example with sudo: binding port 111 needs root or CAP_NET_BIND_SERVICE, and burrow still serves the files as the directory's owner"
	for _, lookup := range portmapLookups {
		port, err := env.GetPort(ctx, ep.Host, lookup.prog, probe.Version3)
		switch {
		case errors.Is(err, probe.ErrProgramUnavailable):
			r.Status = StatusFail
			r.Detail = fmt.Sprintf("%s replies, but not as a portmapper (RPC program 100000 version 2): %v", addr, err)
			r.Fix = "stop the program that listens on port 111 in the VM, then " + serveFix
			return r
		case err != nil:
			r.Status = StatusFail
			r.Detail = fmt.Sprintf("no portmapper (RPC program 100000) replies on %s: %v. The Windows Client for NFS looks up the NFS and MOUNT ports there", addr, err)
			r.Fix = serveFix
			return r
		case port != ep.Port:
			r.Status = StatusFail
			if port == 0 {
				r.Detail = fmt.Sprintf("the portmapper on %s lists no %s over TCP", addr, lookup.name)
			} else {
				r.Detail = fmt.Sprintf("the portmapper on %s maps %s over TCP to port %d, not to burrow's port %d", addr, lookup.name, port, ep.Port)
			}
			r.Detail += ", so it is not burrow's portmapper; the VM's own rpcbind is the usual one"
			r.Fix = "stop rpcbind in the VM with `sudo systemctl disable --now rpcbind.socket rpcbind.service`, then " + serveFix
			return r
		}
	}
	r.Status = StatusOK
	r.Detail = fmt.Sprintf("the portmapper on %s maps MOUNT v3 and NFS v3 over TCP to port %d", addr, ep.Port)
	return r
}

func checkClient(env DoctorEnv) CheckResult {
	r := CheckResult{Name: "NFS client installed"}
	var paths []string
	var fix string
	switch env.GOOS {
	case Linux:
		paths = []string{"/sbin/mount.nfs", "/usr/sbin/mount.nfs"}
		fix = "install nfs-common (Debian, Ubuntu) or nfs-utils (Fedora, Arch)"
	case Darwin:
		paths = []string{"/sbin/mount_nfs"}
		fix = "mount_nfs ships with macOS: check that /sbin is intact"
	case Windows:
		paths = []string{`C:\Windows\System32\mount.exe`}
		fix = "turn on Windows Features > Services for NFS > Client for NFS (Windows Pro, Enterprise or Education)"
	default:
		r.Status, r.Detail = StatusSkip, "unsupported host OS "+env.GOOS
		return r
	}
	for _, p := range paths {
		if _, err := env.Stat(p); err == nil {
			r.Status, r.Detail = StatusOK, p
			return r
		}
	}
	r.Status, r.Detail, r.Fix = StatusFail, "not found: "+strings.Join(paths, ", "), fix
	return r
}

// listMounts reads the host's mount table.
func listMounts(ctx context.Context, env DoctorEnv) ([]MountEntry, error) {
	switch env.GOOS {
	case Linux:
		data, err := env.ReadFile("/proc/self/mountinfo")
		if err != nil {
			return nil, err
		}
		return ParseMountinfo(data)
	case Darwin:
		out, err := env.Run(ctx, "mount")
		if err != nil {
			return nil, err
		}
		return ParseDarwinMount(out), nil
	}
	return nil, errors.ErrUnsupported
}

func checkMounts(ctx context.Context, env DoctorEnv) (CheckResult, []MountEntry) {
	r := CheckResult{Name: "burrow mounts"}
	all, err := listMounts(ctx, env)
	if errors.Is(err, errors.ErrUnsupported) {
		r.Status, r.Detail = StatusSkip, "reading the mount table is not supported on "+env.GOOS
		return r, nil
	}
	if err != nil {
		r.Status, r.Detail = StatusWarn, "cannot read the mount table: "+err.Error()
		return r, nil
	}
	var mounts []MountEntry
	for _, m := range all {
		if IsBurrowMount(m, MountRoot(env.Home)) {
			mounts = append(mounts, m)
		}
	}
	if len(mounts) == 0 {
		r.Status, r.Detail = StatusOK, "none mounted"
		return r, nil
	}
	var live, stale []string
	for _, m := range mounts {
		desc := m.Source + " on " + m.MountPoint
		if _, err := env.Probe(ctx, m.Host(), m.Port()); err != nil {
			stale = append(stale, desc)
			continue
		}
		live = append(live, desc)
	}
	if len(stale) == 0 {
		r.Status, r.Detail = StatusOK, strings.Join(live, "; ")
		return r, mounts
	}
	r.Status = StatusFail
	r.Detail = "stale (the server does not reply): " + strings.Join(stale, "; ")
	if len(live) > 0 {
		r.Detail += "; live: " + strings.Join(live, "; ")
	}
	force := "sudo umount -f -l MOUNTPOINT"
	if env.GOOS == Darwin {
		force = "sudo diskutil unmount force MOUNTPOINT"
	}
	r.Fix = "start the VM and `burrow serve` again, or unmount with `burrow umount MOUNTPOINT` (if that hangs: `" + force + "`)"
	return r, mounts
}

func checkLocking(env DoctorEnv, mounts []MountEntry) CheckResult {
	r := CheckResult{Name: "locking (nolock vs locallocks)"}
	if env.GOOS != Linux {
		if env.GOOS == Darwin {
			r.Status, r.Detail = StatusSkip, "mount(8) on macOS does not list locking options; burrow mount passes locallocks"
		} else {
			r.Status, r.Detail = StatusSkip, "burrow mount passes nolock on Windows"
		}
		return r
	}
	var bad []string
	for _, m := range mounts {
		lock, _ := m.Option("local_lock")
		_, nolock := m.Option("nolock")
		if lock != "all" && !nolock {
			bad = append(bad, m.MountPoint)
		}
	}
	if len(bad) == 0 {
		r.Status, r.Detail = StatusOK, "burrow mounts keep locks local (nolock or local_lock=all)"
		return r
	}
	r.Status = StatusFail
	r.Detail = "mounted without local_lock=all or nolock: " + strings.Join(bad, ", ") + "; burrow serves no NLM lock manager, so fcntl and flock calls fail or hang"
	r.Fix = "unmount and mount again with `burrow mount`, which passes nolock"
	return r
}

// tccFolders are the folders of the home directory that macOS privacy
// protection (TCC) guards, relative to the home directory.
var tccFolders = []string{"Desktop", "Documents", "Downloads", "Library/Mobile Documents"}

func checkMacMountPoint(env DoctorEnv, ep *discover.Endpoint) CheckResult {
	r := CheckResult{Name: "macOS mount point"}
	if env.GOOS != Darwin {
		r.Status, r.Detail = StatusSkip, "only macOS guards folders with TCC"
		return r
	}
	mp := env.MountPoint
	if mp == "" {
		name := "NAME"
		if ep != nil {
			name = ep.Name
		}
		mp, _ = DefaultMountPoint(Darwin, env.Home, name)
	}
	home := filepath.Clean(env.Home)
	for _, f := range tccFolders {
		dir := filepath.Join(home, f)
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			r.Status = StatusFail
			r.Detail = mp + " is inside ~/" + f + ", which macOS privacy protection guards: the mount and every app that opens it trigger permission prompts, and a denied prompt shows up as an empty or unreadable folder"
			r.Fix = "mount under " + MountRoot(home) + " instead, such as " + filepath.Join(MountRoot(home), "NAME")
			return r
		}
	}
	r.Status = StatusOK
	r.Detail = mp + " is outside the guarded folders; each app still asks once for access to files on a network volume"
	return r
}
