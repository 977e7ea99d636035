package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// createEmptyFiles creates one empty file for each name in dir.
func createEmptyFiles(dir string, names []string) error {
	for _, name := range names {
		f, err := os.OpenFile(dir+"/"+name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// expectEachOnce checks that listed contains every name in want exactly
// once and no other name, apart from "." and "..".
func (t *T) expectEachOnce(step string, listed []string, want []string) {
	counts := make(map[string]int, len(listed))
	for _, name := range listed {
		if name != "." && name != ".." {
			counts[name]++
		}
	}
	var missing, repeated, unknown []string
	for _, name := range want {
		switch counts[name] {
		case 0:
			missing = append(missing, name)
		case 1:
		default:
			repeated = append(repeated, fmt.Sprintf("%s (%d times)", name, counts[name]))
		}
		delete(counts, name)
	}
	for name := range counts {
		unknown = append(unknown, name)
	}
	report := func(what string, names []string) {
		if len(names) == 0 {
			return
		}
		sort.Strings(names)
		if len(names) > 5 {
			names = append(names[:5:5], "...")
		}
		t.Errorf("%s: %s: %s", step, what, strings.Join(names, ", "))
	}
	report(fmt.Sprintf("%d names missing", len(missing)), missing)
	report(fmt.Sprintf("%d names listed more than once", len(repeated)), repeated)
	report(fmt.Sprintf("%d unexpected names", len(unknown)), unknown)
}

func direntNames(entries []dirent) []string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.name
	}
	return names
}

// caseReaddirLarge lists a directory of 10,000 entries (times -scale) in
// several ways and checks that each name appears exactly once.
func caseReaddirLarge(t *T) {
	count := int(10000 * t.cfg.scale)
	names := make([]string, count)
	for i := range names {
		names[i] = fmt.Sprintf("entry-%06d", i)
	}
	dir := t.Path("big")
	t.Must("mkdir", os.Mkdir(dir, 0o755))
	t.Must(fmt.Sprintf("create %d files", count), createEmptyFiles(dir, names))

	entries, err := os.ReadDir(dir)
	if t.Check("os.ReadDir", err) {
		listed := make([]string, len(entries))
		for i, e := range entries {
			listed[i] = e.Name()
		}
		t.expectEachOnce("os.ReadDir", listed, names)
	}

	f, err := os.Open(dir)
	t.Must("open directory", err)
	var listed []string
	for {
		batch, err := f.Readdirnames(100)
		listed = append(listed, batch...)
		if err != nil || len(batch) == 0 {
			break
		}
	}
	f.Close()
	t.expectEachOnce("Readdirnames in pages of 100", listed, names)

	// 512 bytes hold 16 entries of these names, so the listing takes
	// hundreds of getdents64 calls, each resuming from the directory offset
	// (the READDIR cookie on NFS).
	for _, size := range []int{512, 4096} {
		entries, err := readAllDirents(dir, size)
		step := fmt.Sprintf("getdents64 with a %d-byte buffer", size)
		if t.Check(step, err) {
			t.expectEachOnce(step, direntNames(entries), names)
			for _, e := range entries {
				if e.ino == 0 {
					t.Errorf("%s: %s has d_ino 0", step, e.name)
					break
				}
			}
		}
	}
}

// caseReaddirMutate removes and creates entries between getdents64 calls
// with a small buffer, and checks that every entry left untouched is
// listed exactly once. It starts with 2,000 entries (times -scale).
func caseReaddirMutate(t *T) {
	count := int(2000 * t.cfg.scale)
	dir := t.Path("churn")
	t.Must("mkdir", os.Mkdir(dir, 0o755))

	var untouched, victims []string
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("old-%06d", i)
		if i%3 == 1 {
			victims = append(victims, name)
		} else {
			untouched = append(untouched, name)
		}
	}
	t.Must("create files", createEmptyFiles(dir, append(append([]string{}, untouched...), victims...)))

	r, err := openDirents(dir, 1024)
	t.Must("open directory", err)
	defer r.Close()

	var listed []string
	created := make(map[string]bool)
	victimSet := make(map[string]bool, len(victims))
	for _, v := range victims {
		victimSet[v] = true
	}
	const perCall = 10
	calls := 0
	for {
		batch, err := r.next()
		t.Must("getdents64", err)
		if len(batch) == 0 {
			break
		}
		listed = append(listed, direntNames(batch)...)
		calls++

		for i := 0; i < perCall && len(victims) > 0; i++ {
			t.Must("remove during listing", os.Remove(dir+"/"+victims[0]))
			victims = victims[1:]
		}
		for i := 0; i < perCall && len(created) < count/3; i++ {
			name := fmt.Sprintf("new-%06d", len(created))
			t.Must("create during listing", createEmptyFiles(dir, []string{name}))
			created[name] = true
		}
	}

	// Removed and created names may or may not be listed, but at most once.
	var untouchedListed []string
	seen := make(map[string]int)
	for _, name := range listed {
		if victimSet[name] || created[name] {
			seen[name]++
			if seen[name] == 2 {
				t.Errorf("listing: %s listed more than once", name)
			}
			continue
		}
		untouchedListed = append(untouchedListed, name)
	}
	t.expectEachOnce(fmt.Sprintf("untouched entries over %d getdents64 calls", calls), untouchedListed, untouched)
}
