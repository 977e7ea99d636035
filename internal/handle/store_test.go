package handle

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTestStore(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func wantHint(t *testing.T, s *Store, ino uint64, want Hint) {
	t.Helper()
	got, ok := s.Get(ino)
	if !ok {
		t.Fatalf("Get(%d): not found, expected %+v", ino, want)
	}
	if got != want {
		t.Fatalf("Get(%d) = %+v, expected %+v", ino, got, want)
	}
}

func wantNoHint(t *testing.T, s *Store, ino uint64) {
	t.Helper()
	if got, ok := s.Get(ino); ok {
		t.Fatalf("Get(%d) = %+v, expected not found", ino, got)
	}
}

func TestStorePutGetDelete(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "h.db"), Options{})

	wantNoHint(t, s, 10)
	s.Put(10, Hint{Parent: 2, Name: "a"})
	wantHint(t, s, 10, Hint{Parent: 2, Name: "a"})

	s.Put(10, Hint{Parent: 3, Name: "b"})
	wantHint(t, s, 10, Hint{Parent: 3, Name: "b"})

	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	wantHint(t, s, 10, Hint{Parent: 3, Name: "b"})
	if n := s.Len(); n != 1 {
		t.Errorf("Len after one hint = %d, expected 1", n)
	}

	s.Delete(10)
	wantNoHint(t, s, 10)
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	wantNoHint(t, s, 10)
	if n := s.Len(); n != 0 {
		t.Errorf("Len after delete = %d, expected 0", n)
	}

	// Deleting a missing hint changes nothing.
	s.Delete(99)
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len after deleting a missing hint = %d, expected 0", n)
	}
}

func TestStoreEmptyAndLongNames(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "h.db"), Options{MemEntries: 1})
	long := strings.Repeat("x", 255)
	s.Put(5, Hint{Parent: 2, Name: ""})
	s.Put(6, Hint{Parent: 1<<64 - 1, Name: long})
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	wantHint(t, s, 5, Hint{Parent: 2, Name: ""})
	wantHint(t, s, 6, Hint{Parent: 1<<64 - 1, Name: long})
}

func TestStorePutUnchangedIsNoop(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "h.db"), Options{})
	s.Put(7, Hint{Parent: 2, Name: "a"})
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	s.Put(7, Hint{Parent: 2, Name: "a"})
	s.mu.Lock()
	n := len(s.pending)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("Put of an unchanged hint left %d pending changes, expected 0", n)
	}
}

func TestStoreWritesBatchInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTestStore(t, path, Options{})
	s.Put(3, Hint{Parent: 2, Name: "x"})

	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.pending) + len(s.inflight)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending batch not written within 5 s of Put")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h, ok := s.read(3); !ok || h != (Hint{Parent: 2, Name: "x"}) {
		t.Fatalf("file has hint %+v, %v for inode 3, expected {2 x}", h, ok)
	}
}

func TestStoreSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "h.db")
	s := openTestStore(t, path, Options{})
	for i := range uint64(1000) {
		s.Put(i+100, Hint{Parent: i, Name: fmt.Sprintf("f%d", i)})
	}
	s.Delete(100)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	info, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatalf("parent directory: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("parent directory mode %o, expected 700", perm)
	}

	s2 := openTestStore(t, path, Options{})
	if n := s2.Len(); n != 999 {
		t.Errorf("Len after reopen = %d, expected 999", n)
	}
	wantNoHint(t, s2, 100)
	for i := uint64(1); i < 1000; i++ {
		wantHint(t, s2, i+100, Hint{Parent: i, Name: fmt.Sprintf("f%d", i)})
	}
}

func TestStorePutAfterCloseIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTestStore(t, path, Options{})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s.Put(4, Hint{Parent: 2, Name: "late"})
	s.Delete(4)
	wantNoHint(t, s, 4)
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush after Close: %v", err)
	}
}

func TestStoreMemoryBound(t *testing.T) {
	const limit = 100
	const total = 5000
	s := openTestStore(t, filepath.Join(t.TempDir(), "h.db"), Options{MemEntries: limit})

	for i := range uint64(total) {
		s.Put(i, Hint{Parent: i + 1, Name: fmt.Sprint(i)})
		if n := s.cache.len(); n > limit {
			t.Fatalf("cache has %d entries after %d puts, limit %d", n, i+1, limit)
		}
	}
	// Evicted hints come from the pending batch or, once the background
	// goroutine has written it, from the file.
	for i := range uint64(total) {
		wantHint(t, s, i, Hint{Parent: i + 1, Name: fmt.Sprint(i)})
	}
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	// After Flush, they all come from the file.
	for i := range uint64(total) {
		wantHint(t, s, i, Hint{Parent: i + 1, Name: fmt.Sprint(i)})
	}
	if n := s.cache.len(); n > limit {
		t.Fatalf("cache has %d entries after reading %d hints, limit %d", n, total, limit)
	}
	if n := s.cache.len(); n < limit/2 {
		t.Errorf("cache has %d entries, expected close to the limit %d", n, limit)
	}
	if n := s.Len(); n != total {
		t.Errorf("Len = %d, expected %d", n, total)
	}
}

func TestCacheKeepsRecentlyUsed(t *testing.T) {
	c := newCache(8)
	if len(c.shards) != 8 {
		t.Fatalf("newCache(8) has %d shards, expected 8", len(c.shards))
	}
	if c.shift != 61 {
		t.Fatalf("newCache(8) has shift %d, expected 61", c.shift)
	}
	c = newCache(1)
	c.set(1, Hint{Name: "one"})
	c.set(2, Hint{Name: "two"})
	if _, ok, _ := c.get(1); ok {
		t.Errorf("cache of one entry still has inode 1 after inserting inode 2")
	}
	if h, ok, _ := c.get(2); !ok || h.Name != "two" {
		t.Errorf("cache get(2) = %+v, %v; expected two", h, ok)
	}

	// With room for three, the entry read since the last insert survives.
	c = newShardedCache(3, 1)
	c.set(1, Hint{Name: "one"})
	c.set(2, Hint{Name: "two"})
	c.set(3, Hint{Name: "three"})
	for _, ino := range []uint64{1, 2, 3} { // clear the reference bits
		c.shards[0].slots[c.shards[0].index[ino]].ref.Store(false)
	}
	c.get(1)
	c.set(4, Hint{Name: "four"})
	if _, ok, _ := c.get(1); !ok {
		t.Errorf("CLOCK evicted inode 1, which was read since the last insert")
	}
	if _, ok, _ := c.get(2); ok {
		t.Errorf("CLOCK kept inode 2, expected it evicted as the oldest unused entry")
	}
	c.remove(4)
	if _, ok, _ := c.get(4); ok {
		t.Errorf("inode 4 found after remove")
	}
	if n := c.len(); n != 2 {
		t.Errorf("cache len after remove = %d, expected 2", n)
	}
}

func TestCacheStaleFillRejected(t *testing.T) {
	c := newCache(4)
	_, _, version := c.get(9)
	c.set(9, Hint{Name: "new"})
	c.setIfVersion(9, Hint{Name: "old"}, version)
	if h, _, _ := c.get(9); h.Name != "new" {
		t.Fatalf("setIfVersion with an old version replaced the hint: %+v", h)
	}
}

func TestStoreConcurrentPutGet(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "h.db"), Options{MemEntries: 256})
	const workers = 8
	const perWorker = 3000

	var wg sync.WaitGroup
	for w := range uint64(workers) {
		wg.Go(func() {
			base := w * perWorker
			for i := range uint64(perWorker) {
				ino := base + i
				h := Hint{Parent: ino + 1, Name: fmt.Sprint(ino)}
				s.Put(ino, h)
				if got, ok := s.Get(ino); !ok || got != h {
					t.Errorf("Get(%d) right after Put = %+v, %v; expected %+v", ino, got, ok, h)
					return
				}
				// Read another worker's inode, which may or may not be there yet.
				s.Get((ino + perWorker) % (workers * perWorker))
				if i%100 == 0 {
					s.Delete(ino)
					s.Put(ino, h)
				}
				if i%1000 == 0 {
					if err := s.Flush(); err != nil {
						t.Errorf("Flush: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()

	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for ino := range uint64(workers * perWorker) {
		wantHint(t, s, ino, Hint{Parent: ino + 1, Name: fmt.Sprint(ino)})
	}
	if n := s.Len(); n != workers*perWorker {
		t.Errorf("Len = %d, expected %d", n, workers*perWorker)
	}
}

func TestStoreCorruptFileRecovered(t *testing.T) {
	for _, c := range []struct {
		name    string
		content []byte
	}{
		{"garbage", bytes.Repeat([]byte("not a bbolt file "), 2000)},
		{"short", []byte("x")},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "h.db")
			if err := os.WriteFile(path, c.content, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s := openTestStore(t, path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

			if !strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("no warning logged for a corrupt file, log: %q", logs.String())
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("found %d files moved aside, expected 1: %v", len(aside), aside)
			}
			kept, err := os.ReadFile(aside[0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(kept, c.content) {
				t.Errorf("file moved aside does not contain the corrupt data")
			}

			s.Put(8, Hint{Parent: 2, Name: "after"})
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			s2 := openTestStore(t, path, Options{})
			wantHint(t, s2, 8, Hint{Parent: 2, Name: "after"})
		})
	}
}

func TestStoreDamagedMetaRecovered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTestStore(t, path, Options{})
	s.Put(8, Hint{Parent: 2, Name: "before"})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Overwrite both bbolt meta pages (the first two pages) with zeros.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 2*os.Getpagesize()), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s2 := openTestStore(t, path, Options{})
	wantNoHint(t, s2, 8)
	s2.Put(9, Hint{Parent: 2, Name: "new"})
	wantHint(t, s2, 9, Hint{Parent: 2, Name: "new"})
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 1 {
		t.Errorf("found %d files moved aside, expected 1", len(aside))
	}
}

func TestStoreSecondOpenFailsWithLockError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	openTestStore(t, path, Options{})

	start := time.Now()
	s2, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		s2.Close()
		t.Fatalf("second Open of %s succeeded, expected a lock error", path)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("second Open took %v, expected about %v", elapsed, lockTimeout)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) {
		t.Errorf("error %q does not name the file", msg)
	}
	if !strings.Contains(msg, "another burrow") {
		t.Errorf("error %q does not mention another burrow", msg)
	}
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 0 {
		t.Errorf("locked file was moved aside: %v", aside)
	}
}

func TestStoreOpenErrorNotMovedAside(t *testing.T) {
	// A directory in place of the file makes opening it fail with EISDIR,
	// which is no sign of corruption.
	path := filepath.Join(t.TempDir(), "h.db")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		s.Close()
		t.Fatalf("Open of directory %s succeeded", path)
	}
	if info, err := os.Stat(path); err != nil || !info.IsDir() {
		t.Errorf("directory %s no longer there after failed Open: %v", path, err)
	}
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 0 {
		t.Errorf("directory was moved aside: %v", aside)
	}
}

func TestDefaultStatePath(t *testing.T) {
	key := [8]byte{0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3}

	t.Setenv("XDG_STATE_HOME", "/tmp/state")
	got, err := DefaultStatePath(key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "/tmp/state/burrow/deadbeef00010203.db"; got != want {
		t.Errorf("with XDG_STATE_HOME: %q, expected %q", got, want)
	}

	t.Setenv("HOME", "/home/someone")
	for _, v := range []string{"", "relative/dir"} {
		t.Setenv("XDG_STATE_HOME", v)
		got, err = DefaultStatePath(key)
		if err != nil {
			t.Fatal(err)
		}
		if want := "/home/someone/.local/state/burrow/deadbeef00010203.db"; got != want {
			t.Errorf("with XDG_STATE_HOME=%q: %q, expected %q", v, got, want)
		}
	}
}

// BenchmarkStore1MHandles puts hints for 1,000,000 inodes, as a backend
// does after issuing that many handles, and reports the Go heap in use
// with the store open and the size of its file. The inodes are put in
// ascending order, as for a tree created in one go, and in random order.
func BenchmarkStore1MHandles(b *testing.B) {
	const total = 1_000_000
	inos := make([]uint64, total)
	for i := range inos {
		inos[i] = uint64(i) + 3
	}
	b.Run("ascending", func(b *testing.B) { benchmarkPuts(b, inos) })

	shuffled := slices.Clone(inos)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	b.Run("random", func(b *testing.B) { benchmarkPuts(b, shuffled) })
}

func benchmarkPuts(b *testing.B, inos []uint64) {
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "h.db")
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		s, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		// About 100 entries per directory.
		for _, ino := range inos {
			s.Put(ino, Hint{Parent: 2 + ino/100, Name: fmt.Sprintf("file-%08d.txt", ino)})
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}

		// Two collections empty the sync.Pool of page buffers that bbolt
		// fills while writing, so only memory the store keeps is counted.
		runtime.GC()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if n := s.Len(); n != len(inos) {
			b.Fatalf("Len = %d, expected %d", n, len(inos))
		}
		info, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), "heap-MiB")
		b.ReportMetric(float64(info.Size())/(1<<20), "file-MiB")
		runtime.KeepAlive(s)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
