package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Environment of the helper process that the tests start from their own
// binary.
const (
	envHelperMode = "SNAPD_STATE_HELPER_MODE"
	envHelperDir  = "SNAPD_STATE_HELPER_DIR"
)

// mustOpen opens dir and, at cleanup, runs bbolt's consistency check
// before closing, unless the test closed the DB itself.
func mustOpen(t testing.TB, dir string, o Options) *DB {
	t.Helper()
	db, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s, %+v) = %v", dir, o, err)
	}
	t.Cleanup(func() { checkAndClose(t, db) })
	return db
}

// checkAndClose runs tx.Check and closes db; an already closed db is left
// alone.
func checkAndClose(t testing.TB, db *DB) {
	t.Helper()
	if err := db.Check(); errors.Is(err, ErrClosed) {
		return
	} else if err != nil {
		t.Errorf("Check() = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}

// putRaw writes a raw value, to plant what another snapd version would.
func putRaw(t testing.TB, db *DB, bucket, key, value []byte) {
	t.Helper()
	err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, value) })
	if err != nil {
		t.Fatalf("put raw %s/%x: %v", bucket, key, err)
	}
}

// startHelper starts this test binary as a helper process in mode on dir;
// stdin stays open until the returned close function runs.
func startHelper(t testing.TB, mode, dir string, stdout io.Writer) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), envHelperMode+"="+mode, envHelperDir+"="+dir)
	cmd.Stdout = stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper process: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("helper stderr:\n%s", stderr.String())
		}
	})
	return cmd, in
}

// TestHelperProcess is not a test: it is the body of the helper processes.
// It holds the state dir, or writes to it until killed, printing each
// committed sequence number on stdout after the commit returned.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelperMode)
	if mode == "" {
		t.Skip("helper process only")
	}
	dir := os.Getenv(envHelperDir)
	db, err := Open(dir, Options{Timeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println("ready")
	switch mode {
	case "hold":
		_, _ = io.Copy(io.Discard, os.Stdin)
		if err := db.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	case "writer-append", "writer-rewrite":
		if err := writeForever(db, mode == "writer-rewrite"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	os.Exit(3)
}

// writeForever appends batches and completes intents until killed. Lines:
// "E <seq> <snapshot>" for a committed entry, "I <id>" for a begun intent,
// "C <id>" for a completed one (its entry has snapshot "intent-<id>"). An
// intent stays pending across two batches, so kills land there too.
func writeForever(db *DB, rewrite bool) error {
	run := fmt.Sprint(os.Getpid())
	var intent uint64
	for i := 0; ; i++ {
		if i%5 == 0 {
			id, err := db.BeginIntent(Intent{NAS: "nas", Action: "snapshot.delete", Kind: "share", Target: "homes"})
			if err != nil {
				return err
			}
			fmt.Printf("I %d\n", id)
			intent = id
		}
		n := 1 + i%3
		es := make([]Entry, n)
		for j := range es {
			es[j] = Entry{Policy: "p" + run, Action: "snapshot.create", Outcome: "ok",
				Snapshot: fmt.Sprintf("s-%s-%d-%d", run, i, j), Error: strings.Repeat("x", 200)}
		}
		seqs, err := db.Append(es...)
		if err != nil {
			return err
		}
		for j, s := range seqs {
			fmt.Printf("E %d %s\n", s, es[j].Snapshot)
		}
		if i%5 == 2 {
			if err := db.CompleteIntent(intent, Entry{Action: "snapshot.delete", Outcome: "ok", Snapshot: fmt.Sprintf("intent-%d", intent)}); err != nil {
				return err
			}
			fmt.Printf("C %d\n", intent)
		}
		if rewrite && i%3 == 1 {
			if err := db.Rewrite(); err != nil {
				return err
			}
		}
	}
}
