// Command journal measures the real `snapd journal` command on a journal of 1,000,000
// entries, and the daemon's compaction of that journal down to journal.retention.
//
// The journal is built with internal/state (batched Appends) in a temporary state dir;
// the commands run are the snapd binary built with `go build` into a temporary
// directory. See bench/README.md for the commands.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/synology-snapd/snapd/bench/internal/benchenv"
	"github.com/synology-snapd/snapd/internal/state"
)

type options struct {
	bin       string
	entries   int
	batch     int
	span      time.Duration
	retention time.Duration
	reps      int
	calls     int
	limit     int
	keep      bool
	termEarly bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "snapd binary to run (default: go build ./cmd/snapd into a temp dir)")
	flag.IntVar(&o.entries, "entries", 1_000_000, "journal entries")
	flag.IntVar(&o.batch, "batch", 10_000, "entries per Append (one transaction)")
	flag.DurationVar(&o.span, "span", 100*24*time.Hour, "the entries are spread evenly over this span, ending now")
	flag.DurationVar(&o.retention, "retention", 10*24*time.Hour, "journal.retention of the compaction run (10d of a 100d span removes 90%)")
	flag.IntVar(&o.reps, "reps", 3, "repetitions, each with a freshly built journal")
	flag.IntVar(&o.calls, "calls", 10, "timed `snapd journal` invocations per repetition")
	flag.IntVar(&o.limit, "limit", 100, "--limit of the timed command")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directories")
	flag.BoolVar(&o.termEarly, "term-early", false, "send SIGTERM as soon as the daemon logs \"snapd started\", while it compacts, and time the exit")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("journal: ")

	tmp, err := os.MkdirTemp("", "snapd-bench-journal-")
	if err != nil {
		log.Fatal(err)
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	bin, err := benchenv.Binary(o.bin, tmp)
	if err != nil {
		os.RemoveAll(tmp)
		log.Fatal(err)
	}
	benchenv.PrintMachine()
	fail := false
	for i := 1; i <= o.reps; i++ {
		fmt.Printf("\n=== repetition %d/%d (load average %s) ===\n", i, o.reps, benchenv.Loadavg())
		if err := rep(o, bin, filepath.Join(tmp, fmt.Sprintf("rep%d", i))); err != nil {
			fmt.Printf("REPETITION FAILED: %v\n", err)
			fail = true
		}
		if !o.keep {
			os.RemoveAll(filepath.Join(tmp, fmt.Sprintf("rep%d", i)))
		}
	}
	if o.keep {
		fmt.Printf("\nkept %s\n", tmp)
	}
	if fail {
		if !o.keep {
			os.RemoveAll(tmp)
		}
		os.Exit(1)
	}
}

// entry is the i-th of n entries spread over span ending at end: the actions of a
// daemon's policy runs, a thousand policies in turn.
func entry(i, n int, span time.Duration, end time.Time) state.Entry {
	t := end.Add(-span + time.Duration(int64(span)/int64(n)*int64(i)))
	p := fmt.Sprintf("n%02d-s%02d", (i/3)%50, (i/150)%20)
	e := state.Entry{
		Time: t, Policy: p, NAS: p[:3], Target: "share:" + p[4:],
		Snapshot: t.UTC().Format("GMT+00-2006.01.02-15.04.05"), Outcome: "ok", DurationMS: 41,
	}
	switch i % 3 {
	case 0:
		e.Action = "snapshot.create"
	case 1:
		e.Action, e.Snapshot, e.Count, e.DurationMS = "prune.plan", "", 1, 0
	default:
		e.Action = "snapshot.delete"
		e.Snapshot = t.Add(-72 * time.Hour).UTC().Format("GMT+00-2006.01.02-15.04.05")
	}
	return e
}

func rep(o options, bin, dir string) error {
	stateDir := filepath.Join(dir, "state")
	runDir := filepath.Join(dir, "run") // no daemon listens here: the command reads the file itself
	for _, d := range []string{stateDir, runDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	end := time.Now()
	start := time.Now()
	db, err := state.Open(stateDir, state.Options{})
	if err != nil {
		return err
	}
	es := make([]state.Entry, 0, o.batch)
	for i := 0; i < o.entries; i += o.batch {
		es = es[:0]
		for j := i; j < min(i+o.batch, o.entries); j++ {
			es = append(es, entry(j, o.entries, o.span, end))
		}
		if _, err := db.Append(es...); err != nil {
			db.Close()
			return err
		}
	}
	st, err := db.Stats()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Printf("built %d entries in %d Appends of %d in %s: state.db %.1f MB (free %.1f MB)\n",
		st.Entries, (o.entries+o.batch-1)/o.batch, o.batch, time.Since(start).Round(time.Millisecond), mb(st.FileSize), mb(st.FreeBytes))

	cfg := filepath.Join(dir, "config.yaml")
	err = os.WriteFile(cfg, []byte(fmt.Sprintf(`timezone: UTC
log: {level: info, format: json}
journal: {retention: %s}
nas:
  n00:
    url: https://127.0.0.1:1
    user: snapd
    password_env: SNAPD_BENCH_UNUSED
policies:
  n00-s00:
    share: s00
    schedule: "%d * * * *"
    retention: {keep_last: 3}
`, o.retention, time.Now().UTC().Add(30*time.Minute).Minute())), 0o600)
	if err != nil {
		return err
	}
	env := append(os.Environ(), "STATE_DIRECTORY="+stateDir, "RUNTIME_DIRECTORY="+runDir,
		"JOURNAL_STREAM=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "SNAPD_CONFIG=", "SNAPD_BENCH_UNUSED=x")

	// `snapd journal --limit N`, timed from exec to exit.
	var took []time.Duration
	var lines int
	for range o.calls {
		cmd := exec.Command(bin, "journal", "--limit", fmt.Sprint(o.limit), "--config", cfg)
		cmd.Env = env
		var out strings.Builder
		cmd.Stdout = &out
		var errb strings.Builder
		cmd.Stderr = &errb
		t := time.Now()
		err := cmd.Run()
		took = append(took, time.Since(t))
		if err != nil {
			return fmt.Errorf("snapd journal: %w: %s", err, errb.String())
		}
		lines = strings.Count(out.String(), "\n")
	}
	sorted := slices.Clone(took)
	slices.Sort(sorted)
	fmt.Printf("snapd journal --limit %d (%d lines out) x%d: min %s  median %s  max %s  (in order: %s)\n",
		o.limit, lines, o.calls, ms(sorted[0]), ms(median(sorted)), ms(sorted[len(sorted)-1]), msList(took))
	vt := time.Now()
	if err := exec.Command(bin, "version").Run(); err != nil {
		return err
	}
	fmt.Printf("for scale, `snapd version` (process start-up alone): %s\n", ms(time.Since(vt)))

	// Compaction: the daemon compacts at start to journal.retention.
	before, err := os.Stat(filepath.Join(stateDir, state.FileName))
	if err != nil {
		return err
	}
	logf := filepath.Join(dir, "daemon.log")
	lf, err := os.Create(logf)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "run", "--config", cfg)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = lf, lf
	t := time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var started, compacted time.Duration
	var msg string
	var sigterm time.Time
	var exitErr error
	exited := false
	for compacted == 0 && !exited {
		select {
		case exitErr = <-done:
			exited = true
			if sigterm.IsZero() {
				lf.Close()
				return fmt.Errorf("daemon exited before compacting: %v: %s", exitErr, tailFile(logf))
			}
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(t) > 5*time.Minute {
			_ = cmd.Process.Kill()
			<-done
			lf.Close()
			return errors.New("no compaction within 5 minutes")
		}
		for _, l := range readLog(logf) {
			if started == 0 && l["message"] == "snapd started" {
				started = time.Since(t)
				if o.termEarly {
					// The daemon compacts right after this line: stop it in the middle.
					sigterm = time.Now()
					_ = cmd.Process.Signal(syscall.SIGTERM)
				}
			}
			if l["message"] == "compacted old journal entries" || l["message"] == "journal compaction failed" {
				compacted = time.Since(t)
				b, _ := json.Marshal(l)
				msg = string(b)
			}
		}
	}
	if sigterm.IsZero() {
		sigterm = time.Now()
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	if !exited {
		exitErr = <-done
	}
	stopTook := time.Since(sigterm)
	lf.Close()
	if exitErr != nil {
		return fmt.Errorf("daemon: %w: %s", exitErr, tailFile(logf))
	}
	if o.termEarly {
		fmt.Printf("SIGTERM sent at \"snapd started\" (+%s), during the compaction: exit %s later; compaction logged: %v\n",
			ms(started), ms(stopTook), compacted != 0)
	}
	after, err := os.Stat(filepath.Join(stateDir, state.FileName))
	if err != nil {
		return err
	}
	db, err = state.Open(stateDir, state.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	st2, err := db.Stats()
	db.Close()
	if err != nil {
		return err
	}
	fmt.Printf("daemon with journal.retention %s: logged \"snapd started\" at +%s, compaction done at +%s (compaction ~%s, observed by polling the log every 10 ms)\n",
		o.retention, ms(started), ms(compacted), ms(compacted-started))
	fmt.Printf("  daemon log: %s\n", msg)
	fmt.Printf("  SIGTERM to exit: %s\n", ms(stopTook))
	fmt.Printf("state.db before %.1f MB (%d entries), after %.1f MB (%d entries, %.1f MB free pages)\n",
		mb(before.Size()), st.Entries, mb(after.Size()), st2.Entries, mb(st2.FreeBytes))

	took = took[:0]
	for range o.calls {
		cmd := exec.Command(bin, "journal", "--limit", fmt.Sprint(o.limit), "--config", cfg)
		cmd.Env = env
		t := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("snapd journal: %w: %s", err, out)
		}
		took = append(took, time.Since(t))
	}
	sorted = slices.Clone(took)
	slices.Sort(sorted)
	fmt.Printf("after compaction, snapd journal --limit %d x%d: min %s  median %s  max %s\n",
		o.limit, o.calls, ms(sorted[0]), ms(median(sorted)), ms(sorted[len(sorted)-1]))
	return nil
}

func readLog(path string) []map[string]any {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func tailFile(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func median(sorted []time.Duration) time.Duration {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func msList(d []time.Duration) string {
	var s []string
	for _, x := range d {
		s = append(s, fmt.Sprintf("%.1f", float64(x)/float64(time.Millisecond)))
	}
	return strings.Join(s, " ")
}

func mb(b int64) float64 { return float64(b) / 1e6 }
