package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// helperArg as the first argument makes the binary run one file system
// call and print its outcome instead of the suite. Cases run it under
// another uid to see what the server allows that user.
const helperArg = "__call"

// devUID and devGID identify the second, unprivileged user of the test VM.
const (
	devUID = 1001
	devGID = 1001
)

// runHelper runs one call and prints "ok", "ok UID GID" for stat, or the
// errno name of the failure.
func runHelper(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: burrow-e2e __call OP PATH [ARGS]; OP is one of chmod, chown, stat, read, write, create, truncate, exec, unlink, mkdir, rmdir, rename, readdir, utimes-now, utimes-set")
		return 2
	}
	op, path := args[0], args[1]
	var err error
	switch {
	case op == "chmod" && len(args) == 3:
		var mode uint64
		if mode, err = strconv.ParseUint(args[2], 8, 32); err == nil {
			err = unix.Chmod(path, uint32(mode))
		}
	case op == "chown" && len(args) == 4:
		var uid, gid int
		if uid, err = strconv.Atoi(args[2]); err == nil {
			if gid, err = strconv.Atoi(args[3]); err == nil {
				err = unix.Lchown(path, uid, gid)
			}
		}
	case op == "stat" && len(args) == 2:
		var st unix.Stat_t
		if err = unix.Lstat(path, &st); err == nil {
			fmt.Printf("ok %d %d\n", st.Uid, st.Gid)
			return 0
		}
	case op == "read" && len(args) == 2:
		_, err = os.ReadFile(path)
	case op == "write" && len(args) == 2:
		err = appendByte(path)
	case op == "create" && len(args) == 3:
		var mode uint64
		if mode, err = strconv.ParseUint(args[2], 8, 32); err == nil {
			var fd int
			if fd, err = unix.Open(path, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, uint32(mode)); err == nil {
				err = unix.Close(fd)
			}
		}
	case op == "truncate" && len(args) == 2:
		err = unix.Truncate(path, 0)
	case op == "exec" && len(args) == 2:
		err = exec.Command(path).Run()
	case op == "unlink" && len(args) == 2:
		err = unix.Unlink(path)
	case op == "mkdir" && len(args) == 3:
		var mode uint64
		if mode, err = strconv.ParseUint(args[2], 8, 32); err == nil {
			err = unix.Mkdir(path, uint32(mode))
		}
	case op == "rmdir" && len(args) == 2:
		err = unix.Rmdir(path)
	case op == "rename" && len(args) == 3:
		err = unix.Rename(path, args[2])
	case op == "readdir" && len(args) == 2:
		_, err = os.ReadDir(path)
	case op == "utimes-now" && len(args) == 2:
		// Both UTIME_NOW is utimes(path, NULL), which write permission
		// allows.
		now := []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}
		err = unix.UtimesNanoAt(unix.AT_FDCWD, path, now, 0)
	case op == "utimes-set" && len(args) == 2:
		// Explicit times need ownership.
		ts := []unix.Timespec{{Sec: 1000000000}, {Sec: 1000000000}}
		err = unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, 0)
	default:
		fmt.Fprintf(os.Stderr, "invalid call %q\n", args)
		return 2
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			fmt.Printf("exit status %d\n", exitErr.ExitCode())
		} else if errno := errnoOf(err); errno != 0 {
			fmt.Println(errnoName(errno))
		} else {
			fmt.Println(err)
		}
		return 0
	}
	fmt.Println("ok")
	return 0
}

// appendByte opens path for writing without O_CREAT and appends one byte.
func appendByte(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte("x"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// callAs runs one helper call as uid and gid and returns its printed
// outcome, such as "ok" or "EPERM".
func (t *T) callAs(uid, gid uint32, args ...string) (string, error) {
	return t.callAsGroups(uid, gid, []uint32{}, args...)
}

// callAsGroups is callAs with the supplementary groups set to groups.
func (t *T) callAsGroups(uid, gid uint32, groups []uint32, args ...string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := asUser(t.command("/", self, append([]string{helperArg}, args...)...), uid, gid)
	cmd.SysProcAttr.Credential.Groups = groups
	out, err := output(cmd)
	return strings.TrimSpace(out), err
}
