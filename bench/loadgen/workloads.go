package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/burrow-nfs/burrow/internal/nfs3"
	"github.com/burrow-nfs/burrow/internal/nfsclient"
)

// target is a mounted server: one client per connection and the handles
// the workloads start from.
type target struct {
	clients []*nfsclient.Client
	root    []byte
	scratch []byte // a directory of this run, removed at the end
	workers int
	rtmax   uint32
	wtmax   uint32
}

// client returns the connection that worker w uses.
func (t *target) client(w int) *nfsclient.Client { return t.clients[w%len(t.clients)] }

// runWorkers runs fn on t.workers goroutines and waits for them.
func (t *target) runWorkers(fn func(w int)) {
	var wg sync.WaitGroup
	for w := range t.workers {
		wg.Go(func() { fn(w) })
	}
	wg.Wait()
}

// errStatus wraps a status other than NFS3_OK with the call that got it.
func errStatus(op string, st nfs3.Nfsstat3, what string) error {
	return fmt.Errorf("%s %s: %v", op, what, st)
}

// lookupPath walks the slash-separated path from dir with LOOKUP.
func lookupPath(ctx context.Context, c *nfsclient.Client, dir []byte, path []string) ([]byte, error) {
	h := dir
	for _, name := range path {
		r, err := c.Lookup(ctx, h, name)
		if err != nil {
			return nil, err
		}
		if r.Status != nfs3.NFS3_OK {
			return nil, errStatus("LOOKUP", r.Status, name)
		}
		h = r.Handle
	}
	return h, nil
}

// metaTask is one unit of the metadata walk: list a directory from a
// cookie, or look up and stat one name in it.
type metaTask struct {
	dir      []byte
	name     string // empty for a READDIRPLUS task
	cookie   uint64
	verifier [nfs3.NFS3_COOKIEVERFSIZE]byte
}

// taskQueue is an unbounded LIFO of walk tasks. The walk is complete when
// the queue is empty and no task is running.
type taskQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	tasks   []metaTask
	running int
	stopped bool
}

func newTaskQueue() *taskQueue {
	q := &taskQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *taskQueue) push(t metaTask) {
	q.mu.Lock()
	q.tasks = append(q.tasks, t)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a task. When the walk is complete it calls restart, which
// may push the first task of a new pass, and returns false if restart
// pushed nothing or stop was called.
func (q *taskQueue) pop(restart func() (metaTask, bool)) (metaTask, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.stopped {
			return metaTask{}, false
		}
		if n := len(q.tasks); n > 0 {
			t := q.tasks[n-1]
			q.tasks = q.tasks[:n-1]
			q.running++
			return t, true
		}
		if q.running == 0 {
			t, ok := restart()
			if !ok {
				q.stopped = true
				q.cond.Broadcast()
				return metaTask{}, false
			}
			q.running++
			return t, true
		}
		q.cond.Wait()
	}
}

// finish marks a popped task as done and wakes waiters that may now see
// the walk complete.
func (q *taskQueue) finish() {
	q.mu.Lock()
	q.running--
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *taskQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// READDIRPLUS sizes of the walk, in bytes: those the Linux client sends
// with the default 1 MiB rsize are larger, but 32 KiB keeps several pages
// per directory in the Go tree, which exercises cookies.
const (
	walkDirCount = 8192
	walkMaxCount = 32768
)

// runMeta walks the tree under treeDir as "ls -lR" does through a mount:
// READDIRPLUS every directory, LOOKUP and GETATTR every entry, and ACCESS
// every directory before listing it. When a walk completes before the
// deadline, the next pass starts from the top, with the server's caches
// warm.
func runMeta(ctx context.Context, t *target, treeDir []byte, rec *recorder) {
	q := newTaskQueue()
	passes := 0
	restart := func() (metaTask, bool) {
		if time.Now().After(rec.deadline) {
			return metaTask{}, false
		}
		passes++
		return metaTask{dir: treeDir}, true
	}
	t.runWorkers(func(w int) {
		c := t.client(w)
		s := rec.newSample()
		for {
			task, ok := q.pop(restart)
			if !ok {
				return
			}
			err := metaStep(ctx, c, task, q, rec, s)
			q.finish()
			if errors.Is(err, errBudget) {
				q.stop()
				return
			}
			if err != nil {
				rec.fail(err)
			}
		}
	})
}

// errBudget stops the walk when the deadline or the call budget is
// reached.
var errBudget = errors.New("time or call budget reached")

// metaStep runs one walk task and pushes the tasks it finds.
func metaStep(ctx context.Context, c *nfsclient.Client, task metaTask, q *taskQueue, rec *recorder, s *sample) error {
	if task.name == "" {
		if !rec.more() {
			return errBudget
		}
		start := time.Now()
		r, err := c.ReadDirPlus(ctx, task.dir, task.cookie, task.verifier, walkDirCount, walkMaxCount)
		if err != nil {
			return err
		}
		s.done("READDIRPLUS", start)
		if r.Status != nfs3.NFS3_OK {
			return errStatus("READDIRPLUS", r.Status, fmt.Sprintf("at cookie %d", task.cookie))
		}
		for _, e := range r.Entries {
			if e.Name == "." || e.Name == ".." {
				continue
			}
			q.push(metaTask{dir: task.dir, name: e.Name})
		}
		if !r.EOF && len(r.Entries) > 0 {
			q.push(metaTask{dir: task.dir, cookie: r.Entries[len(r.Entries)-1].Cookie, verifier: r.Verifier})
		}
		return nil
	}

	if !rec.more() {
		return errBudget
	}
	start := time.Now()
	lr, err := c.Lookup(ctx, task.dir, task.name)
	if err != nil {
		return err
	}
	s.done("LOOKUP", start)
	if lr.Status != nfs3.NFS3_OK {
		return errStatus("LOOKUP", lr.Status, task.name)
	}

	if !rec.more() {
		return errBudget
	}
	start = time.Now()
	ga, err := c.GetAttr(ctx, lr.Handle)
	if err != nil {
		return err
	}
	s.done("GETATTR", start)
	if ga.Status != nfs3.NFS3_OK {
		return errStatus("GETATTR", ga.Status, task.name)
	}
	if ga.Attr.Type != nfs3.NF3DIR {
		return nil
	}

	if !rec.more() {
		return errBudget
	}
	start = time.Now()
	ar, err := c.Access(ctx, lr.Handle, nfsclient.ACCESS3_READ|nfsclient.ACCESS3_LOOKUP|nfsclient.ACCESS3_EXECUTE)
	if err != nil {
		return err
	}
	s.done("ACCESS", start)
	if ar.Status != nfs3.NFS3_OK {
		return errStatus("ACCESS", ar.Status, task.name)
	}
	q.push(metaTask{dir: lr.Handle})
	return nil
}

// smallFileSize is the size of each file of the small-file workload.
const smallFileSize = 4096

// runSmallFiles creates, writes, commits and removes small files in the
// scratch directory, the calls a Linux client makes for "echo > f; rm f"
// with close-to-open consistency: CREATE (GUARDED), WRITE (UNSTABLE),
// COMMIT at close, REMOVE.
func runSmallFiles(ctx context.Context, t *target, rec *recorder) {
	data := make([]byte, smallFileSize)
	for i := range data {
		data[i] = byte(i)
	}
	t.runWorkers(func(w int) {
		c := t.client(w)
		s := rec.newSample()
		for i := 0; ; i++ {
			if err := smallFile(ctx, c, t.scratch, fmt.Sprintf("w%03d-%07d", w, i), data, rec, s); err != nil {
				if !errors.Is(err, errBudget) {
					rec.fail(err)
				}
				return
			}
		}
	})
}

func smallFile(ctx context.Context, c *nfsclient.Client, dir []byte, name string, data []byte, rec *recorder, s *sample) error {
	if !rec.more() {
		return errBudget
	}
	start := time.Now()
	cr, err := c.Create(ctx, dir, name, nfsclient.CreateHow{Mode: nfs3.GUARDED, Attr: nfsclient.Sattr{Mode: uint32Ptr(0o644)}})
	if err != nil {
		return err
	}
	s.done("CREATE", start)
	if cr.Status != nfs3.NFS3_OK {
		return errStatus("CREATE", cr.Status, name)
	}
	if len(cr.Handle) == 0 {
		return fmt.Errorf("CREATE %s returned no file handle", name)
	}

	// Once the file exists, finish the sequence even past the budget, so
	// that no file is left behind.
	rec.calls.Add(3)
	start = time.Now()
	wr, err := c.Write(ctx, cr.Handle, 0, data, nfs3.UNSTABLE)
	if err != nil {
		return err
	}
	s.done("WRITE", start)
	if wr.Status != nfs3.NFS3_OK || wr.Count != uint32(len(data)) {
		return fmt.Errorf("WRITE %s: %v, %d of %d bytes", name, wr.Status, wr.Count, len(data))
	}

	start = time.Now()
	cm, err := c.Commit(ctx, cr.Handle, 0, 0)
	if err != nil {
		return err
	}
	s.done("COMMIT", start)
	if cm.Status != nfs3.NFS3_OK {
		return errStatus("COMMIT", cm.Status, name)
	}

	start = time.Now()
	rm, err := c.Remove(ctx, dir, name)
	if err != nil {
		return err
	}
	s.done("REMOVE", start)
	if rm.Status != nfs3.NFS3_OK {
		return errStatus("REMOVE", rm.Status, name)
	}
	return nil
}

func uint32Ptr(v uint32) *uint32 { return &v }

// ioChunk is the size of each sequential READ and WRITE, cut to the
// server's rtmax or wtmax.
const ioChunk = 1 << 20

// seqFile is a file of the sequential workload: its handle and how many
// bytes the write phase wrote.
type seqFile struct {
	name    string
	handle  []byte
	written int64
}

// runSeqWrite writes a new file of size bytes in the scratch directory with
// sequential UNSTABLE WRITEs of ioChunk bytes, all workers taking the next
// offset in turn as a client's write-back does, then COMMITs it. The write
// stops early at the deadline.
func runSeqWrite(ctx context.Context, t *target, size int64, rec *recorder) (*seqFile, error) {
	f := &seqFile{name: fmt.Sprintf("seq-%d", time.Now().UnixNano())}
	cr, err := t.clients[0].Create(ctx, t.scratch, f.name, nfsclient.CreateHow{Mode: nfs3.GUARDED, Attr: nfsclient.Sattr{Mode: uint32Ptr(0o644)}})
	if err != nil {
		return nil, err
	}
	if cr.Status != nfs3.NFS3_OK || len(cr.Handle) == 0 {
		return nil, errStatus("CREATE", cr.Status, f.name)
	}
	f.handle = cr.Handle
	chunk := int64(min(ioChunk, t.wtmax))
	data := make([]byte, chunk)
	for i := range data {
		data[i] = byte(i * 31)
	}

	var next, written atomic.Int64
	t.runWorkers(func(w int) {
		c := t.client(w)
		s := rec.newSample()
		for {
			off := next.Add(chunk) - chunk
			if off >= size || !rec.more() {
				return
			}
			n := min(chunk, size-off)
			start := time.Now()
			r, err := c.Write(ctx, f.handle, uint64(off), data[:n], nfs3.UNSTABLE)
			if err != nil {
				rec.fail(err)
				return
			}
			s.done("WRITE", start)
			if r.Status != nfs3.NFS3_OK || int64(r.Count) != n {
				rec.fail(fmt.Errorf("WRITE at %d: %v, %d of %d bytes", off, r.Status, r.Count, n))
				return
			}
			written.Add(n)
		}
	})

	s := rec.newSample()
	start := time.Now()
	cm, err := t.clients[0].Commit(ctx, f.handle, 0, 0)
	if err != nil {
		return f, err
	}
	s.done("COMMIT", start)
	if cm.Status != nfs3.NFS3_OK {
		return f, errStatus("COMMIT", cm.Status, f.name)
	}
	f.written = written.Load()
	return f, nil
}

// runSeqRead reads f back with sequential READs of ioChunk bytes, all
// workers taking the next offset in turn as a client's read-ahead does,
// and returns the bytes read. The file is still in the server's page
// cache from the write phase.
func runSeqRead(ctx context.Context, t *target, f *seqFile, rec *recorder) int64 {
	chunk := int64(min(ioChunk, t.rtmax))
	var next, read atomic.Int64
	t.runWorkers(func(w int) {
		c := t.client(w)
		s := rec.newSample()
		for {
			off := next.Add(chunk) - chunk
			if off >= f.written || !rec.more() {
				return
			}
			n := min(chunk, f.written-off)
			start := time.Now()
			r, err := c.Read(ctx, f.handle, uint64(off), uint32(n))
			if err != nil {
				rec.fail(err)
				return
			}
			s.done("READ", start)
			if r.Status != nfs3.NFS3_OK || int64(len(r.Data)) != n {
				rec.fail(fmt.Errorf("READ at %d: %v, %d of %d bytes", off, r.Status, len(r.Data), n))
				return
			}
			read.Add(n)
		}
	})
	return read.Load()
}

// randReadSize is the size and alignment of each random READ.
const randReadSize = 4096

// runRandRead reads randReadSize bytes at random aligned offsets of the
// file fh of size bytes.
func runRandRead(ctx context.Context, t *target, fh []byte, size int64, rec *recorder) int64 {
	blocks := size / randReadSize
	var read atomic.Int64
	t.runWorkers(func(w int) {
		c := t.client(w)
		s := rec.newSample()
		rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
		for rec.more() {
			off := rng.Int64N(blocks) * randReadSize
			start := time.Now()
			r, err := c.Read(ctx, fh, uint64(off), randReadSize)
			if err != nil {
				rec.fail(err)
				return
			}
			s.done("READ", start)
			if r.Status != nfs3.NFS3_OK || len(r.Data) != randReadSize {
				rec.fail(fmt.Errorf("READ at %d: %v, %d of %d bytes", off, r.Status, len(r.Data), randReadSize))
				return
			}
			read.Add(randReadSize)
		}
	})
	return read.Load()
}
