package state

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestMain removes the benchmark fixture, which outlives single benchmarks
// so that it is built once per run.
func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		_ = os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// The 1,000,000-entry journal of the benchmarks: a day of entries every
// 8.64s for 100 days, ten policies in turn.
const (
	bigN    = 1_000_000
	bigStep = 8640 * time.Millisecond
)

var (
	bigOnce sync.Once
	bigDir  string
	bigErr  error
)

func bigEntry(i int) Entry {
	p := fmt.Sprintf("policy-%d", i%10)
	return Entry{
		Time: t0.Add(time.Duration(i) * bigStep), Policy: p, NAS: "primary", Target: "share:" + p,
		Action: "snapshot.create", Snapshot: "GMT+01-2026.11.29-10.00.00", Outcome: "ok", DurationMS: 1234,
	}
}

// bigJournal returns the dir of the 1M-entry fixture, building it on first
// use with batches of 10,000 entries per transaction.
func bigJournal(b *testing.B) string {
	b.Helper()
	bigOnce.Do(func() {
		start := time.Now()
		bigDir, bigErr = os.MkdirTemp("", "snapd-state-bench-")
		if bigErr != nil {
			return
		}
		var db *DB
		if db, bigErr = Open(bigDir, Options{}); bigErr != nil {
			return
		}
		defer func() {
			if err := db.Close(); bigErr == nil {
				bigErr = err
			}
		}()
		const batch = 10_000
		es := make([]Entry, batch)
		for i := 0; i < bigN; i += batch {
			for j := range es {
				es[j] = bigEntry(i + j)
			}
			if _, bigErr = db.Append(es...); bigErr != nil {
				return
			}
		}
		st, _ := db.Stats()
		b.Logf("built %d-entry fixture in %v: %+v", bigN, time.Since(start).Round(time.Millisecond), st)
	})
	if bigErr != nil {
		b.Fatalf("build fixture: %v", bigErr)
	}
	return bigDir
}

func BenchmarkAppend(b *testing.B) {
	db := mustOpen(b, b.TempDir(), Options{})
	e := bigEntry(0)
	for b.Loop() {
		if _, err := db.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendBatch100(b *testing.B) {
	db := mustOpen(b, b.TempDir(), Options{})
	es := make([]Entry, 100)
	for i := range es {
		es[i] = bigEntry(i)
	}
	n := 0
	for b.Loop() {
		if _, err := db.Append(es...); err != nil {
			b.Fatal(err)
		}
		n += len(es)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/entry")
}

// BenchmarkEntries1M reads from the 1M-entry journal through an open DB.
func BenchmarkEntries1M(b *testing.B) {
	dir := bigJournal(b)
	db := mustOpen(b, dir, Options{ReadOnly: true})
	cases := []struct {
		name string
		f    Filter
		want int
	}{
		{"limit100", Filter{Limit: 100}, 100},
		{"policy/limit100", Filter{Policy: "policy-3", Limit: 100}, 100},
		{"since1day", Filter{Since: t0.Add(bigN*bigStep - 24*time.Hour)}, 10_000},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				es, err := db.Entries(c.f)
				if err != nil || len(es) != c.want {
					b.Fatalf("Entries(%+v) = %d entries, %v, want %d", c.f, len(es), err, c.want)
				}
			}
		})
	}
}

// BenchmarkJournalCommand1M is what `snapd journal --limit 100` does:
// open read-only, read the newest 100, close.
func BenchmarkJournalCommand1M(b *testing.B) {
	dir := bigJournal(b)
	for b.Loop() {
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

func BenchmarkStats1M(b *testing.B) {
	db := mustOpen(b, bigJournal(b), Options{ReadOnly: true})
	for b.Loop() {
		if st, err := db.Stats(); err != nil || st.Entries != bigN {
			b.Fatalf("Stats() = %+v, %v", st, err)
		}
	}
}

// BenchmarkCompact1M compacts away the oldest 90% of a copy of the 1M
// fixture and reports the file size before and after, and the time of the
// deletions and of the rewrite.
func BenchmarkCompact1M(b *testing.B) {
	src := filepath.Join(bigJournal(b), FileName)
	before := t0.Add(bigN * 9 / 10 * bigStep)
	var sizeBefore, sizeAfter, freeAfterDelete int64
	var deleteTime, rewriteTime time.Duration
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		if err := copyFile(src, filepath.Join(dir, FileName)); err != nil {
			b.Fatal(err)
		}
		db, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		st, err := db.Stats()
		if err != nil {
			b.Fatal(err)
		}
		sizeBefore = st.FileSize
		b.StartTimer()

		start := time.Now()
		removed, err := db.deleteBefore(before)
		if err != nil || removed != bigN*9/10 {
			b.Fatalf("deleteBefore = %d, %v, want %d", removed, err, bigN*9/10)
		}
		deleteTime = time.Since(start)
		if need, err := db.needsRewrite(); err != nil || !need {
			b.Fatalf("needsRewrite after deleting 90%% = %v, %v, want true", need, err)
		}
		freeAfterDelete = db.freeBytes()
		start = time.Now()
		if err := db.Rewrite(); err != nil {
			b.Fatal(err)
		}
		rewriteTime = time.Since(start)

		b.StopTimer()
		st, err = db.Stats()
		if err != nil || st.Entries != bigN/10 {
			b.Fatalf("Stats after compaction = %+v, %v", st, err)
		}
		sizeAfter = st.FileSize
		if err := db.Check(); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(sizeBefore)/1e6, "MB_before")
	b.ReportMetric(float64(freeAfterDelete)/1e6, "MB_free_after_delete")
	b.ReportMetric(float64(sizeAfter)/1e6, "MB_after")
	b.ReportMetric(deleteTime.Seconds(), "s_delete")
	b.ReportMetric(rewriteTime.Seconds(), "s_rewrite")
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
