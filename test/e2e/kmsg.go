package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"
)

// nfsErrorPattern matches kernel messages of the NFS client that mean a
// file handle went stale, a fileid changed under the client, or the
// server stopped responding.
var nfsErrorPattern = regexp.MustCompile(`(?i)stale|fileid changed|nfs: server .* not responding`)

// kernelLog reads the kernel messages that appear after it was opened,
// from /dev/kmsg when possible and otherwise from the output of dmesg.
type kernelLog struct {
	fd int // -1 when reading dmesg
	// seen is the number of dmesg lines already returned.
	seen int
}

func openKernelLog() (*kernelLog, error) {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == nil {
		if _, err = unix.Seek(fd, 0, unix.SEEK_END); err == nil {
			return &kernelLog{fd: fd}, nil
		}
		unix.Close(fd)
	}
	l := &kernelLog{fd: -1}
	lines, derr := l.dmesg()
	if derr != nil {
		return nil, fmt.Errorf("open /dev/kmsg: %v, and dmesg failed: %v", err, derr)
	}
	l.seen = len(lines)
	return l, nil
}

// newLines returns the kernel messages logged since the previous call.
func (l *kernelLog) newLines() ([]string, error) {
	if l.fd < 0 {
		lines, err := l.dmesg()
		if err != nil {
			return nil, err
		}
		if len(lines) < l.seen {
			// The ring buffer wrapped or was cleared, so every line is new.
			l.seen = 0
		}
		fresh := lines[l.seen:]
		l.seen = len(lines)
		return fresh, nil
	}

	var lines []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(l.fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return lines, nil
		case errors.Is(err, unix.EPIPE):
			// Records were overwritten before they were read; the next
			// read returns the oldest record still kept.
			continue
		case err != nil:
			return lines, fmt.Errorf("read /dev/kmsg: %w", err)
		}
		// A record is "priority,sequence,time,flags;message" followed by
		// optional continuation lines that start with a space.
		record := string(buf[:n])
		if i := strings.IndexByte(record, ';'); i >= 0 {
			record = record[i+1:]
		}
		if i := strings.IndexByte(record, '\n'); i >= 0 {
			record = record[:i]
		}
		lines = append(lines, record)
	}
}

func (l *kernelLog) dmesg() ([]string, error) {
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		return nil, err
	}
	return strings.Split(string(bytes.TrimRight(out, "\n")), "\n"), nil
}

// nfsErrorLines returns the lines that match nfsErrorPattern.
func nfsErrorLines(lines []string) []string {
	var matches []string
	for _, line := range lines {
		if nfsErrorPattern.MatchString(line) {
			matches = append(matches, line)
		}
	}
	return matches
}
