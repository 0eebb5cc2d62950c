package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the writer goroutine of exec.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestKillNineLosesNothing kills a writing process with SIGKILL at random
// moments; after each kill the file must pass bbolt's check, hold every
// entry the writer saw committed, and every intent must be either pending
// or completed with its outcome, never both nor neither.
func TestKillNineLosesNothing(t *testing.T) {
	for _, mode := range []string{"append", "rewrite"} {
		t.Run(mode, func(t *testing.T) { killNine(t, mode) })
	}
}

func killNine(t *testing.T, mode string) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	committed := map[uint64]string{} // seq → snapshot
	begun, done := map[uint64]bool{}, map[uint64]bool{}
	const rounds = 6
	for round := range rounds {
		out := &syncBuffer{}
		cmd, _ := startHelper(t, "writer-"+mode, dir, out)
		deadline := time.Now().Add(30 * time.Second)
		for !strings.HasPrefix(out.String(), "ready\n") {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: writer not ready after 30s", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(20+rng.IntN(200)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: writer ended with %v before the kill", round, cmd.ProcessState)
		}

		// Only complete lines: the last one may have been cut by the kill.
		text := out.String()
		text = text[:strings.LastIndexByte(text, '\n')+1]
		lines := 0
		for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n")[1:] {
			f := strings.Fields(l)
			n, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatalf("round %d: bad line %q", round, l)
			}
			switch f[0] {
			case "E":
				committed[n] = f[2]
			case "I":
				begun[n] = true
			case "C":
				done[n] = true
			}
			lines++
		}
		if lines == 0 {
			t.Logf("round %d: killed before the first commit", round)
		}

		if ents, _ := os.ReadDir(dir); slices.ContainsFunc(ents, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), rewritePrefix) }) {
			t.Logf("round %d: killed during a rewrite", round)
		}
		db, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("round %d: Open after kill -9 = %v", round, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("round %d: Check after kill -9 = %v", round, err)
		}
		es, err := db.Entries(Filter{})
		if err != nil {
			t.Fatal(err)
		}
		pending, err := db.PendingIntents()
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != FileName {
			t.Errorf("round %d: state dir after reopen and close holds %v, want only %s", round, ents, FileName)
		}

		bySeq := map[uint64]Entry{}
		outcomes := map[string]int{}
		for _, e := range es {
			bySeq[e.Seq] = e
			if strings.HasPrefix(e.Snapshot, "intent-") {
				outcomes[e.Snapshot]++
			}
		}
		for seq, snap := range committed {
			if e, ok := bySeq[seq]; !ok || e.Snapshot != snap {
				t.Errorf("round %d: committed entry %d (%s) = %+v, %v after kill -9", round, seq, snap, e, ok)
			}
		}
		isPending := map[uint64]bool{}
		for _, in := range pending {
			isPending[in.ID] = true
		}
		for id := range begun {
			n := outcomes[fmt.Sprintf("intent-%d", id)]
			switch {
			case n > 1:
				t.Errorf("round %d: intent %d has %d outcomes", round, id, n)
			case isPending[id] == (n == 1):
				t.Errorf("round %d: intent %d pending=%v with %d outcomes, want exactly one of both", round, id, isPending[id], n)
			case done[id] && n != 1:
				t.Errorf("round %d: intent %d completed but its outcome is missing", round, id)
			}
		}
		t.Logf("round %d: %d entries committed so far, %d intents begun, %d pending", round, len(committed), len(begun), len(pending))
	}
	if len(committed) == 0 {
		t.Errorf("no entry committed in %d rounds: the test checked nothing", rounds)
	}
}
