package main

import (
	"fmt"
	"os"
	"path/filepath"
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
// several ways and checks that each name appears exactly once. The files
// are created once through -dir and listed again through each of
// -extra-dirs after the caches are dropped, so that the client has to
// fetch the listing with that mount's options.
func caseReaddirLarge(t *T) {
	count := int(10000 * t.cfg.scale)
	names := make([]string, count)
	for i := range names {
		names[i] = fmt.Sprintf("entry-%06d", i)
	}
	dir := t.Path("big")
	t.Must("mkdir", os.Mkdir(dir, 0o755))
	t.Must(fmt.Sprintf("create %d files", count), createEmptyFiles(dir, names))

	t.expectListings("", dir, names)
	for _, extra := range t.cfg.extraDirs {
		t.forgetCachedData()
		t.expectListings(extra+": ", filepath.Join(extra, t.rel, "big"), names)
	}
}

// expectListings lists dir with os.ReadDir, Readdirnames and getdents64
// with two buffer sizes, and checks that each lists every name in names
// exactly once. prefix starts every step name.
func (t *T) expectListings(prefix, dir string, names []string) {
	entries, err := os.ReadDir(dir)
	if t.Check(prefix+"os.ReadDir", err) {
		listed := make([]string, len(entries))
		for i, e := range entries {
			listed[i] = e.Name()
		}
		t.expectEachOnce(prefix+"os.ReadDir", listed, names)
	}

	f, err := os.Open(dir)
	if !t.Check(prefix+"open directory", err) {
		return
	}
	var listed []string
	for {
		batch, err := f.Readdirnames(100)
		listed = append(listed, batch...)
		if err != nil || len(batch) == 0 {
			break
		}
	}
	f.Close()
	t.expectEachOnce(prefix+"Readdirnames in pages of 100", listed, names)

	// 512 bytes hold 16 entries of these names, so the listing takes
	// hundreds of getdents64 calls, each resuming from the directory offset
	// (the READDIR cookie on NFS).
	for _, size := range []int{512, 4096} {
		entries, err := readAllDirents(dir, size)
		step := fmt.Sprintf("%sgetdents64 with a %d-byte buffer", prefix, size)
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
// listed exactly once. It starts with 2,000 entries (times -scale)
// through -dir, and then with 500 through each of -extra-dirs.
//
// Each change makes the Linux client drop its cached listing of the
// directory. With 2,000 entries through all three mounts of the harness,
// the case took 2 minutes under TCG emulation instead of 18 s through
// -dir alone, hence the smaller count.
func caseReaddirMutate(t *T) {
	t.mutateDuringListing("", t.Path("churn"), int(2000*t.cfg.scale))
	for i, extra := range t.cfg.extraDirs {
		dir := filepath.Join(extra, t.rel, fmt.Sprintf("churn-%d", i+1))
		t.mutateDuringListing(extra+": ", dir, int(500*t.cfg.scale))
	}
}

// mutateDuringListing runs caseReaddirMutate in dir, which it creates,
// starting with count entries. prefix starts every step name.
func (t *T) mutateDuringListing(prefix, dir string, count int) {
	t.Must(prefix+"mkdir", os.Mkdir(dir, 0o755))

	var untouched, victims []string
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("old-%06d", i)
		if i%3 == 1 {
			victims = append(victims, name)
		} else {
			untouched = append(untouched, name)
		}
	}
	t.Must(prefix+"create files", createEmptyFiles(dir, append(append([]string{}, untouched...), victims...)))

	r, err := openDirents(dir, 1024)
	t.Must(prefix+"open directory", err)
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
		t.Must(prefix+"getdents64", err)
		if len(batch) == 0 {
			break
		}
		listed = append(listed, direntNames(batch)...)
		calls++

		for i := 0; i < perCall && len(victims) > 0; i++ {
			t.Must(prefix+"remove during listing", os.Remove(dir+"/"+victims[0]))
			victims = victims[1:]
		}
		for i := 0; i < perCall && len(created) < count/3; i++ {
			name := fmt.Sprintf("new-%06d", len(created))
			t.Must(prefix+"create during listing", createEmptyFiles(dir, []string{name}))
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
				t.Errorf("%slisting: %s listed more than once", prefix, name)
			}
			continue
		}
		untouchedListed = append(untouchedListed, name)
	}
	t.expectEachOnce(fmt.Sprintf("%suntouched entries over %d getdents64 calls", prefix, calls), untouchedListed, untouched)
}
