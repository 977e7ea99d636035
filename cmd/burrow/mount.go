package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burrow-nfs/burrow/internal/discover"
	"github.com/burrow-nfs/burrow/internal/hostmount"
	"github.com/burrow-nfs/burrow/internal/probe"
)

// hostDeps are the host facts and side effects of mount, umount and doctor.
// Tests replace them so no real VM tool, mount command or system file is
// used.
type hostDeps struct {
	goos   string
	home   string
	isRoot bool
	paths  hostmount.Paths
	runVM  discover.Runner // runs vagrant, multipass and limactl
	dial   probe.Dialer
	// runCommand runs a mount, unmount or helper command with the terminal
	// attached.
	runCommand func(ctx context.Context, c hostmount.Command) error
	stat       func(name string) (fs.FileInfo, error)
	readFile   func(name string) ([]byte, error)
	writeFile  func(name string, data []byte, perm os.FileMode) error
	mkdirAll   func(name string, perm os.FileMode) error
	remove     func(name string) error
	tempDir    string
}

func defaultHostDeps() hostDeps {
	home, _ := os.UserHomeDir()
	return hostDeps{
		goos:   runtime.GOOS,
		home:   home,
		isRoot: os.Geteuid() == 0,
		paths:  hostmount.DefaultPaths,
		runVM:  discover.ExecRunner,
		dial:   probe.OncrpcDialer,
		runCommand: func(ctx context.Context, c hostmount.Command) error {
			cmd := exec.CommandContext(ctx, c[0], c[1:]...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			return cmd.Run()
		},
		stat:      os.Stat,
		readFile:  os.ReadFile,
		writeFile: os.WriteFile,
		mkdirAll:  os.MkdirAll,
		remove:    os.Remove,
	}
}

func (d hostDeps) planOptions() hostmount.PlanOptions {
	return hostmount.PlanOptions{GOOS: d.goos, IsRoot: d.isRoot, Paths: d.paths, ReadFile: d.readFile}
}

func (d hostDeps) executor() hostmount.Executor {
	return hostmount.Executor{
		IsRoot:    d.isRoot,
		Run:       d.runCommand,
		WriteFile: d.writeFile,
		MkdirAll:  d.mkdirAll,
		Remove:    d.remove,
		TempDir:   d.tempDir,
	}
}

// resolveTarget parses and resolves a mount target. port, when not zero,
// replaces the target's port.
func resolveTarget(ctx context.Context, d hostDeps, arg string, port int) (discover.Endpoint, error) {
	t, err := discover.Parse(arg)
	if err != nil {
		return discover.Endpoint{}, err
	}
	if port != 0 {
		t.Port = port
	}
	return discover.Resolve(ctx, t, d.runVM)
}

// mountPointFor returns the absolute mount point: arg when given, else the
// default for name.
func mountPointFor(d hostDeps, arg, name string) (string, error) {
	mp := arg
	if mp == "" {
		var err error
		if mp, err = hostmount.DefaultMountPoint(d.goos, d.home, name); err != nil {
			return "", err
		}
	} else if d.goos != hostmount.Windows {
		if strings.HasPrefix(mp, "~/") {
			mp = filepath.Join(d.home, mp[2:])
		}
		abs, err := filepath.Abs(mp)
		if err != nil {
			return "", err
		}
		mp = abs
	}
	if err := hostmount.CheckMountPoint(d.goos, d.home, mp); err != nil {
		return "", err
	}
	return mp, nil
}

// checkLinuxClient returns an error naming the package to install when
// mount.nfs is missing on a Linux host.
func checkLinuxClient(d hostDeps) error {
	if d.goos != hostmount.Linux {
		return nil
	}
	for _, p := range []string{"/sbin/mount.nfs", "/usr/sbin/mount.nfs"} {
		if _, err := d.stat(p); err == nil {
			return nil
		}
	}
	return errors.New("mount.nfs not found in /sbin or /usr/sbin: install nfs-common (Debian, Ubuntu) or nfs-utils (Fedora, Arch)")
}

func newMountCmd() *cobra.Command { return newMountCmdWith(defaultHostDeps) }

func newMountCmdWith(deps func() hostDeps) *cobra.Command {
	var (
		dryRun  bool
		persist bool
		hard    bool
		port    int
		export  string
	)
	cmd := &cobra.Command{
		Use:   "mount TARGET [MOUNTPOINT]",
		Short: "Mount a VM's burrow export on this host",
		Long: `Mount the directory that "burrow serve" exports from a VM.

TARGET is HOST[:PORT] (port 2049 by default), or vagrant:NAME,
multipass:NAME or lima:NAME, which are resolved with the VM manager's
command line tool. burrow first checks that a burrow server replies
(NFS v3 NULL and MOUNT v3 EXPORT), then mounts the first exported path.

MOUNTPOINT defaults to ~/burrow/NAME on Linux and macOS, where NAME is the
VM name or host, and to Z: on Windows. The directory is created if needed.
On Linux and macOS, mounting runs through sudo when burrow is not run as
root. On Windows, mount.exe runs without elevation and finds the NFS and
MOUNT ports through the VM's portmapper, which "burrow serve --portmap :111"
starts.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := deps()
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()

			ep, err := resolveTarget(ctx, d, args[0], port)
			if err != nil {
				return err
			}
			if ep.Note != "" {
				fmt.Fprintln(errOut, "note:", ep.Note)
			}

			res, err := probe.Probe(ctx, d.dial, ep.Host, ep.Port)
			if err != nil {
				return fmt.Errorf("%w\nno burrow server replies at %s: run `burrow doctor %s` for the cause and its fix", err, ep.Addr(), args[0])
			}
			if export == "" {
				export = res.Exports[0].Dir
			}

			mpArg := ""
			if len(args) == 2 {
				mpArg = args[1]
			}
			mp, err := mountPointFor(d, mpArg, ep.Name)
			if err != nil {
				return err
			}

			spec := hostmount.Spec{Host: ep.Host, Port: ep.Port, Export: export, MountPoint: mp, Hard: hard}
			plan, err := hostmount.MountPlan(d.planOptions(), spec, persist)
			if err != nil {
				return err
			}
			if err := checkLinuxClient(d); err != nil {
				if !dryRun {
					return err
				}
				fmt.Fprintln(errOut, "warning:", err)
			}
			if dryRun {
				_, err := fmt.Fprint(out, plan.Format(d.isRoot))
				return err
			}
			if err := d.executor().Execute(ctx, plan); err != nil {
				return err
			}
			fmt.Fprintf(out, "mounted %s on %s\n", hostmount.Source(d.goos, ep.Host, export), mp)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "print the commands and files instead of running and writing them")
	f.BoolVar(&persist, "persist", false, "mount at every boot: a systemd mount unit on Linux, an autofs entry in /etc/auto_burrow on macOS (default off)")
	f.BoolVar(&hard, "hard", false, "make a hard mount, which waits for an unreachable VM forever, instead of a soft mount that fails operations after a short timeout")
	f.IntVar(&port, "port", 0, "server TCP port, replacing the port of TARGET (default 2049)")
	f.StringVar(&export, "export", "", "exported path to mount (default: the first path the server's EXPORT list returns)")
	return cmd
}
