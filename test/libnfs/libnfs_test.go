// Package libnfs_test runs Debian's libnfs command-line tools (nfs-cp,
// nfs-cat, nfs-ls) against a real "burrow serve" process on loopback. libnfs
// is an NFS client written independently of the Linux kernel's, so it
// catches protocol mistakes that a single client would accept.
package libnfs_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// server is a running "burrow serve" process.
type server struct {
	export string
	port   string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// requireTool skips the test when a libnfs tool is missing, except in CI,
// where the tools are installed and a missing one is a failure.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found in CI: install the Debian package libnfs-utils", name)
		}
		t.Skipf("%s not found: install the Debian package libnfs-utils to run this test", name)
	}
}

// buildBurrow compiles the burrow command into a temporary directory.
func buildBurrow(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "burrow")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/burrow")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build failed: %v\n%s", err, out)
	}
	return bin
}

// startServer runs "burrow serve" on an ephemeral loopback port and waits for
// its start line, which names the port.
func startServer(t *testing.T, bin, export string) *server {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--state", state, "--log-format", "json", export)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting burrow serve: %v", err)
	}
	s := &server{export: export, cmd: cmd, stderr: new(bytes.Buffer)}
	t.Cleanup(func() { s.stop(t) })

	lines := bufio.NewScanner(pipe)
	portc := make(chan string, 1)
	go func() {
		for lines.Scan() {
			line := lines.Bytes()
			s.stderr.Write(line)
			s.stderr.WriteByte('\n')
			var rec struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "serving" {
				_, port, _ := strings.Cut(rec.Listen, ":")
				portc <- port
			}
		}
		close(portc)
	}()
	select {
	case port, ok := <-portc:
		if !ok {
			t.Fatalf("burrow serve exited before its start line:\n%s", s.stderr)
		}
		s.port = port
	case <-time.After(30 * time.Second):
		t.Fatalf("burrow serve printed no start line within 30 s")
	}
	return s
}

// stop sends SIGINT and expects a clean exit.
func (s *server) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("burrow serve did not exit cleanly on SIGINT: %v", err)
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("burrow serve did not stop within 30 s of SIGINT")
	}
}

// url returns the libnfs URL of name in the export's root.
func (s *server) url(name string) string {
	return fmt.Sprintf("nfs://127.0.0.1%s/%s?nfsport=%s&mountport=%s&version=3", s.export, name, s.port, s.port)
}

// run runs a libnfs tool and fails the test with its output on error.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s failed: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func sha256File(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// sourceFiles returns input files for the copies: random data of sizes
// around the 1 MiB transfer size, an empty file, and real files of the Go
// source tree when it is installed.
func sourceFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for _, size := range []int{0, 1, 4095, 4096, 65537, 1 << 20, 3<<20 + 17} {
		name := fmt.Sprintf("random-%d.bin", size)
		data := make([]byte, size)
		rand.Read(data)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = p
	}
	goroot := "/usr/local/go/src"
	for _, rel := range []string{"go/parser/parser.go", "net/http/server.go", "runtime/proc.go"} {
		p := filepath.Join(goroot, rel)
		if _, err := os.Stat(p); err == nil {
			files[strings.ReplaceAll(rel, "/", "_")] = p
		}
	}
	return files
}

func TestLibnfsCopyInAndOut(t *testing.T) {
	for _, tool := range []string{"nfs-cp", "nfs-cat", "nfs-ls"} {
		requireTool(t, tool)
	}
	bin := buildBurrow(t)
	export := t.TempDir()
	srv := startServer(t, bin, export)
	files := sourceFiles(t)
	back := t.TempDir()

	for name, src := range files {
		run(t, "nfs-cp", src, srv.url(name))

		want := sha256File(t, src)
		if got := sha256File(t, filepath.Join(export, name)); got != want {
			t.Errorf("%s: file written through nfs-cp differs on the server", name)
		}

		dst := filepath.Join(back, name)
		run(t, "nfs-cp", srv.url(name), dst)
		if got := sha256File(t, dst); got != want {
			t.Errorf("%s: file read back through nfs-cp differs from the original", name)
		}
	}

	catName := "go_parser_parser.go"
	if src, ok := files[catName]; ok {
		want, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, "nfs-cat", srv.url(catName)); !bytes.Equal(got, want) {
			t.Errorf("nfs-cat %s returned %d bytes, want the %d bytes of the original", catName, len(got), len(want))
		}
	}

	listing := string(run(t, "nfs-ls", srv.url("")))
	for name := range files {
		if !strings.Contains(listing, name) {
			t.Errorf("nfs-ls output lacks %s:\n%s", name, listing)
		}
	}
}

func TestLibnfsCopyIntoSubdirectory(t *testing.T) {
	requireTool(t, "nfs-cp")
	bin := buildBurrow(t)
	export := t.TempDir()
	if err := os.MkdirAll(filepath.Join(export, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, bin, export)

	// libnfs mounts the directory that holds the file, so this needs MNT of
	// a directory below the export.
	src := filepath.Join(t.TempDir(), "nested.bin")
	data := make([]byte, 300_000)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "nfs-cp", src, srv.url("a/b/nested.bin"))
	got, err := os.ReadFile(filepath.Join(export, "a", "b", "nested.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("nested.bin on the server has %d bytes that differ from the %d bytes copied", len(got), len(data))
	}
}
