package discover

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Outputs in the documented formats of each tool, for a VM named "dev".
const (
	vagrantSSHConfig = `Host dev
  HostName 192.168.56.10
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile /home/u/project/.vagrant/machines/dev/virtualbox/private_key
  IdentitiesOnly yes
  LogLevel FATAL
`
	vagrantNATSSHConfig = `Host dev
  HostName 127.0.0.1
  User vagrant
  Port 2222
`
	multipassInfoJSON = `{
    "errors": [
    ],
    "info": {
        "dev": {
            "cpu_count": "2",
            "image_release": "24.04 LTS",
            "ipv4": [
                "192.168.64.5",
                "10.10.0.3"
            ],
            "release": "Ubuntu 24.04.1 LTS",
            "state": "Running"
        }
    }
}
`
	limaListJSON = `{"name":"default","status":"Stopped","dir":"/Users/u/.lima/default","vmType":"vz","arch":"aarch64","sshLocalPort":0}
{"name":"dev","status":"Running","dir":"/Users/u/.lima/dev","vmType":"vz","arch":"aarch64","sshLocalPort":60022,"sshAddress":"127.0.0.1","hostAgentPID":1968}
`
)

// installFakeTool writes an executable shell script named tool into a temp
// directory put first on PATH. The script prints output when its
// arguments are wantArgs and fails otherwise.
func installFakeTool(t *testing.T, tool, wantArgs, output string) {
	t.Helper()
	dir := t.TempDir()
	outFile := filepath.Join(dir, tool+".out")
	if err := os.WriteFile(outFile, []byte(output), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n" +
		"if [ \"$*\" != '" + wantArgs + "' ]; then echo \"unexpected arguments: $*\" >&2; exit 2; fi\n" +
		"cat '" + outFile + "'\n"
	if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestParseTargets(t *testing.T) {
	cases := []struct {
		in   string
		want Target
	}{
		{"192.168.56.10", Target{Name: "192.168.56.10", Port: 2049}},
		{"192.168.56.10:12049", Target{Name: "192.168.56.10", Port: 12049}},
		{"devbox.local", Target{Name: "devbox.local", Port: 2049}},
		{"[fd00::5]:2050", Target{Name: "fd00::5", Port: 2050}},
		{"fd00::5", Target{Name: "fd00::5", Port: 2049}},
		{"vagrant:dev", Target{Provider: Vagrant, Name: "dev", Port: 2049}},
		{"multipass:primary", Target{Provider: Multipass, Name: "primary", Port: 2049}},
		{"lima:default", Target{Provider: Lima, Name: "default", Port: 2049}},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("Parse(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestParseRejectsInvalid(t *testing.T) {
	for _, in := range []string{"", "host:", "host:0", "host:70000", "host:http", "vagrant:", "lima:a/b", "a b"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, got)
		}
	}
}

func TestResolvePlainHost(t *testing.T) {
	ep, err := Resolve(context.Background(), Target{Name: "10.0.0.7", Port: 2049}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Addr() != "10.0.0.7:2049" {
		t.Errorf("Addr = %q, want 10.0.0.7:2049", ep.Addr())
	}
}

func TestResolveVagrantPrivateNetwork(t *testing.T) {
	installFakeTool(t, "vagrant", "ssh-config dev", vagrantSSHConfig)
	ep, err := Resolve(context.Background(), Target{Provider: Vagrant, Name: "dev", Port: 2049}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Host != "192.168.56.10" {
		t.Errorf("Host = %q, want 192.168.56.10", ep.Host)
	}
	if ep.Note != "" {
		t.Errorf("Note = %q, want none for a private network address", ep.Note)
	}
}

func TestResolveVagrantNATNotesForward(t *testing.T) {
	installFakeTool(t, "vagrant", "ssh-config dev", vagrantNATSSHConfig)
	ep, err := Resolve(context.Background(), Target{Provider: Vagrant, Name: "dev", Port: 2049}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Host != "127.0.0.1" {
		t.Errorf("Host = %q, want 127.0.0.1", ep.Host)
	}
	if !strings.Contains(ep.Note, "forwards host port 2049 to guest port 2049") {
		t.Errorf("Note = %q, want it to explain the port forward", ep.Note)
	}
}

func TestResolveVagrantNoHostName(t *testing.T) {
	installFakeTool(t, "vagrant", "ssh-config dev", "Host dev\n  User vagrant\n")
	_, err := Resolve(context.Background(), Target{Provider: Vagrant, Name: "dev", Port: 2049}, nil)
	if err == nil || !strings.Contains(err.Error(), "no HostName line") {
		t.Errorf("err = %v, want a missing HostName error", err)
	}
}

func TestResolveMultipassFirstIPv4(t *testing.T) {
	installFakeTool(t, "multipass", "info dev --format json", multipassInfoJSON)
	ep, err := Resolve(context.Background(), Target{Provider: Multipass, Name: "dev", Port: 2049}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Host != "192.168.64.5" {
		t.Errorf("Host = %q, want 192.168.64.5", ep.Host)
	}
	if ep.Name != "dev" {
		t.Errorf("Name = %q, want dev", ep.Name)
	}
}

func TestResolveMultipassStopped(t *testing.T) {
	installFakeTool(t, "multipass", "info dev --format json",
		`{"errors":[],"info":{"dev":{"ipv4":[],"state":"Stopped"}}}`)
	_, err := Resolve(context.Background(), Target{Provider: Multipass, Name: "dev", Port: 2049}, nil)
	if err == nil || !strings.Contains(err.Error(), "multipass start dev") {
		t.Errorf("err = %v, want advice to start the instance", err)
	}
}

func TestResolveLimaRunningInstance(t *testing.T) {
	installFakeTool(t, "limactl", "list --json", limaListJSON)
	ep, err := Resolve(context.Background(), Target{Provider: Lima, Name: "dev", Port: 2049}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Addr() != "127.0.0.1:2049" {
		t.Errorf("Addr = %q, want 127.0.0.1:2049", ep.Addr())
	}
	if !strings.Contains(ep.Note, "docs/lima.md") {
		t.Errorf("Note = %q, want a pointer to docs/lima.md", ep.Note)
	}
}

func TestResolveLimaStoppedInstance(t *testing.T) {
	installFakeTool(t, "limactl", "list --json", limaListJSON)
	_, err := Resolve(context.Background(), Target{Provider: Lima, Name: "default", Port: 2049}, nil)
	if err == nil || !strings.Contains(err.Error(), "limactl start default") {
		t.Errorf("err = %v, want advice to start the instance", err)
	}
}

func TestResolveLimaUnknownInstance(t *testing.T) {
	installFakeTool(t, "limactl", "list --json", limaListJSON)
	_, err := Resolve(context.Background(), Target{Provider: Lima, Name: "nope", Port: 2049}, nil)
	if err == nil || !strings.Contains(err.Error(), `no instance "nope"`) {
		t.Errorf("err = %v, want an unknown instance error", err)
	}
}

func TestResolveMissingToolNamesIt(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, c := range []struct{ provider, tool string }{
		{Vagrant, "vagrant"}, {Multipass, "multipass"}, {Lima, "limactl"},
	} {
		_, err := Resolve(context.Background(), Target{Provider: c.provider, Name: "dev", Port: 2049}, nil)
		var missing *ToolMissingError
		if !errors.As(err, &missing) {
			t.Errorf("%s: err = %v, want *ToolMissingError", c.provider, err)
			continue
		}
		if missing.Tool != c.tool {
			t.Errorf("%s: Tool = %q, want %q", c.provider, missing.Tool, c.tool)
		}
		if !strings.Contains(err.Error(), c.tool+" not found on PATH") {
			t.Errorf("%s: message %q does not name %s", c.provider, err, c.tool)
		}
	}
}

func TestResolveToolFailureShowsStderr(t *testing.T) {
	installFakeTool(t, "vagrant", "something else", "")
	_, err := Resolve(context.Background(), Target{Provider: Vagrant, Name: "dev", Port: 2049}, nil)
	if err == nil || !strings.Contains(err.Error(), "unexpected arguments: ssh-config dev") {
		t.Errorf("err = %v, want the tool's standard error", err)
	}
}
