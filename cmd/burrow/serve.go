package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/burrow-nfs/burrow/internal/access"
	"github.com/burrow-nfs/burrow/internal/backend/localfs"
	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/portmap"
	"github.com/burrow-nfs/burrow/internal/status"
)

// serveOptions are the flags of "burrow serve".
type serveOptions struct {
	listen       string
	logLevel     string
	logFormat    string
	identity     string
	user         string
	noRootSquash bool
	readOnly     bool
	statePath    string
	shutdownWait time.Duration
	cpuProfile   string
	memProfile   string

	allow              []string
	portmap            string
	maxConns           int
	maxInFlight        int
	maxInFlightPerConn int
	maxRecordSize      int
	idleTimeout        time.Duration
	writeTimeout       time.Duration
}

// minRecordSize is the smallest --max-record-size accepted: a 1 MiB WRITE,
// the largest that the NFS program announces in FSINFO, plus 64 KiB for
// the RPC header, credential and arguments.
const minRecordSize = 1<<20 + 64<<10

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve [flags] [DIR]",
		Short: "Serve DIR (default: the current directory) over NFSv3",
		Long: `Serve DIR over NFSv3 and MOUNT v3 on one TCP port.

Run it in the guest as the user who owns the project files; no root and no
/etc/exports are needed. In the default owner identity mode every operation
runs as the serving user, and files that user owns appear owned by the
mounting host user. The start line prints the mount commands for Linux and
macOS hosts.

Only clients whose address is in an --allow prefix may connect; others are
closed at once and logged. Without --allow, loopback and the networks of
this machine's own interfaces (such as a VM's host-only or NAT network)
are allowed. The start line lists the allowed prefixes.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runServe(cmd.Context(), dir, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", ":2049", "TCP address and port to listen on (ADDR:PORT)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
	f.StringVar(&o.identity, "identity", "owner", "identity mode: owner (run every call as the serving user) or passthrough (root only: run each call as the caller's uid and gids)")
	f.StringVar(&o.user, "user", "", "user to switch to after binding when started as root in owner mode (default: the owner of DIR)")
	f.BoolVar(&o.noRootSquash, "no-root-squash", false, "in passthrough mode, let client root act as root instead of nobody")
	f.BoolVar(&o.readOnly, "read-only", false, "reject every modifying call with NFS3ERR_ROFS")
	f.StringVar(&o.statePath, "state", "", "file that keeps file handle state (default: $XDG_STATE_HOME/burrow/<export key>.db)")
	f.DurationVar(&o.shutdownWait, "shutdown-timeout", 30*time.Second, "how long to wait for calls in flight when stopping")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile to this file until the server stops (default: none)")
	f.StringVar(&o.memProfile, "memprofile", "", "write an allocation profile to this file when the server stops (default: none)")
	f.MarkHidden("cpuprofile")
	f.MarkHidden("memprofile")
	f.StringVar(&o.portmap, "portmap", "", "TCP and UDP address for a read-only portmapper, such as :111, which the Windows NFS client needs; port 111 needs root or CAP_NET_BIND_SERVICE (default: no portmapper)")
	f.StringSliceVar(&o.allow, "allow", nil, "client address or CIDR prefix allowed to connect, such as 192.168.56.0/24 or fd00::/64; repeat or separate with commas (default: loopback and the networks of this machine's interfaces)")
	f.IntVar(&o.maxConns, "max-conns", oncrpc.DefaultMaxConns, "maximum open client connections; further connections are closed at once")
	f.IntVar(&o.maxInFlight, "max-in-flight", oncrpc.DefaultMaxInFlight, "maximum calls handled at once across all connections; reading waits while it is reached")
	f.IntVar(&o.maxInFlightPerConn, "max-in-flight-per-conn", oncrpc.DefaultMaxInFlightPerConn, "maximum calls of one connection handled at once")
	f.IntVar(&o.maxRecordSize, "max-record-size", oncrpc.DefaultMaxRecordSize, fmt.Sprintf("largest RPC call record accepted, in bytes (at least %d); a connection that sends a larger one is closed", minRecordSize))
	f.DurationVar(&o.idleTimeout, "idle-timeout", oncrpc.DefaultIdleTimeout, "close a connection with no calls for this long; clients reconnect on their next call (0 keeps idle connections open)")
	f.DurationVar(&o.writeTimeout, "write-timeout", oncrpc.DefaultWriteTimeout, "close a connection whose client does not read a reply for this long (0 waits forever)")
	return cmd
}

// newLogger returns a slog logger writing to stderr in the given format and
// level.
func newLogger(format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q: use text or json", format)
}

func runServe(ctx context.Context, dir string, o serveOptions) error {
	log, err := newLogger(o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	stopProfiles, err := startProfiles(o.cpuProfile, o.memProfile)
	if err != nil {
		return err
	}
	defer func() {
		if err := stopProfiles(); err != nil {
			log.Error("writing profiles failed", "error", err)
		}
	}()
	export, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("invalid directory %q: %w", dir, err)
	}
	st, err := os.Stat(export)
	if err != nil {
		return fmt.Errorf("cannot serve %s: %w", export, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("cannot serve %s: not a directory", export)
	}

	if o.shutdownWait <= 0 {
		return fmt.Errorf("invalid --shutdown-timeout %s: use a positive duration", o.shutdownWait)
	}
	limits, err := o.rpcLimits()
	if err != nil {
		return err
	}
	allow, err := allowList(o.allow)
	if err != nil {
		return err
	}

	var identity localfs.Identity
	switch o.identity {
	case "owner":
		identity = localfs.OwnerMode
	case "passthrough":
		if os.Geteuid() != 0 {
			return errors.New("--identity passthrough needs root, because each call switches to the caller's uid; run as root or use --identity owner")
		}
		identity = localfs.PassthroughMode
	default:
		return fmt.Errorf("invalid --identity %q: use owner or passthrough", o.identity)
	}

	// Bind first, so that a root start can use a privileged port before it
	// drops to the unprivileged serving user.
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return listenError(o.listen, err)
	}
	defer ln.Close()
	var pm *portmap.Listeners
	if o.portmap != "" {
		if pm, err = portmap.Listen(o.portmap); err != nil {
			return err
		}
		defer pm.Close()
	}

	if identity == localfs.OwnerMode && os.Geteuid() == 0 {
		if err := dropPrivileges(export, o.user, log); err != nil {
			return err
		}
	}

	if err := unix.Access(export, unix.R_OK|unix.X_OK); err != nil {
		return fmt.Errorf("cannot serve %s: uid %d cannot read it (%w); serve a directory that user can read, or start as root with --user NAME", export, os.Geteuid(), err)
	}

	fs, err := localfs.New(export, localfs.Options{
		StatePath:    o.statePath,
		Logger:       log,
		Identity:     identity,
		NoRootSquash: o.noRootSquash,
	})
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", export, err)
	}

	info := status.Info{Version: buildVersion(), PID: os.Getpid(), Export: export, Listen: ln.Addr().String()}
	if pm != nil {
		info.Portmapper = pm.TCP.Addr().String()
	}
	counters := status.New(info)

	limits.Logger = log
	limits.AcceptConn = allow.AllowConn
	limits.Observer = counters.Observe
	srv := oncrpc.NewServer(limits)
	programs := []oncrpc.Program{
		mount.NewProgram(fs, mount.Options{ExportPath: export, Logger: log}),
		nfs3.NewProgram(fs, nfs3.Options{Logger: log, ReadOnly: o.readOnly}),
	}
	for _, p := range programs {
		srv.Register(p)
	}

	logStart(log, export, ln.Addr(), allow, o)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	tcpAddr := ln.Addr().(*net.TCPAddr)
	if sock, err := status.ListenSocket(status.SocketPath(tcpAddr.Port)); err != nil {
		log.Warn("status socket disabled; burrow status will not find this server", "error", err)
	} else {
		go status.Serve(ctx, sock, counters, log)
	}
	if pm != nil {
		entries := append(portmap.ServiceMappings(tcpAddr.Port, programs...), portmap.SelfMappings(pm.Port())...)
		pmOpts := portmap.Options{Logger: log, HostIP: tcpAddr.IP, AcceptRemote: allow.AllowConn}
		go func() {
			if err := portmap.Serve(ctx, pm, entries, pmOpts); err != nil {
				log.Error("portmapper stopped", "error", err)
			}
		}()
	}
	go func() { serveErr <- srv.Serve(counters.WrapListener(ln)) }()

	select {
	case err := <-serveErr:
		fs.Close()
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("stopping: finishing calls in flight", "timeout", o.shutdownWait)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("calls still in flight at shutdown timeout", "error", err)
	}
	if err := fs.Close(); err != nil {
		log.Error("closing the export failed", "error", err)
		return err
	}
	log.Info("stopped")
	return nil
}

// rpcLimits checks the limit flags and returns them as server options.
// A timeout of 0 disables it, which oncrpc.Options spells as a negative
// value, because there zero means the default.
func (o serveOptions) rpcLimits() (oncrpc.Options, error) {
	counts := []struct {
		flag  string
		value int
	}{
		{"--max-conns", o.maxConns},
		{"--max-in-flight", o.maxInFlight},
		{"--max-in-flight-per-conn", o.maxInFlightPerConn},
	}
	for _, c := range counts {
		if c.value < 1 {
			return oncrpc.Options{}, fmt.Errorf("invalid %s %d: use a count of at least 1", c.flag, c.value)
		}
	}
	if o.maxRecordSize < minRecordSize {
		return oncrpc.Options{}, fmt.Errorf("invalid --max-record-size %d: use at least %d bytes, so that 1 MiB WRITE calls fit", o.maxRecordSize, minRecordSize)
	}
	timeouts := []struct {
		flag  string
		value time.Duration
	}{
		{"--idle-timeout", o.idleTimeout},
		{"--write-timeout", o.writeTimeout},
	}
	for _, d := range timeouts {
		if d.value < 0 {
			return oncrpc.Options{}, fmt.Errorf("invalid %s %v: use a positive duration such as 30s, or 0 to disable it", d.flag, d.value)
		}
	}
	disabledIfZero := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	return oncrpc.Options{
		MaxConns:           o.maxConns,
		MaxInFlight:        o.maxInFlight,
		MaxInFlightPerConn: o.maxInFlightPerConn,
		MaxRecordSize:      o.maxRecordSize,
		IdleTimeout:        disabledIfZero(o.idleTimeout),
		WriteTimeout:       disabledIfZero(o.writeTimeout),
	}, nil
}

// allowList returns the list of --allow values, or the default list of
// loopback and this machine's networks when there are none.
func allowList(values []string) (*access.List, error) {
	if len(values) == 0 {
		return access.Default()
	}
	return access.Parse(values)
}

// listenError explains a failed listen with the usual causes and fixes.
func listenError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot listen on %s: %w; ports below 1024 need root or CAP_NET_BIND_SERVICE, so pick a port of 1024 or more, such as the default 2049", addr, err)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot listen on %s: %w; another burrow or NFS server may be running (burrow status lists burrow servers), or pick another port with --listen", addr, err)
	}
	return fmt.Errorf("cannot listen on %s: %w", addr, err)
}

// dropPrivileges switches a root process to the owner of export, or to the
// named user, so that owner mode runs every call as that user.
func dropPrivileges(export, name string, log *slog.Logger) error {
	var uid, gid int
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return fmt.Errorf("unknown --user %q: %w", name, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	} else {
		st, err := os.Stat(export)
		if err != nil {
			return err
		}
		sys := st.Sys().(*syscall.Stat_t)
		uid, gid = int(sys.Uid), int(sys.Gid)
	}
	if uid == 0 {
		log.Warn("serving as root in owner mode: the export is owned by root; pass --user NAME to serve as an ordinary user")
		return nil
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("cannot drop supplementary groups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("cannot switch to gid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("cannot switch to uid %d: %w", uid, err)
	}
	log.Info("dropped root privileges", "uid", uid, "gid", gid)
	return nil
}

// logStart writes the start line: the export, the address and the mount
// commands a host needs.
func logStart(log *slog.Logger, export string, addr net.Addr, allow *access.List, o serveOptions) {
	tcp := addr.(*net.TCPAddr)
	port := tcp.Port
	hosts := hostAddresses(tcp)
	host := "GUEST_IP"
	if len(hosts) > 0 {
		host = hosts[0]
	}
	// The mount points match burrow mount's default, ~/burrow/NAME.
	mountPoint := "~/burrow/" + filepath.Base(export)
	helper := fmt.Sprintf("burrow mount %s", net.JoinHostPort(host, strconv.Itoa(port)))
	linux := fmt.Sprintf("sudo mount -t nfs -o vers=3,proto=tcp,port=%d,mountport=%d,mountproto=tcp,nolock %s:%s %s", port, port, host, export, mountPoint)
	macos := fmt.Sprintf("sudo mount_nfs -o vers=3,tcp,port=%d,mountport=%d,locallocks %s:%s %s", port, port, host, export, mountPoint)
	log.Info("serving",
		"export", export,
		"listen", addr.String(),
		"addresses", strings.Join(hosts, ","),
		"identity", o.identity,
		"read_only", o.readOnly,
		"allow", allow.String(),
		"version", buildVersion(),
		"mount_host", helper,
		"mount_linux", linux,
		"mount_macos", macos,
	)
}

// hostAddresses returns the addresses a host can use to reach the listener:
// the listen address itself, or the non-loopback addresses of this machine
// when it listens on all of them, loopback last.
func hostAddresses(tcp *net.TCPAddr) []string {
	if !tcp.IP.IsUnspecified() {
		return []string{tcp.IP.String()}
	}
	var out, loop []string
	ifaces, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range ifaces {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.To4() == nil {
			continue
		}
		if n.IP.IsLoopback() {
			loop = append(loop, n.IP.String())
			continue
		}
		out = append(out, n.IP.String())
	}
	return append(out, loop...)
}
