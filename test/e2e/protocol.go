package main

import (
	"bytes"
	"time"

	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/nfsclient"
	"golang.org/x/sys/unix"
)

// protocolClient connects to the server under test with the Go NFSv3
// client, mounts -export through the MOUNT service at -mount-addr and
// returns the client and the handle of the case directory. The client
// calls as the suite's uid and gid and is closed after the case.
func (t *T) protocolClient(what string) (*nfsclient.Client, []byte) {
	if !t.cfg.isNFS() {
		t.Skipf("%s is protocol-level, and -server local has no NFS server", what)
	}
	if t.cfg.nfsAddr == "" {
		t.Skipf("%s is protocol-level and needs -nfs-addr", what)
	}
	if t.cfg.export == "" {
		t.Skipf("%s needs -export as the MOUNT path", what)
	}

	mounter, err := nfsclient.Dial(t.ctx, t.cfg.mountAddr)
	t.Must("connect to the MOUNT service at "+t.cfg.mountAddr, err)
	res, err := mounter.Mount(t.ctx, t.cfg.export)
	mounter.Close()
	t.Must("MNT "+t.cfg.export, err)
	if res.Status != mount.MNT3_OK {
		t.Fatalf("MNT %s: %v", t.cfg.export, res.Status)
	}

	client, err := nfsclient.Dial(t.ctx, t.cfg.nfsAddr)
	t.Must("connect to the NFS service at "+t.cfg.nfsAddr, err)
	t.Cleanup(func() { client.Close() })
	dir, err := client.Lookup(t.ctx, res.Root, t.rel)
	t.Must("LOOKUP case directory", err)
	t.Must("LOOKUP case directory", nfsclient.StatusErr("LOOKUP", dir.Status))
	return client, dir.Handle
}

// getAttr returns the attributes of fh or ends the case.
func (t *T) getAttr(client *nfsclient.Client, step string, fh []byte) nfsclient.Attr {
	res, err := client.GetAttr(t.ctx, fh)
	t.Must(step, err)
	t.Must(step, nfsclient.StatusErr("GETATTR", res.Status))
	return res.Attr
}

// expectStatus checks the NFS status of a call that returned no error.
func (t *T) expectStatus(step string, err error, got, want nfs3.Nfsstat3) bool {
	if !t.Check(step, err) {
		return false
	}
	if got != want {
		t.Errorf("%s: %v, expected %v", step, got, want)
		return false
	}
	return true
}

// caseExclusiveCreateRetry sends an EXCLUSIVE CREATE twice with the same
// verifier, as a client does when the reply to the first call was lost,
// and checks that both succeed with the same file. Another verifier gets
// NFS3ERR_EXIST. Then it sets the mode and times with SETATTR, as the
// Linux client does after an exclusive create, because the server may
// keep the verifier in the file's times.
func caseExclusiveCreateRetry(t *T) {
	client, dir := t.protocolClient("a retried EXCLUSIVE CREATE")
	ctx := t.ctx
	how := nfsclient.CreateHow{Mode: nfs3.EXCLUSIVE, Verifier: [nfs3.NFS3_CREATEVERFSIZE]byte{'b', 'u', 'r', 'r', 0, 1, 2, 3}}

	handles := make([][]byte, 2)
	for i, step := range []string{"first EXCLUSIVE CREATE", "retried EXCLUSIVE CREATE with the same verifier"} {
		res, err := client.Create(ctx, dir, "excl", how)
		if !t.expectStatus(step, err, res.Status, nfs3.NFS3_OK) {
			t.Fatalf("%s failed, so the retry cannot be checked", step)
		}
		handles[i] = res.Handle
		if handles[i] == nil {
			// The handle is optional in the reply.
			look, err := client.Lookup(ctx, dir, "excl")
			t.Must(step+": LOOKUP", err)
			t.Must(step+": LOOKUP", nfsclient.StatusErr("LOOKUP", look.Status))
			handles[i] = look.Handle
		}
	}
	if !bytes.Equal(handles[0], handles[1]) {
		t.Errorf("retried EXCLUSIVE CREATE: handle %x, expected the first call's %x", handles[1], handles[0])
	}

	other := how
	other.Verifier[7]++
	res, err := client.Create(ctx, dir, "excl", other)
	t.expectStatus("EXCLUSIVE CREATE with another verifier", err, res.Status, nfs3.NFS3ERR_EXIST)

	mode := uint32(0o640)
	before := time.Now().Add(-2 * time.Second)
	set, err := client.SetAttr(ctx, handles[0], nfsclient.Sattr{
		Mode:  &mode,
		Atime: nfsclient.SetTime{How: nfs3.SET_TO_SERVER_TIME},
		Mtime: nfsclient.SetTime{How: nfs3.SET_TO_SERVER_TIME},
	}, nil)
	t.expectStatus("SETATTR of mode and server times", err, set.Status, nfs3.NFS3_OK)
	after := time.Now().Add(2 * time.Second)
	t.forgetCachedData()
	st, err := lstat(t.Path("excl"))
	if t.Check("stat through the mount after SETATTR", err) {
		if got := st.Mode & 0o7777; got != mode {
			t.Errorf("stat through the mount: mode %#o, expected %#o", got, mode)
		}
		for _, ts := range []struct {
			name string
			time unix.Timespec
		}{{"atime", st.Atim}, {"mtime", st.Mtim}} {
			if got := time.Unix(ts.time.Unix()); got.Before(before) || got.After(after) {
				t.Errorf("stat through the mount: %s %v, expected the server time of the SETATTR, between %v and %v",
					ts.name, got.UTC(), before.UTC(), after.UTC())
			}
		}
	}

	atime := time.Date(2003, 4, 5, 6, 7, 8, 123456789, time.UTC)
	mtime := time.Date(2004, 5, 6, 7, 8, 9, 987654321, time.UTC)
	set, err = client.SetAttr(ctx, handles[0], nfsclient.Sattr{
		Atime: nfsclient.SetTime{How: nfs3.SET_TO_CLIENT_TIME, Time: atime},
		Mtime: nfsclient.SetTime{How: nfs3.SET_TO_CLIENT_TIME, Time: mtime},
	}, nil)
	t.expectStatus("SETATTR of client times", err, set.Status, nfs3.NFS3_OK)
	t.forgetCachedData()
	st, err = lstat(t.Path("excl"))
	if t.Check("stat through the mount after SETATTR of client times", err) {
		if got := time.Unix(st.Atim.Unix()); !got.Equal(atime) {
			t.Errorf("atime through the mount: %v, expected %v", got.UTC(), atime)
		}
		if got := time.Unix(st.Mtim.Unix()); !got.Equal(mtime) {
			t.Errorf("mtime through the mount: %v, expected %v", got.UTC(), mtime)
		}
	}
}

// caseSetattrGuard checks the ctime guard of SETATTR: a stale ctime gets
// NFS3ERR_NOT_SYNC and changes nothing, and the current ctime lets the
// change through.
func caseSetattrGuard(t *T) {
	client, dir := t.protocolClient("the SETATTR guard on ctime")
	path := t.Path("guarded")
	fd, err := unix.Open(path, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	t.Must("create file", err)
	t.Check("close file", unix.Close(fd))

	look, err := client.Lookup(t.ctx, dir, "guarded")
	t.Must("LOOKUP file", err)
	t.Must("LOOKUP file", nfsclient.StatusErr("LOOKUP", look.Status))
	fh := look.Handle
	current := t.getAttr(client, "GETATTR", fh).Ctime

	mode := uint32(0o600)
	stale := current.Add(-time.Second)
	res, err := client.SetAttr(t.ctx, fh, nfsclient.Sattr{Mode: &mode}, &stale)
	t.expectStatus("SETATTR with a stale ctime guard", err, res.Status, nfs3.NFS3ERR_NOT_SYNC)
	if got := t.getAttr(client, "GETATTR after the rejected SETATTR", fh).Mode; got != 0o644 {
		t.Errorf("mode after the rejected SETATTR: %#o, expected 0644", got)
	}

	res, err = client.SetAttr(t.ctx, fh, nfsclient.Sattr{Mode: &mode}, &current)
	t.expectStatus("SETATTR with the current ctime guard", err, res.Status, nfs3.NFS3_OK)
	if got := t.getAttr(client, "GETATTR after SETATTR", fh).Mode; got != mode {
		t.Errorf("mode after SETATTR: %#o, expected %#o", got, mode)
	}
	t.forgetCachedData()
	t.expectPerm("mode through the mount", path, mode)
}
