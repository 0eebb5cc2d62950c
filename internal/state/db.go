// Package state keeps snapd's durable state (action journal, intents, last runs, device tokens) in one bbolt file.
//
// The file is <state dir>/state.db, mode 0600 (it holds DSM device tokens).
// bbolt's flock on that file is the only lock: a read-write Open takes it
// exclusively, a ReadOnly Open shares it with other readers, and either
// gives up after Options.Timeout with an error that matches ErrLocked. So
// one-off commands that find the daemon running must ask the daemon (over
// its control socket) rather than open the file themselves.
//
// Beside the file, the read-write holder keeps state.db.holder, a small JSON
// record of its pid, command line and the time it took the lock. It is
// written after the lock is taken, removed at Close, and read only to name
// the holder in the ErrLocked message; it is never trusted for locking.
//
// Every value is versioned JSON ({"v":1,...}); a value of an unknown
// version is an error that names its key, never a silent zero. Keys of the
// journal and intent buckets are big-endian uint64 sequences, so cursor
// order is commit order. Times are stored in UTC. Every commit is fsynced
// (bbolt's default), so a completed Append survives kill -9 and power loss.
//
// Beside the journal, a small bucket marks the "backsteps": entries dated
// before an earlier entry because the clock was stepped back. Every other
// entry is at least as new as all entries before it, so walks bounded by
// time (Entries with Since, Compact) stop at the first old entry that is
// not a backstep: they cost what they return, and stay exact.
//
// Compaction deletes old journal entries in batches, one transaction per
// batch, and when the free pages in the file reach half of it (and at least
// 1 MiB) rewrites the file: bbolt.Compact into a temporary file in the same
// directory, fsync, rename over state.db, fsync the directory. The rewrite
// runs only while this process holds the lock on the old file, and the new
// file stays locked through its own descriptor from before the rename until
// Close, so no other process ever writes either file. A process that was
// already waiting on the old file's lock notices after acquiring it that
// state.db is now another file and retries on the new one.
package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the database file inside the state dir.
const FileName = "state.db"

// DefaultTimeout is how long Open waits for the lock when Options.Timeout is 0.
const DefaultTimeout = time.Second

// lockRetry is how long Open sleeps between two attempts at the lock.
const lockRetry = 50 * time.Millisecond

// schemaVersion is the layout of buckets and keys this package writes.
const schemaVersion = 1

var (
	bucketJournal   = []byte("journal")
	bucketBacksteps = []byte("journal_backsteps")
	bucketIntents   = []byte("intents")
	bucketLastRun   = []byte("last_run")
	bucketSchedule  = []byte("last_scheduled")
	bucketTokens    = []byte("device_tokens")
	bucketMeta      = []byte("meta")
	keySchema       = []byte("schema")
	keyMaxTime      = []byte("journal_max_time")
	allBuckets      = [][]byte{bucketJournal, bucketBacksteps, bucketIntents, bucketLastRun, bucketSchedule, bucketTokens, bucketMeta}
)

var (
	// ErrLocked matches the error of Open when another process holds the
	// state dir; the error itself is a *LockedError naming that process.
	ErrLocked = errors.New("state dir is in use by another process")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("state db is closed")
	// ErrReadOnly is returned by every writing method of a DB opened ReadOnly.
	ErrReadOnly = errors.New("state db is opened read-only")
	// ErrNoIntent is returned by CompleteIntent for an id that is not pending.
	ErrNoIntent = errors.New("no such pending intent")
)

// Options tune Open.
type Options struct {
	// Timeout is how long Open waits for another process to release the
	// lock: 0 means DefaultTimeout, a negative value means one attempt.
	Timeout time.Duration
	// ReadOnly opens an existing file with a shared lock and no writes:
	// several readers may hold it at once, but not beside a writer.
	ReadOnly bool
}

// DB is an open state file. Its methods are safe for concurrent use.
type DB struct {
	dir      string
	path     string
	readOnly bool
	now      func() time.Time

	// mu is held for reading by every transaction and for writing while
	// the file is rewritten and the bolt handle swapped, and by Close.
	mu   sync.RWMutex
	bolt *bolt.DB
}

// testHookLocked runs after the lock is taken and before Open checks that
// the locked file is still the one at the path; tests replace the file here.
var testHookLocked func()

// Open opens (read-write: creates, with dir as 0700 when missing)
// dir/state.db, waits up to o.Timeout for the lock and creates the buckets.
// When another process holds the lock, the error matches ErrLocked and
// names that process. A ReadOnly open of a missing file fails with an error
// that matches fs.ErrNotExist.
func Open(dir string, o Options) (*DB, error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if !o.ReadOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create state dir: %w", err)
		}
	}
	db := &DB{dir: dir, path: filepath.Join(dir, FileName), readOnly: o.ReadOnly, now: time.Now}
	b, err := lockAndOpen(db.path, o.ReadOnly, timeout)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, lockedError(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open state db %s: %w", db.path, err)
	}
	db.bolt = b
	if err := db.setup(); err != nil {
		if !db.readOnly {
			_ = os.Remove(filepath.Join(dir, holderName))
		}
		_ = b.Close()
		return nil, err
	}
	return db, nil
}

// lockAndOpen opens path with bbolt until it holds the lock on the file
// that is at path at that moment, or the timeout passes (berrors.ErrTimeout).
// Each attempt opens the path afresh, and a lock won on a file that was
// renamed away meanwhile (a rewrite by the previous holder) is dropped.
func lockAndOpen(path string, readOnly bool, timeout time.Duration) (*bolt.DB, error) {
	deadline := time.Now().Add(timeout)
	for {
		var f *os.File
		b, err := bolt.Open(path, 0o600, &bolt.Options{
			// Any timeout up to bbolt's own 50ms retry means a single try.
			Timeout:  time.Nanosecond,
			ReadOnly: readOnly,
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				var err error
				f, err = os.OpenFile(name, flag, perm)
				return f, err
			},
		})
		if err == nil {
			if testHookLocked != nil {
				testHookLocked()
			}
			same, serr := sameFile(f, path)
			if serr != nil || same {
				if serr != nil {
					_ = b.Close()
					return nil, serr
				}
				// A lone writer waits at most this long for company before its
				// batch commits (bbolt's default is 10ms).
				b.MaxBatchDelay = 2 * time.Millisecond
				return b, nil
			}
			_ = b.Close()
			if time.Now().After(deadline) {
				return nil, berrors.ErrTimeout
			}
			continue
		}
		if !errors.Is(err, berrors.ErrTimeout) {
			return nil, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, err
		}
		time.Sleep(min(left, lockRetry))
	}
}

// sameFile reports whether f is still the file at path.
func sameFile(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

// setup runs once the lock is held: it clears what a killed rewrite left,
// records the holder, creates the buckets and checks the schema version.
func (db *DB) setup() error {
	if db.readOnly {
		return db.bolt.View(func(tx *bolt.Tx) error { return checkSchema(tx, db.path) })
	}
	if err := removeRewriteLeftovers(db.dir); err != nil {
		return err
	}
	if err := writeHolder(db.dir, db.now()); err != nil {
		return err
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if tx.Bucket(bucketMeta).Get(keySchema) == nil {
			v, err := encode(&schemaRecord{V: 1, Schema: schemaVersion})
			if err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(keySchema, v)
		}
		return checkSchema(tx, db.path)
	})
	if err != nil {
		return fmt.Errorf("prepare state db %s: %w", db.path, err)
	}
	return nil
}

type schemaRecord struct {
	V      int `json:"v"`
	Schema int `json:"schema"`
}

func (r *schemaRecord) version() int { return r.V }

// checkSchema refuses a file written by a newer snapd whose layout this
// code does not know; a file without a schema record is an empty new one.
func checkSchema(tx *bolt.Tx, path string) error {
	m := tx.Bucket(bucketMeta)
	if m == nil {
		return nil
	}
	v := m.Get(keySchema)
	if v == nil {
		return nil
	}
	var r schemaRecord
	if err := decode(v, &r); err != nil {
		return fmt.Errorf("decode schema record: %w", err)
	}
	if r.Schema != schemaVersion {
		return fmt.Errorf("state db %s has schema %d, this snapd knows schema %d", path, r.Schema, schemaVersion)
	}
	return nil
}

// Close releases the lock; for a read-write DB it first removes the holder
// record, so the record never outlives the lock.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.bolt == nil {
		return ErrClosed
	}
	if !db.readOnly {
		_ = os.Remove(filepath.Join(db.dir, holderName))
	}
	err := db.bolt.Close()
	db.bolt = nil
	if err != nil {
		return fmt.Errorf("close state db %s: %w", db.path, err)
	}
	return nil
}

// Path returns the path of the database file.
func (db *DB) Path() string { return db.path }

// view runs fn in a read transaction.
func (db *DB) view(fn func(tx *bolt.Tx) error) error {
	return db.with(false, func(b *bolt.DB) error { return b.View(fn) })
}

// update runs fn in a read-write transaction, committed and fsynced before it
// returns nil. Concurrent calls (the daemon's runs on many targets at once) are
// coalesced by bbolt's Batch into one transaction and one fsync, so fn may run more
// than once and must only touch the transaction and its own results.
func (db *DB) update(fn func(tx *bolt.Tx) error) error {
	return db.with(true, func(b *bolt.DB) error { return b.Batch(fn) })
}

// updateSolo is update in a transaction of its own, for large work (compaction)
// that should not hold up or be retried with other writers.
func (db *DB) updateSolo(fn func(tx *bolt.Tx) error) error {
	return db.with(true, func(b *bolt.DB) error { return b.Update(fn) })
}

// with runs f on the open bbolt handle, holding it open (a rewrite swaps it under the
// write lock) and refusing writes to a read-only or closed database.
func (db *DB) with(write bool, f func(b *bolt.DB) error) error {
	if write && db.readOnly {
		return ErrReadOnly
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.bolt == nil {
		return ErrClosed
	}
	return f(db.bolt)
}

// Check runs bbolt's consistency check over the whole file and returns
// every problem found, joined.
func (db *DB) Check() error {
	var errs []error
	err := db.view(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("check state db %s: %w", db.path, errors.Join(errs...))
	}
	return nil
}

// Stats describes the state file.
type Stats struct {
	Entries        int    `json:"entries"`
	LastSeq        uint64 `json:"last_seq"`
	PendingIntents int    `json:"pending_intents"`
	FileSize       int64  `json:"file_size"`
	// FreeBytes is the size of the free pages inside the file: space that
	// new entries reuse first and that a rewrite gives back.
	FreeBytes int64 `json:"free_bytes"`
}

// Stats counts entries and pending intents and measures the file.
func (db *DB) Stats() (Stats, error) {
	var s Stats
	err := db.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketJournal); b != nil {
			s.Entries = b.Stats().KeyN
			s.LastSeq = b.Sequence()
		}
		if b := tx.Bucket(bucketIntents); b != nil {
			s.PendingIntents = b.Stats().KeyN
		}
		s.FreeBytes = db.freeBytes()
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("stats of state db %s: %w", db.path, err)
	}
	fi, err := os.Stat(db.path)
	if err != nil {
		return Stats{}, fmt.Errorf("stats of state db: %w", err)
	}
	s.FileSize = fi.Size()
	return s, nil
}

// freeBytes is the size of the free and pending pages, as of the last
// write transaction; the caller holds db.mu.
func (db *DB) freeBytes() int64 {
	st := db.bolt.Stats()
	return int64(st.FreePageN+st.PendingPageN) * int64(db.bolt.Info().PageSize)
}

// seqKey is the big-endian key of a sequence number, so byte order is
// numeric order.
func seqKey(n uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, n)
	return k
}

// keySeq is the inverse of seqKey; ok is false for a key of another length.
func keySeq(k []byte) (uint64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}

// nameKey is the key of a policy or NAS name.
func nameKey(what, name string) ([]byte, error) {
	if strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("empty %s name", what)
	}
	return []byte(name), nil
}
