package handle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Hint is the last known location of an object: the inode number of its
// parent directory and its name there. The export root has no hint.
type Hint struct {
	Parent uint64
	Name   string
}

// Options contains the settings of a Store.
type Options struct {
	// MemEntries is the maximum number of hints kept in memory besides
	// the pending batch. Zero means DefaultMemEntries.
	MemEntries int
	// Logger receives warnings about corrupt files moved aside and errors
	// of reads and batch writes. Nil means slog.Default().
	Logger *slog.Logger
}

// DefaultMemEntries is the in-memory cache size used when
// Options.MemEntries is zero.
const DefaultMemEntries = 65536

const (
	// flushInterval is how long a Put may wait before its batch is
	// written to the file.
	flushInterval = 100 * time.Millisecond
	// batchEntries is the pending batch size at which the background
	// goroutine writes the batch without waiting for flushInterval.
	batchEntries = 4096
	// maxPending is the pending batch size at which Put and Delete write
	// the batch themselves, so memory stays bounded when the file cannot
	// keep up.
	maxPending = 8 * batchEntries
	// lockTimeout is how long Open waits for another process to release
	// the file lock.
	lockTimeout = time.Second
	// formatVersion is the layout of the keys and values in the file.
	formatVersion = 1
)

var (
	hintsBucket = []byte("hints")
	metaBucket  = []byte("meta")
	formatKey   = []byte("format")
	countKey    = []byte("count")
)

// pendingOp is a change not yet written to the file: a new hint, or a
// removal when deleted is set.
type pendingOp struct {
	hint    Hint
	deleted bool
}

// Store maps inode numbers to hints. It keeps recently used hints in a
// bounded memory cache and all hints in a bbolt file. Its methods are
// safe for concurrent use.
type Store struct {
	path  string
	log   *slog.Logger
	db    *bolt.DB
	cache *cache

	// mu guards pending, inflight and closed. inflight is the batch that
	// a flush is writing, kept readable until its transaction commits.
	// closed is set when Close starts.
	mu       sync.Mutex
	pending  map[uint64]pendingOp
	inflight map[uint64]pendingOp
	closed   bool

	flushMu   sync.Mutex // serializes batch writes
	committed atomic.Int64
	failures  atomic.Int64 // failed batch writes, to rate-limit their logs

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// Open opens or creates the hint file at path, creating missing parent
// directories with mode 0700. A file that bbolt cannot read, or that has
// an unknown format, is renamed to path.corrupt-<time> with a warning and
// replaced by an empty one. Open fails if another process holds the file
// for more than a second, which means another burrow serves the same
// directory.
func Open(path string, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	limit := opts.MemEntries
	if limit <= 0 {
		limit = DefaultMemEntries
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create handle hint directory: %w", err)
	}

	db, count, err := openFile(path, logger)
	if err != nil {
		return nil, err
	}
	s := &Store{
		path:    path,
		log:     logger,
		db:      db,
		cache:   newCache(limit),
		pending: make(map[uint64]pendingOp),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.committed.Store(count)
	go s.flushLoop()
	return s, nil
}

// openFile opens the bbolt file at path and returns it with its number of
// hints. It replaces a corrupt file by an empty one.
func openFile(path string, logger *slog.Logger) (*bolt.DB, int64, error) {
	db, count, err := openAndCheck(path)
	if err == nil {
		return db, count, nil
	}
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, 0, fmt.Errorf("open handle hint file %s: timed out after %v waiting for its lock; "+
			"another burrow may be serving that directory", path, lockTimeout)
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		// The file could not be opened or read at all, for example for
		// lack of permission, so renaming it would not help.
		return nil, 0, fmt.Errorf("open handle hint file: %w", err)
	}

	aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if rerr := os.Rename(path, aside); rerr != nil {
		return nil, 0, fmt.Errorf("open handle hint file %s: %w; renaming it aside also failed: %w", path, err, rerr)
	}
	logger.Warn("handle hint file is unreadable, moved it aside and starting with no hints",
		"path", path, "moved_to", aside, "error", err)
	db, count, err = openAndCheck(path)
	if err != nil {
		return nil, 0, fmt.Errorf("create handle hint file %s: %w", path, err)
	}
	return db, count, nil
}

// openAndCheck opens path with bbolt, creates the buckets of a new file and
// checks the format of an existing one. A panic inside bbolt, which it
// raises on some damaged pages, is returned as an error.
func openAndCheck(path string) (db *bolt.DB, count int64, err error) {
	// The file holds only hints, which the backend can rebuild by
	// searching the tree, so there is no fsync: see the package
	// documentation. Without a stored freelist, bbolt rebuilds it by
	// scanning the file at open.
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        lockTimeout,
		NoSync:         true,
		NoGrowSync:     true,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt panic while checking %s: %v", path, r)
		}
		if err != nil {
			db.Close()
			db = nil
		}
	}()
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		hints := tx.Bucket(hintsBucket)
		if meta == nil && hints == nil {
			return initFile(tx)
		}
		if meta == nil || hints == nil {
			return errors.New("invalid hint file: missing bucket")
		}
		format := meta.Get(formatKey)
		if len(format) != 8 || binary.BigEndian.Uint64(format) != formatVersion {
			return fmt.Errorf("invalid hint file: unknown format %x, expected %d", format, formatVersion)
		}
		c := meta.Get(countKey)
		if len(c) != 8 {
			return fmt.Errorf("invalid hint file: count has %d bytes, expected 8", len(c))
		}
		count = int64(binary.BigEndian.Uint64(c))
		return nil
	})
	return db, count, err
}

func initFile(tx *bolt.Tx) error {
	meta, err := tx.CreateBucket(metaBucket)
	if err != nil {
		return err
	}
	if _, err := tx.CreateBucket(hintsBucket); err != nil {
		return err
	}
	if err := meta.Put(formatKey, binary.BigEndian.AppendUint64(nil, formatVersion)); err != nil {
		return err
	}
	return meta.Put(countKey, make([]byte, 8))
}

// Get returns the hint of ino, looking in memory first and then in the
// file.
func (s *Store) Get(ino uint64) (Hint, bool) {
	h, ok, version := s.cache.get(ino)
	if ok {
		return h, true
	}

	s.mu.Lock()
	op, ok := s.pending[ino]
	if !ok {
		op, ok = s.inflight[ino]
	}
	s.mu.Unlock()
	if ok {
		return op.hint, !op.deleted
	}

	h, ok = s.read(ino)
	if ok {
		s.cache.setIfVersion(ino, h, version)
	}
	return h, ok
}

// read returns the hint of ino stored in the file. Errors are logged and
// reported as a miss, because a missing hint only makes the backend search.
func (s *Store) read(ino uint64) (h Hint, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("reading handle hint failed", "path", s.path, "ino", ino, "panic", r)
			h, ok = Hint{}, false
		}
	}()
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(hintsBucket).Get(inoKey(ino))
		if v == nil {
			return nil
		}
		var err error
		h, err = decodeHint(v)
		ok = err == nil
		return err
	})
	if err != nil && !errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		s.log.Error("reading handle hint failed", "path", s.path, "ino", ino, "error", err)
	}
	return h, ok
}

// Put records h as the hint of ino. It does nothing if ino already has
// hint h. The change reaches the file with the next batch, within about
// 100 ms, and Get returns it at once. Put does nothing after Close.
func (s *Store) Put(ino uint64, h Hint) {
	if cur, ok := s.Get(ino); ok && cur == h {
		return
	}
	s.record(ino, pendingOp{hint: h})
}

// Delete removes the hint of ino, if any.
func (s *Store) Delete(ino uint64) {
	s.record(ino, pendingOp{deleted: true})
}

// record adds op to the pending batch and to the cache. The cache changes
// under s.mu so that concurrent calls for the same inode leave the cache
// and the batch in the same order.
func (s *Store) record(ino uint64, op pendingOp) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.pending[ino] = op
	if op.deleted {
		s.cache.remove(ino)
	} else {
		s.cache.set(ino, op.hint)
	}
	n := len(s.pending)
	s.mu.Unlock()

	switch {
	case n >= maxPending:
		if err := s.Flush(); err != nil {
			s.logFlushError(err)
		}
	case n >= batchEntries:
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// Flush writes the pending batch to the file in one transaction. The file
// is not synced to disk.
func (s *Store) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()

	s.mu.Lock()
	batch := s.pending
	if len(batch) == 0 {
		s.mu.Unlock()
		return nil
	}
	s.pending = make(map[uint64]pendingOp)
	s.inflight = batch
	s.mu.Unlock()

	err := s.write(batch)

	s.mu.Lock()
	s.inflight = nil
	s.mu.Unlock()
	return err
}

// write commits batch in one transaction and updates the stored count. On
// error the batch is dropped, since the hints are only a cache.
func (s *Store) write(batch map[uint64]pendingOp) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt panic: %v", r)
		}
		if err != nil {
			err = fmt.Errorf("write %d handle hints to %s: %w", len(batch), s.path, err)
		}
	}()

	// Writing keys in ascending order fills bbolt pages sequentially.
	inos := make([]uint64, 0, len(batch))
	for ino := range batch {
		inos = append(inos, ino)
	}
	slices.Sort(inos)

	var count int64
	err = s.db.Update(func(tx *bolt.Tx) error {
		hints := tx.Bucket(hintsBucket)
		meta := tx.Bucket(metaBucket)
		count = int64(binary.BigEndian.Uint64(meta.Get(countKey)))
		for _, ino := range inos {
			op := batch[ino]
			key := inoKey(ino)
			existed := hints.Get(key) != nil
			if op.deleted {
				if !existed {
					continue
				}
				if err := hints.Delete(key); err != nil {
					return err
				}
				count--
				continue
			}
			// bbolt keeps the value slice until the commit, so each
			// Put needs its own.
			if err := hints.Put(key, encodeHint(nil, op.hint)); err != nil {
				return err
			}
			if !existed {
				count++
			}
		}
		return meta.Put(countKey, binary.BigEndian.AppendUint64(nil, uint64(count)))
	})
	if err == nil {
		s.committed.Store(count)
	}
	return err
}

// Close writes the pending batch and closes the file. Later calls of Close
// return nil; Get still returns cached hints, and Put and Delete do
// nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true // from here on, record drops changes
	s.mu.Unlock()

	close(s.stop)
	<-s.done
	flushErr := s.Flush()

	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	closeErr := s.db.Close()
	if closeErr != nil {
		closeErr = fmt.Errorf("close handle hint file %s: %w", s.path, closeErr)
	}
	return errors.Join(flushErr, closeErr)
}

// Len returns the number of hints in the file after the last batch, plus
// pending new hints, minus pending removals. A pending change of an
// existing hint is counted as new, so Len is exact only after Flush.
func (s *Store) Len() int {
	n := s.committed.Load()
	s.mu.Lock()
	for _, batch := range []map[uint64]pendingOp{s.pending, s.inflight} {
		for _, op := range batch {
			if op.deleted {
				n--
			} else {
				n++
			}
		}
	}
	s.mu.Unlock()
	return int(max(n, 0))
}

func (s *Store) flushLoop() {
	defer close(s.done)
	ticker := time.NewTicker(flushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		case <-s.kick:
		}
		if err := s.Flush(); err != nil {
			s.logFlushError(err)
		}
	}
}

// logFlushError logs the 1st, 2nd, 4th, 8th... failed batch write, so a
// full disk does not flood the log.
func (s *Store) logFlushError(err error) {
	n := s.failures.Add(1)
	if n&(n-1) == 0 {
		s.log.Error("handle hints lost", "error", err, "failures", n)
	}
}

func inoKey(ino uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), ino)
}

// encodeHint appends the stored form of h: the parent inode number in 8
// bytes big-endian, then the name.
func encodeHint(b []byte, h Hint) []byte {
	b = binary.BigEndian.AppendUint64(b, h.Parent)
	return append(b, h.Name...)
}

func decodeHint(v []byte) (Hint, error) {
	if len(v) < 8 {
		return Hint{}, fmt.Errorf("invalid hint: %d bytes, expected at least 8", len(v))
	}
	return Hint{Parent: binary.BigEndian.Uint64(v[:8]), Name: string(v[8:])}, nil
}
