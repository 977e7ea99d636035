// Command fsx exercises one file with a seeded random mix of writes,
// reads, truncations, fsyncs and close-and-reopen cycles, and compares
// every read with an in-memory model of what the file must contain. It is
// meant to run on an NFS mount while the server is restarted or faulted.
//
// Usage:
//
//	fsx [-seed N] [-ops N] [-duration D] [-max-size BYTES] [-max-io BYTES] FILE
//
// The same seed replays the same operations. fsx exits with status 0 when
// every operation succeeded and every read matched, 1 on the first
// miscompare or failed system call (printed with the tail of the operation
// log), and 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("fsx", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cfg := defaultConfig()
	flags.Uint64Var(&cfg.Seed, "seed", uint64(time.Now().UnixNano()), "seed of the random operation sequence (default: the current time)")
	flags.IntVar(&cfg.Ops, "ops", cfg.Ops, "number of operations to run")
	flags.DurationVar(&cfg.Duration, "duration", 0, "stop early, successfully, after this long (0: no limit)")
	flags.Int64Var(&cfg.MaxSize, "max-size", cfg.MaxSize, "maximum file size in bytes that writes and truncations reach")
	flags.IntVar(&cfg.MaxIO, "max-io", cfg.MaxIO, "maximum length in bytes of one read or write")
	flags.IntVar(&cfg.Tail, "tail", cfg.Tail, "number of operations from the log printed with a failure")
	flags.IntVar(&cfg.Progress, "progress", 0, "print a progress line every N operations (0: never)")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: fsx [flags] FILE\n\nRuns a seeded random mix of operations on FILE (created or truncated) and\ncompares every read with an in-memory model.\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() != 1 {
		fmt.Fprintln(stderr, "fsx: expected one FILE argument")
		flags.Usage()
		return 2
	}
	cfg.Path = flags.Arg(0)
	cfg.Out = stdout
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "fsx: %v\n", err)
		return 2
	}

	// SIGINT and SIGTERM end the run after the operation in progress, so
	// the summary still reports how far it got.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}

	fmt.Fprintf(stdout, "fsx: seed %d, %d operations, max size %d, max I/O %d, file %s\n",
		cfg.Seed, cfg.Ops, cfg.MaxSize, cfg.MaxIO, cfg.Path)
	start := time.Now()
	x, err := newExerciser(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "fsx: %v\n", err)
		return 1
	}
	done, err := x.Run(ctx)
	if closeErr := x.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("closing %s: %w", cfg.Path, closeErr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fsx: FAILED after %d operations (seed %d): %v\n", done, cfg.Seed, err)
		return 1
	}
	reason := "all operations"
	if done < cfg.Ops {
		reason = "stopped early by the time limit or a signal"
	}
	fmt.Fprintf(stdout, "fsx: passed %d operations in %s (%s), final size %d\n",
		done, time.Since(start).Round(time.Millisecond), reason, x.Size())
	return 0
}

// errUsage marks configuration errors.
var errUsage = errors.New("invalid configuration")
