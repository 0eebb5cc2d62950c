//go:build linux && (amd64 || arm64)

package state

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// evict drops the file's pages from the page cache (POSIX_FADV_DONTNEED),
// so the next read comes from the disk as after a reboot.
func evict(b *testing.B, path string) {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const fadvDontNeed = 4
	if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontNeed, 0, 0); errno != 0 {
		b.Fatalf("fadvise %s: %v", path, errno)
	}
}

// BenchmarkJournalCommandCold1M is BenchmarkJournalCommand1M with the
// file out of the page cache before each run.
func BenchmarkJournalCommandCold1M(b *testing.B) {
	dir := bigJournal(b)
	path := filepath.Join(dir, FileName)
	for b.Loop() {
		b.StopTimer()
		evict(b, path)
		b.StartTimer()
		db, err := Open(dir, Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		es, err := db.Entries(Filter{Limit: 100})
		if err != nil || len(es) != 100 {
			b.Fatalf("Entries(limit 100) = %d entries, %v", len(es), err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
