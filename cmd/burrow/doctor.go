package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burrow-nfs/burrow/internal/discover"
	"github.com/burrow-nfs/burrow/internal/hostmount"
	"github.com/burrow-nfs/burrow/internal/portmap"
	"github.com/burrow-nfs/burrow/internal/probe"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// doctorDialTimeout bounds each TCP connection attempt of the doctor.
const doctorDialTimeout = 3 * time.Second

// macOSVersion returns the output of `sw_vers -productVersion`, or "" when
// it is not available.
func macOSVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "sw_vers", "-productVersion").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// pmapProcGetport is the GETPORT procedure of PMAP version 2 (RFC 1833,
// section 3.2).
const pmapProcGetport = 3

// portmapGetPort queries the portmapper at addr with PMAP version 2
// GETPORT over TCP, and returns the TCP port of version vers of program
// prog, or 0 when none is listed.
func portmapGetPort(ctx context.Context, dial probe.Dialer, addr string, prog, vers uint32) (int, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()

	e := xdr.NewEncoder(make([]byte, 0, 16))
	e.Uint32(prog)
	e.Uint32(vers)
	e.Uint32(uint32(portmap.TCP))
	e.Uint32(0) // port, ignored by GETPORT
	res, err := c.Call(ctx, portmap.Program, portmap.Version2, pmapProcGetport, e.Bytes())
	if err != nil {
		return 0, err
	}
	d := xdr.NewDecoder(res)
	port := d.Uint32()
	if err := d.Err(); err != nil {
		return 0, fmt.Errorf("invalid GETPORT reply from %s: %w", addr, err)
	}
	if port > 65535 {
		return 0, fmt.Errorf("invalid GETPORT reply from %s: port %d is out of range", addr, port)
	}
	return int(port), nil
}

func (d hostDeps) doctorEnv(ctx context.Context, target, mountPoint string, port int) hostmount.DoctorEnv {
	env := hostmount.DoctorEnv{
		GOOS:       d.goos,
		Home:       d.home,
		Target:     target,
		MountPoint: mountPoint,
		Resolve: func(ctx context.Context, target string) (discover.Endpoint, error) {
			ep, err := resolveTarget(ctx, d, target, port)
			if err != nil || ep.Note != "" || net.ParseIP(ep.Host) != nil {
				return ep, err
			}
			// A host name must resolve before anything can connect.
			if _, err := net.DefaultResolver.LookupHost(ctx, ep.Host); err != nil {
				return discover.Endpoint{}, err
			}
			return ep, nil
		},
		Dial: func(ctx context.Context, addr string) error {
			dialer := net.Dialer{Timeout: doctorDialTimeout}
			c, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			return c.Close()
		},
		Probe: func(ctx context.Context, host string, port int) (probe.Result, error) {
			ctx, cancel := context.WithTimeout(ctx, doctorDialTimeout)
			defer cancel()
			return probe.Probe(ctx, d.dial, host, port)
		},
		GetPort: func(ctx context.Context, host string, prog, vers uint32) (int, error) {
			ctx, cancel := context.WithTimeout(ctx, doctorDialTimeout)
			defer cancel()
			addr := net.JoinHostPort(host, strconv.Itoa(portmap.DefaultPort))
			return portmapGetPort(ctx, d.dial, addr, prog, vers)
		},
		Stat:     d.stat,
		ReadFile: d.readFile,
		Run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			return exec.CommandContext(ctx, name, args...).Output()
		},
	}
	if d.goos == hostmount.Darwin {
		env.MacOSVersion = macOSVersion(ctx)
	}
	return env
}

func newDoctorCmd() *cobra.Command {
	return newDoctorCmdWith(func(ctx context.Context, target, mountPoint string, port int) hostmount.DoctorEnv {
		return defaultHostDeps().doctorEnv(ctx, target, mountPoint, port)
	})
}

func newDoctorCmdWith(envFor func(ctx context.Context, target, mountPoint string, port int) hostmount.DoctorEnv) *cobra.Command {
	var (
		mountPoint string
		port       int
	)
	cmd := &cobra.Command{
		Use:   "doctor [TARGET]",
		Short: "Check this host for what burrow mount needs",
		Long: `Check the host side of a burrow mount and print a fix for each problem.

With a TARGET (HOST[:PORT], vagrant:NAME, multipass:NAME or lima:NAME) it
also checks that the VM address resolves, the port is reachable and a
burrow server replies. It always checks the NFS client, existing burrow
mounts and stale ones, and known traps: locking options, the Windows
portmapper, reserved source ports, macOS Local Network privacy, the
firewall, and macOS folders guarded by privacy protection.
It exits with an error when a check fails.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			target := ""
			if len(args) == 1 {
				target = args[0]
			}
			results := hostmount.RunDoctor(ctx, envFor(ctx, target, mountPoint, port))
			failed := 0
			out := cmd.OutOrStdout()
			for _, r := range results {
				fmt.Fprintf(out, "[%s] %s: %s\n", r.Status, r.Name, r.Detail)
				if r.Fix != "" {
					fmt.Fprintf(out, "       fix: %s\n", r.Fix)
				}
				if r.Status == hostmount.StatusFail {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d checks failed", failed, len(results))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&mountPoint, "mountpoint", "", "mount point to check (default ~/burrow/NAME for TARGET)")
	f.IntVar(&port, "port", 0, "server TCP port, replacing the port of TARGET (default 2049)")
	return cmd
}
