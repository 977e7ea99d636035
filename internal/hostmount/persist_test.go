package hostmount

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSystemdEscapePath(t *testing.T) {
	// Expected values follow systemd-escape --path.
	cases := map[string]string{
		"/":                         "-",
		"/home/u/burrow/dev":        "home-u-burrow-dev",
		"/home/u/burrow/my-vm":      `home-u-burrow-my\x2dvm`,
		"//home//u/burrow/dev/":     "home-u-burrow-dev",
		"/home/u/.hidden/x":         `home-u-.hidden-x`,
		"/.dot":                     `\x2edot`,
		"/home/u/My Project":        `home-u-My\x20Project`,
		"/home/u/burrow/fd00:5_a.b": "home-u-burrow-fd00:5_a.b",
		"/home/u/ü":                 `home-u-\xc3\xbc`,
	}
	for in, want := range cases {
		if got := SystemdEscapePath(in); got != want {
			t.Errorf("SystemdEscapePath(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSystemdUnitText(t *testing.T) {
	name, text, err := SystemdUnit(devSpec)
	if err != nil {
		t.Fatal(err)
	}
	if name != "home-u-burrow-dev.mount" {
		t.Errorf("name = %s", name)
	}
	want := `# Written by burrow mount --persist. Remove it with: burrow umount --persist /home/u/burrow/dev
[Unit]
Description=burrow NFS mount of 192.168.64.5:/home/ubuntu/project
Wants=network-online.target
After=network-online.target

[Mount]
What=192.168.64.5:/home/ubuntu/project
Where=/home/u/burrow/dev
Type=nfs
Options=vers=3,proto=tcp,port=2049,mountport=2049,mountproto=tcp,nolock,soft,timeo=50,retrans=2
TimeoutSec=30

[Install]
WantedBy=remote-fs.target
`
	if text != want {
		t.Errorf("unit text:\n%s\nwant:\n%s", text, want)
	}
}

const stockAutoMaster = `#
# Automounter master map
#
+auto_master		# Use directory service
/home			auto_home	-nobrowse,hidefromfinder
/Network/Servers	-fstab
/-			-static
`

func TestAutoMasterAddAndRemove(t *testing.T) {
	added, changed := AutoMasterWithBurrow(stockAutoMaster, DefaultPaths)
	if !changed {
		t.Fatal("first add reported no change")
	}
	if want := stockAutoMaster + "/-\t\t\tauto_burrow\t-nosuid\n"; added != want {
		t.Errorf("added:\n%q\nwant:\n%q", added, want)
	}
	if again, changed := AutoMasterWithBurrow(added, DefaultPaths); changed || again != added {
		t.Error("second add changed the master map")
	}
	removed, changed := AutoMasterWithoutBurrow(added, DefaultPaths)
	if !changed {
		t.Error("remove reported no change")
	}
	if removed != stockAutoMaster {
		t.Errorf("removed:\n%q\nwant the stock map", removed)
	}
}

func TestAutoMapEntryText(t *testing.T) {
	entry, err := AutoMapEntry(macSpec)
	if err != nil {
		t.Fatal(err)
	}
	want := "/Users/u/burrow/dev\t-fstype=nfs,vers=3,tcp,port=2049,mountport=2049,locallocks,nobrowse,nfc,soft,intr,timeo=20,retrans=3\t192.168.64.5:/home/ubuntu/project"
	if entry != want {
		t.Errorf("entry:\n%q\nwant:\n%q", entry, want)
	}
	spaced := macSpec
	spaced.MountPoint = "/Users/u/My Project"
	if _, err := AutoMapEntry(spaced); err == nil {
		t.Error("mount point with a space: want an error")
	}
}

func TestAutoMapReplaceAndRemove(t *testing.T) {
	first, _ := AutoMapEntry(macSpec)
	other := macSpec
	other.MountPoint = "/Users/u/burrow/web"
	second, _ := AutoMapEntry(other)

	text := AutoMapWith("", first)
	text = AutoMapWith(text, second)
	text = AutoMapWith(text, first) // replaces, does not duplicate
	want := "# burrow mounts, written by burrow mount --persist. One line per mount point.\n" + second + "\n" + first + "\n"
	if text != want {
		t.Errorf("map:\n%s\nwant:\n%s", text, want)
	}

	text, removed := AutoMapWithout(text, "/Users/u/burrow/web/")
	if !removed {
		t.Error("entry for /Users/u/burrow/web not removed")
	}
	if AutoMapIsEmpty(text) {
		t.Error("map with one entry reported empty")
	}
	text, _ = AutoMapWithout(text, "/Users/u/burrow/dev")
	if !AutoMapIsEmpty(text) {
		t.Errorf("map should be empty: %q", text)
	}
}

func testPaths(t *testing.T) Paths {
	dir := t.TempDir()
	return Paths{
		SystemdDir: filepath.Join(dir, "systemd"),
		AutoMaster: filepath.Join(dir, "auto_master"),
		AutoMap:    filepath.Join(dir, "auto_burrow"),
	}
}

func TestMountPlanFormatPerOS(t *testing.T) {
	cases := []struct {
		goos string
		spec Spec
		want string
	}{
		{Linux, devSpec, "mkdir -p /home/u/burrow/dev\nsudo " + linuxMountCommand + "\n"},
		{Darwin, macSpec, "mkdir -p /Users/u/burrow/dev\nsudo " + darwinMountCommand + "\n"},
		{Windows, winSpec, windowsMountCommand + "\n"},
	}
	for _, c := range cases {
		p, err := MountPlan(PlanOptions{GOOS: c.goos, Paths: testPaths(t)}, c.spec, false)
		if err != nil {
			t.Fatalf("%s: %v", c.goos, err)
		}
		if got := p.Format(false); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.goos, got, c.want)
		}
	}
}

func TestMountPlanAsRootHasNoSudo(t *testing.T) {
	p, err := MountPlan(PlanOptions{GOOS: Linux, IsRoot: true}, devSpec, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Format(true); strings.Contains(got, "sudo") {
		t.Errorf("root plan uses sudo:\n%s", got)
	}
}

// recorder is an Executor whose commands are recorded, not run, and whose
// files land in real temporary paths.
type recorder struct{ commands []string }

// execute clears the recorded commands and runs p, failing the test on an
// error.
func (r *recorder) execute(t *testing.T, p Plan, isRoot bool) {
	t.Helper()
	r.commands = nil
	if err := r.executor(t, isRoot).Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func (r *recorder) executor(t *testing.T, isRoot bool) Executor {
	return Executor{
		IsRoot:    isRoot,
		Run:       func(_ context.Context, c Command) error { r.commands = append(r.commands, c.String()); return nil },
		WriteFile: os.WriteFile,
		MkdirAll:  os.MkdirAll,
		Remove:    os.Remove,
		TempDir:   t.TempDir(),
	}
}

func TestPersistLinuxWritesUnit(t *testing.T) {
	paths := testPaths(t)
	if err := os.MkdirAll(paths.SystemdDir, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := devSpec
	spec.MountPoint = filepath.Join(t.TempDir(), "dev")
	opts := PlanOptions{GOOS: Linux, IsRoot: true, Paths: paths}
	p, err := MountPlan(opts, spec, true)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	rec.execute(t, p, true)
	name, wantText, _ := SystemdUnit(spec)
	got, err := os.ReadFile(filepath.Join(paths.SystemdDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != wantText {
		t.Errorf("unit file:\n%s\nwant:\n%s", got, wantText)
	}
	wantCmds := []string{"systemctl daemon-reload", "systemctl enable --now " + Command{name}.String()}
	if strings.Join(rec.commands, "\n") != strings.Join(wantCmds, "\n") {
		t.Errorf("commands = %q, want %q", rec.commands, wantCmds)
	}
	if fi, err := os.Stat(spec.MountPoint); err != nil || !fi.IsDir() {
		t.Errorf("mount point not created: %v", err)
	}

	p, err = UnmountPlan(opts, spec.MountPoint, true)
	if err != nil {
		t.Fatal(err)
	}
	rec.execute(t, p, true)
	if _, err := os.Stat(filepath.Join(paths.SystemdDir, name)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unit file still there: %v", err)
	}
	wantCmds = []string{"systemctl disable --now " + Command{name}.String(), "systemctl daemon-reload"}
	if strings.Join(rec.commands, "\n") != strings.Join(wantCmds, "\n") {
		t.Errorf("commands = %q, want %q", rec.commands, wantCmds)
	}
}

func TestPersistLinuxWithSudoStagesFile(t *testing.T) {
	paths := testPaths(t)
	spec := devSpec
	spec.MountPoint = filepath.Join(t.TempDir(), "dev")
	p, err := MountPlan(PlanOptions{GOOS: Linux, Paths: paths}, spec, true)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	rec.execute(t, p, false)
	if len(rec.commands) != 3 {
		t.Fatalf("commands = %q, want install, daemon-reload, enable", rec.commands)
	}
	name := SystemdUnitName(spec.MountPoint)
	if !strings.HasPrefix(rec.commands[0], "sudo install -m 0644 ") || !strings.HasSuffix(rec.commands[0], filepath.Join(paths.SystemdDir, name)) {
		t.Errorf("install command = %s", rec.commands[0])
	}
	if rec.commands[1] != "sudo systemctl daemon-reload" {
		t.Errorf("reload command = %s", rec.commands[1])
	}
}

func TestPersistDarwinAutofs(t *testing.T) {
	paths := testPaths(t)
	if err := os.WriteFile(paths.AutoMaster, []byte(stockAutoMaster), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := macSpec
	spec.MountPoint = filepath.Join(t.TempDir(), "dev")
	opts := PlanOptions{GOOS: Darwin, IsRoot: true, Paths: paths}
	p, err := MountPlan(opts, spec, true)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	rec.execute(t, p, true)
	entry, _ := AutoMapEntry(spec)
	gotMap, _ := os.ReadFile(paths.AutoMap)
	if want := AutoMapWith("", entry); string(gotMap) != want {
		t.Errorf("auto_burrow:\n%s\nwant:\n%s", gotMap, want)
	}
	gotMaster, _ := os.ReadFile(paths.AutoMaster)
	if want := stockAutoMaster + "/-\t\t\tauto_burrow\t-nosuid\n"; string(gotMaster) != want {
		t.Errorf("auto_master:\n%s\nwant:\n%s", gotMaster, want)
	}
	if strings.Join(rec.commands, "\n") != "automount -cv" {
		t.Errorf("commands = %q", rec.commands)
	}

	p, err = UnmountPlan(opts, spec.MountPoint, true)
	if err != nil {
		t.Fatal(err)
	}
	rec.execute(t, p, true)
	if _, err := os.Stat(paths.AutoMap); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("auto_burrow still there: %v", err)
	}
	gotMaster, _ = os.ReadFile(paths.AutoMaster)
	if string(gotMaster) != stockAutoMaster {
		t.Errorf("auto_master not restored:\n%s", gotMaster)
	}
	want := "automount -cv\ndiskutil unmount " + spec.MountPoint
	if strings.Join(rec.commands, "\n") != want {
		t.Errorf("commands = %q, want %q", rec.commands, want)
	}
}

func TestUnpersistDarwinUnknownMount(t *testing.T) {
	_, err := UnmountPlan(PlanOptions{GOOS: Darwin, Paths: testPaths(t)}, "/Users/u/burrow/none", true)
	if err == nil || !strings.Contains(err.Error(), "no persistent mount") {
		t.Errorf("err = %v, want a no persistent mount error", err)
	}
}

func TestPersistWindowsUnsupported(t *testing.T) {
	if _, err := MountPlan(PlanOptions{GOOS: Windows}, winSpec, true); err == nil {
		t.Error("want an error")
	}
}

func TestPlanFormatPersistLinux(t *testing.T) {
	p, err := MountPlan(PlanOptions{GOOS: Linux, Paths: DefaultPaths}, devSpec, true)
	if err != nil {
		t.Fatal(err)
	}
	_, unit, _ := SystemdUnit(devSpec)
	want := "mkdir -p /home/u/burrow/dev\n" +
		"sudo tee /etc/systemd/system/home-u-burrow-dev.mount > /dev/null <<'EOF'\n" + unit + "EOF\n" +
		"sudo systemctl daemon-reload\n" +
		"sudo systemctl enable --now home-u-burrow-dev.mount\n"
	if got := p.Format(false); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
