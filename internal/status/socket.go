package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// writeTimeout bounds how long one status client may take to read its
// snapshot.
const writeTimeout = 5 * time.Second

// Dirs returns the directories that may contain status sockets, in the
// order they are tried: $XDG_RUNTIME_DIR/burrow when XDG_RUNTIME_DIR is
// set, then /tmp/burrow-<uid>. getenv is os.Getenv outside tests.
func Dirs(getenv func(string) string, uid int) []string {
	var dirs []string
	if rt := getenv("XDG_RUNTIME_DIR"); rt != "" {
		dirs = append(dirs, filepath.Join(rt, "burrow"))
	}
	return append(dirs, filepath.Join("/tmp", "burrow-"+strconv.Itoa(uid)))
}

// SocketPath returns the status socket of the server on port in the first
// of Dirs: $XDG_RUNTIME_DIR/burrow/<port>.sock, or
// /tmp/burrow-<uid>/<port>.sock without XDG_RUNTIME_DIR.
func SocketPath(port int) string {
	return filepath.Join(Dirs(os.Getenv, os.Getuid())[0], strconv.Itoa(port)+".sock")
}

// ListenSocket listens on path with mode 0600. It first creates the
// directory of path with mode 0700 if needed and checks that the current
// user owns it and that no other user can write to it. A stale socket left
// by a server that died is removed. It fails if another server accepts
// connections on path.
func ListenSocket(path string) (*net.UnixListener, error) {
	if err := ensurePrivateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("cannot listen on status socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("cannot set mode 0600 on status socket %s: %w", path, err)
	}
	return l, nil
}

// ensurePrivateDir creates dir with mode 0700, or accepts an existing
// directory owned by the current user that no other user can write to.
// The check matters for the fallback under /tmp, where another user could
// create the directory first.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create status socket directory %s: %w", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("cannot check status socket directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("status socket directory %s is not a directory; remove it or set XDG_RUNTIME_DIR", dir)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("status socket directory %s is owned by uid %d, not by uid %d; remove it or set XDG_RUNTIME_DIR", dir, sys.Uid, os.Getuid())
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("status socket directory %s has mode %04o, so other users can write to it; run chmod 0700 %s", dir, st.Mode().Perm(), dir)
	}
	return nil
}

// removeStaleSocket removes a socket at path that no server accepts
// connections on. It fails if a server accepts one, or if path is not a
// socket.
func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot check status socket %s: %w", path, err)
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("status socket path %s exists and is not a socket; remove it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("another burrow serve answers on status socket %s; stop it or serve on another port", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("cannot remove stale status socket %s: %w", path, err)
	}
	return nil
}

// Serve sends a JSON snapshot of c to each client that connects to l, then
// closes that connection, until ctx ends. It then closes l, which removes
// the socket file, and returns nil. Another Accept failure is returned.
func Serve(ctx context.Context, l net.Listener, c *Counters, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	defer l.Close()
	log.Info("status socket listening", "socket", l.Addr().String())

	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Error("accepting status connection failed; status socket stopped", "socket", l.Addr().String(), "error", err)
			return err
		}
		go sendSnapshot(conn, c, log)
	}
}

func sendSnapshot(conn net.Conn, c *Counters, log *slog.Logger) {
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := json.NewEncoder(conn).Encode(c.Snapshot()); err != nil {
		log.Warn("sending status snapshot failed", "error", err)
	}
}

// Fetch reads one snapshot from the status socket at path.
func Fetch(ctx context.Context, path string) (Snapshot, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Snapshot{}, fmt.Errorf("cannot connect to status socket %s: %w; is burrow serve running as this user?", path, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(deadline)
	}
	var s Snapshot
	if err := json.NewDecoder(conn).Decode(&s); err != nil {
		return Snapshot{}, fmt.Errorf("invalid status reply on %s: %w", path, err)
	}
	return s, nil
}

// FindSockets returns the status sockets in dirs, in order. A directory
// that does not exist is skipped.
func FindSockets(dirs []string) ([]string, error) {
	var out []string
	for _, dir := range dirs {
		matches, err := filepath.Glob(filepath.Join(dir, "*.sock"))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			if st, err := os.Lstat(m); err == nil && st.Mode().Type() == fs.ModeSocket {
				out = append(out, m)
			}
		}
	}
	return out, nil
}
