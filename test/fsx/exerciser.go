package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

// Config selects the file, the operation sequence and its bounds.
type Config struct {
	Path     string
	Seed     uint64
	Ops      int
	Duration time.Duration
	MaxSize  int64 // bytes that writes and truncations reach at most
	MaxIO    int   // bytes of one read or write at most
	Tail     int   // operations printed with a failure
	Progress int   // operations between progress lines, 0 for none
	Out      io.Writer
}

func defaultConfig() Config {
	return Config{Ops: 10000, MaxSize: 256 << 10, MaxIO: 64 << 10, Tail: 20}
}

func (c Config) validate() error {
	switch {
	case c.Path == "":
		return fmt.Errorf("%w: missing file path", errUsage)
	case c.Ops < 1:
		return fmt.Errorf("%w: -ops %d must be at least 1", errUsage, c.Ops)
	case c.MaxSize < 1:
		return fmt.Errorf("%w: -max-size %d must be at least 1", errUsage, c.MaxSize)
	case c.MaxIO < 1:
		return fmt.Errorf("%w: -max-io %d must be at least 1", errUsage, c.MaxIO)
	case c.Tail < 0:
		return fmt.Errorf("%w: -tail %d must not be negative", errUsage, c.Tail)
	}
	return nil
}

// opKind is the kind of one operation on the file.
type opKind int

const (
	opWrite opKind = iota
	opRead
	opTruncate
	opFsync
	opReopen
)

var opNames = [...]string{"write", "read", "truncate", "fsync", "reopen"}

func (k opKind) String() string { return opNames[k] }

// opWeights sets how often each kind is chosen, out of their sum.
var opWeights = [...]int{opWrite: 40, opRead: 35, opTruncate: 10, opFsync: 10, opReopen: 5}

// op is one entry of the operation log. Size is the model's size after
// the operation, and for a truncation also its target.
type op struct {
	N      int
	Kind   opKind
	Offset int64
	Length int64
	Size   int64
}

func (o op) String() string {
	switch o.Kind {
	case opWrite, opRead:
		return fmt.Sprintf("%6d %-8s offset %#x length %#x (end %#x), size after %#x",
			o.N, o.Kind, o.Offset, o.Length, o.Offset+o.Length, o.Size)
	case opTruncate:
		return fmt.Sprintf("%6d %-8s to %#x", o.N, o.Kind, o.Size)
	default:
		return fmt.Sprintf("%6d %-8s size %#x", o.N, o.Kind, o.Size)
	}
}

// MiscompareError reports the first byte where the file differs from the
// model, or a size that differs.
type MiscompareError struct {
	Op        op     // the operation that found the difference
	Kind      string // "data" or "size"
	Offset    int64  // first differing byte, for data
	Expected  []byte // up to 16 bytes from Offset, for data
	Actual    []byte // up to 16 bytes from Offset, for data
	WrittenBy int    // number of the write that set the expected byte, 0 for a hole
	Want, Got int64  // sizes, for size
	Tail      []op
}

func (e *MiscompareError) Error() string {
	var b strings.Builder
	if e.Kind == "size" {
		fmt.Fprintf(&b, "size miscompare in op %d (%s): file size %#x, expected %#x", e.Op.N, e.Op.Kind, e.Got, e.Want)
	} else {
		source := "a hole or truncation extension (zeros)"
		if e.WrittenBy > 0 {
			source = fmt.Sprintf("write op %d", e.WrittenBy)
		}
		fmt.Fprintf(&b, "data miscompare in op %d (%s) at offset %#x: expected % x, got % x; the expected byte comes from %s",
			e.Op.N, e.Op.Kind, e.Offset, e.Expected, e.Actual, source)
	}
	writeTail(&b, e.Tail)
	return b.String()
}

// OpError reports a system call that failed.
type OpError struct {
	Op   op
	Err  error
	Tail []op
}

func (e *OpError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "op %d (%s) failed: %v", e.Op.N, e.Op.Kind, e.Err)
	writeTail(&b, e.Tail)
	return b.String()
}

func (e *OpError) Unwrap() error { return e.Err }

func writeTail(b *strings.Builder, tail []op) {
	if len(tail) == 0 {
		return
	}
	fmt.Fprintf(b, "\nlast %d operations:", len(tail))
	for _, o := range tail {
		b.WriteString("\n  ")
		b.WriteString(o.String())
	}
}

// Exerciser runs the operations on one open file and keeps the model.
type Exerciser struct {
	cfg   Config
	rng   *rand.Rand
	file  *os.File
	model []byte
	// writer holds, for each byte of the model, the number of the write
	// that set it, or 0 for a byte that reads as zero from a hole.
	writer []int32
	log    []op // ring buffer of the last cfg.Tail operations
	next   int  // number of the next operation, from 1
	// afterOp, when set, runs after every successful operation. Tests use
	// it to change the file behind the exerciser's back.
	afterOp func(n int)
}

func newExerciser(cfg Config) (*Exerciser, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &Exerciser{
		cfg:  cfg,
		rng:  rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		file: f,
		next: 1,
	}, nil
}

// Size returns the size the model expects.
func (x *Exerciser) Size() int64 { return int64(len(x.model)) }

// Close closes the file.
func (x *Exerciser) Close() error {
	if x.file == nil {
		return nil
	}
	err := x.file.Close()
	x.file = nil
	return err
}

// Run runs up to cfg.Ops operations, then verifies the whole file. It
// stops early, without error, when ctx ends, and still verifies. It
// returns the number of operations run.
func (x *Exerciser) Run(ctx context.Context) (int, error) {
	done := 0
	for done < x.cfg.Ops && ctx.Err() == nil {
		if err := x.Step(); err != nil {
			return done, err
		}
		done++
		if x.cfg.Progress > 0 && done%x.cfg.Progress == 0 && x.cfg.Out != nil {
			fmt.Fprintf(x.cfg.Out, "fsx: %d operations, size %#x\n", done, len(x.model))
		}
	}
	return done, x.VerifyAll()
}

// Step chooses and runs one operation.
func (x *Exerciser) Step() error {
	o := op{N: x.next, Kind: x.chooseKind()}
	x.next++
	var err error
	switch o.Kind {
	case opWrite:
		err = x.write(&o)
	case opRead:
		err = x.read(&o)
	case opTruncate:
		err = x.truncate(&o)
	case opFsync:
		o.Size = x.Size()
		if err = x.file.Sync(); err != nil {
			err = x.opError(o, err)
		} else {
			x.record(o)
		}
	case opReopen:
		err = x.reopen(&o)
	}
	if err != nil {
		return err
	}
	if x.afterOp != nil {
		x.afterOp(o.N)
	}
	return nil
}

func (x *Exerciser) chooseKind() opKind {
	total := 0
	for _, w := range opWeights {
		total += w
	}
	pick := x.rng.IntN(total)
	for k, w := range opWeights {
		if pick < w {
			return opKind(k)
		}
		pick -= w
	}
	panic("unreachable")
}

// record appends o to the log ring.
func (x *Exerciser) record(o op) {
	if x.cfg.Tail == 0 {
		return
	}
	if len(x.log) == x.cfg.Tail {
		copy(x.log, x.log[1:])
		x.log = x.log[:len(x.log)-1]
	}
	x.log = append(x.log, o)
}

func (x *Exerciser) tail() []op { return append([]op(nil), x.log...) }

func (x *Exerciser) opError(o op, err error) error {
	x.record(o)
	return &OpError{Op: o, Err: err, Tail: x.tail()}
}

// pattern fills data for write number n at file offset off. Each byte
// mixes the write's number and its file offset, so a stale or misplaced
// byte rarely matches by chance.
func pattern(data []byte, n int, off int64) {
	for i := range data {
		pos := uint64(off) + uint64(i)
		data[i] = byte(n*7+1) ^ byte(pos) ^ byte(pos>>8)*3
	}
}

// resize grows the model with zeros or shrinks it.
func (x *Exerciser) resize(size int64) {
	if size <= int64(len(x.model)) {
		x.model = x.model[:size]
		x.writer = x.writer[:size]
		return
	}
	grow := int(size) - len(x.model)
	x.model = append(x.model, make([]byte, grow)...)
	x.writer = append(x.writer, make([]int32, grow)...)
}

func (x *Exerciser) write(o *op) error {
	length := int64(1 + x.rng.IntN(x.cfg.MaxIO))
	if length > x.cfg.MaxSize {
		length = x.cfg.MaxSize
	}
	o.Offset = x.rng.Int64N(x.cfg.MaxSize - length + 1)
	o.Length = length
	data := make([]byte, length)
	pattern(data, o.N, o.Offset)

	n, err := x.file.WriteAt(data, o.Offset)
	if err != nil {
		return x.opError(*o, err)
	}
	if int64(n) != length {
		return x.opError(*o, fmt.Errorf("short write: %d of %d bytes", n, length))
	}
	if end := o.Offset + length; end > int64(len(x.model)) {
		x.resize(end)
	}
	copy(x.model[o.Offset:], data)
	for i := range data {
		x.writer[o.Offset+int64(i)] = int32(o.N)
	}
	o.Size = x.Size()
	x.record(*o)
	return x.checkSize(*o)
}

// read reads a random range that may cross the end of the file, so short
// reads at EOF are checked too.
func (x *Exerciser) read(o *op) error {
	size := x.Size()
	o.Offset = x.rng.Int64N(size + 1 + int64(x.cfg.MaxIO)/4)
	o.Length = int64(1 + x.rng.IntN(x.cfg.MaxIO))
	o.Size = size
	buf := make([]byte, o.Length)
	n, err := x.file.ReadAt(buf, o.Offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return x.opError(*o, err)
	}
	x.record(*o)
	return x.compare(*o, o.Offset, buf[:n])
}

func (x *Exerciser) truncate(o *op) error {
	// Half the truncations shrink or grow by a little, half go anywhere,
	// so both small and large changes occur.
	size := x.Size()
	var target int64
	if x.rng.IntN(2) == 0 {
		target = size + x.rng.Int64N(2*int64(x.cfg.MaxIO)+1) - int64(x.cfg.MaxIO)
		target = max(0, min(target, x.cfg.MaxSize))
	} else {
		target = x.rng.Int64N(x.cfg.MaxSize + 1)
	}
	o.Offset, o.Size = size, target
	if err := x.file.Truncate(target); err != nil {
		return x.opError(*o, err)
	}
	x.resize(target)
	x.record(*o)
	return x.checkSize(*o)
}

// reopen closes the file and opens it again, which on NFS flushes dirty
// data and revalidates the cache (close-to-open consistency), then checks
// the size.
func (x *Exerciser) reopen(o *op) error {
	o.Size = x.Size()
	err := x.file.Close()
	x.file = nil
	if err != nil {
		return x.opError(*o, fmt.Errorf("close: %w", err))
	}
	f, err := os.OpenFile(x.cfg.Path, os.O_RDWR, 0)
	if err != nil {
		return x.opError(*o, fmt.Errorf("open: %w", err))
	}
	x.file = f
	x.record(*o)
	return x.checkSize(*o)
}

// checkSize compares the file's size from fstat with the model.
func (x *Exerciser) checkSize(o op) error {
	fi, err := x.file.Stat()
	if err != nil {
		return &OpError{Op: o, Err: fmt.Errorf("fstat: %w", err), Tail: x.tail()}
	}
	if fi.Size() != x.Size() {
		return &MiscompareError{Op: o, Kind: "size", Want: x.Size(), Got: fi.Size(), Tail: x.tail()}
	}
	return nil
}

// compare checks got, read at off, against the model, including that the
// read returned exactly the bytes that exist before EOF.
func (x *Exerciser) compare(o op, off int64, got []byte) error {
	size := x.Size()
	var want []byte
	if off < size {
		want = x.model[off:min(size, off+o.Length)]
	}
	if bytes.Equal(got, want) {
		return nil
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	if i == len(got) || i == len(want) {
		// One is a prefix of the other: the read length is wrong.
		return &MiscompareError{Op: o, Kind: "size", Want: off + int64(len(want)), Got: off + int64(len(got)), Tail: x.tail()}
	}
	e := &MiscompareError{
		Op: o, Kind: "data", Offset: off + int64(i),
		Expected:  want[i:min(len(want), i+16)],
		Actual:    got[i:min(len(got), i+16)],
		WrittenBy: int(x.writer[off+int64(i)]),
		Tail:      x.tail(),
	}
	return e
}

// VerifyAll reads the whole file and compares it and its size with the
// model.
func (x *Exerciser) VerifyAll() error {
	o := op{N: x.next, Kind: opRead, Offset: 0, Length: x.Size(), Size: x.Size()}
	if err := x.checkSize(o); err != nil {
		return err
	}
	buf := make([]byte, x.Size())
	n, err := x.file.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return &OpError{Op: o, Err: fmt.Errorf("final read: %w", err), Tail: x.tail()}
	}
	return x.compare(o, 0, buf[:n])
}
