// Command durable checks that data a burrow server acknowledged survives a
// SIGKILL of the server. Through internal/nfsclient, it writes one file
// with FILE_SYNC writes and one with UNSTABLE writes followed by COMMIT.
// Then it runs the -restart-cmd hook, which must kill the server with
// SIGKILL and start it again. Last, it checks through the file handles
// issued before the crash that every acknowledged byte reads back and
// that the write verifier changed.
//
// A SIGKILL ends only the server process: data the server had written to
// the kernel survives in the page cache even without fsync. This test
// therefore catches a server that acknowledges a write before passing it
// to the kernel, not a missing fsync before a power loss.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/nfsclient"
)

type config struct {
	addr       string
	export     string
	restartCmd string
	chunks     int
	chunkSize  int
	timeout    time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:2049", "NFS and MOUNT server address (HOST:PORT)")
	flag.StringVar(&cfg.export, "export", "/export", "exported path to mount")
	flag.StringVar(&cfg.restartCmd, "restart-cmd", "", "shell command that kills the server with SIGKILL and starts it again (required)")
	flag.IntVar(&cfg.chunks, "chunks", 32, "number of WRITE calls per file")
	flag.IntVar(&cfg.chunkSize, "chunk-size", 32<<10, "bytes per WRITE call")
	flag.DurationVar(&cfg.timeout, "timeout", 3*time.Minute, "time limit of the whole check")
	flag.Parse()
	if cfg.restartCmd == "" || cfg.chunks < 1 || cfg.chunkSize < 1 {
		fmt.Fprintln(os.Stderr, "durable: -restart-cmd is required, and -chunks and -chunk-size must be positive")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "durable: FAILED: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("durable: every acknowledged byte survived the server's SIGKILL")
}

// acknowledged is a file whose contents the server acknowledged as stable.
type acknowledged struct {
	name   string
	handle []byte
	data   []byte
}

func run(ctx context.Context, cfg config) error {
	client, err := nfsclient.Dial(ctx, cfg.addr)
	if err != nil {
		return err
	}
	root, err := mountRoot(ctx, client, cfg.export)
	if err != nil {
		client.Close()
		return err
	}
	syncFile, verfBefore, err := writeFileSync(ctx, client, root, cfg)
	if err != nil {
		client.Close()
		return err
	}
	unstableFile, err := writeUnstableCommit(ctx, client, root, cfg, verfBefore)
	if err != nil {
		client.Close()
		return err
	}
	client.Close()
	fmt.Printf("durable: wrote %d bytes with FILE_SYNC and %d with UNSTABLE+COMMIT, verifier %x; restarting the server\n",
		len(syncFile.data), len(unstableFile.data), verfBefore)

	restart := exec.CommandContext(ctx, "bash", "-c", cfg.restartCmd)
	restart.Stdout, restart.Stderr = os.Stdout, os.Stderr
	if err := restart.Run(); err != nil {
		return fmt.Errorf("restart command %q failed: %w", cfg.restartCmd, err)
	}

	client, err = nfsclient.Dial(ctx, cfg.addr)
	if err != nil {
		return fmt.Errorf("after the restart: %w", err)
	}
	defer client.Close()
	// The root handle from before the crash must still be valid, and
	// LOOKUP must return the same handles as before.
	for _, f := range []acknowledged{syncFile, unstableFile} {
		lk, err := client.Lookup(ctx, root, f.name)
		if err != nil {
			return fmt.Errorf("LOOKUP %s with the pre-crash root handle: %w", f.name, err)
		}
		if err := nfsclient.StatusErr("LOOKUP "+f.name, lk.Status); err != nil {
			return fmt.Errorf("with the pre-crash root handle: %w", err)
		}
		if !bytes.Equal(lk.Handle, f.handle) {
			return fmt.Errorf("LOOKUP %s returned handle %x after the restart, %x before", f.name, lk.Handle, f.handle)
		}
		if err := readBack(ctx, client, f); err != nil {
			return err
		}
	}

	// A new WRITE and a COMMIT must carry a verifier that differs from
	// the pre-crash one, so clients know to resend uncommitted data.
	verfAfter, err := writeProbe(ctx, client, unstableFile.handle, uint64(len(unstableFile.data)))
	if err != nil {
		return err
	}
	if verfAfter == verfBefore {
		return fmt.Errorf("write verifier %x did not change across the server restart", verfAfter)
	}
	cm, err := client.Commit(ctx, unstableFile.handle, 0, 0)
	if err != nil {
		return fmt.Errorf("COMMIT after the restart: %w", err)
	}
	if err := nfsclient.StatusErr("COMMIT", cm.Status); err != nil {
		return fmt.Errorf("after the restart: %w", err)
	}
	if cm.Verifier != verfAfter {
		return fmt.Errorf("COMMIT verifier %x differs from the WRITE verifier %x of the same server instance", cm.Verifier, verfAfter)
	}
	fmt.Printf("durable: all %d bytes read back through pre-crash handles; verifier %x changed to %x\n",
		len(syncFile.data)+len(unstableFile.data), verfBefore, verfAfter)
	return nil
}

func mountRoot(ctx context.Context, client *nfsclient.Client, export string) ([]byte, error) {
	m, err := client.Mount(ctx, export)
	if err != nil {
		return nil, fmt.Errorf("MNT %s: %w", export, err)
	}
	if m.Status != mount.MNT3_OK {
		return nil, fmt.Errorf("MNT %s failed with status %d", export, m.Status)
	}
	return m.Root, nil
}

// createFile creates name in dir, replacing an earlier file of that name.
func createFile(ctx context.Context, client *nfsclient.Client, dir []byte, name string) ([]byte, error) {
	mode := uint32(0o644)
	size := uint64(0)
	cr, err := client.Create(ctx, dir, name, nfsclient.CreateHow{
		Mode: nfs3.UNCHECKED,
		Attr: nfsclient.Sattr{Mode: &mode, Size: &size},
	})
	if err != nil {
		return nil, fmt.Errorf("CREATE %s: %w", name, err)
	}
	if err := nfsclient.StatusErr("CREATE "+name, cr.Status); err != nil {
		return nil, err
	}
	if cr.Handle == nil {
		return nil, fmt.Errorf("CREATE %s returned no file handle", name)
	}
	return cr.Handle, nil
}

func randomData(n int) []byte {
	data := make([]byte, n)
	rand.Read(data)
	return data
}

// writeFileSync writes durable-sync.bin with FILE_SYNC writes and checks
// that each one reports FILE_SYNC. It returns the server's verifier.
func writeFileSync(ctx context.Context, client *nfsclient.Client, root []byte, cfg config) (acknowledged, [nfs3.NFS3_WRITEVERFSIZE]byte, error) {
	f := acknowledged{name: "durable-sync.bin", data: randomData(cfg.chunks * cfg.chunkSize)}
	var verf [nfs3.NFS3_WRITEVERFSIZE]byte
	var err error
	if f.handle, err = createFile(ctx, client, root, f.name); err != nil {
		return f, verf, err
	}
	for i := range cfg.chunks {
		off := i * cfg.chunkSize
		w, err := client.Write(ctx, f.handle, uint64(off), f.data[off:off+cfg.chunkSize], nfs3.FILE_SYNC)
		if err != nil {
			return f, verf, fmt.Errorf("WRITE FILE_SYNC at %d: %w", off, err)
		}
		if err := nfsclient.StatusErr("WRITE FILE_SYNC", w.Status); err != nil {
			return f, verf, err
		}
		if int(w.Count) != cfg.chunkSize || w.Committed != nfs3.FILE_SYNC {
			return f, verf, fmt.Errorf("WRITE FILE_SYNC at %d wrote %d of %d bytes with committed=%d, want all bytes and FILE_SYNC (%d)",
				off, w.Count, cfg.chunkSize, w.Committed, nfs3.FILE_SYNC)
		}
		verf = w.Verifier
	}
	return f, verf, nil
}

// writeUnstableCommit writes durable-unstable.bin with UNSTABLE writes,
// then COMMITs it and checks that the COMMIT verifier matches every WRITE
// verifier, which is what makes the data acknowledged.
func writeUnstableCommit(ctx context.Context, client *nfsclient.Client, root []byte, cfg config, verf [nfs3.NFS3_WRITEVERFSIZE]byte) (acknowledged, error) {
	f := acknowledged{name: "durable-unstable.bin", data: randomData(cfg.chunks * cfg.chunkSize)}
	var err error
	if f.handle, err = createFile(ctx, client, root, f.name); err != nil {
		return f, err
	}
	for i := range cfg.chunks {
		off := i * cfg.chunkSize
		w, err := client.Write(ctx, f.handle, uint64(off), f.data[off:off+cfg.chunkSize], nfs3.UNSTABLE)
		if err != nil {
			return f, fmt.Errorf("WRITE UNSTABLE at %d: %w", off, err)
		}
		if err := nfsclient.StatusErr("WRITE UNSTABLE", w.Status); err != nil {
			return f, err
		}
		if int(w.Count) != cfg.chunkSize {
			return f, fmt.Errorf("WRITE UNSTABLE at %d wrote %d of %d bytes", off, w.Count, cfg.chunkSize)
		}
		if w.Verifier != verf {
			return f, fmt.Errorf("WRITE UNSTABLE at %d returned verifier %x, the FILE_SYNC writes %x, with no restart in between", off, w.Verifier, verf)
		}
	}
	cm, err := client.Commit(ctx, f.handle, 0, 0)
	if err != nil {
		return f, fmt.Errorf("COMMIT: %w", err)
	}
	if err := nfsclient.StatusErr("COMMIT", cm.Status); err != nil {
		return f, err
	}
	if cm.Verifier != verf {
		return f, fmt.Errorf("COMMIT returned verifier %x, the writes %x, so the data is not acknowledged", cm.Verifier, verf)
	}
	return f, nil
}

// readBack reads f through its pre-crash handle and compares every byte.
func readBack(ctx context.Context, client *nfsclient.Client, f acknowledged) error {
	attr, err := client.GetAttr(ctx, f.handle)
	if err != nil {
		return fmt.Errorf("GETATTR %s with the pre-crash handle: %w", f.name, err)
	}
	if err := nfsclient.StatusErr("GETATTR "+f.name+" with the pre-crash handle", attr.Status); err != nil {
		return err
	}
	if attr.Attr.Size != uint64(len(f.data)) {
		return fmt.Errorf("%s has size %d after the restart, want %d", f.name, attr.Attr.Size, len(f.data))
	}
	const chunk = 64 << 10
	for off := 0; off < len(f.data); {
		rd, err := client.Read(ctx, f.handle, uint64(off), chunk)
		if err != nil {
			return fmt.Errorf("READ %s at %d: %w", f.name, off, err)
		}
		if err := nfsclient.StatusErr("READ "+f.name, rd.Status); err != nil {
			return err
		}
		if len(rd.Data) == 0 {
			return fmt.Errorf("READ %s at %d returned no data before the acknowledged end %d", f.name, off, len(f.data))
		}
		got := rd.Data[:min(len(rd.Data), len(f.data)-off)]
		if i := firstDifference(got, f.data[off:off+len(got)]); i >= 0 {
			return fmt.Errorf("%s differs at offset %d after the restart: got %#x, want %#x", f.name, off+i, got[i], f.data[off+i])
		}
		off += len(got)
	}
	return nil
}

// firstDifference returns the first index where got and want, of equal
// length, differ, or -1.
func firstDifference(got, want []byte) int {
	for i := range got {
		if got[i] != want[i] {
			return i
		}
	}
	return -1
}

// writeProbe writes one UNSTABLE byte at off and returns the verifier.
func writeProbe(ctx context.Context, client *nfsclient.Client, fh []byte, off uint64) ([nfs3.NFS3_WRITEVERFSIZE]byte, error) {
	w, err := client.Write(ctx, fh, off, []byte{0x5a}, nfs3.UNSTABLE)
	if err != nil {
		return w.Verifier, fmt.Errorf("WRITE after the restart: %w", err)
	}
	return w.Verifier, nfsclient.StatusErr("WRITE after the restart", w.Status)
}
