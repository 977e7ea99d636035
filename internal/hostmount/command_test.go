package hostmount

import (
	"strings"
	"testing"
)

// One export mounted at the default mount point of each host OS, shared by
// the command, plan and persist tests.
var (
	devSpec = Spec{Host: "192.168.64.5", Port: 2049, Export: "/home/ubuntu/project", MountPoint: "/home/u/burrow/dev"}
	macSpec = Spec{Host: "192.168.64.5", Port: 2049, Export: "/home/ubuntu/project", MountPoint: "/Users/u/burrow/dev"}
	winSpec = Spec{Host: "192.168.64.5", Port: 2049, Export: "/home/ubuntu/project", MountPoint: "Z:"}
)

// The mount commands, without sudo, of devSpec, macSpec and winSpec.
const (
	linuxMountCommand   = "mount -t nfs -o vers=3,proto=tcp,port=2049,mountport=2049,mountproto=tcp,nolock,soft,timeo=50,retrans=2 192.168.64.5:/home/ubuntu/project /home/u/burrow/dev"
	darwinMountCommand  = "mount_nfs -o vers=3,tcp,port=2049,mountport=2049,locallocks,nobrowse,nfc,soft,intr,timeo=20,retrans=3 192.168.64.5:/home/ubuntu/project /Users/u/burrow/dev"
	windowsMountCommand = `mount.exe -o anon,nolock,casesensitive=yes,mtype=soft,timeout=5,retry=3 \\192.168.64.5\home\ubuntu\project Z:`
)

func TestMountCommandPerOS(t *testing.T) {
	cases := []struct {
		goos string
		spec Spec
		want string
	}{
		{Linux, devSpec, linuxMountCommand},
		{Darwin, macSpec, darwinMountCommand},
		{Windows, winSpec, windowsMountCommand},
	}
	for _, c := range cases {
		cmd, err := MountCommand(c.goos, c.spec)
		if err != nil {
			t.Errorf("%s: %v", c.goos, err)
			continue
		}
		if got := strings.Join(cmd, " "); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.goos, got, c.want)
		}
	}
}

func TestMountCommandHard(t *testing.T) {
	s := devSpec
	s.Hard = true
	s.Port = 12049
	cmd, err := MountCommand(Linux, s)
	if err != nil {
		t.Fatal(err)
	}
	want := "vers=3,proto=tcp,port=12049,mountport=12049,mountproto=tcp,nolock,hard"
	if cmd[4] != want {
		t.Errorf("options = %s, want %s", cmd[4], want)
	}
}

func TestMountCommandIPv6Source(t *testing.T) {
	s := devSpec
	s.Host = "fd00::5"
	cmd, err := MountCommand(Linux, s)
	if err != nil {
		t.Fatal(err)
	}
	if cmd[5] != "[fd00::5]:/home/ubuntu/project" {
		t.Errorf("source = %s", cmd[5])
	}
}

func TestMountCommandRejectsInvalid(t *testing.T) {
	bad := map[string]Spec{
		"no host":          {Port: 2049, Export: "/x", MountPoint: "/m"},
		"port zero":        {Host: "h", Export: "/x", MountPoint: "/m"},
		"relative export":  {Host: "h", Port: 2049, Export: "x", MountPoint: "/m"},
		"no mount point":   {Host: "h", Port: 2049, Export: "/x"},
		"windows dir path": {Host: "h", Port: 2049, Export: "/x", MountPoint: `C:\mnt`},
	}
	for name, s := range bad {
		goos := Linux
		if strings.HasPrefix(name, "windows") {
			goos = Windows
		}
		if _, err := MountCommand(goos, s); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := MountCommand("plan9", devSpec); err == nil {
		t.Error("plan9: want an unsupported OS error")
	}
}

func TestUnmountCommandPerOS(t *testing.T) {
	cases := map[string]string{
		Linux:   "umount /home/u/burrow/dev",
		Darwin:  "diskutil unmount /home/u/burrow/dev",
		Windows: "umount.exe /home/u/burrow/dev",
	}
	for goos, want := range cases {
		cmd, err := UnmountCommand(goos, "/home/u/burrow/dev")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(cmd, " "); got != want {
			t.Errorf("%s: got %s, want %s", goos, got, want)
		}
	}
}

func TestWithSudoSkipsRoot(t *testing.T) {
	c := Command{"umount", "/m"}
	if got := WithSudo(c, false).String(); got != "sudo umount /m" {
		t.Errorf("not root: %s", got)
	}
	if got := WithSudo(c, true).String(); got != "umount /m" {
		t.Errorf("root: %s", got)
	}
}

func TestCommandStringQuotes(t *testing.T) {
	c := Command{"mount", "/Users/u/My Project", "it's"}
	want := `mount '/Users/u/My Project' 'it'\''s'`
	if got := c.String(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestDefaultMountPoint(t *testing.T) {
	cases := []struct{ goos, name, want string }{
		{Linux, "dev", "/home/u/burrow/dev"},
		{Darwin, "fd00::5", "/home/u/burrow/fd00--5"},
		{Linux, "a/b", "/home/u/burrow/a-b"},
		{Windows, "dev", "Z:"},
	}
	for _, c := range cases {
		got, err := DefaultMountPoint(c.goos, "/home/u", c.name)
		if err != nil {
			t.Errorf("%s %q: %v", c.goos, c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s %q: got %s, want %s", c.goos, c.name, got, c.want)
		}
	}
	for _, name := range []string{"", "..", "."} {
		if got, err := DefaultMountPoint(Linux, "/home/u", name); err == nil {
			t.Errorf("name %q: got %s, want an error", name, got)
		}
	}
}

func TestCheckMountPointRejectsHome(t *testing.T) {
	for _, mp := range []string{"/home/u", "/home/u/", "/home", "/", "relative/dir"} {
		if err := CheckMountPoint(Linux, "/home/u", mp); err == nil {
			t.Errorf("%q: want an error", mp)
		}
	}
	if err := CheckMountPoint(Linux, "/home/u", "/home/u/burrow/dev"); err != nil {
		t.Errorf("default mount point rejected: %v", err)
	}
	if err := CheckMountPoint(Linux, "/home/u", "/home/user2/x"); err != nil {
		t.Errorf("sibling home prefix rejected: %v", err)
	}
	if err := CheckMountPoint(Windows, "", "Y:"); err != nil {
		t.Errorf("drive letter rejected: %v", err)
	}
	if err := CheckMountPoint(Windows, "", "YY"); err == nil {
		t.Error("YY: want an error")
	}
}
