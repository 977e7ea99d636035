package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// commandRunner runs one external command, such as systemctl, and returns
// an error that contains its output when it fails.
type commandRunner func(ctx context.Context, name string, args ...string) error

// installEnv is the set of lookups, paths and the command runner that
// install and uninstall use, so tests can use temporary paths and a fake
// runner instead of systemctl.
type installEnv struct {
	executable    func() (string, error)
	currentUser   func() (*user.User, error)
	lookupUser    func(name string) (*user.User, error)
	getenv        func(string) string
	geteuid       func() int
	systemUnitDir string // directory of system units
	run           commandRunner
}

func defaultInstallEnv() installEnv {
	return installEnv{
		executable:    os.Executable,
		currentUser:   user.Current,
		lookupUser:    user.Lookup,
		getenv:        os.Getenv,
		geteuid:       os.Geteuid,
		systemUnitDir: "/etc/systemd/system",
		run:           execRunner,
	}
}

// execRunner runs a command and returns its combined output in the error
// when it fails.
func execRunner(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg != "" {
			return fmt.Errorf("%s failed: %w: %s", commandLine(name, args), err, msg)
		}
		return fmt.Errorf("%s failed: %w", commandLine(name, args), err)
	}
	return nil
}

func commandLine(name string, args []string) string {
	return strings.Join(append([]string{name}, args...), " ")
}

// installOptions are the flags of "burrow install" and "burrow uninstall".
type installOptions struct {
	system        bool
	serviceUser   string
	name          string
	dryRun        bool
	disableLinger bool
}

// unitNamePattern admits the unit names that need no systemd escaping.
var unitNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (o installOptions) unitName() (string, error) {
	if !unitNamePattern.MatchString(o.name) {
		return "", fmt.Errorf("invalid --name %q: use letters, digits, '.', '_' and '-'", o.name)
	}
	return o.name + ".service", nil
}

func newInstallCmd() *cobra.Command   { return newInstallCmdWith(defaultInstallEnv) }
func newUninstallCmd() *cobra.Command { return newUninstallCmdWith(defaultInstallEnv) }

func newInstallCmdWith(env func() installEnv) *cobra.Command {
	var o installOptions
	cmd := &cobra.Command{
		Use:   "install [flags] DIR [-- SERVE-FLAGS...]",
		Short: "Install burrow serve DIR as a systemd service that starts with the VM",
		Long: `Install "burrow serve DIR" as a systemd service, so the export is served
from boot without a login.

By default this writes a user unit, ~/.config/systemd/user/burrow.service,
that runs as you. It then runs "systemctl --user daemon-reload",
"systemctl --user enable --now burrow.service" and
"loginctl enable-linger $USER"; lingering starts your user services at
boot instead of at your first login. Installing over an existing unit also
restarts the service, so new flags take effect.

With --system, run through sudo, it writes /etc/systemd/system/burrow.service
with User= set to the user who ran sudo, and grants the service
CAP_NET_BIND_SERVICE so it can bind ports below 1024, such as the
portmapper's port 111.

Flags after "--" are passed to burrow serve unchanged, for example:

  burrow install ~/project -- --listen :2049 --read-only

The unit runs the absolute path of this burrow binary and the absolute
path of DIR, so the binary must stay where it is.`,
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash == -1 {
				dash = len(args)
			}
			if dash != 1 {
				return fmt.Errorf("expected exactly one DIR before \"--\", got %d arguments", dash)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var serveArgs []string
			if dash := cmd.ArgsLenAtDash(); dash != -1 {
				serveArgs = args[dash:]
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runInstall(ctx, env(), cmd.OutOrStdout(), args[0], serveArgs, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.system, "system", false, "install a system unit in /etc/systemd/system instead of a user unit (needs root)")
	f.StringVar(&o.serviceUser, "service-user", "", "with --system, the user the service runs as (default: $SUDO_USER, or the current user)")
	f.StringVar(&o.name, "name", "burrow", "unit name without .service, to install several exports side by side")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the unit file and the commands instead of writing and running them")
	return cmd
}

func newUninstallCmdWith(env func() installEnv) *cobra.Command {
	var o installOptions
	cmd := &cobra.Command{
		Use:   "uninstall [flags]",
		Short: "Stop and remove the systemd service written by burrow install",
		Long: `Stop, disable and remove the unit that "burrow install" wrote, then run
"systemctl daemon-reload". Pass the same --system and --name as to install.

Lingering stays enabled, because other user services may rely on it;
--disable-linger also runs "loginctl disable-linger $USER".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runUninstall(ctx, env(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.system, "system", false, "remove the system unit in /etc/systemd/system instead of the user unit (needs root)")
	f.StringVar(&o.name, "name", "burrow", "unit name without .service, as given to install")
	f.BoolVar(&o.disableLinger, "disable-linger", false, "also disable lingering for the current user (user units only)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the commands instead of running them")
	return cmd
}

// servicePlan is the unit location, systemctl form and service user that
// install writes and uninstall removes.
type servicePlan struct {
	unitPath  string
	unit      string
	systemctl []string // "systemctl" and, for a user unit, "--user"
	unitName  string
	userName  string // user the service runs as
}

// userUnitDir returns the directory of user units:
// $XDG_CONFIG_HOME/systemd/user, or ~/.config/systemd/user.
func userUnitDir(env installEnv, u *user.User) string {
	if cfg := env.getenv("XDG_CONFIG_HOME"); filepath.IsAbs(cfg) {
		return filepath.Join(cfg, "systemd", "user")
	}
	return filepath.Join(u.HomeDir, ".config", "systemd", "user")
}

// planService works out the unit path, the user and the systemctl form
// for o.
func planService(env installEnv, o installOptions) (servicePlan, error) {
	name, err := o.unitName()
	if err != nil {
		return servicePlan{}, err
	}
	p := servicePlan{unitName: name}
	cur, err := env.currentUser()
	if err != nil {
		return servicePlan{}, fmt.Errorf("cannot look up the current user: %w", err)
	}

	if !o.system {
		if o.serviceUser != "" {
			return servicePlan{}, errors.New("--service-user needs --system: a user unit always runs as the user who installs it")
		}
		if sudoUser := env.getenv("SUDO_USER"); env.geteuid() == 0 && sudoUser != "" {
			return servicePlan{}, fmt.Errorf("burrow install runs under sudo, so a user unit would belong to root, not %s: run it without sudo, or pass --system", sudoUser)
		}
		p.unitPath = filepath.Join(userUnitDir(env, cur), name)
		p.systemctl = []string{"systemctl", "--user"}
		p.userName = cur.Username
		return p, nil
	}

	p.unitPath = filepath.Join(env.systemUnitDir, name)
	p.systemctl = []string{"systemctl"}
	p.userName = o.serviceUser
	if p.userName == "" {
		p.userName = env.getenv("SUDO_USER")
	}
	if p.userName == "" {
		p.userName = cur.Username
	}
	if _, err := env.lookupUser(p.userName); err != nil {
		return servicePlan{}, fmt.Errorf("unknown service user %q: %w", p.userName, err)
	}
	return p, nil
}

// resolveExecutable returns the absolute path of the running burrow, with
// symbolic links resolved. A binary built by "go run" lives in a temporary
// directory that is deleted, so it is rejected.
func resolveExecutable(env installEnv) (string, error) {
	exe, err := env.executable()
	if err != nil {
		return "", fmt.Errorf("cannot find the path of the burrow binary: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "", fmt.Errorf("the burrow binary %s is a temporary \"go run\" build: build or install burrow and run install from that binary", exe)
	}
	return exe, nil
}

// validateServeArgs parses args with the flags of burrow serve, so that a
// typing error fails now rather than when the service starts.
func validateServeArgs(args []string) error {
	serve := newServeCmd()
	serve.SetArgs(nil)
	if err := serve.ParseFlags(args); err != nil {
		return fmt.Errorf("invalid burrow serve flags after \"--\": %w", err)
	}
	if rest := serve.Flags().Args(); len(rest) > 0 {
		return fmt.Errorf("unexpected arguments %q after \"--\": pass DIR before \"--\" and only serve flags after it", rest)
	}
	return nil
}

func runInstall(ctx context.Context, env installEnv, out io.Writer, dir string, serveArgs []string, o installOptions) error {
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
	if err := validateServeArgs(serveArgs); err != nil {
		return err
	}
	exe, err := resolveExecutable(env)
	if err != nil {
		return err
	}
	p, err := planService(env, o)
	if err != nil {
		return err
	}
	if o.system && env.geteuid() != 0 && !o.dryRun {
		return fmt.Errorf("--system writes %s and needs root: run it with sudo", p.unitPath)
	}

	execArgs := append([]string{exe, "serve"}, serveArgs...)
	execArgs = append(execArgs, export)
	unit, err := renderUnit(export, execArgs, o.system, p.userName)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(p.unitPath)
	replacing := statErr == nil

	cmds := [][]string{
		append(append([]string{}, p.systemctl...), "daemon-reload"),
		append(append([]string{}, p.systemctl...), "enable", "--now", p.unitName),
	}
	if replacing {
		cmds = append(cmds, append(append([]string{}, p.systemctl...), "restart", p.unitName))
	}
	if !o.system {
		cmds = append(cmds, []string{"loginctl", "enable-linger", p.userName})
	}

	if o.dryRun {
		fmt.Fprintf(out, "# %s would contain:\n%s\n# commands:\n", p.unitPath, unit)
		for _, c := range cmds {
			fmt.Fprintln(out, strings.Join(c, " "))
		}
		return nil
	}

	if err := os.MkdirAll(filepath.Dir(p.unitPath), 0o755); err != nil {
		return fmt.Errorf("cannot create unit directory: %w", err)
	}
	if err := os.WriteFile(p.unitPath, []byte(unit), 0o644); err != nil {
		return fmt.Errorf("cannot write unit: %w", err)
	}
	fmt.Fprintf(out, "wrote %s\n", p.unitPath)
	if err := runAll(ctx, env, out, cmds, !o.system); err != nil {
		return err
	}
	fmt.Fprintf(out, "installed %s: check it with \"burrow status\" or \"%s status %s\"\n", p.unitName, strings.Join(p.systemctl, " "), p.unitName)
	return nil
}

func runUninstall(ctx context.Context, env installEnv, out io.Writer, o installOptions) error {
	if o.system && o.disableLinger {
		return errors.New("--disable-linger applies to user units only")
	}
	p, err := planService(env, o)
	if err != nil {
		return err
	}
	if o.system && env.geteuid() != 0 && !o.dryRun {
		return fmt.Errorf("--system removes %s and needs root: run it with sudo", p.unitPath)
	}
	if _, err := os.Stat(p.unitPath); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no unit at %s, so there is nothing to uninstall; pass the --system and --name given to install", p.unitPath)
	}

	stop := append(append([]string{}, p.systemctl...), "disable", "--now", p.unitName)
	reload := append(append([]string{}, p.systemctl...), "daemon-reload")
	var linger []string
	if o.disableLinger {
		linger = []string{"loginctl", "disable-linger", p.userName}
	}

	if o.dryRun {
		fmt.Fprintln(out, "# commands:")
		fmt.Fprintln(out, strings.Join(stop, " "))
		fmt.Fprintln(out, "rm "+p.unitPath)
		fmt.Fprintln(out, strings.Join(reload, " "))
		if linger != nil {
			fmt.Fprintln(out, strings.Join(linger, " "))
		}
		return nil
	}

	if err := runAll(ctx, env, out, [][]string{stop}, !o.system); err != nil {
		return err
	}
	if err := os.Remove(p.unitPath); err != nil {
		return fmt.Errorf("cannot remove unit: %w", err)
	}
	fmt.Fprintf(out, "removed %s\n", p.unitPath)
	rest := [][]string{reload}
	if linger != nil {
		rest = append(rest, linger)
	}
	if err := runAll(ctx, env, out, rest, !o.system); err != nil {
		return err
	}
	if !o.system && !o.disableLinger {
		fmt.Fprintf(out, "lingering stays enabled for %s; run \"loginctl disable-linger %s\" if no other user service needs it\n", p.userName, p.userName)
	}
	return nil
}

// runAll runs cmds in order and stops at the first failure. A failed
// "systemctl --user" usually means there is no user session bus, so the
// error explains how to get one.
func runAll(ctx context.Context, env installEnv, out io.Writer, cmds [][]string, userUnit bool) error {
	for _, c := range cmds {
		fmt.Fprintf(out, "running: %s\n", strings.Join(c, " "))
		if err := env.run(ctx, c[0], c[1:]...); err != nil {
			if userUnit && c[0] == "systemctl" {
				return fmt.Errorf("%w; systemctl --user needs the user's own session: log in as that user directly (ssh or console, not su or sudo), or install with --system", err)
			}
			if c[0] == "loginctl" {
				return fmt.Errorf("%w; if the system policy denies it, run \"sudo %s\"", err, strings.Join(c, " "))
			}
			return err
		}
	}
	return nil
}

// renderUnit returns the unit file that runs execArgs for export. A system
// unit sets User= and grants CAP_NET_BIND_SERVICE unless it runs as root,
// which has the capability anyway.
func renderUnit(export string, execArgs []string, system bool, userName string) (string, error) {
	desc, err := escapeSpecifiers(export)
	if err != nil {
		return "", err
	}
	quoted := make([]string, len(execArgs))
	for i, a := range execArgs {
		q, err := quoteExecArg(a)
		if err != nil {
			return "", err
		}
		quoted[i] = q
	}

	var b bytes.Buffer
	b.WriteString("# Written by \"burrow install\"; remove it with \"burrow uninstall\".\n")
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=burrow NFSv3 server for %s\n", desc)
	if system {
		// A user manager cannot order against system targets, so only the
		// system unit waits for the network.
		b.WriteString("Wants=network-online.target\n")
		b.WriteString("After=network-online.target\n")
	}
	b.WriteString("\n[Service]\n")
	b.WriteString("Type=simple\n")
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(quoted, " "))
	if system {
		fmt.Fprintf(&b, "User=%s\n", userName)
		if userName != "root" {
			b.WriteString("AmbientCapabilities=CAP_NET_BIND_SERVICE\n")
		}
	}
	b.WriteString("Restart=on-failure\n")
	b.WriteString("RestartSec=2s\n")
	b.WriteString("\n[Install]\n")
	if system {
		b.WriteString("WantedBy=multi-user.target\n")
	} else {
		b.WriteString("WantedBy=default.target\n")
	}
	return b.String(), nil
}

// escapeSpecifiers doubles '%', which systemd expands as a specifier in
// most settings, and rejects control characters, which no unit line may
// contain.
func escapeSpecifiers(s string) (string, error) {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("invalid value %q for a systemd unit: it contains a control character", s)
		}
	}
	return strings.ReplaceAll(s, "%", "%%"), nil
}

// quoteExecArg writes one ExecStart argument so that systemd passes it
// unchanged: '%' becomes "%%" and '$' becomes "$$", so no specifier or
// environment variable is expanded, and an argument with white space,
// quotes or backslashes is put in double quotes with '"' and '\' escaped.
// The rules are those of systemd.service(5), "Command lines".
func quoteExecArg(a string) (string, error) {
	s, err := escapeSpecifiers(a)
	if err != nil {
		return "", err
	}
	s = strings.ReplaceAll(s, "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s, nil
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`, nil
}
