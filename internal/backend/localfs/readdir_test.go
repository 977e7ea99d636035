package localfs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/burrow-nfs/burrow/internal/backend"
)

// listAll reads directory dir in pages of pageSize entries and returns the
// number of times each name was listed.
func listAll(t *testing.T, fs *FS, dir []byte, pageSize int, plus bool, between func()) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cookie := uint64(0)
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatal("listing does not end")
		}
		res, err := fs.ReadDir(ctx, cred, dir, backend.ReadDirArgs{Cookie: cookie, MaxEntries: pageSize, Plus: plus})
		if err != nil {
			t.Fatalf("ReadDir at cookie %d: %v", cookie, err)
		}
		if len(res.Entries) > pageSize {
			t.Fatalf("page of %d entries, limit %d", len(res.Entries), pageSize)
		}
		if res.DirAttr == nil {
			t.Error("ReadDir without directory attributes")
		}
		for _, e := range res.Entries {
			if e.Cookie == 0 {
				t.Errorf("entry %q has cookie 0", e.Name)
			}
			seen[e.Name]++
		}
		if res.EOF {
			return seen
		}
		if len(res.Entries) == 0 {
			t.Fatal("empty page without EOF")
		}
		cookie = res.Entries[len(res.Entries)-1].Cookie
		if between != nil {
			between()
		}
	}
}

func TestReadDirSmall(t *testing.T) {
	fs, root := newTestFS(t)
	sub := mustMkdir(t, fs, fs.Root(), "sub")
	mustCreate(t, fs, fs.Root(), "file")
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}

	res, err := fs.ReadDir(ctx, cred, fs.Root(), backend.ReadDirArgs{MaxEntries: 100, Plus: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.EOF || res.Verifier != ([8]byte{}) {
		t.Errorf("EOF %v, verifier %x", res.EOF, res.Verifier)
	}
	byName := map[string]backend.DirEntry{}
	for _, e := range res.Entries {
		byName[e.Name] = e
	}
	for _, name := range []string{".", "..", "sub", "file", "link"} {
		e, ok := byName[name]
		if !ok {
			t.Errorf("%q not listed", name)
			continue
		}
		if e.Handle == nil || e.Attr == nil {
			t.Errorf("%q listed without handle or attributes", name)
			continue
		}
		if e.Attr.FileID != e.FileID {
			t.Errorf("%q FileID %d, attributes say %d", name, e.FileID, e.Attr.FileID)
		}
	}
	rootIno := inodeOf(t, root)
	if byName[".."].FileID != rootIno || !bytes.Equal(byName[".."].Handle, fs.Root()) {
		t.Errorf(".. of the root: fileid %d, want %d", byName[".."].FileID, rootIno)
	}
	if !bytes.Equal(byName["sub"].Handle, sub) {
		t.Error("sub listed with another handle than Mkdir returned")
	}
	if byName["link"].Attr.Type != backend.TypeSymlink {
		t.Errorf("link type = %d", byName["link"].Attr.Type)
	}
	if h, ok := fs.hints.Get(inodeOf(t, filepath.Join(root, "link"))); !ok || h.Name != "link" {
		t.Errorf("READDIRPLUS did not record the hint of link: %+v", h)
	}

	res, err = fs.ReadDir(ctx, cred, sub, backend.ReadDirArgs{MaxEntries: 10, Plus: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Entries {
		if e.Name == ".." && !bytes.Equal(e.Handle, fs.Root()) {
			t.Error(".. of sub is not the root")
		}
	}

	f, _, _, _ := fs.Lookup(ctx, cred, fs.Root(), "file")
	if _, err := fs.ReadDir(ctx, cred, f, backend.ReadDirArgs{MaxEntries: 10}); err == nil {
		t.Error("ReadDir of a file succeeded")
	}
}

func TestReadDirPaging(t *testing.T) {
	fs, _ := newTestFS(t)
	dir := mustMkdir(t, fs, fs.Root(), "d")
	const n = 500
	for i := 0; i < n; i++ {
		mustCreate(t, fs, dir, fmt.Sprintf("f%04d", i))
	}
	for _, page := range []int{1, 7, 100, 1000} {
		seen := listAll(t, fs, dir, page, page == 7, nil)
		if len(seen) != n+2 {
			t.Errorf("page size %d: %d names listed, want %d", page, len(seen), n+2)
		}
		for name, count := range seen {
			if count != 1 {
				t.Errorf("page size %d: %q listed %d times", page, name, count)
			}
		}
	}
}

func TestReadDirConcurrentChanges(t *testing.T) {
	fs, root := newTestFS(t)
	dir := mustMkdir(t, fs, fs.Root(), "d")
	const n = 1000
	for i := 0; i < n; i++ {
		mustCreate(t, fs, dir, fmt.Sprintf("keep%04d", i))
		mustCreate(t, fs, dir, fmt.Sprintf("drop%04d", i))
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i < n {
				os.Remove(filepath.Join(root, "d", fmt.Sprintf("drop%04d", i)))
			}
			os.WriteFile(filepath.Join(root, "d", fmt.Sprintf("new%06d", i)), nil, 0o644)
		}
	}()
	// A new FS per page size would hide stream caching; clear the stream
	// cache between some pages so both paths run.
	pages := 0
	seen := listAll(t, fs, dir, 50, false, func() {
		pages++
		if pages%3 == 0 {
			fs.dirs.closeAll()
		}
	})
	close(stop)
	wg.Wait()

	for i := 0; i < n; i++ {
		name := fmt.Sprintf("keep%04d", i)
		if seen[name] != 1 {
			t.Errorf("%s listed %d times, want once", name, seen[name])
		}
	}
	for name, count := range seen {
		if count != 1 {
			t.Errorf("%q listed %d times", name, count)
		}
	}
}
