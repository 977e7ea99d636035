// Package hostmount builds the host-side commands and files that mount a
// burrow export: the mount command for each host OS, the default mount
// point, and the entries that make a mount persistent (a systemd mount unit
// on Linux, an autofs direct map on macOS). It also parses the host's mount
// table and runs the checks of `burrow doctor`.
//
// Everything here takes the target OS as a parameter instead of reading
// runtime.GOOS, so tests cover all three hosts on any machine, and nothing
// runs a command except through an injected runner.
package hostmount

import (
	"fmt"
	"strconv"
	"strings"
)

// Host operating systems, spelled as GOOS spells them.
const (
	Darwin  = "darwin"
	Linux   = "linux"
	Windows = "windows"
)

// Spec describes one mount of a burrow export.
type Spec struct {
	Host       string // server address: IP address or host name
	Port       int    // TCP port that serves both NFS and MOUNT
	Export     string // exported path, such as "/home/vagrant/project"
	MountPoint string // absolute directory, or a drive letter such as "Z:" on Windows
	// Hard makes operations wait for an unreachable server forever instead
	// of failing after the soft-mount timeout.
	Hard bool
}

// Command is one program invocation, program name first.
type Command []string

// String returns the command as a POSIX shell line, quoting arguments that
// need it.
func (c Command) String() string {
	quoted := make([]string, len(c))
	for i, arg := range c {
		quoted[i] = shellQuote(arg)
	}
	return strings.Join(quoted, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// WithSudo prefixes c with sudo unless the caller is already root.
func WithSudo(c Command, isRoot bool) Command {
	if isRoot {
		return c
	}
	return append(Command{"sudo"}, c...)
}

// NeedsRoot reports whether mounting on goos needs root. Windows mounts as
// the user: an elevated mount.exe would create a drive letter that
// Explorer, running unelevated, does not show.
func NeedsRoot(goos string) bool { return goos != Windows }

// Soft-mount timing. An operation on an unreachable VM fails after roughly
// these many seconds instead of hanging (an estimate: the clients back off
// between retries). Linux and macOS count timeo in tenths of a second;
// Windows counts timeout in seconds.
const (
	linuxTimeo     = 50 // 5 s per try
	linuxRetrans   = 2  // about 30 s in all with linear backoff
	darwinTimeo    = 20 // 2 s per try
	darwinRetrans  = 3
	windowsTimeout = 5
	windowsRetry   = 3
)

// MountOptions returns the -o option string for goos.
func MountOptions(goos string, s Spec) (string, error) {
	port := strconv.Itoa(s.Port)
	switch goos {
	case Linux:
		// nolock keeps fcntl and flock locks on the host, because burrow
		// serves no NLM lock manager. The kernel treats it as
		// local_lock=all, but only nolock stops mount.nfs (nfs-utils 2.6)
		// from requiring rpc.statd.
		opts := []string{"vers=3", "proto=tcp", "port=" + port, "mountport=" + port, "mountproto=tcp", "nolock"}
		if s.Hard {
			opts = append(opts, "hard")
		} else {
			opts = append(opts, "soft", fmt.Sprintf("timeo=%d", linuxTimeo), fmt.Sprintf("retrans=%d", linuxRetrans))
		}
		return strings.Join(opts, ","), nil
	case Darwin:
		// locallocks keeps locks on the host (no NLM in burrow). nobrowse
		// keeps the mount out of Finder's sidebar and the Open and Save
		// dialogs, which otherwise stall on an unreachable VM. nfc sends
		// file names in Unicode NFC, the form Linux tools in the VM create.
		opts := []string{"vers=3", "tcp", "port=" + port, "mountport=" + port, "locallocks", "nobrowse", "nfc"}
		if s.Hard {
			opts = append(opts, "hard", "intr")
		} else {
			opts = append(opts, "soft", "intr", fmt.Sprintf("timeo=%d", darwinTimeo), fmt.Sprintf("retrans=%d", darwinRetrans))
		}
		return strings.Join(opts, ","), nil
	case Windows:
		// mount.exe has no port option. It asks the portmapper on port 111
		// of the VM for the NFS and MOUNT ports, so the VM must run
		// `burrow serve --portmap :111`.
		// NOTE: these options and the portmapper lookup have not been
		// tried against a real Windows Client for NFS.
		opts := []string{"anon", "nolock", "casesensitive=yes"}
		if s.Hard {
			opts = append(opts, "mtype=hard")
		} else {
			opts = append(opts, "mtype=soft", fmt.Sprintf("timeout=%d", windowsTimeout), fmt.Sprintf("retry=%d", windowsRetry))
		}
		return strings.Join(opts, ","), nil
	}
	return "", fmt.Errorf("unsupported host OS %q: burrow mount supports darwin, linux and windows", goos)
}

// Source returns the remote file system in the form the mount command of
// goos takes: HOST:/export, [IPv6]:/export, or \\HOST\export on Windows.
func Source(goos, host, export string) string {
	if goos == Windows {
		return `\\` + host + strings.ReplaceAll(export, "/", `\`)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + export
}

// MountCommand returns the command that mounts s on goos, without sudo.
func MountCommand(goos string, s Spec) (Command, error) {
	if err := validateSpec(goos, s); err != nil {
		return nil, err
	}
	opts, err := MountOptions(goos, s)
	if err != nil {
		return nil, err
	}
	src := Source(goos, s.Host, s.Export)
	switch goos {
	case Linux:
		return Command{"mount", "-t", "nfs", "-o", opts, src, s.MountPoint}, nil
	case Darwin:
		return Command{"mount_nfs", "-o", opts, src, s.MountPoint}, nil
	default:
		return Command{"mount.exe", "-o", opts, src, s.MountPoint}, nil
	}
}

// UnmountCommand returns the command that unmounts mountPoint on goos,
// without sudo.
func UnmountCommand(goos, mountPoint string) (Command, error) {
	switch goos {
	case Linux:
		return Command{"umount", mountPoint}, nil
	case Darwin:
		return Command{"diskutil", "unmount", mountPoint}, nil
	case Windows:
		return Command{"umount.exe", mountPoint}, nil
	}
	return nil, fmt.Errorf("unsupported host OS %q: burrow umount supports darwin, linux and windows", goos)
}

func validateSpec(goos string, s Spec) error {
	if s.Host == "" {
		return fmt.Errorf("missing server host")
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("invalid port %d: want 1 to 65535", s.Port)
	}
	if !strings.HasPrefix(s.Export, "/") {
		return fmt.Errorf("invalid export path %q: want an absolute path", s.Export)
	}
	if s.MountPoint == "" {
		return fmt.Errorf("missing mount point")
	}
	if goos == Windows && !isDriveLetter(s.MountPoint) {
		return fmt.Errorf("invalid Windows mount point %q: want a drive letter such as Z:", s.MountPoint)
	}
	return nil
}
