package hostmount

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultWindowsDrive is the drive letter burrow mounts on when none is
// given on Windows.
const DefaultWindowsDrive = "Z:"

// MountRoot returns the directory that holds burrow's default mount points:
// HOME/burrow.
func MountRoot(home string) string { return filepath.Join(home, "burrow") }

// DefaultMountPoint returns HOME/burrow/NAME, or DefaultWindowsDrive on
// Windows. Characters of name other than letters, digits, '.', '_' and '-'
// become '-', so an IPv6 address or a VM name with a slash stays one
// directory.
func DefaultMountPoint(goos, home, name string) (string, error) {
	if goos == Windows {
		return DefaultWindowsDrive, nil
	}
	if home == "" {
		return "", fmt.Errorf("home directory unknown: give a MOUNTPOINT")
	}
	clean := sanitizeName(name)
	if clean == "" || clean == "." || clean == ".." {
		return "", fmt.Errorf("cannot build a mount point from name %q: give a MOUNTPOINT", name)
	}
	return filepath.Join(MountRoot(home), clean), nil
}

func sanitizeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// CheckMountPoint rejects a mount point that would hide files the user
// needs: the file system root, the home directory itself, or a directory
// that contains the home directory. On Windows it must be a drive letter.
// mountPoint must already be absolute on Linux and macOS.
func CheckMountPoint(goos, home, mountPoint string) error {
	if goos == Windows {
		if !isDriveLetter(mountPoint) {
			return fmt.Errorf("invalid mount point %q: want a drive letter such as Z:", mountPoint)
		}
		return nil
	}
	if !filepath.IsAbs(mountPoint) {
		return fmt.Errorf("invalid mount point %q: want an absolute path", mountPoint)
	}
	mp := filepath.Clean(mountPoint)
	if mp == "/" {
		return fmt.Errorf("invalid mount point /: mounting there would hide the whole file system")
	}
	if home != "" {
		h := filepath.Clean(home)
		if mp == h {
			return fmt.Errorf("invalid mount point %s: it is the home directory, so use a directory inside it, such as %s", h, filepath.Join(MountRoot(h), "NAME"))
		}
		if strings.HasPrefix(h, mp+"/") {
			return fmt.Errorf("invalid mount point %s: it contains the home directory %s", mp, h)
		}
	}
	return nil
}

func isDriveLetter(s string) bool {
	if len(s) != 2 || s[1] != ':' {
		return false
	}
	c := s[0] | 0x20 // lower case
	return c >= 'a' && c <= 'z'
}
