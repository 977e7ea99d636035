// Command burrow-e2e is the end-to-end conformance suite of burrow.
//
// It runs file system cases against a directory: a burrow mount, a mount
// of the Linux kernel NFS server (knfsd) or a plain local directory, so
// that the differences between the three are visible. Each case works in
// its own fresh subdirectory of -dir and removes it at the end.
//
// Output is one line per case, PASS, FAIL or SKIP, and a last line with
// the totals. The exit status is 1 if any case failed.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// config contains the command-line settings shared by every case.
type config struct {
	dir        string
	export     string
	server     string
	restartCmd string
	nfsAddr    string
	mountAddr  string
	extraDirs  []string
	goSource   string
	run        *regexp.Regexp
	scale      float64
}

// isNFS reports whether -dir is an NFS mount, as opposed to a local directory.
func (c *config) isNFS() bool { return c.server != "local" }

func main() {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		os.Exit(runHelper(os.Args[2:]))
	}

	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "burrow-e2e:", err)
		os.Exit(2)
	}

	// Cases create files with exact modes, so the umask must not mask bits.
	unix.Umask(0)

	os.Exit(runSuite(cfg, allCases()))
}

func parseFlags() (*config, error) {
	cfg := &config{}
	var runPattern, extraDirs string
	flag.StringVar(&cfg.dir, "dir", "", "directory under test: the NFS mount point, or a local directory with -server local (required)")
	flag.StringVar(&cfg.export, "export", "", "the exported directory on the server's file system, as seen from this machine (empty: cases that need it skip)")
	flag.StringVar(&cfg.server, "server", "burrow", "what serves -dir: burrow (owner identity mode), burrow-passthrough (passthrough identity mode), knfsd or local")
	flag.StringVar(&cfg.restartCmd, "restart-cmd", "", "shell command that stops and restarts the server (empty: the restart case skips)")
	flag.StringVar(&cfg.nfsAddr, "nfs-addr", "", "host:port of the NFS server for protocol-level cases (empty: those cases skip)")
	flag.StringVar(&cfg.mountAddr, "mount-addr", "", "host:port of the server's MOUNT service for protocol-level cases (empty: the -nfs-addr port)")
	flag.StringVar(&extraDirs, "extra-dirs", "", "comma-separated mounts of the same export with other options, such as a small rsize or nordirplus; the listing cases also run through each")
	flag.StringVar(&cfg.goSource, "go-source", "/usr/local/go/src/cmd/go", "source tree that the real-input cases copy onto -dir (only read)")
	flag.StringVar(&runPattern, "run", "", "run only the cases whose name matches this regular expression")
	flag.Float64Var(&cfg.scale, "scale", 1, "multiplier for the number of files in the listing cases")
	flag.Parse()

	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if cfg.dir == "" {
		return nil, fmt.Errorf("missing -dir")
	}
	switch cfg.server {
	case "burrow", "burrow-passthrough", "knfsd", "local":
	default:
		return nil, fmt.Errorf("invalid -server %q: use burrow, burrow-passthrough, knfsd or local", cfg.server)
	}
	if fi, err := os.Stat(cfg.dir); err != nil {
		return nil, fmt.Errorf("invalid -dir: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("invalid -dir %s: not a directory", cfg.dir)
	}
	if cfg.export != "" {
		if _, err := os.Stat(cfg.export); err != nil {
			return nil, fmt.Errorf("invalid -export: %w", err)
		}
	}
	if extraDirs != "" {
		for _, dir := range strings.Split(extraDirs, ",") {
			if fi, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("invalid -extra-dirs: %w", err)
			} else if !fi.IsDir() {
				return nil, fmt.Errorf("invalid -extra-dirs entry %s: not a directory", dir)
			}
			cfg.extraDirs = append(cfg.extraDirs, dir)
		}
	}
	if cfg.mountAddr == "" {
		cfg.mountAddr = cfg.nfsAddr
	}
	if cfg.scale <= 0 {
		return nil, fmt.Errorf("invalid -scale %v: must be positive", cfg.scale)
	}
	if runPattern != "" {
		re, err := regexp.Compile(runPattern)
		if err != nil {
			return nil, fmt.Errorf("invalid -run: %w", err)
		}
		cfg.run = re
	}
	return cfg, nil
}

// runSuite runs the selected cases in order and returns the exit status.
func runSuite(cfg *config, cases []testCase) int {
	var klog *kernelLog
	if cfg.isNFS() {
		var err error
		klog, err = openKernelLog()
		if err != nil {
			fmt.Fprintf(os.Stderr, "burrow-e2e: kernel log not checked: %v\n", err)
		}
	}

	var passed, failed, skipped int
	for _, c := range cases {
		if cfg.run != nil && !cfg.run.MatchString(c.name) {
			continue
		}
		res := runCase(cfg, c, klog)
		switch {
		case len(res.failures) > 0:
			failed++
			// Further failures and the lines of multi-line messages, such
			// as a command's standard error, are indented under the case.
			fmt.Printf("FAIL %s: %s\n", c.name, indentLines(res.failures[0]))
			for _, f := range res.failures[1:] {
				fmt.Printf("    %s\n", indentLines(f))
			}
		case res.skip != "":
			skipped++
			fmt.Printf("SKIP %s: %s\n", c.name, res.skip)
		default:
			passed++
			fmt.Printf("PASS %s (%s)\n", c.name, res.duration.Round(time.Millisecond))
		}
	}

	// Messages that the client logs after the last case, such as a late
	// "not responding", belong to no case, so they get a line of their own.
	if klog != nil && passed+failed+skipped > 0 {
		lines, err := klog.newLines()
		problems := nfsErrorLines(lines)
		if err != nil {
			problems = append(problems, fmt.Sprintf("read kernel log: %v", err))
		}
		if len(problems) > 0 {
			failed++
			fmt.Printf("FAIL kernel-log/after-cases: %s\n", strings.Join(problems, "\n    "))
		}
	}

	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 {
		return 1
	}
	return 0
}

// indentLines indents every line of s after the first.
func indentLines(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n        ")
}
