package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burrow-nfs/burrow/internal/status"
)

// statusTimeout bounds connecting to the status socket and reading the
// snapshot.
const statusTimeout = 5 * time.Second

type statusOptions struct {
	socket string
	port   int
	json   bool
}

func newStatusCmd() *cobra.Command {
	return newStatusCmdWith(func() []string { return status.Dirs(os.Getenv, os.Getuid()) })
}

// newStatusCmdWith returns the status command that looks for sockets in
// the directories that dirs returns.
func newStatusCmdWith(dirs func() []string) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "Show the clients and call counts of a running burrow serve",
		Long: `Show the state of a "burrow serve" that runs as the same user on this
machine: its export, listen address, uptime, connected clients, and calls
and RPC errors per procedure.

burrow serve publishes its state on a unix socket of mode 0600 named
<port>.sock in $XDG_RUNTIME_DIR/burrow, or in /tmp/burrow-<uid> when
XDG_RUNTIME_DIR is not set. Without --socket or --port, status uses the
only socket it finds in those directories.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := resolveStatusSocket(o, dirs())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, cancel := context.WithTimeout(ctx, statusTimeout)
			defer cancel()
			snap, err := status.Fetch(ctx, path)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.json {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(snap)
			}
			return status.WriteSummary(out, snap, time.Now())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.socket, "socket", "", "status socket to read (default: the socket found in $XDG_RUNTIME_DIR/burrow or /tmp/burrow-<uid>)")
	f.IntVar(&o.port, "port", 0, "read the socket of the server that listens on this TCP port (default 0: the only socket found)")
	f.BoolVar(&o.json, "json", false, "print the snapshot as indented JSON instead of a summary")
	return cmd
}

// resolveStatusSocket picks the socket to read: --socket as given, the
// <port>.sock of --port in the first directory that has it, or the only
// socket in dirs.
func resolveStatusSocket(o statusOptions, dirs []string) (string, error) {
	if o.socket != "" {
		return o.socket, nil
	}
	where := strings.Join(dirs, " or ")
	if o.port != 0 {
		for _, dir := range dirs {
			p := filepath.Join(dir, strconv.Itoa(o.port)+".sock")
			if _, err := os.Lstat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("no status socket for port %d in %s: is burrow serve running on that port as this user?", o.port, where)
	}
	found, err := status.FindSockets(dirs)
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no status socket found in %s: is burrow serve running as this user? Pass --socket PATH if it runs with another XDG_RUNTIME_DIR", where)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%d status sockets found (%s): pass --port PORT or --socket PATH to pick one", len(found), strings.Join(found, ", "))
}
