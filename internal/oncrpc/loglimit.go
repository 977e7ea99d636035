package oncrpc

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"
)

// maxLimitedKeys bounds the keys a logLimiter tracks, so a flood from many
// remote addresses cannot grow its map without bound. Past the bound, new
// keys share overflowKey.
const maxLimitedKeys = 4096

// overflowKey is the key of events whose own key did not fit.
const overflowKey = "\x00overflow"

// logLimiter lets through at most one log line per key and interval and
// counts the lines it holds back. It is safe for concurrent use.
type logLimiter struct {
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	keys map[string]*limitedKey
}

// limitedKey is the state of one key: when its next line may be written
// and how many lines were held back since its last one.
type limitedKey struct {
	next       time.Time
	suppressed int
}

func newLogLimiter(interval time.Duration) *logLimiter {
	return &logLimiter{interval: interval, now: time.Now, keys: make(map[string]*limitedKey)}
}

// allow reports whether a line for key may be written now. If it may,
// suppressed is the number of lines held back for key since the previous
// line.
func (l *logLimiter) allow(key string) (ok bool, suppressed int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()

	k, found := l.keys[key]
	if !found && len(l.keys) >= maxLimitedKeys {
		l.sweep(now)
		if len(l.keys) >= maxLimitedKeys {
			key = overflowKey
			k, found = l.keys[key]
		}
	}
	if !found {
		l.keys[key] = &limitedKey{next: now.Add(l.interval)}
		return true, 0
	}
	if now.Before(k.next) {
		k.suppressed++
		return false, 0
	}
	suppressed = k.suppressed
	k.suppressed = 0
	k.next = now.Add(l.interval)
	return true, suppressed
}

// sweep deletes the keys whose interval has passed. Their held-back
// counts are lost, because no line reports them.
func (l *logLimiter) sweep(now time.Time) {
	for key, k := range l.keys {
		if !now.Before(k.next) {
			delete(l.keys, key)
		}
	}
}

// logLimited writes a log line unless a line with the same key was written
// less than rejectLogInterval ago. The line carries "suppressed": how many
// lines for key were held back since the previous one.
func (s *Server) logLimited(level slog.Level, key, msg string, args ...any) {
	ok, suppressed := s.logLimiter.allow(key)
	if !ok {
		return
	}
	args = append(args, "suppressed", suppressed)
	s.log.Log(context.Background(), level, msg, args...)
}

// remoteHost returns the IP address of a TCP peer without its port, or
// the whole address for other networks, as the rate-limit key of a peer.
func remoteHost(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	return addr.String()
}
