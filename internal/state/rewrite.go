package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// rewritePrefix names the temporary file of a rewrite; a file of that name
// left by a killed rewrite is removed at the next read-write Open.
const rewritePrefix = FileName + ".rewrite-"

// rewriteTxSize bounds each transaction of the copy, so memory stays
// bounded whatever the size of the file.
const rewriteTxSize = 16 << 20

// needsRewrite reports whether the free pages reach the rewrite threshold.
func (db *DB) needsRewrite() (bool, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.bolt == nil {
		return false, ErrClosed
	}
	fi, err := os.Stat(db.path)
	if err != nil {
		return false, fmt.Errorf("stat state db: %w", err)
	}
	free := db.freeBytes()
	return free >= rewriteMinFree && 2*free >= fi.Size(), nil
}

// Rewrite copies the live data into a fresh file and puts it in place of
// state.db, giving the free pages back to the filesystem. The copy goes to
// a temporary file in the state dir (without fsync per transaction), which
// is fsynced, renamed over state.db, and the dir fsynced; a crash at any
// point leaves either the old or the new file complete. Both files stay
// locked by this process throughout, so nobody else writes either. All
// other calls wait for the rewrite, which takes about a second per 100 MB.
func (db *DB) Rewrite() error {
	if db.readOnly {
		return ErrReadOnly
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.bolt == nil {
		return ErrClosed
	}
	fi, err := os.Stat(db.path)
	if err != nil {
		return fmt.Errorf("rewrite state db: %w", err)
	}
	tmp, err := os.CreateTemp(db.dir, rewritePrefix+"*")
	if err != nil {
		return fmt.Errorf("rewrite state db: %w", err)
	}
	tmpPath := tmp.Name()
	err = tmp.Chmod(fi.Mode().Perm())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmpPath)
		return fmt.Errorf("rewrite state db: %w", err)
	}
	dst, err := db.copyTo(tmpPath, fi.Mode().Perm())
	if err != nil {
		_ = os.Remove(tmpPath)
		return fmt.Errorf("rewrite state db %s: %w", db.path, err)
	}
	if err := os.Rename(tmpPath, db.path); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmpPath)
		return fmt.Errorf("rewrite state db: %w", err)
	}
	// From here state.db is the new file, locked by dst: swap even when
	// the directory sync fails, and report that failure.
	serr := syncDir(db.dir)
	cerr := db.bolt.Close()
	db.bolt = dst
	if serr != nil {
		return fmt.Errorf("rewrite state db: sync state dir: %w", serr)
	}
	if cerr != nil {
		return fmt.Errorf("rewrite state db: close old file: %w", cerr)
	}
	return nil
}

// copyTo opens path as a new bbolt file, copies the live data into it and
// fsyncs it; the returned handle holds the new file's lock and syncs each
// commit from now on.
func (db *DB) copyTo(path string, mode os.FileMode) (*bolt.DB, error) {
	dst, err := bolt.Open(path, mode, &bolt.Options{Timeout: DefaultTimeout, NoSync: true})
	if err != nil {
		return nil, err
	}
	if err := bolt.Compact(dst, db.bolt, rewriteTxSize); err != nil {
		_ = dst.Close()
		return nil, err
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		return nil, err
	}
	dst.NoSync = false
	return dst, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeRewriteLeftovers deletes temporary files of rewrites that were
// killed; the caller holds the lock, so no rewrite is running.
func removeRewriteLeftovers(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read state dir: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), rewritePrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove leftover of a rewrite: %w", err)
			}
		}
	}
	return nil
}
