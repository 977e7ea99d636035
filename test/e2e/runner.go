package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// defaultTimeout bounds a case that sets no timeout of its own.
const defaultTimeout = 2 * time.Minute

// testCase is one named case of the suite.
type testCase struct {
	name    string
	timeout time.Duration
	run     func(t *T)
}

// caseResult is the outcome of one case.
type caseResult struct {
	failures []string
	skip     string
	duration time.Duration
}

// stopCase is the panic value that ends a case early after Fatalf or Skipf.
type stopCase struct{}

// T is the state of one running case. Its methods mirror testing.T.
type T struct {
	cfg  *config
	name string
	// dir is the case's own fresh directory under -dir.
	dir string
	// rel is dir relative to -dir, so that the same entry can be found
	// under -export.
	rel string
	// ctx is cancelled when the case times out, which kills its commands.
	ctx context.Context

	mu       sync.Mutex
	failures []string
	skip     string
	cleanups []func()
}

// Errorf records a failure and lets the case go on.
func (t *T) Errorf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures = append(t.failures, fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the case.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	panic(stopCase{})
}

// Skipf ends the case and reports it as skipped, unless it already failed.
func (t *T) Skipf(format string, args ...any) {
	t.mu.Lock()
	t.skip = fmt.Sprintf(format, args...)
	t.mu.Unlock()
	panic(stopCase{})
}

// Check records a failure of the named step when err is not nil, and
// reports whether the step succeeded.
func (t *T) Check(step string, err error) bool {
	if err != nil {
		t.Errorf("%s: %v", step, err)
		return false
	}
	return true
}

// Must ends the case when err is not nil, because later steps depend on
// the named step.
func (t *T) Must(step string, err error) {
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// Cleanup registers f to run after the case, in reverse order.
func (t *T) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// Path returns a path inside the case directory on -dir.
func (t *T) Path(elem ...string) string {
	return filepath.Join(append([]string{t.dir}, elem...)...)
}

// ExportPath returns the path under -export of the same entry as
// t.Path(elem...). It skips the case when -export was not given.
func (t *T) ExportPath(elem ...string) string {
	if t.cfg.export == "" {
		t.Skipf("needs -export to look at the server's file system")
	}
	return filepath.Join(append([]string{t.cfg.export, t.rel}, elem...)...)
}

// RequireRoot skips the case unless the suite runs as root.
func (t *T) RequireRoot() {
	if os.Geteuid() != 0 {
		t.Skipf("needs root, and the suite runs as uid %d", os.Geteuid())
	}
}

func (t *T) failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.failures) > 0
}

// runCase runs one case in a fresh directory and checks the kernel log
// for NFS client errors that appeared while it ran.
func runCase(cfg *config, c testCase, klog *kernelLog) caseResult {
	rel := strings.ReplaceAll(c.name, "/", "-")
	timeout := c.timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	t := &T{cfg: cfg, name: c.name, dir: filepath.Join(cfg.dir, rel), rel: rel, ctx: ctx}
	start := time.Now()

	if err := os.RemoveAll(t.dir); err != nil {
		return caseResult{failures: []string{fmt.Sprintf("remove leftover case directory: %v", err)}}
	}
	// Mode 0755 so that cases which run commands as another user can reach
	// their files.
	if err := os.Mkdir(t.dir, 0o755); err != nil {
		return caseResult{failures: []string{fmt.Sprintf("create case directory: %v", err)}}
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(stopCase); !ok {
					t.Errorf("panic: %v\n%s", v, debug.Stack())
				}
			}
		}()
		c.run(t)
	}()

	timedOut := false
	select {
	case <-done:
	case <-ctx.Done():
		// The case goroutine may be stuck in a system call on a hung mount,
		// so it is left behind and the suite goes on.
		timedOut = true
		t.Errorf("timed out after %v", timeout)
	}

	if !timedOut {
		t.mu.Lock()
		cleanups := t.cleanups
		t.mu.Unlock()
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		t.Check("cleanup", removeCaseDir(t.dir))
	}

	if klog != nil {
		lines, err := klog.newLines()
		if err != nil {
			t.Errorf("kernel log: %v", err)
		}
		for _, line := range nfsErrorLines(lines) {
			t.Errorf("kernel log: %s", line)
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	res := caseResult{failures: t.failures, duration: time.Since(start)}
	if len(t.failures) == 0 {
		res.skip = t.skip
	}
	return res
}

// removeCaseDir removes a case directory. It retries for a few seconds,
// because the NFS client removes the .nfsXXXX file of an unlinked open
// file only after the last close, without waiting for the server.
func removeCaseDir(dir string) error {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return err
}
