package hostmount

import (
	"fmt"
	"path"
	"strings"
)

// Paths are the system locations that persistent mounts are written to.
// Tests point them into a temporary directory.
type Paths struct {
	SystemdDir string // directory for mount units, /etc/systemd/system
	AutoMaster string // autofs master map, /etc/auto_master
	AutoMap    string // burrow's autofs direct map, /etc/auto_burrow
}

// DefaultPaths are the real system locations.
var DefaultPaths = Paths{
	SystemdDir: "/etc/systemd/system",
	AutoMaster: "/etc/auto_master",
	AutoMap:    "/etc/auto_burrow",
}

// SystemdEscapePath escapes an absolute path into a unit name prefix the
// way `systemd-escape --path` does (systemd.unit(5), "String Escaping").
// The path is cleaned and stripped of its leading and trailing '/'. Each
// '/' becomes '-'. Every byte other than ASCII letters, digits, ':', '_'
// and '.' becomes \xNN, and so does a leading '.'. The root is "-".
func SystemdEscapePath(p string) string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return "-"
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c == '.' && i == 0:
			fmt.Fprintf(&b, `\x%02x`, c)
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ':', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// SystemdUnitName returns the mount unit name for mountPoint, which systemd
// requires to be the escaped path plus ".mount".
func SystemdUnitName(mountPoint string) string {
	return SystemdEscapePath(mountPoint) + ".mount"
}

// SystemdUnit returns the name and text of a mount unit for s. It is
// wanted by remote-fs.target, so it mounts at boot once the network is up,
// and a VM that is not running then fails only this unit, not the boot.
func SystemdUnit(s Spec) (name, text string, err error) {
	if err := validateSpec(Linux, s); err != nil {
		return "", "", err
	}
	opts, err := MountOptions(Linux, s)
	if err != nil {
		return "", "", err
	}
	src := Source(Linux, s.Host, s.Export)
	name = SystemdUnitName(s.MountPoint)
	text = "# Written by burrow mount --persist. Remove it with: burrow umount --persist " + s.MountPoint + "\n" +
		"[Unit]\n" +
		"Description=burrow NFS mount of " + src + "\n" +
		"Wants=network-online.target\n" +
		"After=network-online.target\n" +
		"\n" +
		"[Mount]\n" +
		"What=" + src + "\n" +
		"Where=" + path.Clean(s.MountPoint) + "\n" +
		"Type=nfs\n" +
		"Options=" + opts + "\n" +
		"TimeoutSec=30\n" +
		"\n" +
		"[Install]\n" +
		"WantedBy=remote-fs.target\n"
	return name, text, nil
}

// autoMasterLine is the line burrow adds to /etc/auto_master: a direct map
// ("/-") read from /etc/auto_burrow. The map name is the file name
// relative to /etc.
func autoMasterLine(p Paths) string {
	return "/-\t\t\t" + path.Base(p.AutoMap) + "\t-nosuid"
}

// AutoMasterWithBurrow returns master with burrow's direct map line added,
// and whether it changed.
func AutoMasterWithBurrow(master string, p Paths) (string, bool) {
	line := autoMasterLine(p)
	for _, l := range strings.Split(master, "\n") {
		if strings.TrimSpace(l) == strings.TrimSpace(line) {
			return master, false
		}
	}
	if master != "" && !strings.HasSuffix(master, "\n") {
		master += "\n"
	}
	return master + line + "\n", true
}

// AutoMasterWithoutBurrow returns master without burrow's direct map line,
// and whether it changed.
func AutoMasterWithoutBurrow(master string, p Paths) (string, bool) {
	line := strings.TrimSpace(autoMasterLine(p))
	var kept []string
	changed := false
	for _, l := range strings.SplitAfter(master, "\n") {
		if strings.TrimSpace(l) == line {
			changed = true
			continue
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, ""), changed
}

// AutoMapEntry returns the autofs direct map line for s: the mount point,
// the mount options, and the NFS location.
func AutoMapEntry(s Spec) (string, error) {
	if err := validateSpec(Darwin, s); err != nil {
		return "", err
	}
	if strings.ContainsAny(s.MountPoint, " \t\n") || strings.ContainsAny(s.Export, " \t\n") {
		return "", fmt.Errorf("autofs maps cannot hold white space: choose a mount point and export path without spaces")
	}
	opts, err := MountOptions(Darwin, s)
	if err != nil {
		return "", err
	}
	return path.Clean(s.MountPoint) + "\t-fstype=nfs," + opts + "\t" + Source(Darwin, s.Host, s.Export), nil
}

// AutoMapWith returns the direct map text with entry added, replacing any
// entry for the same mount point.
func AutoMapWith(mapText, entry string) string {
	key := strings.Fields(entry)[0]
	text, _ := AutoMapWithout(mapText, key)
	if text == "" {
		text = "# burrow mounts, written by burrow mount --persist. One line per mount point.\n"
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return text + entry + "\n"
}

// AutoMapWithout returns the direct map text without the entry for
// mountPoint, and whether one was removed.
func AutoMapWithout(mapText, mountPoint string) (string, bool) {
	key := path.Clean(mountPoint)
	var kept []string
	removed := false
	for _, l := range strings.SplitAfter(mapText, "\n") {
		fields := strings.Fields(l)
		if len(fields) > 0 && fields[0] == key {
			removed = true
			continue
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, ""), removed
}

// AutoMapIsEmpty reports whether a direct map has no entries left, only
// comments and blank lines.
func AutoMapIsEmpty(mapText string) bool {
	for _, l := range strings.Split(mapText, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}
