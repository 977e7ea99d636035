package hostmount

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// MountEntry is one mounted file system from the host's mount table.
type MountEntry struct {
	Source     string   // such as "192.168.64.5:/home/ubuntu/project"
	MountPoint string   // absolute path, unescaped
	FSType     string   // such as "nfs"
	Options    []string // mount and file system options, such as "port=2049"
}

// Option returns the value of option key ("" for a flag) and whether it is
// present.
func (m MountEntry) Option(key string) (string, bool) {
	for _, o := range m.Options {
		k, v, _ := strings.Cut(o, "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}

// Host returns the server part of an NFS Source, without IPv6 brackets.
func (m MountEntry) Host() string {
	host, _, ok := strings.Cut(m.Source, ":/")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// Port returns the NFS port from the options, or 2049 when they do not
// list one (macOS mount(8) output never does).
func (m MountEntry) Port() int {
	if v, ok := m.Option("port"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return 2049
}

// ParseMountinfo parses Linux /proc/self/mountinfo (proc(5)): ID, parent
// ID, major:minor, root, mount point, mount options, optional fields ended
// by "-", then file system type, source and super options. Paths escape
// space, tab, newline and backslash as three-digit octal.
func ParseMountinfo(data []byte) ([]MountEntry, error) {
	var entries []MountEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 6 || sep < 0 || sep+2 >= len(fields) {
			return nil, fmt.Errorf("invalid mountinfo line %d: %q", n, sc.Text())
		}
		opts := strings.Split(fields[5], ",")
		if sep+3 < len(fields) {
			opts = append(opts, strings.Split(fields[sep+3], ",")...)
		}
		entries = append(entries, MountEntry{
			Source:     unescapeOctal(fields[sep+2]),
			MountPoint: unescapeOctal(fields[4]),
			FSType:     fields[sep+1],
			Options:    opts,
		})
	}
	return entries, sc.Err()
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ParseDarwinMount parses the output of mount(8) on macOS, one line per
// file system: "SOURCE on MOUNTPOINT (TYPE, OPTION, ...)". Lines that do
// not have that shape are skipped.
func ParseDarwinMount(out []byte) []MountEntry {
	var entries []MountEntry
	for _, line := range strings.Split(string(out), "\n") {
		src, rest, ok := strings.Cut(line, " on ")
		if !ok {
			continue
		}
		open := strings.LastIndex(rest, " (")
		if open < 0 || !strings.HasSuffix(rest, ")") {
			continue
		}
		inner := strings.Split(rest[open+2:len(rest)-1], ",")
		for i := range inner {
			inner[i] = strings.TrimSpace(inner[i])
		}
		entries = append(entries, MountEntry{
			Source:     src,
			MountPoint: rest[:open],
			FSType:     inner[0],
			Options:    inner[1:],
		})
	}
	return entries
}

// IsBurrowMount reports whether m looks like a burrow mount: an NFS mount
// under mountRoot, or one whose NFS and MOUNT ports are the same, which
// burrow's single-port server needs and a kernel NFS server does not use.
func IsBurrowMount(m MountEntry, mountRoot string) bool {
	if m.FSType != "nfs" {
		return false
	}
	if mountRoot != "" && strings.HasPrefix(filepath.Clean(m.MountPoint)+"/", filepath.Clean(mountRoot)+"/") {
		return true
	}
	port, ok1 := m.Option("port")
	mountPort, ok2 := m.Option("mountport")
	return ok1 && ok2 && port == mountPort
}
