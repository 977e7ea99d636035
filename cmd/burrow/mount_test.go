package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/burrow-nfs/burrow/internal/discover"
	"github.com/burrow-nfs/burrow/internal/hostmount"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
	"github.com/burrow-nfs/burrow/internal/probe"
	"github.com/burrow-nfs/burrow/internal/xdr"
)

// startStubServer runs the real oncrpc server on 127.0.0.1 with stub NFS
// and MOUNT programs: NFS NULL succeeds and MOUNT EXPORT lists export.
func startStubServer(t *testing.T, export string) int {
	t.Helper()
	srv := oncrpc.NewServer(oncrpc.Options{})
	null := func(context.Context, *oncrpc.Call, *xdr.Decoder, *xdr.Encoder) error { return nil }
	srv.Register(oncrpc.Program{Name: "NFS", Prog: probe.ProgNFS, Vers: 3, Procs: []oncrpc.Procedure{{Name: "NULL", Handler: null}}})
	exportProc := func(_ context.Context, _ *oncrpc.Call, _ *xdr.Decoder, res *xdr.Encoder) error {
		res.Fixed(probe.EncodeExports([]probe.Export{{Dir: export}}))
		return nil
	}
	procs := make([]oncrpc.Procedure, 6)
	procs[0] = oncrpc.Procedure{Name: "NULL", Handler: null}
	procs[5] = oncrpc.Procedure{Name: "EXPORT", Handler: exportProc}
	srv.Register(oncrpc.Program{Name: "MOUNT", Prog: probe.ProgMount, Vers: 3, Procs: procs})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return ln.Addr().(*net.TCPAddr).Port
}

// installFakeTool writes a shell script named tool that prints output into
// a temporary directory put first on PATH.
func installFakeTool(t *testing.T, tool, output string) {
	t.Helper()
	dir := t.TempDir()
	outFile := filepath.Join(dir, tool+".out")
	if err := os.WriteFile(outFile, []byte(output), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ncat '" + outFile + "'\n"
	if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// testDeps returns host dependencies for goos whose commands are recorded
// in ran instead of run, with files under a temporary directory.
func testDeps(t *testing.T, goos string, ran *[]string) hostDeps {
	root := t.TempDir()
	home := "/home/u"
	if goos == hostmount.Darwin {
		home = "/Users/u"
	}
	return hostDeps{
		goos: goos,
		home: home,
		paths: hostmount.Paths{
			SystemdDir: filepath.Join(root, "systemd"),
			AutoMaster: filepath.Join(root, "auto_master"),
			AutoMap:    filepath.Join(root, "auto_burrow"),
		},
		runVM: discover.ExecRunner,
		dial:  probe.OncrpcDialer,
		runCommand: func(_ context.Context, c hostmount.Command) error {
			*ran = append(*ran, c.String())
			return nil
		},
		stat:      func(string) (fs.FileInfo, error) { return nil, nil },
		readFile:  os.ReadFile,
		writeFile: os.WriteFile,
		mkdirAll:  func(string, os.FileMode) error { return nil },
		remove:    os.Remove,
		tempDir:   root,
	}
}

func runCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestMountDryRunPerOSAndProvider(t *testing.T) {
	port := startStubServer(t, "/home/vagrant/project")
	p := strconv.Itoa(port)
	tools := map[string]struct{ tool, output string }{
		"vagrant:dev":   {"vagrant", "Host dev\n  HostName 127.0.0.1\n  User vagrant\n  Port 2222\n"},
		"multipass:dev": {"multipass", `{"errors":[],"info":{"dev":{"ipv4":["127.0.0.1"],"state":"Running"}}}`},
		"lima:dev":      {"limactl", `{"name":"dev","status":"Running","sshLocalPort":60022,"sshAddress":"127.0.0.1"}` + "\n"},
	}
	want := map[string]string{
		hostmount.Linux: "mkdir -p /home/u/burrow/dev\nsudo mount -t nfs -o vers=3,proto=tcp,port=" + p + ",mountport=" + p +
			",mountproto=tcp,nolock,soft,timeo=50,retrans=2 127.0.0.1:/home/vagrant/project /home/u/burrow/dev\n",
		hostmount.Darwin: "mkdir -p /Users/u/burrow/dev\nsudo mount_nfs -o vers=3,tcp,port=" + p + ",mountport=" + p +
			",locallocks,nobrowse,nfc,soft,intr,timeo=20,retrans=3 127.0.0.1:/home/vagrant/project /Users/u/burrow/dev\n",
		hostmount.Windows: `mount.exe -o anon,nolock,casesensitive=yes,mtype=soft,timeout=5,retry=3 \\127.0.0.1\home\vagrant\project Z:` + "\n",
	}
	for target, tool := range tools {
		installFakeTool(t, tool.tool, tool.output)
		for goos, wantOut := range want {
			var ran []string
			d := testDeps(t, goos, &ran)
			out, _, err := runCmd(t, newMountCmdWith(func() hostDeps { return d }), "--dry-run", "--port", p, target)
			if err != nil {
				t.Errorf("%s on %s: %v", target, goos, err)
				continue
			}
			if out != wantOut {
				t.Errorf("%s on %s:\n got %q\nwant %q", target, goos, out, wantOut)
			}
			if len(ran) != 0 {
				t.Errorf("%s on %s: dry run ran %q", target, goos, ran)
			}
		}
	}
}

func TestMountRunsCommand(t *testing.T) {
	port := startStubServer(t, "/srv/app")
	var ran []string
	d := testDeps(t, hostmount.Linux, &ran)
	out, _, err := runCmd(t, newMountCmdWith(func() hostDeps { return d }), "127.0.0.1:"+strconv.Itoa(port), "/home/u/work/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 1 || !strings.HasPrefix(ran[0], "sudo mount -t nfs -o ") || !strings.HasSuffix(ran[0], " 127.0.0.1:/srv/app /home/u/work/app") {
		t.Errorf("ran %q", ran)
	}
	if out != "mounted 127.0.0.1:/srv/app on /home/u/work/app\n" {
		t.Errorf("output %q", out)
	}
}

func TestMountLinuxClientMissing(t *testing.T) {
	port := startStubServer(t, "/srv/app")
	var ran []string
	d := testDeps(t, hostmount.Linux, &ran)
	d.stat = func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist }
	_, _, err := runCmd(t, newMountCmdWith(func() hostDeps { return d }), "127.0.0.1:"+strconv.Itoa(port))
	if err == nil || !strings.Contains(err.Error(), "install nfs-common (Debian, Ubuntu) or nfs-utils (Fedora, Arch)") {
		t.Errorf("err = %v, want the package advice", err)
	}
	if len(ran) != 0 {
		t.Errorf("ran %q without mount.nfs", ran)
	}
}

func TestMountNoServerPointsToDoctor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	var ran []string
	d := testDeps(t, hostmount.Linux, &ran)
	_, _, err = runCmd(t, newMountCmdWith(func() hostDeps { return d }), "--dry-run", "127.0.0.1:"+port)
	if err == nil || !strings.Contains(err.Error(), "burrow doctor 127.0.0.1:"+port) {
		t.Errorf("err = %v, want a pointer to burrow doctor", err)
	}
}

func TestMountRejectsHomeMountPoint(t *testing.T) {
	port := startStubServer(t, "/srv/app")
	var ran []string
	d := testDeps(t, hostmount.Linux, &ran)
	_, _, err := runCmd(t, newMountCmdWith(func() hostDeps { return d }), "127.0.0.1:"+strconv.Itoa(port), "/home/u")
	if err == nil || !strings.Contains(err.Error(), "home directory") {
		t.Errorf("err = %v, want a home directory error", err)
	}
}

func TestMountMissingToolNamed(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var ran []string
	d := testDeps(t, hostmount.Darwin, &ran)
	_, _, err := runCmd(t, newMountCmdWith(func() hostDeps { return d }), "--dry-run", "lima:dev")
	var missing *discover.ToolMissingError
	if !errors.As(err, &missing) || missing.Tool != "limactl" {
		t.Errorf("err = %v, want limactl named", err)
	}
}

func TestMountPersistDryRunLinux(t *testing.T) {
	port := startStubServer(t, "/srv/app")
	p := strconv.Itoa(port)
	var ran []string
	d := testDeps(t, hostmount.Linux, &ran)
	out, _, err := runCmd(t, newMountCmdWith(func() hostDeps { return d }), "--dry-run", "--persist", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(d.paths.SystemdDir, "home-u-burrow-127.0.0.1.mount")
	for _, line := range []string{
		"sudo tee " + unit + " > /dev/null <<'EOF'",
		"Where=/home/u/burrow/127.0.0.1",
		"sudo systemctl enable --now home-u-burrow-127.0.0.1.mount",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
}

func TestUmountPerOS(t *testing.T) {
	cases := []struct{ goos, arg, want string }{
		{hostmount.Linux, "multipass:dev", "sudo umount /home/u/burrow/dev\n"},
		{hostmount.Linux, "/home/u/burrow/dev", "sudo umount /home/u/burrow/dev\n"},
		{hostmount.Darwin, "vagrant:dev", "sudo diskutil unmount /Users/u/burrow/dev\n"},
		{hostmount.Windows, "Z:", "umount.exe Z:\n"},
		{hostmount.Linux, "192.168.56.10", "sudo umount /home/u/burrow/192.168.56.10\n"},
	}
	for _, c := range cases {
		var ran []string
		d := testDeps(t, c.goos, &ran)
		out, _, err := runCmd(t, newUmountCmdWith(func() hostDeps { return d }), "--dry-run", c.arg)
		if err != nil {
			t.Errorf("%s %s: %v", c.goos, c.arg, err)
			continue
		}
		if out != c.want {
			t.Errorf("%s %s: got %q, want %q", c.goos, c.arg, out, c.want)
		}
	}
}

func TestUmountPersistLinux(t *testing.T) {
	var ran []string
	d := testDeps(t, hostmount.Linux, &ran)
	out, _, err := runCmd(t, newUmountCmdWith(func() hostDeps { return d }), "--dry-run", "--persist", "lima:dev")
	if err != nil {
		t.Fatal(err)
	}
	want := "sudo systemctl disable --now home-u-burrow-dev.mount || true\n" +
		"sudo rm -f " + filepath.Join(d.paths.SystemdDir, "home-u-burrow-dev.mount") + "\n" +
		"sudo systemctl daemon-reload\n"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestCommandHelpDescribesFlags(t *testing.T) {
	for _, cmd := range []*cobra.Command{newMountCmd(), newUmountCmd(), newDoctorCmd()} {
		if cmd.Short == "" || cmd.Long == "" {
			t.Errorf("%s: missing Short or Long help", cmd.Name())
		}
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if len(f.Usage) < 20 {
				t.Errorf("%s --%s: usage %q is too short to say what it sets", cmd.Name(), f.Name, f.Usage)
			}
		})
	}
}
