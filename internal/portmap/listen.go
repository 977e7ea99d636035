package portmap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/burrow-nfs/burrow/internal/oncrpc"
)

// Listeners are the portmapper's TCP listener and UDP socket, bound to the
// same port.
type Listeners struct {
	TCP net.Listener
	UDP *net.UDPConn
}

// Port returns the port both sockets are bound to.
func (l *Listeners) Port() int { return l.TCP.Addr().(*net.TCPAddr).Port }

// Close closes both sockets.
func (l *Listeners) Close() error {
	return errors.Join(l.TCP.Close(), l.UDP.Close())
}

// bindAttempts bounds the retries when addr asks for an ephemeral port and
// the port the kernel picked for TCP is taken for UDP.
const bindAttempts = 10

// Listen binds TCP and UDP on addr, such as ":111". Port 111 is
// privileged, so a process without root or CAP_NET_BIND_SERVICE gets an
// error that says so and how to fix it, and an address in use gets an
// error that names the usual owner, the system's rpcbind. Port 0 picks one
// free port for both protocols.
func Listen(addr string) (*Listeners, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid portmapper address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("invalid portmapper address %q: the port must be a number from 0 to 65535", addr)
	}

	for attempt := 1; ; attempt++ {
		tl, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, explainBindError(addr, port, err)
		}
		bound := tl.Addr().(*net.TCPAddr).Port
		uaddr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, strconv.Itoa(bound)))
		if err != nil {
			tl.Close()
			return nil, fmt.Errorf("invalid portmapper address %q: %w", addr, err)
		}
		ul, err := net.ListenUDP("udp", uaddr)
		if err == nil {
			return &Listeners{TCP: tl, UDP: ul}, nil
		}
		tl.Close()
		if port == 0 && errors.Is(err, syscall.EADDRINUSE) && attempt < bindAttempts {
			continue
		}
		return nil, explainBindError(uaddr.String()+" (UDP)", port, err)
	}
}

// explainBindError turns the usual bind failures into an error that says
// why and what to do.
func explainBindError(addr string, port int, err error) error {
	switch {
	case errors.Is(err, syscall.EACCES) && port < 1024:
		exe, exeErr := os.Executable()
		if exeErr != nil {
			exe = "/path/to/burrow"
		}
		return fmt.Errorf("cannot bind the portmapper to %s: ports below 1024 are privileged, so binding needs root or the CAP_NET_BIND_SERVICE capability. "+
			"Start burrow serve as root (in owner mode it switches to the owner of the directory after binding), "+
			"or grant the capability once with `sudo setcap cap_net_bind_service=+ep %s`, "+
			"or install the service with `burrow install --system`, whose unit grants it: %w", addr, exe, err)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot bind the portmapper to %s: the port is in use, usually by the system's rpcbind. "+
			"Stop it with `sudo systemctl disable --now rpcbind.socket rpcbind.service` (NFSv3 mounts made inside this VM need it) "+
			"or run burrow without the portmapper: %w", addr, err)
	}
	return fmt.Errorf("cannot bind the portmapper to %s: %w", addr, err)
}

// Serve answers portmapper calls for entries on both sockets of l until ctx
// ends, then closes them. It returns nil after ctx ends, or the error that
// stopped either socket first.
func Serve(ctx context.Context, l *Listeners, entries []Mapping, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv := oncrpc.NewServer(oncrpc.Options{Logger: log, AcceptConn: opts.AcceptRemote})
	for _, p := range New(entries, opts) {
		srv.Register(p)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- srv.Serve(l.TCP) }()
	go func() { errs <- ServeUDP(ctx, l.UDP, srv, opts.AcceptRemote, log) }()

	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
		if errors.Is(first, oncrpc.ErrServerClosed) {
			first = nil
		}
	}
	cancel()
	sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("portmapper shutdown timed out", "error", err)
	}
	l.UDP.Close()
	return first
}

// ServeUDP answers calls that arrive as datagrams on conn with the
// programs registered on srv, one datagram at a time, until ctx ends. It
// closes conn when ctx ends and then returns nil. Datagrams from a remote
// that accept rejects are dropped, and accept may be nil.
func ServeUDP(ctx context.Context, conn *net.UDPConn, srv *oncrpc.Server, accept func(net.Addr) bool, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	log.Info("RPC datagram server listening", "listener", conn.LocalAddr().String())

	in := make([]byte, oncrpc.MaxDatagramSize)
	var out []byte
	for {
		n, remote, err := conn.ReadFromUDP(in)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Error("reading RPC datagram failed; UDP server stopped", "listener", conn.LocalAddr().String(), "error", err)
			return err
		}
		if accept != nil && !accept(remote) {
			log.Debug("RPC datagram dropped by access control", "remote", remote.String())
			continue
		}
		reply, ok := srv.HandleDatagram(ctx, in[:n], remote, out[:0])
		out = reply
		if !ok {
			continue
		}
		if _, err := conn.WriteToUDP(reply, remote); err != nil {
			log.Warn("sending RPC datagram reply failed", "remote", remote.String(), "error", err)
		}
	}
}
