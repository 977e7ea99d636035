package hostmount

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// StepKind is the action of one plan step.
type StepKind int

const (
	StepMkdir  StepKind = iota // create Path and its parents as the user
	StepWrite                  // write Content to Path with Mode
	StepRemove                 // delete Path if it exists
	StepRun                    // run Command
)

// Step is one action of a Plan.
type Step struct {
	Kind       StepKind
	Path       string
	Content    string
	Mode       os.FileMode
	Privileged bool // StepWrite and StepRemove go through sudo unless root
	Command    Command
	// IgnoreError lets the plan go on when Command fails, as for an
	// unmount of something that may not be mounted.
	IgnoreError bool
}

// Plan is the list of steps that mount or unmount, printed by --dry-run
// and run by an Executor.
type Plan struct {
	GOOS  string
	Steps []Step
}

// PlanOptions are the host facts a plan depends on.
type PlanOptions struct {
	GOOS   string
	IsRoot bool
	Paths  Paths
	// ReadFile reads the current autofs maps on macOS. A missing file is
	// read as empty.
	ReadFile func(name string) ([]byte, error)
}

func (o PlanOptions) sudo(c Command) Command {
	if NeedsRoot(o.GOOS) {
		return WithSudo(c, o.IsRoot)
	}
	return c
}

func (o PlanOptions) readOrEmpty(name string) (string, error) {
	read := o.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	b, err := read(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// MountPlan returns the steps that mount s, or that install a persistent
// mount of s when persist is set.
func MountPlan(o PlanOptions, s Spec, persist bool) (Plan, error) {
	p := Plan{GOOS: o.GOOS}
	if o.GOOS != Windows {
		p.Steps = append(p.Steps, Step{Kind: StepMkdir, Path: s.MountPoint})
	}
	if !persist {
		cmd, err := MountCommand(o.GOOS, s)
		if err != nil {
			return Plan{}, err
		}
		p.Steps = append(p.Steps, Step{Kind: StepRun, Command: o.sudo(cmd)})
		return p, nil
	}

	switch o.GOOS {
	case Linux:
		name, text, err := SystemdUnit(s)
		if err != nil {
			return Plan{}, err
		}
		p.Steps = append(p.Steps,
			Step{Kind: StepWrite, Path: filepath.Join(o.Paths.SystemdDir, name), Content: text, Mode: 0o644, Privileged: true},
			Step{Kind: StepRun, Command: o.sudo(Command{"systemctl", "daemon-reload"})},
			Step{Kind: StepRun, Command: o.sudo(Command{"systemctl", "enable", "--now", name})},
		)
		return p, nil
	case Darwin:
		entry, err := AutoMapEntry(s)
		if err != nil {
			return Plan{}, err
		}
		mapText, err := o.readOrEmpty(o.Paths.AutoMap)
		if err != nil {
			return Plan{}, err
		}
		p.Steps = append(p.Steps, Step{Kind: StepWrite, Path: o.Paths.AutoMap, Content: AutoMapWith(mapText, entry), Mode: 0o644, Privileged: true})
		master, err := o.readOrEmpty(o.Paths.AutoMaster)
		if err != nil {
			return Plan{}, err
		}
		if newMaster, changed := AutoMasterWithBurrow(master, o.Paths); changed {
			p.Steps = append(p.Steps, Step{Kind: StepWrite, Path: o.Paths.AutoMaster, Content: newMaster, Mode: 0o644, Privileged: true})
		}
		p.Steps = append(p.Steps, Step{Kind: StepRun, Command: o.sudo(Command{"automount", "-cv"})})
		return p, nil
	case Windows:
		return Plan{}, errors.New("--persist is not supported on Windows yet: run burrow mount again after each login")
	}
	return Plan{}, fmt.Errorf("unsupported host OS %q", o.GOOS)
}

// UnmountPlan returns the steps that unmount mountPoint, or that remove its
// persistent mount when persist is set.
func UnmountPlan(o PlanOptions, mountPoint string, persist bool) (Plan, error) {
	p := Plan{GOOS: o.GOOS}
	unmount, err := UnmountCommand(o.GOOS, mountPoint)
	if err != nil {
		return Plan{}, err
	}
	if !persist {
		p.Steps = append(p.Steps, Step{Kind: StepRun, Command: o.sudo(unmount)})
		return p, nil
	}

	switch o.GOOS {
	case Linux:
		name := SystemdUnitName(mountPoint)
		p.Steps = append(p.Steps,
			Step{Kind: StepRun, Command: o.sudo(Command{"systemctl", "disable", "--now", name}), IgnoreError: true},
			Step{Kind: StepRemove, Path: filepath.Join(o.Paths.SystemdDir, name), Privileged: true},
			Step{Kind: StepRun, Command: o.sudo(Command{"systemctl", "daemon-reload"})},
		)
		return p, nil
	case Darwin:
		mapText, err := o.readOrEmpty(o.Paths.AutoMap)
		if err != nil {
			return Plan{}, err
		}
		newMap, removed := AutoMapWithout(mapText, mountPoint)
		if !removed {
			return Plan{}, fmt.Errorf("no persistent mount for %s in %s", mountPoint, o.Paths.AutoMap)
		}
		if AutoMapIsEmpty(newMap) {
			p.Steps = append(p.Steps, Step{Kind: StepRemove, Path: o.Paths.AutoMap, Privileged: true})
			master, err := o.readOrEmpty(o.Paths.AutoMaster)
			if err != nil {
				return Plan{}, err
			}
			if newMaster, changed := AutoMasterWithoutBurrow(master, o.Paths); changed {
				p.Steps = append(p.Steps, Step{Kind: StepWrite, Path: o.Paths.AutoMaster, Content: newMaster, Mode: 0o644, Privileged: true})
			}
		} else {
			p.Steps = append(p.Steps, Step{Kind: StepWrite, Path: o.Paths.AutoMap, Content: newMap, Mode: 0o644, Privileged: true})
		}
		p.Steps = append(p.Steps,
			Step{Kind: StepRun, Command: o.sudo(Command{"automount", "-cv"})},
			Step{Kind: StepRun, Command: o.sudo(unmount), IgnoreError: true},
		)
		return p, nil
	case Windows:
		return Plan{}, errors.New("--persist is not supported on Windows yet")
	}
	return Plan{}, fmt.Errorf("unsupported host OS %q", o.GOOS)
}

// Format returns the plan as the shell commands that would carry it out:
// POSIX shell for Linux and macOS, cmd.exe for Windows.
func (p Plan) Format(isRoot bool) string {
	var b strings.Builder
	for _, st := range p.Steps {
		switch st.Kind {
		case StepMkdir:
			fmt.Fprintf(&b, "mkdir -p %s\n", shellQuote(st.Path))
		case StepWrite:
			writer := "cat > " + shellQuote(st.Path)
			if st.Privileged && !isRoot {
				writer = "sudo tee " + shellQuote(st.Path) + " > /dev/null"
			}
			fmt.Fprintf(&b, "%s <<'EOF'\n%sEOF\n", writer, st.Content)
		case StepRemove:
			cmd := Command{"rm", "-f", st.Path}
			if st.Privileged {
				cmd = WithSudo(cmd, isRoot)
			}
			fmt.Fprintln(&b, cmd.String())
		case StepRun:
			line := st.Command.String()
			if p.GOOS == Windows {
				line = windowsCommandLine(st.Command)
			}
			if st.IgnoreError {
				line += " || true"
			}
			fmt.Fprintln(&b, line)
		}
	}
	return b.String()
}

// windowsCommandLine joins a command for cmd.exe, which takes backslashes
// literally and quotes with double quotes.
func windowsCommandLine(c Command) string {
	parts := make([]string, len(c))
	for i, arg := range c {
		if arg == "" || strings.ContainsAny(arg, " \t") {
			arg = `"` + arg + `"`
		}
		parts[i] = arg
	}
	return strings.Join(parts, " ")
}

// Executor carries out a Plan. Tests inject Run and the file functions.
type Executor struct {
	IsRoot bool
	// Run runs a command with the terminal attached, so sudo can ask for
	// a password.
	Run       func(ctx context.Context, c Command) error
	WriteFile func(name string, data []byte, perm os.FileMode) error
	MkdirAll  func(name string, perm os.FileMode) error
	Remove    func(name string) error
	// TempDir holds the staged copy of a privileged file before sudo
	// installs it. Empty means os.TempDir().
	TempDir string
}

// Execute runs the steps in order and stops at the first failure that is
// not marked IgnoreError.
func (x Executor) Execute(ctx context.Context, p Plan) error {
	for _, st := range p.Steps {
		if err := x.step(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

func (x Executor) step(ctx context.Context, st Step) error {
	switch st.Kind {
	case StepMkdir:
		if err := x.MkdirAll(st.Path, 0o755); err != nil {
			return fmt.Errorf("create mount point: %w", err)
		}
	case StepWrite:
		if !st.Privileged || x.IsRoot {
			return x.WriteFile(st.Path, []byte(st.Content), st.Mode)
		}
		// A fresh private directory keeps another local user from
		// replacing the staged file before sudo reads it.
		dir, err := os.MkdirTemp(x.TempDir, "burrow-")
		if err != nil {
			return fmt.Errorf("stage %s: %w", st.Path, err)
		}
		defer os.RemoveAll(dir)
		staged := filepath.Join(dir, filepath.Base(st.Path))
		if err := x.WriteFile(staged, []byte(st.Content), 0o600); err != nil {
			return fmt.Errorf("stage %s: %w", st.Path, err)
		}
		install := Command{"sudo", "install", "-m", fmt.Sprintf("%04o", st.Mode.Perm()), staged, st.Path}
		if err := x.Run(ctx, install); err != nil {
			return fmt.Errorf("install %s: %w", st.Path, err)
		}
	case StepRemove:
		if !st.Privileged || x.IsRoot {
			if err := x.Remove(st.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}
		if err := x.Run(ctx, Command{"sudo", "rm", "-f", st.Path}); err != nil {
			return fmt.Errorf("remove %s: %w", st.Path, err)
		}
	case StepRun:
		if err := x.Run(ctx, st.Command); err != nil && !st.IgnoreError {
			return fmt.Errorf("%s: %w", st.Command.String(), err)
		}
	}
	return nil
}
