// Package discover turns a mount target such as "192.168.56.10:2049" or
// "multipass:dev" into the address and port of the burrow server in the VM.
//
// A VM target is resolved by running the VM manager's own command line tool
// (vagrant, multipass or limactl) found on PATH and reading its documented
// output: `vagrant ssh-config NAME`, `multipass info NAME --format json` and
// `limactl list --json`.
package discover

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
)

// DefaultPort is the TCP port that `burrow serve` listens on unless told
// otherwise. NFS and MOUNT share it.
const DefaultPort = 2049

// Providers that a target can name before the colon.
const (
	Vagrant   = "vagrant"
	Multipass = "multipass"
	Lima      = "lima"
)

// Target is a parsed mount target.
type Target struct {
	Provider string // "" for HOST[:PORT], else Vagrant, Multipass or Lima
	Name     string // VM name for a provider target, host for a plain one
	Port     int    // server port; DefaultPort unless HOST:PORT gave one
}

// String returns the target in the form Parse accepts.
func (t Target) String() string {
	if t.Provider != "" {
		return t.Provider + ":" + t.Name
	}
	if t.Port == DefaultPort {
		return t.Name
	}
	return net.JoinHostPort(t.Name, strconv.Itoa(t.Port))
}

// Parse parses HOST, HOST:PORT, [IPV6]:PORT, vagrant:NAME, multipass:NAME or
// lima:NAME. A provider target always uses DefaultPort; the caller may
// override Port afterwards.
func Parse(s string) (Target, error) {
	if s == "" {
		return Target{}, errors.New("empty target: give HOST[:PORT], vagrant:NAME, multipass:NAME or lima:NAME")
	}
	if prefix, name, ok := strings.Cut(s, ":"); ok {
		switch prefix {
		case Vagrant, Multipass, Lima:
			if name == "" || strings.ContainsAny(name, " /\\:") {
				return Target{}, fmt.Errorf("invalid VM name %q in target %q", name, s)
			}
			return Target{Provider: prefix, Name: name, Port: DefaultPort}, nil
		}
	}
	host, port := s, DefaultPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("invalid port %q in target %q: want 1 to 65535", p, s)
		}
		host, port = h, n
	} else if strings.Count(s, ":") == 1 {
		// One colon that SplitHostPort rejected, such as "host:".
		return Target{}, fmt.Errorf("invalid target %q: want HOST[:PORT]", s)
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || strings.ContainsAny(host, " /\\") {
		return Target{}, fmt.Errorf("invalid host %q in target %q", host, s)
	}
	return Target{Name: host, Port: port}, nil
}

// Endpoint is a resolved server address.
type Endpoint struct {
	Host string // IP address or host name to mount from
	Port int
	// Name is a short name for the mount: the VM name, or the host.
	Name string
	// Note explains an address that only works with extra VM setup, such
	// as 127.0.0.1 behind a NAT port forward. Empty when there is nothing
	// to add.
	Note string
}

// Addr returns host:port for dialing.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// Runner runs a program found on PATH and returns its standard output.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// ToolMissingError reports that a VM manager's command line tool is not on
// PATH.
type ToolMissingError struct {
	Tool     string // executable name, such as "limactl"
	Provider string
}

func (e *ToolMissingError) Error() string {
	return fmt.Sprintf("%s not found on PATH: install it or give the VM's address as HOST[:PORT] instead of %s:NAME", e.Tool, e.Provider)
}

// ExecRunner runs name through os/exec. When name is not on PATH the error
// wraps exec.ErrNotFound. A failed run's error includes its standard error.
func ExecRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return nil, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// Resolve finds the server address for t. A plain HOST[:PORT] target is
// returned as it is, without a DNS lookup. run is ExecRunner unless a test
// injects another.
func Resolve(ctx context.Context, t Target, run Runner) (Endpoint, error) {
	if run == nil {
		run = ExecRunner
	}
	switch t.Provider {
	case "":
		return Endpoint{Host: t.Name, Port: t.Port, Name: t.Name}, nil
	case Vagrant:
		return resolveVagrant(ctx, t, run)
	case Multipass:
		return resolveMultipass(ctx, t, run)
	case Lima:
		return resolveLima(ctx, t, run)
	}
	return Endpoint{}, fmt.Errorf("unknown VM provider %q", t.Provider)
}

func runTool(ctx context.Context, run Runner, provider, tool string, args ...string) ([]byte, error) {
	out, err := run(ctx, tool, args...)
	if errors.Is(err, exec.ErrNotFound) {
		return nil, &ToolMissingError{Tool: tool, Provider: provider}
	}
	return out, err
}

// loopbackNote is the Note for a VM reached through a port forward on the
// host's loopback address.
func loopbackNote(provider, name string, port int) string {
	return fmt.Sprintf("%s reports 127.0.0.1 for %s: this works only when the VM forwards host port %d to guest port %d (see docs/%s.md)",
		provider, name, port, port, provider)
}

// resolveVagrant reads HostName from `vagrant ssh-config NAME`, which prints
// an OpenSSH client configuration block ("Host NAME" followed by indented
// "Key value" lines).
func resolveVagrant(ctx context.Context, t Target, run Runner) (Endpoint, error) {
	out, err := runTool(ctx, run, Vagrant, "vagrant", "ssh-config", t.Name)
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve vagrant:%s: %w", t.Name, err)
	}
	host := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && strings.EqualFold(fields[0], "HostName") {
			host = fields[1]
			break
		}
	}
	if host == "" {
		return Endpoint{}, fmt.Errorf("resolve vagrant:%s: no HostName line in `vagrant ssh-config %s` output; is the VM running?", t.Name, t.Name)
	}
	ep := Endpoint{Host: host, Port: t.Port, Name: t.Name}
	if isLoopback(host) {
		ep.Note = loopbackNote(Vagrant, t.Name, t.Port)
	}
	return ep, nil
}

// multipassInfo is the part of `multipass info NAME --format json` output
// that burrow reads: {"errors": [], "info": {"NAME": {"ipv4": [...],
// "state": "Running", ...}}}.
type multipassInfo struct {
	Errors []json.RawMessage `json:"errors"`
	Info   map[string]struct {
		State string   `json:"state"`
		IPv4  []string `json:"ipv4"`
	} `json:"info"`
}

func resolveMultipass(ctx context.Context, t Target, run Runner) (Endpoint, error) {
	out, err := runTool(ctx, run, Multipass, "multipass", "info", t.Name, "--format", "json")
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve multipass:%s: %w", t.Name, err)
	}
	var info multipassInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return Endpoint{}, fmt.Errorf("resolve multipass:%s: invalid JSON from multipass info: %w", t.Name, err)
	}
	vm, ok := info.Info[t.Name]
	if !ok {
		return Endpoint{}, fmt.Errorf("resolve multipass:%s: multipass info has no instance %q", t.Name, t.Name)
	}
	if len(vm.IPv4) == 0 || vm.IPv4[0] == "" {
		return Endpoint{}, fmt.Errorf("resolve multipass:%s: the instance has no IPv4 address (state %q); start it with `multipass start %s`", t.Name, vm.State, t.Name)
	}
	return Endpoint{Host: vm.IPv4[0], Port: t.Port, Name: t.Name}, nil
}

// limaInstance is the part of one `limactl list --json` line that burrow
// reads. sshAddress is missing from older Lima releases, which always used
// 127.0.0.1.
type limaInstance struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	SSHAddress string `json:"sshAddress"`
}

// resolveLima finds the instance in `limactl list --json`, which prints one
// JSON object per line. With Lima's default user-mode networking the guest
// is reachable only through Lima's port forwards on 127.0.0.1, so that is
// the address returned.
func resolveLima(ctx context.Context, t Target, run Runner) (Endpoint, error) {
	out, err := runTool(ctx, run, Lima, "limactl", "list", "--json")
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve lima:%s: %w", t.Name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var inst limaInstance
		err := dec.Decode(&inst)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Endpoint{}, fmt.Errorf("resolve lima:%s: invalid JSON from limactl list: %w", t.Name, err)
		}
		if inst.Name != t.Name {
			continue
		}
		if inst.Status != "Running" {
			return Endpoint{}, fmt.Errorf("resolve lima:%s: the instance is %s; start it with `limactl start %s`", t.Name, inst.Status, t.Name)
		}
		host := inst.SSHAddress
		if host == "" {
			host = "127.0.0.1"
		}
		ep := Endpoint{Host: host, Port: t.Port, Name: t.Name}
		if isLoopback(host) {
			ep.Note = loopbackNote(Lima, t.Name, t.Port)
		}
		return ep, nil
	}
	return Endpoint{}, fmt.Errorf("resolve lima:%s: limactl list has no instance %q", t.Name, t.Name)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
