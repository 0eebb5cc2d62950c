package state

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lineWriter hands each complete line written to it to a channel.
type lineWriter struct {
	pw *io.PipeWriter
}

func newLineWriter() (*lineWriter, <-chan string) {
	pr, pw := io.Pipe()
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		s := bufio.NewScanner(pr)
		for s.Scan() {
			ch <- s.Text()
		}
	}()
	return &lineWriter{pw}, ch
}

func (w *lineWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

// waitReady waits for the helper's "ready" line.
func waitReady(t *testing.T, lines <-chan string) {
	t.Helper()
	select {
	case l := <-lines:
		if l != "ready" {
			t.Fatalf("helper said %q, want ready", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper process not ready after 30s")
	}
}

func TestSecondProcessIsRefused(t *testing.T) {
	dir := t.TempDir()
	w, lines := newLineWriter()
	cmd, stdin := startHelper(t, "hold", dir, w)
	waitReady(t, lines)
	pid := cmd.Process.Pid

	for _, o := range []Options{{Timeout: 200 * time.Millisecond}, {Timeout: -1}, {ReadOnly: true, Timeout: 100 * time.Millisecond}} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			db, err := Open(dir, o)
			if err == nil {
				_ = db.Close()
				t.Fatalf("Open(%+v) while pid %d holds the dir = nil error, want ErrLocked", o, pid)
			}
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("Open(%+v) = %v, want ErrLocked", o, err)
			}
			prefix := fmt.Sprintf("state dir %s is in use by pid %d (%s ", dir, pid, filepath.Base(os.Args[0]))
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), ", since ") {
				t.Errorf("Open(%+v) = %q, want it to start with %q and tell since when", o, err, prefix)
			}
			var le *LockedError
			if !errors.As(err, &le) || le.PID != pid || le.Since.IsZero() {
				t.Errorf("Open(%+v) = %#v, want a *LockedError naming pid %d", o, err, pid)
			}
		})
	}

	// Once the holder closes, the dir is free and its record gone.
	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper exit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, holderName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("holder record after the holder closed: stat = %v, want not exist", err)
	}
	mustOpen(t, dir, Options{})
	b, err := os.ReadFile(filepath.Join(dir, holderName))
	if err != nil {
		t.Fatal(err)
	}
	var r holderRecord
	if err := decode(b, &r); err != nil || r.PID != os.Getpid() {
		t.Errorf("holder record %s = %+v, %v, want pid %d", b, r, err, os.Getpid())
	}
}

func TestLockedWithoutUsableRecord(t *testing.T) {
	// A process that exited, so its pid names nobody.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skipf("no true(1): %v", err)
	}
	tests := []struct {
		name   string
		record string // "" removes the record
	}{
		{"no record", ""},
		{"dead pid", fmt.Sprintf(`{"v":1,"pid":%d,"command":"snapd run","since":"2026-11-29T10:00:00Z"}`, gone.Process.Pid)},
		{"unknown version", fmt.Sprintf(`{"v":2,"pid":%d}`, os.Getpid())},
		{"garbage", "pid=12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustOpen(t, dir, Options{})
			rec := filepath.Join(dir, holderName)
			var err error
			if tt.record == "" {
				err = os.Remove(rec)
			} else {
				err = os.WriteFile(rec, []byte(tt.record), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = Open(dir, Options{Timeout: -1})
			want := fmt.Sprintf("state dir %s is in use by another process", dir)
			if !errors.Is(err, ErrLocked) || err.Error() != want {
				t.Errorf("Open = %v, want ErrLocked saying %q", err, want)
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, Options{ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(ReadOnly) of a missing db = %v, want fs.ErrNotExist", err)
	}
	db := mustOpen(t, dir, Options{})
	if _, err := db.Append(fixtureEntries()...); err != nil {
		t.Fatal(err)
	}
	if err := db.SetDeviceToken("primary", "tok"); err != nil {
		t.Fatal(err)
	}
	checkAndClose(t, db)

	r1 := mustOpen(t, dir, Options{ReadOnly: true})
	r2 := mustOpen(t, dir, Options{ReadOnly: true})
	if es, err := r2.Entries(Filter{Limit: 2}); err != nil || len(es) != 2 || es[1].Seq != 10 {
		t.Errorf("Entries(limit 2) read-only = %+v, %v, want seqs 9 and 10", es, err)
	}
	if tok, ok, err := r1.DeviceToken("primary"); err != nil || !ok || tok != "tok" {
		t.Errorf("DeviceToken read-only = %q, %v, %v", tok, ok, err)
	}
	writes := map[string]func() error{
		"Append":        func() error { _, err := r1.Append(Entry{Action: "run", Outcome: "ok"}); return err },
		"BeginIntent":   func() error { _, err := r1.BeginIntent(Intent{Action: "snapshot.create"}); return err },
		"SetLastRun":    func() error { return r1.SetLastRun(RunRecord{Policy: "homes"}) },
		"Compact":       func() error { _, err := r1.Compact(t0.Add(time.Hour)); return err },
		"Rewrite":       r1.Rewrite,
		"SetDeviceTkn":  func() error { return r1.SetDeviceToken("primary", "x") },
		"LastScheduled": func() error { return r1.SetLastScheduled("homes", t0) },
	}
	for name, w := range writes {
		if err := w(); !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a read-only db = %v, want ErrReadOnly", name, err)
		}
	}
	// Readers leave no record, so a writer cannot name them.
	_, err := Open(dir, Options{Timeout: -1})
	if want := fmt.Sprintf("state dir %s is in use by another process", dir); !errors.Is(err, ErrLocked) || err.Error() != want {
		t.Errorf("Open beside readers = %v, want ErrLocked saying %q", err, want)
	}
}

func TestClosedDB(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Close":       db.Close,
		"Append":      func() error { _, err := db.Append(Entry{Action: "run", Outcome: "ok"}); return err },
		"Entries":     func() error { _, err := db.Entries(Filter{}); return err },
		"Compact":     func() error { _, err := db.Compact(t0); return err },
		"Rewrite":     db.Rewrite,
		"Stats":       func() error { _, err := db.Stats(); return err },
		"DeviceToken": func() error { _, _, err := db.DeviceToken("x"); return err },
	}
	for name, c := range calls {
		if err := c(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestSchemaFromNewerVersionIsRefused(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	putRaw(t, db, bucketMeta, keySchema, []byte(`{"v":1,"schema":2}`))
	checkAndClose(t, db)
	for _, o := range []Options{{}, {ReadOnly: true}} {
		_, err := Open(dir, o)
		if err == nil || !strings.Contains(err.Error(), "has schema 2, this snapd knows schema 1") {
			t.Errorf("Open(%+v) = %v, want a schema error", o, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, holderName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("holder record after a failed Open: stat = %v, want not exist", err)
	}
}

// TestOpenSkipsReplacedFile covers a lock won on a file that a rewrite of
// the previous holder renamed away: Open must move on to the new file.
func TestOpenSkipsReplacedFile(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	if _, err := db.Append(Entry{Action: "old", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	checkAndClose(t, db)

	other := t.TempDir()
	db = mustOpen(t, other, Options{})
	if _, err := db.Append(Entry{Action: "new", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	checkAndClose(t, db)

	calls := 0
	testHookLocked = func() {
		calls++
		if calls == 1 {
			if err := os.Rename(filepath.Join(other, FileName), filepath.Join(dir, FileName)); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(func() { testHookLocked = nil })
	db = mustOpen(t, dir, Options{})
	es, err := db.Entries(Filter{})
	if err != nil || len(es) != 1 || es[0].Action != "new" {
		t.Errorf("Entries after Open raced with a rename = %+v, %v, want the new file's entry", es, err)
	}
	if calls != 2 {
		t.Errorf("lock taken %d times, want 2", calls)
	}
}

func TestOpenWaitsForTheLock(t *testing.T) {
	dir := t.TempDir()
	holder := mustOpen(t, dir, Options{})

	start := time.Now()
	_, err := Open(dir, Options{})
	if waited := time.Since(start); !errors.Is(err, ErrLocked) || waited < DefaultTimeout-lockRetry {
		t.Errorf("Open with the default timeout = %v after %v, want ErrLocked after about %v", err, waited, DefaultTimeout)
	}

	released := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		released <- holder.Close()
	}()
	db, err := Open(dir, Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("Open while the holder closes within the timeout = %v, want success", err)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	checkAndClose(t, db)
}
