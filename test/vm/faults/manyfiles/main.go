// Command manyfiles opens many files in one directory at once, writes each
// with O_DIRECT from several goroutines so that every write reaches the NFS
// server as its own WRITE call, then reads every file back and compares.
// It exits with status 1 on the first failed call or miscompare.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

func main() {
	dir := flag.String("dir", "", "directory to create the files in (required)")
	files := flag.Int("files", 500, "number of files held open at once")
	workers := flag.Int("workers", 32, "goroutines issuing reads and writes concurrently")
	size := flag.Int("size", 16<<10, "bytes written to each file, in 4096-byte blocks")
	rounds := flag.Int("rounds", 2, "times each file is rewritten and read back")
	flag.Parse()
	if *dir == "" || *files < 1 || *workers < 1 || *size < 4096 || *size%4096 != 0 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "manyfiles: -dir is required; -files, -workers and -rounds must be positive and -size a positive multiple of 4096")
		os.Exit(2)
	}
	start := time.Now()
	if err := run(*dir, *files, *workers, *size, *rounds); err != nil {
		fmt.Fprintf(os.Stderr, "manyfiles: FAILED: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("manyfiles: %d files x %d rounds of %d bytes written and read back in %s\n",
		*files, *rounds, *size, time.Since(start).Round(time.Millisecond))
}

// content returns the bytes of file i in round r, distinct per file and
// round so that a read of the wrong file or a stale round is caught.
func content(i, r, size int) []byte {
	data := make([]byte, size)
	for j := range data {
		data[j] = byte(i*13+r*101) ^ byte(j) ^ byte(j>>8)
	}
	return data
}

func run(dir string, files, workers, size, rounds int) error {
	handles := make([]*os.File, files)
	defer func() {
		for _, f := range handles {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i := range handles {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), os.O_RDWR|os.O_CREATE|os.O_TRUNC|syscall.O_DIRECT, 0o644)
		if err != nil {
			return fmt.Errorf("opening file %d of %d: %w", i, files, err)
		}
		handles[i] = f
	}

	for r := range rounds {
		if err := forEach(files, workers, func(i int) error {
			data := content(i, r, size)
			if _, err := handles[i].WriteAt(data, 0); err != nil {
				return fmt.Errorf("round %d: writing %s: %w", r, handles[i].Name(), err)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := forEach(files, workers, func(i int) error {
			got := make([]byte, size)
			n, err := handles[i].ReadAt(got, 0)
			if err != nil {
				return fmt.Errorf("round %d: reading %s: %w", r, handles[i].Name(), err)
			}
			if !bytes.Equal(got[:n], content(i, r, size)) {
				return fmt.Errorf("round %d: %s read back %d bytes that differ from what was written", r, handles[i].Name(), n)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for _, f := range handles {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", f.Name(), err)
		}
	}
	return nil
}

// forEach runs fn for 0..n-1 on the given number of goroutines and returns
// the first error.
func forEach(n, workers int, fn func(i int) error) error {
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
