package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/burrow-nfs/burrow/internal/backend/localfs"
	"github.com/burrow-nfs/burrow/internal/mount"
	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/nfsclient"
	"github.com/burrow-nfs/burrow/internal/oncrpc"
)

// runOptions are the flags of "loadgen run".
type runOptions struct {
	server     string
	addr       string
	mountAddr  string
	export     string
	workload   string
	conns      int
	inflight   int
	duration   time.Duration
	maxCalls   int64
	tree       string
	randFile   string
	seqMiB     int64
	pid        int
	run        int
	out        string
	inProcess  string
	cpuProfile string
	memProfile string
}

func runCommand(args []string) error {
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	fs.StringVar(&o.server, "server", "", "server name for the report, such as burrow, ganesha or go-nfs")
	fs.StringVar(&o.addr, "addr", "", "loopback TCP address of the NFS program (ADDR:PORT)")
	fs.StringVar(&o.mountAddr, "mount-addr", "", "loopback TCP address of the MOUNT program (default: -addr)")
	fs.StringVar(&o.export, "export", "", "export path sent in MNT")
	fs.StringVar(&o.workload, "workload", "", "meta, smallfile, seq or randread")
	fs.IntVar(&o.conns, "conns", 4, "number of TCP connections")
	fs.IntVar(&o.inflight, "inflight", 16, "calls in flight per connection (goroutines per connection)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "time limit of each measured phase")
	fs.Int64Var(&o.maxCalls, "max-calls", 2_000_000, "call limit of each measured phase")
	fs.StringVar(&o.tree, "tree", "gosrc", "slash-separated path under the export of the tree the meta workload walks")
	fs.StringVar(&o.randFile, "rand-file", "rand.dat", "path under the export of the file the randread workload reads")
	fs.Int64Var(&o.seqMiB, "seq-mib", 256, "size in MiB of the file the seq workload writes and reads")
	fs.IntVar(&o.pid, "pid", 0, "server process id, to report its CPU time per call and peak RSS")
	fs.IntVar(&o.run, "run", 1, "run number for the report")
	fs.StringVar(&o.out, "out", "", "file to append the JSON result lines to (default: stdout only)")
	fs.StringVar(&o.inProcess, "in-process", "", "serve this directory with burrow inside loadgen instead of dialing -addr, for profiling")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "with -in-process, write a CPU profile of the measured phases to this file")
	fs.StringVar(&o.memProfile, "memprofile", "", "with -in-process, write an allocation profile after the measured phases to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return run(o)
}

func (o *runOptions) check() error {
	switch o.workload {
	case "meta", "smallfile", "seq", "randread":
	default:
		return fmt.Errorf("invalid -workload %q: use meta, smallfile, seq or randread", o.workload)
	}
	if o.server == "" {
		return errors.New("missing -server NAME")
	}
	if o.inProcess == "" && (o.addr == "" || o.export == "") {
		return errors.New("missing -addr or -export: name the server's address and export path, or use -in-process DIR")
	}
	if (o.cpuProfile != "" || o.memProfile != "") && o.inProcess == "" {
		return errors.New("-cpuprofile and -memprofile need -in-process DIR, because they profile the server inside loadgen")
	}
	if o.conns < 1 || o.inflight < 1 {
		return fmt.Errorf("invalid -conns %d or -inflight %d: both must be at least 1", o.conns, o.inflight)
	}
	if o.mountAddr == "" {
		o.mountAddr = o.addr
	}
	for _, a := range []string{o.addr, o.mountAddr} {
		if a == "" {
			continue
		}
		if err := checkLoopback(a); err != nil {
			return err
		}
	}
	return nil
}

// checkLoopback rejects an address that is not a loopback IP address,
// because the benchmark must send traffic only to this machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("invalid address %q: loadgen only connects to loopback IP addresses such as 127.0.0.1", addr)
	}
	return nil
}

func run(o runOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	// The phase deadline bounds the work; this context bounds a stuck call.
	ctx, cancel := context.WithTimeout(context.Background(), 2*o.duration+2*time.Minute)
	defer cancel()

	if o.inProcess != "" {
		stop, err := serveInProcess(&o)
		if err != nil {
			return err
		}
		defer stop()
		o.pid = os.Getpid()
	}

	t, cleanup, err := connectTarget(ctx, &o)
	if err != nil {
		return err
	}
	defer cleanup()

	var stopProfile func() error
	if o.cpuProfile != "" {
		stopProfile, err = startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
	}
	results, err := runWorkload(ctx, &o, t)
	if stopProfile != nil {
		if perr := stopProfile(); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}
	if o.memProfile != "" {
		if err := writeAllocProfile(o.memProfile); err != nil {
			return err
		}
	}
	return emit(&o, results)
}

// serveInProcess starts burrow on 127.0.0.1 inside this process, serving
// o.inProcess, and points o at it.
func serveInProcess(o *runOptions) (stop func(), err error) {
	dir, err := filepath.Abs(o.inProcess)
	if err != nil {
		return nil, err
	}
	stateDir, err := os.MkdirTemp("", "loadgen-state-")
	if err != nil {
		return nil, err
	}
	fsys, err := localfs.New(dir, localfs.Options{StatePath: filepath.Join(stateDir, "state.db")})
	if err != nil {
		os.RemoveAll(stateDir)
		return nil, fmt.Errorf("cannot serve %s: %w", dir, err)
	}

	srv := oncrpc.NewServer(oncrpc.Options{})
	srv.Register(mount.NewProgram(fsys, mount.Options{ExportPath: dir}))
	srv.Register(nfs3.NewProgram(fsys, nfs3.Options{}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fsys.Close()
		os.RemoveAll(stateDir)
		return nil, err
	}
	go srv.Serve(ln)

	o.addr = ln.Addr().String()
	o.mountAddr = o.addr
	o.export = dir
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		fsys.Close()
		os.RemoveAll(stateDir)
	}, nil
}

// connectTarget opens the connections, mounts the export and creates the
// scratch directory. cleanup removes the scratch directory and closes the
// connections.
func connectTarget(ctx context.Context, o *runOptions) (*target, func(), error) {
	t := &target{workers: o.conns * o.inflight}
	closeAll := func() {
		for _, c := range t.clients {
			c.Close()
		}
	}
	for range o.conns {
		c, err := nfsclient.Dial(ctx, o.addr)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		t.clients = append(t.clients, c)
	}

	mc, err := nfsclient.Dial(ctx, o.mountAddr)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	m, err := mc.Mount(ctx, o.export)
	mc.Close()
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	if m.Status != mount.MNT3_OK {
		closeAll()
		return nil, nil, fmt.Errorf("MNT %s at %s: %v", o.export, o.mountAddr, m.Status)
	}
	t.root = m.Root

	c := t.clients[0]
	info, err := c.FSInfo(ctx, t.root)
	if err == nil {
		err = nfsclient.StatusErr("FSINFO", info.Status)
	}
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	t.rtmax, t.wtmax = info.RtMax, info.WtMax
	if t.rtmax == 0 || t.wtmax == 0 {
		closeAll()
		return nil, nil, fmt.Errorf("FSINFO returned rtmax %d and wtmax %d", t.rtmax, t.wtmax)
	}

	name := fmt.Sprintf("loadgen-%s-%s-%d-%d", o.server, o.workload, os.Getpid(), time.Now().UnixNano())
	mk, err := c.Mkdir(ctx, t.root, name, nfsclient.Sattr{Mode: uint32Ptr(0o755)})
	if err == nil {
		err = nfsclient.StatusErr("MKDIR "+name, mk.Status)
	}
	if err == nil && len(mk.Handle) == 0 {
		err = fmt.Errorf("MKDIR %s returned no file handle", name)
	}
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	t.scratch = mk.Handle

	cleanup := func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := removeScratch(cctx, c, t.root, t.scratch, name); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: removing scratch directory %s failed: %v\n", name, err)
		}
		closeAll()
	}
	return t, cleanup, nil
}

// removeScratch removes the files left in the scratch directory, then the
// directory.
func removeScratch(ctx context.Context, c *nfsclient.Client, root, scratch []byte, name string) error {
	entries, _, err := c.ReadDirPlusAll(ctx, scratch, walkDirCount, walkMaxCount)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		r, err := c.Remove(ctx, scratch, e.Name)
		if err == nil {
			err = nfsclient.StatusErr("REMOVE "+e.Name, r.Status)
		}
		if err != nil {
			return err
		}
	}
	r, err := c.Rmdir(ctx, root, name)
	if err != nil {
		return err
	}
	return nfsclient.StatusErr("RMDIR "+name, r.Status)
}

// serverProbe reads the server's CPU time around a measured phase.
type serverProbe struct {
	pid   int
	start time.Duration
}

func newServerProbe(pid int) (*serverProbe, error) {
	if pid == 0 {
		return nil, nil
	}
	cpu, err := processCPU(pid)
	if err != nil {
		return nil, err
	}
	return &serverProbe{pid: pid, start: cpu}, nil
}

// finish adds the server's CPU time since the probe started and its peak
// RSS to res.
func (p *serverProbe) finish(res *Result) error {
	if p == nil {
		return nil
	}
	cpu, err := processCPU(p.pid)
	if err != nil {
		return err
	}
	res.CPUSeconds = (cpu - p.start).Seconds()
	if res.Calls > 0 {
		res.CPUusPerCall = res.CPUSeconds * 1e6 / float64(res.Calls)
	}
	res.RSSHWMKiB, err = peakRSS(p.pid)
	return err
}

// measure runs one phase under a new recorder and probe.
func measure(o *runOptions, workload string, phase func(rec *recorder) int64) (Result, error) {
	probe, err := newServerProbe(o.pid)
	if err != nil {
		return Result{}, err
	}
	rec := newRecorder(o.duration, o.maxCalls)
	bytes := phase(rec)
	res := rec.result(time.Now())
	if err := probe.finish(&res); err != nil {
		return Result{}, err
	}
	res.Workload = workload
	res.Bytes = bytes
	if bytes > 0 && res.Seconds > 0 {
		res.MiBPerS = float64(bytes) / (1 << 20) / res.Seconds
	}
	return res, nil
}

func runWorkload(ctx context.Context, o *runOptions, t *target) ([]Result, error) {
	switch o.workload {
	case "meta":
		tree, err := lookupPath(ctx, t.clients[0], t.root, splitPath(o.tree))
		if err != nil {
			return nil, fmt.Errorf("finding the tree %s: %w", o.tree, err)
		}
		res, err := measure(o, "meta", func(rec *recorder) int64 {
			runMeta(ctx, t, tree, rec)
			return 0
		})
		return []Result{res}, err

	case "smallfile":
		res, err := measure(o, "smallfile", func(rec *recorder) int64 {
			runSmallFiles(ctx, t, rec)
			return 0
		})
		return []Result{res}, err

	case "seq":
		var f *seqFile
		var werr error
		w, err := measure(o, "write1m", func(rec *recorder) int64 {
			f, werr = runSeqWrite(ctx, t, o.seqMiB<<20, rec)
			if f == nil {
				return 0
			}
			return f.written
		})
		if err != nil {
			return nil, err
		}
		if werr != nil {
			return nil, werr
		}
		r, err := measure(o, "read1m", func(rec *recorder) int64 {
			return runSeqRead(ctx, t, f, rec)
		})
		return []Result{w, r}, err

	case "randread":
		c := t.clients[0]
		fh, err := lookupPath(ctx, c, t.root, splitPath(o.randFile))
		if err != nil {
			return nil, fmt.Errorf("finding %s: %w", o.randFile, err)
		}
		ga, err := c.GetAttr(ctx, fh)
		if err == nil {
			err = nfsclient.StatusErr("GETATTR "+o.randFile, ga.Status)
		}
		if err != nil {
			return nil, err
		}
		if ga.Attr.Size < randReadSize {
			return nil, fmt.Errorf("%s is %d bytes, want at least %d", o.randFile, ga.Attr.Size, randReadSize)
		}
		res, err := measure(o, "randread", func(rec *recorder) int64 {
			return runRandRead(ctx, t, fh, int64(ga.Attr.Size), rec)
		})
		return []Result{res}, err
	}
	return nil, fmt.Errorf("invalid workload %q", o.workload)
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// emit prints each result as a table row on stderr and as a JSON line on
// stdout and in o.out.
func emit(o *runOptions, results []Result) error {
	var out *os.File
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	for _, r := range results {
		r.Server = o.server
		r.Run = o.run
		r.Conns = o.conns
		r.Workers = o.conns * o.inflight
		fmt.Fprintf(os.Stderr, "%-8s %-10s run %d: %9.0f calls/s  p50 %7.0f us  p99 %7.0f us  %8.1f MiB/s  cpu %6.1f us/call  errors %d\n",
			r.Server, r.Workload, r.Run, r.CallsPerS, r.P50us, r.P99us, r.MiBPerS, r.CPUusPerCall, r.Errors)
		if r.FirstErr != "" {
			fmt.Fprintf(os.Stderr, "         first error: %s\n", r.FirstErr)
		}
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if out != nil {
			if _, err := fmt.Fprintf(out, "%s\n", line); err != nil {
				return err
			}
		} else {
			fmt.Printf("%s\n", line)
		}
	}
	return nil
}

func startCPUProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// writeAllocProfile writes the allocations since the start of the process,
// the "allocs" profile, which includes loadgen's own client.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
