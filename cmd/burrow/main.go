// Command burrow serves a directory of a development VM over NFSv3 and
// mounts it on the host.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "burrow",
		Short: "Serve a VM's project directory to the host over NFSv3",
		Long: `burrow keeps project files on the VM's own filesystem and serves them to
the host. Run "burrow serve DIR" in the guest and mount it from the host.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(),
		newVersionCmd(),
		newMountCmd(),
		newUmountCmd(),
		newDoctorCmd(),
		newStatusCmd(),
		newInstallCmd(),
		newUninstallCmd(),
	)
	return root
}

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "burrow:", err)
		os.Exit(1)
	}
}
