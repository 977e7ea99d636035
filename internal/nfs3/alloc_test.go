package nfs3

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"github.com/burrow-nfs/burrow/internal/backend"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// TestHotPathAllocations bounds the allocations of GETATTR and READ, the
// most frequent procedures, with a backend that allocates nothing.
func TestHotPathAllocations(t *testing.T) {
	fs := &stubFS{
		getAttr: func([]byte) (backend.Attr, error) { return goldenAttr, nil },
		read: func(_ []byte, _ uint64, buf []byte) (int, bool, *backend.Attr, error) {
			return len(buf), false, &goldenAttr, nil
		},
	}
	prog := NewProgram(fs, Options{})
	call := testCall(ProcGetattr)
	for _, tc := range []struct {
		proc uint32
		args []byte
		max  float64
	}{
		{ProcGetattr, validArgs[ProcGetattr], 1},
		{ProcRead, encodeArgs(func(e *xdr.Encoder) { putReadArgs(e, &readArgs{fh: []byte{1}, count: 65536}) }), 1},
	} {
		var d xdr.Decoder
		e := xdr.NewEncoder(make([]byte, 0, 128<<10))
		h := prog.Procs[tc.proc].Handler
		allocs := testing.AllocsPerRun(100, func() {
			d.Reset(tc.args)
			e.Reset(e.Bytes()[:0])
			if err := h(context.Background(), call, &d, e); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > tc.max {
			t.Errorf("%s: %.1f allocations per call, want at most %.0f", prog.Procs[tc.proc].Name, allocs, tc.max)
		}
	}
}

// TestFailureLogging checks that an error mapped to NFS3ERR_IO is logged
// at error level with the procedure, the handle in hex and the cause, and
// that an expected error such as ENOENT stays below info level.
func TestFailureLogging(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var fail error
	fs := &stubFS{getAttr: func([]byte) (backend.Attr, error) { return backend.Attr{}, fail }}
	prog := NewProgram(fs, Options{Logger: logger})
	args := encodeArgs(func(e *xdr.Encoder) { putFHArgs(e, &fhArgs{fh: []byte{0xab, 0xcd}}) })

	fail = syscall.ENOENT
	if d := mustCall(t, prog, ProcGetattr, args); readStatus(d) != NFS3ERR_NOENT {
		t.Fatal("GETATTR did not return NFS3ERR_NOENT")
	}
	if out.Len() != 0 {
		t.Errorf("ENOENT logged at info level or above: %s", out.String())
	}

	fail = syscall.E2BIG
	if d := mustCall(t, prog, ProcGetattr, args); readStatus(d) != NFS3ERR_IO {
		t.Fatal("GETATTR did not return NFS3ERR_IO")
	}
	line := out.String()
	for _, want := range []string{"level=ERROR", "proc=GETATTR", "fh=abcd", "status=NFS3ERR_IO", "argument list too long"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
}
