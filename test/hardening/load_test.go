package hardening

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/nfsclient"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
)

// Load test parameters.
const (
	loadClients  = 100
	loadDuration = 10 * time.Second
	// loadHeapBound is the HeapInuse the server process may reach. 100
	// clients with one call of at most 64 KiB each in flight need a few
	// MiB, so the bound leaves room for the race detector and the garbage
	// collector's pacing while still catching a leak of buffers per call.
	loadHeapBound = 256 << 20
)

// TestLoadManyClients runs 100 clients for 10 seconds, each creating,
// writing, reading, checking and removing files in its own directory,
// and checks every reply, the server's heap and that its goroutines end.
func TestLoadManyClients(t *testing.T) {
	if testing.Short() {
		t.Skip("load test runs for 10 seconds; skipped with -short")
	}
	s := startServer(t, oncrpc.Options{}, nfs3.Options{}, nil)

	runtime.GC()
	baseline := runtime.NumGoroutine()

	var maxHeap atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > maxHeap.Load() {
				maxHeap.Store(ms.HeapInuse)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), loadDuration+30*time.Second)
	defer cancel()
	end := time.Now().Add(loadDuration)
	var calls atomic.Int64
	errs := make(chan error, loadClients)
	var wg sync.WaitGroup
	for i := range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runLoadClient(ctx, s, i, end, &calls); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(stopSampling)
	<-sampled
	close(errs)

	failed := 0
	for err := range errs {
		failed++
		if failed <= 10 {
			t.Error(err)
		}
	}
	if failed > 10 {
		t.Errorf("%d clients failed in all; the first 10 are listed", failed)
	}
	n := calls.Load()
	t.Logf("%d clients made %d NFS calls in %v (%.0f calls/s); max HeapInuse %.1f MiB",
		loadClients, n, loadDuration, float64(n)/loadDuration.Seconds(), float64(maxHeap.Load())/(1<<20))
	if n < loadClients*8 {
		t.Errorf("only %d calls completed, fewer than one round per client", n)
	}
	if h := maxHeap.Load(); h > loadHeapBound {
		t.Errorf("HeapInuse reached %d MiB, over the bound of %d MiB", h>>20, loadHeapBound>>20)
	}

	// Every client removed what it created.
	for i := range loadClients {
		entries, err := os.ReadDir(filepath.Join(s.dir, clientDir(i)))
		if err != nil {
			t.Errorf("client %d directory: %v", i, err)
			continue
		}
		if len(entries) != 0 {
			t.Errorf("client %d directory still has %d entries, such as %s", i, len(entries), entries[0].Name())
		}
	}

	// The server's connection goroutines end once the clients are gone.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines 10 s after the clients closed, baseline %d:\n%s",
				runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func clientDir(i int) string { return fmt.Sprintf("client%03d", i) }

// runLoadClient makes rounds of CREATE, WRITE, GETATTR, LOOKUP, READ,
// REMOVE and LOOKUP in the client's own directory until end, checking
// each reply, and adds the number of calls made to calls.
func runLoadClient(ctx context.Context, s *server, id int, end time.Time, calls *atomic.Int64) error {
	c, err := nfsclient.Dial(ctx, s.addr)
	if err != nil {
		return err
	}
	defer c.Close()

	m, err := c.Mount(ctx, s.dir)
	if err != nil || m.Status != mount.MNT3_OK {
		return fmt.Errorf("MNT: %v, %v", m.Status, err)
	}
	mk, err := c.Mkdir(ctx, m.Root, clientDir(id), nfsclient.Sattr{})
	if err != nil || mk.Status != nfs3.NFS3_OK {
		return fmt.Errorf("MKDIR %s: %v, %v", clientDir(id), mk.Status, err)
	}
	dir := mk.Handle
	calls.Add(2)

	for round := 0; time.Now().Before(end); round++ {
		name := fmt.Sprintf("f%d", round)
		size := 1<<10 + (id*7919+round*104729)%(63<<10)
		data := bytes.Repeat([]byte{byte(id), byte(round)}, size/2+1)[:size]
		if err := loadRound(ctx, c, dir, name, data); err != nil {
			return fmt.Errorf("round %d, file %s of %d bytes: %w", round, name, size, err)
		}
		calls.Add(7)
	}
	return nil
}

func loadRound(ctx context.Context, c *nfsclient.Client, dir []byte, name string, data []byte) error {
	cr, err := c.Create(ctx, dir, name, nfsclient.CreateHow{Mode: nfs3.GUARDED})
	if err != nil || cr.Status != nfs3.NFS3_OK || len(cr.Handle) == 0 {
		return fmt.Errorf("CREATE: status %v, handle %x, error %v", cr.Status, cr.Handle, err)
	}
	fh := cr.Handle

	w, err := c.Write(ctx, fh, 0, data, nfs3.FILE_SYNC)
	if err != nil || w.Status != nfs3.NFS3_OK || w.Count != uint32(len(data)) {
		return fmt.Errorf("WRITE: status %v, count %d of %d, error %v", w.Status, w.Count, len(data), err)
	}

	ga, err := c.GetAttr(ctx, fh)
	if err != nil || ga.Status != nfs3.NFS3_OK {
		return fmt.Errorf("GETATTR: status %v, error %v", ga.Status, err)
	}
	if ga.Attr.Type != nfs3.NF3REG || ga.Attr.Size != uint64(len(data)) {
		return fmt.Errorf("GETATTR: type %v, size %d; want a regular file of %d bytes", ga.Attr.Type, ga.Attr.Size, len(data))
	}

	lk, err := c.Lookup(ctx, dir, name)
	if err != nil || lk.Status != nfs3.NFS3_OK {
		return fmt.Errorf("LOOKUP: status %v, error %v", lk.Status, err)
	}
	if lk.Attr == nil || lk.Attr.FileID != ga.Attr.FileID {
		return fmt.Errorf("LOOKUP found attributes %+v, want file id %d", lk.Attr, ga.Attr.FileID)
	}

	rd, err := c.Read(ctx, fh, 0, uint32(len(data))+100)
	if err != nil || rd.Status != nfs3.NFS3_OK {
		return fmt.Errorf("READ: status %v, error %v", rd.Status, err)
	}
	if !rd.EOF || !bytes.Equal(rd.Data, data) {
		return fmt.Errorf("READ returned %d bytes, eof %v; want the %d bytes written and eof", len(rd.Data), rd.EOF, len(data))
	}

	rm, err := c.Remove(ctx, dir, name)
	if err != nil || rm.Status != nfs3.NFS3_OK {
		return fmt.Errorf("REMOVE: status %v, error %v", rm.Status, err)
	}
	gone, err := c.Lookup(ctx, dir, name)
	if err != nil || gone.Status != nfs3.NFS3ERR_NOENT {
		return fmt.Errorf("LOOKUP after REMOVE: status %v, error %v; want NFS3ERR_NOENT", gone.Status, err)
	}
	return nil
}
