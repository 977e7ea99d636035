package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testConfig(t *testing.T, seed uint64) Config {
	t.Helper()
	cfg := defaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "fsx.data")
	cfg.Seed = seed
	cfg.Ops = 3000
	cfg.MaxSize = 64 << 10
	cfg.MaxIO = 8 << 10
	return cfg
}

func newTestExerciser(t *testing.T, cfg Config) *Exerciser {
	t.Helper()
	x, err := newExerciser(cfg)
	if err != nil {
		t.Fatalf("newExerciser: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// flipByte inverts the byte at off of path through a descriptor of its
// own, behind the exerciser's back.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("opening %s to corrupt it: %v", path, err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatalf("reading byte %#x to corrupt it: %v", off, err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatalf("corrupting byte %#x: %v", off, err)
	}
}

func TestRunPassesOnLocalFile(t *testing.T) {
	for _, seed := range []uint64{1, 2, 42, 1 << 40} {
		cfg := testConfig(t, seed)
		x := newTestExerciser(t, cfg)
		done, err := x.Run(context.Background())
		if err != nil {
			t.Fatalf("seed %d: Run: %v", seed, err)
		}
		if done != cfg.Ops {
			t.Errorf("seed %d: ran %d operations, want %d", seed, done, cfg.Ops)
		}
		data, err := os.ReadFile(cfg.Path)
		if err != nil {
			t.Fatalf("seed %d: reading the file: %v", seed, err)
		}
		if !bytes.Equal(data, x.model) {
			t.Errorf("seed %d: file contents (%d bytes) differ from the model (%d bytes)", seed, len(data), len(x.model))
		}
	}
}

func TestRunUsesEveryKind(t *testing.T) {
	cfg := testConfig(t, 7)
	cfg.Ops = 500
	cfg.Tail = 1
	x := newTestExerciser(t, cfg)
	seen := map[opKind]int{}
	x.afterOp = func(int) { seen[x.log[len(x.log)-1].Kind]++ }
	if _, err := x.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for k := range opWeights {
		if seen[opKind(k)] == 0 {
			t.Errorf("no %s operation in %d operations", opKind(k), cfg.Ops)
		}
	}
}

func TestSameSeedSameFile(t *testing.T) {
	var files [2][]byte
	for i := range files {
		cfg := testConfig(t, 99)
		x := newTestExerciser(t, cfg)
		if _, err := x.Run(context.Background()); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		data, err := os.ReadFile(cfg.Path)
		if err != nil {
			t.Fatalf("run %d: reading the file: %v", i, err)
		}
		files[i] = data
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Errorf("two runs with seed 99 left different files (%d and %d bytes)", len(files[0]), len(files[1]))
	}
}

func TestVerifyAllFindsFlippedByte(t *testing.T) {
	cfg := testConfig(t, 5)
	x := newTestExerciser(t, cfg)
	for x.Size() < 1024 {
		if err := x.Step(); err != nil {
			t.Fatalf("Step: %v", err)
		}
	}
	off := x.Size() / 2
	want := x.model[off]
	flipByte(t, cfg.Path, off)

	err := x.VerifyAll()
	var mis *MiscompareError
	if !errors.As(err, &mis) {
		t.Fatalf("VerifyAll after corrupting byte %#x returned %v, want a *MiscompareError", off, err)
	}
	if mis.Kind != "data" {
		t.Errorf("miscompare kind %q, want data", mis.Kind)
	}
	if mis.Offset != off {
		t.Errorf("miscompare at offset %#x, want %#x", mis.Offset, off)
	}
	if mis.Expected[0] != want || mis.Actual[0] != want^0xff {
		t.Errorf("miscompare expected %#x got %#x, want expected %#x got %#x", mis.Expected[0], mis.Actual[0], want, want^0xff)
	}
	if len(mis.Tail) == 0 || len(mis.Tail) > cfg.Tail {
		t.Errorf("operation log tail has %d entries, want 1 to %d", len(mis.Tail), cfg.Tail)
	}
}

func TestRunFindsCorruptionBehindItsBack(t *testing.T) {
	cfg := testConfig(t, 11)
	x := newTestExerciser(t, cfg)
	// From operation 100 on, flip the middle byte after every operation
	// until a read notices.
	x.afterOp = func(n int) {
		if n >= 100 && x.Size() > 0 {
			flipByte(t, cfg.Path, x.Size()/2)
		}
	}
	done, err := x.Run(context.Background())
	var mis *MiscompareError
	if !errors.As(err, &mis) {
		t.Fatalf("Run with corruption returned %v after %d operations, want a *MiscompareError", err, done)
	}
	if done >= cfg.Ops {
		t.Errorf("the miscompare came only from the final verification; want a read during the run to find it")
	}
	msg := err.Error()
	for _, part := range []string{"miscompare", "last ", "offset"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error message lacks %q:\n%s", part, msg)
		}
	}
}

func TestRunFindsTruncationBehindItsBack(t *testing.T) {
	cfg := testConfig(t, 3)
	x := newTestExerciser(t, cfg)
	for x.Size() < 1024 {
		if err := x.Step(); err != nil {
			t.Fatalf("Step: %v", err)
		}
	}
	if err := os.Truncate(cfg.Path, x.Size()-1); err != nil {
		t.Fatalf("truncating behind the exerciser's back: %v", err)
	}
	err := x.VerifyAll()
	var mis *MiscompareError
	if !errors.As(err, &mis) || mis.Kind != "size" {
		t.Fatalf("VerifyAll after a truncation returned %v, want a size miscompare", err)
	}
	if mis.Got != x.Size()-1 || mis.Want != x.Size() {
		t.Errorf("size miscompare got %d want %d, expected got %d want %d", mis.Got, mis.Want, x.Size()-1, x.Size())
	}
}

func TestRunMainExitStatus(t *testing.T) {
	var out, errOut bytes.Buffer
	if status := runMain(nil, &out, &errOut); status != 2 {
		t.Errorf("runMain without a file returned %d, want 2", status)
	}
	if status := runMain([]string{"-ops", "0", "x"}, &out, &errOut); status != 2 {
		t.Errorf("runMain -ops 0 returned %d, want 2", status)
	}
	path := filepath.Join(t.TempDir(), "f")
	out.Reset()
	if status := runMain([]string{"-seed", "1", "-ops", "200", path}, &out, &errOut); status != 0 {
		t.Fatalf("runMain on a temporary file returned %d, want 0; stderr:\n%s", status, errOut.String())
	}
	if !strings.Contains(out.String(), "passed 200 operations") {
		t.Errorf("output lacks the summary line:\n%s", out.String())
	}
}
