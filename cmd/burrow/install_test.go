package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

const testExe = "/opt/burrow/bin/burrow"

// fakeInstall is an installEnv on temporary paths whose runner records
// commands instead of running them.
type fakeInstall struct {
	home      string
	systemDir string
	env       map[string]string
	euid      int
	ran       []string
	failOn    string // a command line that fails when run
}

func newFakeInstall(t *testing.T) *fakeInstall {
	t.Helper()
	root := t.TempDir()
	return &fakeInstall{
		home:      filepath.Join(root, "home", "dev"),
		systemDir: filepath.Join(root, "etc", "systemd", "system"),
		env:       map[string]string{},
		euid:      1000,
	}
}

func (f *fakeInstall) installEnv() installEnv {
	return installEnv{
		executable: func() (string, error) { return testExe, nil },
		currentUser: func() (*user.User, error) {
			if f.euid == 0 {
				return &user.User{Username: "root", Uid: "0", HomeDir: "/root"}, nil
			}
			return &user.User{Username: "dev", Uid: "1000", HomeDir: f.home}, nil
		},
		lookupUser: func(name string) (*user.User, error) {
			if name == "dev" || name == "root" {
				return &user.User{Username: name}, nil
			}
			return nil, user.UnknownUserError(name)
		},
		getenv:        func(k string) string { return f.env[k] },
		geteuid:       func() int { return f.euid },
		systemUnitDir: f.systemDir,
		run: func(_ context.Context, name string, args ...string) error {
			line := commandLine(name, args)
			f.ran = append(f.ran, line)
			if line == f.failOn {
				return fmt.Errorf("%s failed: exit status 1", line)
			}
			return nil
		},
	}
}

func (f *fakeInstall) install(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newInstallCmdWith(f.installEnv)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func (f *fakeInstall) uninstall(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newUninstallCmdWith(f.installEnv)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func assertCommands(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nexpected:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func readUnit(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading unit: %v", err)
	}
	return string(b)
}

func TestInstallUserUnit(t *testing.T) {
	f := newFakeInstall(t)
	dir := t.TempDir()
	out, err := f.install(t, dir, "--", "--listen", ":2050", "--read-only")
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}

	unitPath := filepath.Join(f.home, ".config", "systemd", "user", "burrow.service")
	want := `# Written by "burrow install"; remove it with "burrow uninstall".
[Unit]
Description=burrow NFSv3 server for ` + dir + `

[Service]
Type=simple
ExecStart=/opt/burrow/bin/burrow serve --listen :2050 --read-only ` + dir + `
Restart=on-failure
RestartSec=2s

[Install]
WantedBy=default.target
`
	if got := readUnit(t, unitPath); got != want {
		t.Errorf("unit:\n%s\nexpected:\n%s", got, want)
	}
	assertCommands(t, f.ran,
		"systemctl --user daemon-reload",
		"systemctl --user enable --now burrow.service",
		"loginctl enable-linger dev",
	)
	if !strings.Contains(out, "wrote "+unitPath) {
		t.Errorf("output does not name the written unit:\n%s", out)
	}
}

func TestInstallUserUnitXDGConfigHome(t *testing.T) {
	f := newFakeInstall(t)
	cfg := filepath.Join(t.TempDir(), "cfg")
	f.env["XDG_CONFIG_HOME"] = cfg
	if out, err := f.install(t, t.TempDir()); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(cfg, "systemd", "user", "burrow.service")); err != nil {
		t.Errorf("unit not under XDG_CONFIG_HOME: %v", err)
	}
}

func TestInstallReplacingRestarts(t *testing.T) {
	f := newFakeInstall(t)
	dir := t.TempDir()
	if out, err := f.install(t, dir); err != nil {
		t.Fatalf("first install: %v\n%s", err, out)
	}
	f.ran = nil
	if out, err := f.install(t, dir, "--", "--read-only"); err != nil {
		t.Fatalf("second install: %v\n%s", err, out)
	}
	assertCommands(t, f.ran,
		"systemctl --user daemon-reload",
		"systemctl --user enable --now burrow.service",
		"systemctl --user restart burrow.service",
		"loginctl enable-linger dev",
	)
}

func TestInstallSystemUnit(t *testing.T) {
	f := newFakeInstall(t)
	f.euid = 0
	f.env["SUDO_USER"] = "dev"
	dir := t.TempDir()
	out, err := f.install(t, "--system", "--name", "burrow-work", dir)
	if err != nil {
		t.Fatalf("install --system: %v\n%s", err, out)
	}
	want := `# Written by "burrow install"; remove it with "burrow uninstall".
[Unit]
Description=burrow NFSv3 server for ` + dir + `
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=/opt/burrow/bin/burrow serve ` + dir + `
User=dev
AmbientCapabilities=CAP_NET_BIND_SERVICE
Restart=on-failure
RestartSec=2s

[Install]
WantedBy=multi-user.target
`
	if got := readUnit(t, filepath.Join(f.systemDir, "burrow-work.service")); got != want {
		t.Errorf("unit:\n%s\nexpected:\n%s", got, want)
	}
	assertCommands(t, f.ran,
		"systemctl daemon-reload",
		"systemctl enable --now burrow-work.service",
	)
}

func TestInstallSystemUnitAsRoot(t *testing.T) {
	f := newFakeInstall(t)
	f.euid = 0
	dir := t.TempDir()
	if out, err := f.install(t, "--system", "--service-user", "root", dir); err != nil {
		t.Fatalf("install --system: %v\n%s", err, out)
	}
	unit := readUnit(t, filepath.Join(f.systemDir, "burrow.service"))
	if !strings.Contains(unit, "\nUser=root\n") {
		t.Errorf("unit has no User=root line:\n%s", unit)
	}
	if strings.Contains(unit, "AmbientCapabilities") {
		t.Errorf("root unit grants a capability root already has:\n%s", unit)
	}
}

func TestInstallSystemNeedsRoot(t *testing.T) {
	f := newFakeInstall(t)
	_, err := f.install(t, "--system", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "needs root") {
		t.Errorf("install --system as uid 1000: error %v, expected a needs-root error", err)
	}
	if len(f.ran) != 0 {
		t.Errorf("commands ran after the root check failed: %v", f.ran)
	}
	if _, err := os.Stat(f.systemDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("system unit directory was created: %v", err)
	}
}

func TestInstallUnknownServiceUser(t *testing.T) {
	f := newFakeInstall(t)
	f.euid = 0
	_, err := f.install(t, "--system", "--service-user", "nobody-here", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "nobody-here") {
		t.Errorf("unknown service user: error %v, expected one naming the user", err)
	}
}

func TestInstallUserUnitUnderSudo(t *testing.T) {
	f := newFakeInstall(t)
	f.euid = 0
	f.env["SUDO_USER"] = "dev"
	_, err := f.install(t, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "--system") {
		t.Errorf("user install under sudo: error %v, expected advice to use --system", err)
	}
}

func TestInstallDryRun(t *testing.T) {
	f := newFakeInstall(t)
	dir := t.TempDir()
	out, err := f.install(t, "--dry-run", dir)
	if err != nil {
		t.Fatalf("install --dry-run: %v", err)
	}
	unitPath := filepath.Join(f.home, ".config", "systemd", "user", "burrow.service")
	want := "# " + unitPath + ` would contain:
# Written by "burrow install"; remove it with "burrow uninstall".
[Unit]
Description=burrow NFSv3 server for ` + dir + `

[Service]
Type=simple
ExecStart=/opt/burrow/bin/burrow serve ` + dir + `
Restart=on-failure
RestartSec=2s

[Install]
WantedBy=default.target

# commands:
systemctl --user daemon-reload
systemctl --user enable --now burrow.service
loginctl enable-linger dev
`
	if out != want {
		t.Errorf("dry-run output:\n%s\nexpected:\n%s", out, want)
	}
	if len(f.ran) != 0 {
		t.Errorf("dry run ran commands: %v", f.ran)
	}
	if _, err := os.Stat(unitPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dry run wrote the unit: %v", err)
	}
}

func TestInstallQuotesExecArguments(t *testing.T) {
	f := newFakeInstall(t)
	dir := filepath.Join(t.TempDir(), `my "100%" $HOME dir`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := f.install(t, dir); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	unit := readUnit(t, filepath.Join(f.home, ".config", "systemd", "user", "burrow.service"))
	parent := filepath.Dir(dir)
	wantExec := `ExecStart=/opt/burrow/bin/burrow serve "` + parent + `/my \"100%%\" $$HOME dir"` + "\n"
	if !strings.Contains(unit, wantExec) {
		t.Errorf("unit has no line %q:\n%s", wantExec, unit)
	}
	wantDesc := "Description=burrow NFSv3 server for " + parent + `/my "100%%" $HOME dir` + "\n"
	if !strings.Contains(unit, wantDesc) {
		t.Errorf("unit has no line %q:\n%s", wantDesc, unit)
	}
}

func TestInstallRejectsBadServeFlags(t *testing.T) {
	f := newFakeInstall(t)
	_, err := f.install(t, t.TempDir(), "--", "--no-such-flag")
	if err == nil || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("unknown serve flag: error %v, expected one naming the flag", err)
	}
	_, err = f.install(t, t.TempDir(), "--", "/other/dir")
	if err == nil || !strings.Contains(err.Error(), "/other/dir") {
		t.Errorf("DIR after --: error %v, expected one naming the argument", err)
	}
	if len(f.ran) != 0 {
		t.Errorf("commands ran for invalid flags: %v", f.ran)
	}
}

func TestInstallArgumentCount(t *testing.T) {
	f := newFakeInstall(t)
	if _, err := f.install(t); err == nil {
		t.Error("install without DIR succeeded")
	}
	if _, err := f.install(t, t.TempDir(), t.TempDir()); err == nil {
		t.Error("install with two directories succeeded")
	}
}

func TestInstallRejectsMissingDir(t *testing.T) {
	f := newFakeInstall(t)
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := f.install(t, missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing DIR: error %v, expected one naming %s", err, missing)
	}
}

func TestInstallRejectsGoRunBinary(t *testing.T) {
	f := newFakeInstall(t)
	env := f.installEnv()
	env.executable = func() (string, error) { return "/tmp/go-build123/b001/exe/burrow", nil }
	cmd := newInstallCmdWith(func() installEnv { return env })
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetArgs([]string{t.TempDir()})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "go run") {
		t.Errorf("go run binary: error %v, expected a go run error", err)
	}
}

func TestInstallInvalidName(t *testing.T) {
	f := newFakeInstall(t)
	_, err := f.install(t, "--name", "../evil", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "invalid --name") {
		t.Errorf("name with a slash: error %v, expected invalid --name", err)
	}
}

func TestInstallUserSystemctlFailureHint(t *testing.T) {
	f := newFakeInstall(t)
	f.failOn = "systemctl --user daemon-reload"
	_, err := f.install(t, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "log in as that user directly") {
		t.Errorf("systemctl --user failure: error %v, expected the session hint", err)
	}
	assertCommands(t, f.ran, "systemctl --user daemon-reload")
}

func TestUninstallUserUnit(t *testing.T) {
	f := newFakeInstall(t)
	if out, err := f.install(t, t.TempDir()); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	f.ran = nil
	out, err := f.uninstall(t)
	if err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	assertCommands(t, f.ran,
		"systemctl --user disable --now burrow.service",
		"systemctl --user daemon-reload",
	)
	unitPath := filepath.Join(f.home, ".config", "systemd", "user", "burrow.service")
	if _, err := os.Stat(unitPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unit still exists after uninstall: %v", err)
	}
	if !strings.Contains(out, "loginctl disable-linger dev") {
		t.Errorf("output does not say how to disable lingering:\n%s", out)
	}
}

func TestUninstallDisableLinger(t *testing.T) {
	f := newFakeInstall(t)
	if out, err := f.install(t, t.TempDir()); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	f.ran = nil
	if out, err := f.uninstall(t, "--disable-linger"); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	assertCommands(t, f.ran,
		"systemctl --user disable --now burrow.service",
		"systemctl --user daemon-reload",
		"loginctl disable-linger dev",
	)
}

func TestUninstallSystemUnit(t *testing.T) {
	f := newFakeInstall(t)
	f.euid = 0
	f.env["SUDO_USER"] = "dev"
	if out, err := f.install(t, "--system", t.TempDir()); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	f.ran = nil
	if out, err := f.uninstall(t, "--system"); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	assertCommands(t, f.ran,
		"systemctl disable --now burrow.service",
		"systemctl daemon-reload",
	)
	if _, err := os.Stat(filepath.Join(f.systemDir, "burrow.service")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("system unit still exists: %v", err)
	}
}

func TestUninstallDryRun(t *testing.T) {
	f := newFakeInstall(t)
	if out, err := f.install(t, t.TempDir()); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	f.ran = nil
	out, err := f.uninstall(t, "--dry-run")
	if err != nil {
		t.Fatalf("uninstall --dry-run: %v", err)
	}
	unitPath := filepath.Join(f.home, ".config", "systemd", "user", "burrow.service")
	want := "# commands:\nsystemctl --user disable --now burrow.service\nrm " + unitPath + "\nsystemctl --user daemon-reload\n"
	if out != want {
		t.Errorf("dry-run output:\n%s\nexpected:\n%s", out, want)
	}
	if len(f.ran) != 0 {
		t.Errorf("dry run ran commands: %v", f.ran)
	}
	if _, err := os.Stat(unitPath); err != nil {
		t.Errorf("dry run removed the unit: %v", err)
	}
}

func TestUninstallWithoutUnit(t *testing.T) {
	f := newFakeInstall(t)
	_, err := f.uninstall(t)
	if err == nil || !strings.Contains(err.Error(), "nothing to uninstall") {
		t.Errorf("uninstall without a unit: error %v, expected nothing to uninstall", err)
	}
	if len(f.ran) != 0 {
		t.Errorf("commands ran without a unit: %v", f.ran)
	}
}

func TestQuoteExecArg(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/usr/bin/burrow", "/usr/bin/burrow"},
		{":2049", ":2049"},
		{"", `""`},
		{"a b", `"a b"`},
		{`back\slash`, `"back\\slash"`},
		{"50%", "50%%"},
		{"$USER", "$$USER"},
		{";", `";"`},
	}
	for _, c := range cases {
		got, err := quoteExecArg(c.in)
		if err != nil || got != c.want {
			t.Errorf("quoteExecArg(%q) = %q, %v; expected %q", c.in, got, err, c.want)
		}
	}
	if _, err := quoteExecArg("line\nbreak"); err == nil {
		t.Error("quoteExecArg accepted a newline")
	}
}
