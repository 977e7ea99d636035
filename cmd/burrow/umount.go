package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burrow-nfs/burrow/internal/discover"
	"github.com/burrow-nfs/burrow/internal/hostmount"
)

// umountPoint returns the mount point that arg names: a path or drive
// letter as given, or the default mount point of a TARGET.
func umountPoint(d hostDeps, arg string) (string, error) {
	looksLikePath := strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") || strings.HasPrefix(arg, "~")
	if d.goos == hostmount.Windows {
		looksLikePath = len(arg) == 2 && arg[1] == ':'
	}
	if looksLikePath {
		return mountPointFor(d, arg, "")
	}
	t, err := discover.Parse(arg)
	if err != nil {
		return "", fmt.Errorf("%q is neither a mount point nor a target: %w", arg, err)
	}
	return mountPointFor(d, "", t.Name)
}

func newUmountCmd() *cobra.Command { return newUmountCmdWith(defaultHostDeps) }

func newUmountCmdWith(deps func() hostDeps) *cobra.Command {
	var dryRun, persist bool
	cmd := &cobra.Command{
		Use:   "umount MOUNTPOINT|TARGET",
		Short: "Unmount a burrow mount from this host",
		Long: `Unmount a directory mounted by "burrow mount".

The argument is the mount point (a path, or a drive letter on Windows) or
the TARGET it was mounted from, which names the default mount point
~/burrow/NAME. Unmounting runs umount on Linux and diskutil unmount on
macOS, through sudo when not run as root, and umount.exe without elevation
on Windows.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := deps()
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			mp, err := umountPoint(d, args[0])
			if err != nil {
				return err
			}
			plan, err := hostmount.UnmountPlan(d.planOptions(), mp, persist)
			if err != nil {
				return err
			}
			if dryRun {
				_, err := fmt.Fprint(cmd.OutOrStdout(), plan.Format(d.isRoot))
				return err
			}
			if err := d.executor().Execute(ctx, plan); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "unmounted", mp)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "print the commands instead of running them")
	f.BoolVar(&persist, "persist", false, "also remove the boot-time mount that mount --persist installed (default off)")
	return cmd
}
