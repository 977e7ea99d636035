package main

import (
	"fmt"
	"os"
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
		fmt.Fprintln(os.Stderr, "usage: burrow-e2e __call chmod|chown|stat PATH [ARGS]")
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
	default:
		fmt.Fprintf(os.Stderr, "invalid call %q\n", args)
		return 2
	}
	if err != nil {
		if errno := errnoOf(err); errno != 0 {
			fmt.Println(errnoName(errno))
		} else {
			fmt.Println(err)
		}
		return 0
	}
	fmt.Println("ok")
	return 0
}

// callAs runs one helper call as uid and gid and returns its printed
// outcome, such as "ok" or "EPERM".
func (t *T) callAs(uid, gid uint32, args ...string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := asUser(t.command("/", self, append([]string{helperArg}, args...)...), uid, gid)
	out, err := output(cmd)
	return strings.TrimSpace(out), err
}
