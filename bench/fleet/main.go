// Command fleet measures the real snapd binary against in-process fake NAS: a fleet of
// policies that all come due in the same minute, the idle daemon's memory and CPU, and
// the DSM calls of one steady-state policy run.
//
// Every fake NAS is a dsmfake.NAS behind its own httptest TLS server, pinned by its
// certificate fingerprint in the config, and the daemon is `snapd run` built with
// `go build` into a temporary directory. See bench/README.md for the commands.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/synology-snapd/snapd/bench/internal/benchenv"
	"github.com/synology-snapd/snapd/internal/control"
	"github.com/synology-snapd/snapd/internal/daemon"
	"github.com/synology-snapd/snapd/internal/dsmfake"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/state"
)

const (
	user     = "snapd"
	password = "s3cret"
	credName = "nas-password"
)

type options struct {
	mode          string
	bin           string
	runs          int
	nas           int
	shares        int
	maxConcurrent int
	latency       time.Duration
	lead          time.Duration
	timeout       time.Duration
	settle        time.Duration
	idle          time.Duration
	keep          bool
	verbose       bool
	stateOn       string
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "fleet", "fleet | idle | calls")
	flag.StringVar(&o.bin, "bin", "", "snapd binary to run (default: go build ./cmd/snapd into a temp dir)")
	flag.IntVar(&o.runs, "runs", 3, "repetitions, each with a fresh daemon, state dir and fakes")
	flag.IntVar(&o.nas, "nas", 50, "fake NAS endpoints")
	flag.IntVar(&o.shares, "shares", 20, "shares per NAS, one policy each")
	flag.IntVar(&o.maxConcurrent, "max-concurrent", 4, "max_concurrent of every NAS")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "latency the fakes add to every call")
	flag.DurationVar(&o.lead, "lead", 20*time.Second, "fleet: least time between the daemon's start and the fire instant")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "fleet: give up waiting for the runs after this long past the fire")
	flag.DurationVar(&o.settle, "settle", 10*time.Second, "idle: wait this long after READY=1 before the first sample")
	flag.DurationVar(&o.idle, "idle", 60*time.Second, "idle: the CPU sampling window")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directories (config, state, daemon log)")
	flag.BoolVar(&o.verbose, "v", false, "log the fakes' loud messages")
	flag.StringVar(&o.stateOn, "state-on", "", "put the state dir under this directory (e.g. /dev/shm, to take fsync out of the picture) instead of beside the config")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("fleet: ")

	tmp, err := os.MkdirTemp("", "snapd-bench-fleet-")
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
	if o.mode == "calls" {
		fmt.Printf("mode calls: 1 NAS, 2 policies, latency %s per call\n", o.latency)
	} else {
		fmt.Printf("mode %s: %d NAS x %d shares = %d policies, max_concurrent %d, latency %s per call\n",
			o.mode, o.nas, o.shares, o.nas*o.shares, o.maxConcurrent, o.latency)
	}

	var fail bool
	for i := 1; i <= o.runs; i++ {
		fmt.Printf("\n=== %s run %d/%d (load average %s) ===\n", o.mode, i, o.runs, benchenv.Loadavg())
		dir := filepath.Join(tmp, fmt.Sprintf("run%d", i))
		var err error
		switch o.mode {
		case "fleet":
			err = runFleet(o, bin, dir)
		case "idle":
			err = runIdle(o, bin, dir)
		case "calls":
			err = runCalls(o, bin, dir)
		default:
			log.Fatalf("unknown -mode %q", o.mode)
		}
		if err != nil {
			fmt.Printf("RUN FAILED: %v\n", err)
			fail = true
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

// world is a set of fake NAS on loopback HTTPS and the files of one snapd installation.
type world struct {
	fakes  []*dsmfake.NAS
	srvs   []*httptest.Server
	dir    string
	config string
	env    []string
	logf   string
	state  string
}

func nasName(i int) string               { return fmt.Sprintf("n%02d", i) }
func shareName(j int) string             { return fmt.Sprintf("s%02d", j) }
func policyName(i, j int) string         { return nasName(i) + "-" + shareName(j) }
func (w *world) sock() string            { return filepath.Join(w.dir, "run", "control.sock") }
func (w *world) stateDir() string        { return filepath.Join(w.dir, "state") }
func (w *world) fake(i int) *dsmfake.NAS { return w.fakes[i] }

func newWorld(o options, dir string, nNAS, nShares int) (*world, error) {
	w := &world{dir: dir, config: filepath.Join(dir, "config.yaml"), logf: filepath.Join(dir, "daemon.log"), state: filepath.Join(dir, "state")}
	for _, d := range []string{"state", "run", "creds"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if o.stateOn != "" {
		d, err := os.MkdirTemp(o.stateOn, "snapd-bench-state-")
		if err != nil {
			return nil, err
		}
		w.state = d
	}
	if err := os.WriteFile(filepath.Join(dir, "creds", credName), []byte(password+"\n"), 0o600); err != nil {
		return nil, err
	}
	logf := func(string, ...any) {}
	if o.verbose {
		logf = log.Printf
	}
	for range nNAS {
		n := dsmfake.New(dsmfake.Options{Logf: logf})
		n.AddUser(dsmfake.User{Name: user, Password: password})
		for j := range nShares {
			n.AddShare(shareName(j))
		}
		if o.latency > 0 {
			n.InjectFault(dsmfake.Fault{Latency: o.latency})
		}
		srv := httptest.NewUnstartedServer(n)
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		w.fakes = append(w.fakes, n)
		w.srvs = append(w.srvs, srv)
	}
	w.env = append(os.Environ(),
		"STATE_DIRECTORY="+w.stateDir(),
		"RUNTIME_DIRECTORY="+filepath.Join(dir, "run"),
		"CREDENTIALS_DIRECTORY="+filepath.Join(dir, "creds"),
		"JOURNAL_STREAM=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "SNAPD_CONFIG=",
	)
	return w, nil
}

func (w *world) close() {
	for _, s := range w.srvs {
		s.Close()
	}
	if !strings.HasPrefix(w.state, w.dir) {
		os.RemoveAll(w.state)
	}
}

// writeConfig writes the config: every NAS, and one policy per share whose block is
// policyBody(nas index, share index) (indented under the policy name).
func (w *world) writeConfig(level string, maxConcurrent, nShares int, policyBody func(i, j int) string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "timezone: UTC\nlog: {level: %s, format: json}\nnas:\n", level)
	for i, s := range w.srvs {
		sum := sha256.Sum256(s.Certificate().Raw)
		fmt.Fprintf(&b, "  %s:\n    url: %s\n    user: %s\n    password_credential: %s\n    tls: {fingerprint_sha256: %q}\n    timeout: 30s\n    max_concurrent: %d\n",
			nasName(i), s.URL, user, credName, hex.EncodeToString(sum[:]), maxConcurrent)
	}
	b.WriteString("policies:\n")
	for i := range w.srvs {
		for j := range nShares {
			fmt.Fprintf(&b, "  %s:\n    nas: %s\n    share: %s\n%s", policyName(i, j), nasName(i), shareName(j), policyBody(i, j))
		}
	}
	return os.WriteFile(w.config, []byte(b.String()), 0o600)
}

// proc is a running `snapd run`.
type proc struct {
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	started time.Time
	ready   time.Duration // from exec to READY=1
	notify  *net.UnixConn
}

// startDaemon runs `snapd run` with a NOTIFY_SOCKET of its own and waits for READY=1.
// startFleetDaemon configures every policy with schedule and keep_last 3 and starts the
// daemon on that config.
func (w *world) startFleetDaemon(o options, bin, schedule string) (*proc, error) {
	err := w.writeConfig("warn", o.maxConcurrent, o.shares, func(i, j int) string {
		return fmt.Sprintf("    schedule: %q\n    retention: {keep_last: 3}\n", schedule)
	})
	if err != nil {
		return nil, err
	}
	return w.startDaemon(bin)
}

// killIfRunning kills the daemon unless it has already exited.
func (p *proc) killIfRunning() {
	select {
	case <-p.done:
	default:
		p.kill()
	}
}

func (w *world) startDaemon(bin string) (*proc, error) {
	np := filepath.Join(w.dir, "notify.sock")
	nc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: np, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	readyc := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		once := sync.Once{}
		for {
			k, _, err := nc.ReadFromUnix(buf)
			if err != nil {
				return
			}
			if strings.Contains(string(buf[:k]), "READY=1") {
				once.Do(func() { close(readyc) })
			}
		}
	}()
	lf, err := os.Create(w.logf)
	if err != nil {
		nc.Close()
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", w.config)
	cmd.Env = append(append([]string{}, w.env...), "NOTIFY_SOCKET="+np)
	cmd.Stdout, cmd.Stderr = lf, lf
	p := &proc{cmd: cmd, done: make(chan struct{}), notify: nc}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		nc.Close()
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	select {
	case <-readyc:
		p.ready = time.Since(p.started)
		return p, nil
	case <-p.done:
		nc.Close()
		return nil, fmt.Errorf("snapd run exited before READY=1 (%v); log: %s", p.err, tail(w.logf))
	case <-time.After(60 * time.Second):
		p.kill()
		return nil, fmt.Errorf("no READY=1 within 60s; log: %s", tail(w.logf))
	}
}

// stop sends SIGTERM and waits for the exit; it returns how long the exit took.
func (p *proc) stop() (time.Duration, error) {
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		p.kill()
		return time.Since(start), errors.New("snapd did not exit within 90s of SIGTERM")
	}
	p.notify.Close()
	if p.err != nil {
		return time.Since(start), fmt.Errorf("snapd run: %w", p.err)
	}
	return time.Since(start), nil
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
	p.notify.Close()
}

// cli runs a one-off snapd command and returns its output.
func (w *world) cli(bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, append(args, "--config", w.config)...)
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("snapd %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// logLevels counts the daemon log's lines by level and keeps the first few warnings.
func logLevels(path string) (map[string]int, []string) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	counts := map[string]int{}
	var firsts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Level string `json:"level"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			counts["non-json"]++
			continue
		}
		counts[l.Level]++
		if (l.Level == "warn" || l.Level == "error") && len(firsts) < 5 {
			firsts = append(firsts, sc.Text())
		}
	}
	return counts, firsts
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// ---- fleet ----

// fireInstant is the next minute boundary at least lead away.
func fireInstant(now time.Time, lead time.Duration) time.Time {
	t := now.UTC().Truncate(time.Minute).Add(time.Minute)
	for t.Sub(now) < lead {
		t = t.Add(time.Minute)
	}
	return t
}

func runFleet(o options, bin, dir string) error {
	w, err := newWorld(o, dir, o.nas, o.shares)
	if err != nil {
		return err
	}
	defer w.close()
	total := o.nas * o.shares

	t0 := fireInstant(time.Now(), o.lead)
	schedule := fmt.Sprintf("%d * * * *", t0.Minute())
	p, err := w.startFleetDaemon(o, bin, schedule)
	if err != nil {
		return err
	}
	defer p.killIfRunning()
	pid := p.cmd.Process.Pid
	fmt.Printf("daemon pid %d: READY=1 after %s; schedule %q, fire at %s (in %s)\n",
		pid, p.ready.Round(time.Millisecond), schedule, t0.Format(time.RFC3339), time.Until(t0).Round(time.Second))
	if n := totalCount(w, "", ""); n != 0 {
		fmt.Printf("note: %d DSM calls before the fire (start-up)\n", n)
	}

	// Sample the daemon just before the fire.
	time.Sleep(time.Until(t0.Add(-500 * time.Millisecond)))
	cpu0, _ := cpuTicks(pid)
	self0, _ := cpuTicks(os.Getpid())
	sys0 := systemCPU()
	rss0, hwm0, _ := memKB(pid)
	loadAtFire := benchenv.Loadavg()

	// Poll the fakes (cheap, in-process) for the creates, and the daemon's control
	// socket for the last runs, until every run is recorded.
	var firstCreate, allCreated, allJournaled time.Time
	deadline := t0.Add(o.timeout)
	lastStatus := time.Time{}
	for time.Now().Before(deadline) {
		now := time.Now()
		c := totalCount(w, "SYNO.Core.Share.Snapshot", "create")
		if c > 0 && firstCreate.IsZero() {
			firstCreate = now
		}
		if c >= total && allCreated.IsZero() {
			allCreated = now
		}
		if !allCreated.IsZero() && now.Sub(lastStatus) >= 100*time.Millisecond {
			lastStatus = now
			done, err := statusDone(w.sock(), t0)
			if err != nil {
				return fmt.Errorf("status over the control socket: %w", err)
			}
			if done == total {
				allJournaled = time.Now()
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	cpu1, _ := cpuTicks(pid)
	self1, _ := cpuTicks(os.Getpid())
	sys1 := systemCPU()
	burst := time.Since(t0.Add(-500 * time.Millisecond))
	rss1, hwm1, _ := memKB(pid)
	stopTook, stopErr := p.stop()
	if allJournaled.IsZero() {
		return fmt.Errorf("not every run was journaled within %s of the fire (creates seen: %d/%d); log: %s",
			o.timeout, totalCount(w, "SYNO.Core.Share.Snapshot", "create"), total, tail(w.logf))
	}

	// The journal, read after the daemon is gone.
	db, err := state.Open(w.stateDir(), state.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := db.LastRuns()
	if err != nil {
		return err
	}
	entries, err := db.Entries(state.Filter{})
	if err != nil {
		return err
	}
	pending, err := db.PendingIntents()
	if err != nil {
		return err
	}
	st, err := db.Stats()
	if err != nil {
		return err
	}

	var problems []string
	var lat []time.Duration
	var maxEnd time.Time
	byNAS := map[string][]state.RunRecord{}
	for i := range o.nas {
		for j := range o.shares {
			name := policyName(i, j)
			r, ok := runs[name]
			switch {
			case !ok:
				problems = append(problems, name+": no run recorded")
				continue
			case !r.Scheduled.Equal(t0):
				problems = append(problems, fmt.Sprintf("%s: scheduled %s, want %s", name, r.Scheduled, t0))
			case r.Outcome != "ok":
				problems = append(problems, fmt.Sprintf("%s: outcome %s: %s", name, r.Outcome, r.Error))
			}
			lat = append(lat, r.Start.Sub(r.Scheduled))
			if r.End.After(maxEnd) {
				maxEnd = r.End
			}
			byNAS[nasName(i)] = append(byNAS[nasName(i)], r)
		}
	}
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action+" "+e.Outcome]++
	}
	if len(pending) > 0 {
		problems = append(problems, fmt.Sprintf("%d pending intents", len(pending)))
	}
	// Exactly one new snapshot per share, carrying its own policy's tag.
	snaps, creates := 0, 0
	for i, n := range w.fakes {
		creates += n.Count("SYNO.Core.Share.Snapshot", "create")
		for j := range o.shares {
			ss := n.ShareSnapshots(shareName(j))
			snaps += len(ss)
			if len(ss) != 1 {
				problems = append(problems, fmt.Sprintf("%s/%s: %d snapshots, want 1", nasName(i), shareName(j), len(ss)))
				continue
			}
			if want := policy.Describe("", policyName(i, j)); ss[0].Desc != want {
				problems = append(problems, fmt.Sprintf("%s/%s: snapshot desc %q, want %q", nasName(i), shareName(j), ss[0].Desc, want))
			}
		}
	}
	if actions["snapshot.create ok"] != total {
		problems = append(problems, fmt.Sprintf("journal: %d snapshot.create ok, want %d", actions["snapshot.create ok"], total))
	}

	fmt.Printf("fire instant                     %s (load average at the fire: %s)\n", t0.Format(time.RFC3339), loadAtFire)
	fmt.Printf("first create seen by a fake      +%s\n", ms(firstCreate.Sub(t0)))
	fmt.Printf("all %d creates seen by the fakes +%s\n", total, ms(allCreated.Sub(t0)))
	fmt.Printf("all runs journaled (status poll) +%s   (control-socket status every 100 ms: every policy has a last run, none running)\n", ms(allJournaled.Sub(t0)))
	fmt.Printf("latest RunRecord.End             +%s\n", ms(maxEnd.Sub(t0)))
	fmt.Printf("fire latency (Start - Scheduled) over %d runs: min %s  p50 %s  p90 %s  p99 %s  max %s  mean %s\n",
		len(lat), ms(pct(lat, 0)), ms(pct(lat, 0.50)), ms(pct(lat, 0.90)), ms(pct(lat, 0.99)), ms(pct(lat, 1)), ms(mean(lat)))
	fmt.Println("fire latency histogram:")
	histogram(lat)
	fmt.Println("fire latency by slot wave (runs of each NAS ordered by start; wave k = starts 4k+1..4k+4):")
	waves(byNAS, o.maxConcurrent)
	fmt.Printf("run duration (End - Start): p50 %s  p99 %s  max %s\n", ms(pct(durations(runs), 0.5)), ms(pct(durations(runs), 0.99)), ms(pct(durations(runs), 1)))
	fmt.Printf("snapshots on the fakes: %d on %d shares; create calls %d; total DSM calls %d (%s)\n",
		snaps, total, creates, totalCount(w, "", ""), callsSummary(w))
	fmt.Printf("journal: %d entries %v; pending intents %d; state.db %.1f MB\n", len(entries), sortedMap(actions), len(pending), float64(st.FileSize)/1e6)
	fmt.Printf("CPU during the burst (fire-0.5s .. all journaled, %s wall = %s of %d cores): daemon %s, this program (fakes, TLS) %s, everything else on the machine %s\n",
		ms(burst), ms(burst*time.Duration(runtime.NumCPU())), runtime.NumCPU(), ms(cpu1-cpu0), ms(self1-self0), ms(sys1.busy-sys0.busy-(cpu1-cpu0)-(self1-self0)))
	fmt.Printf("daemon RSS %.1f -> %.1f MB; VmHWM %.1f -> %.1f MB\n", float64(rss0)/1024, float64(rss1)/1024, float64(hwm0)/1024, float64(hwm1)/1024)
	lv, firsts := logLevels(w.logf)
	fmt.Printf("SIGTERM to exit: %s (err %v); daemon log lines by level: %v\n", ms(stopTook), stopErr, lv)
	for _, l := range firsts {
		fmt.Printf("  log: %s\n", l)
	}
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	fmt.Printf("targets: all journaled <= 10 s: %s (%s); p99 < 1 s: %s (%s); no run lost or doubled: %s\n",
		verdict(allJournaled.Sub(t0) <= 10*time.Second), ms(allJournaled.Sub(t0)),
		verdict(pct(lat, 0.99) < time.Second), ms(pct(lat, 0.99)),
		verdict(len(problems) == 0))
	for i, pr := range problems {
		if i == 20 {
			fmt.Printf("  ... %d more\n", len(problems)-20)
			break
		}
		fmt.Println("  problem:", pr)
	}
	if stopErr != nil {
		return stopErr
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problems", len(problems))
	}
	return nil
}

// statusDone asks the daemon for its status and counts the policies that have a last
// run (the state dir is fresh, so any last run is this fire's) and are not running.
func statusDone(sock string, _ time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := control.Do(ctx, sock, control.Request{Cmd: "status"})
	if err != nil {
		return 0, err
	}
	if resp.Error != "" {
		return 0, errors.New(resp.Error)
	}
	var rep daemon.StatusReport
	if err := json.Unmarshal(resp.Data, &rep); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range rep.Policies {
		if p.LastRun != nil && !p.Running {
			n++
		}
	}
	return n, nil
}

func totalCount(w *world, api, method string) int {
	n := 0
	for _, f := range w.fakes {
		n += f.Count(api, method)
	}
	return n
}

// callsSummary is the fleet's DSM calls by api/method, summed over the fakes.
func callsSummary(w *world) string {
	m := map[string]int{}
	for _, f := range w.fakes {
		for _, r := range f.Requests() {
			m[r.API+" "+r.Method]++
		}
	}
	return strings.Join(sortedMap(m), ", ")
}

func durations(runs map[string]state.RunRecord) []time.Duration {
	var d []time.Duration
	for _, r := range runs {
		d = append(d, r.End.Sub(r.Start))
	}
	return d
}

// waves shows the slot waits: with max_concurrent k, the runs of one NAS start in waves
// of k, each after a run of the wave before ends.
func waves(byNAS map[string][]state.RunRecord, k int) {
	w := map[int][]time.Duration{}
	maxW := 0
	for _, rs := range byNAS {
		slices.SortFunc(rs, func(a, b state.RunRecord) int { return a.Start.Compare(b.Start) })
		for i, r := range rs {
			w[i/k] = append(w[i/k], r.Start.Sub(r.Scheduled))
			maxW = max(maxW, i/k)
		}
	}
	for i := 0; i <= maxW; i++ {
		d := w[i]
		fmt.Printf("  wave %d (%4d runs): min %8s  p50 %8s  max %8s\n", i, len(d), ms(pct(d, 0)), ms(pct(d, 0.5)), ms(pct(d, 1)))
	}
}

func histogram(d []time.Duration) {
	bounds := []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
		300 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}
	counts := make([]int, len(bounds)+1)
	for _, x := range d {
		i := sort.Search(len(bounds), func(i int) bool { return x < bounds[i] })
		counts[i]++
	}
	lo := time.Duration(0)
	for i, c := range counts {
		label := ""
		if i < len(bounds) {
			label = fmt.Sprintf("[%s, %s)", lo, bounds[i])
			lo = bounds[i]
		} else {
			label = fmt.Sprintf(">= %s", lo)
		}
		bar := strings.Repeat("#", int(math.Ceil(float64(c)*60/float64(max(1, len(d))))))
		fmt.Printf("  %-16s %5d %s\n", label, c, bar)
	}
}

// ---- idle ----

func runIdle(o options, bin, dir string) error {
	w, err := newWorld(o, dir, o.nas, o.shares)
	if err != nil {
		return err
	}
	defer w.close()
	// Hourly at a minute half an hour away: not due during the measurement.
	minute := time.Now().UTC().Add(30 * time.Minute).Minute()
	schedule := fmt.Sprintf("%d * * * *", minute)
	p, err := w.startFleetDaemon(o, bin, schedule)
	if err != nil {
		return err
	}
	defer p.killIfRunning()
	pid := p.cmd.Process.Pid
	fmt.Printf("daemon pid %d: READY=1 after %s; schedule %q\n", pid, p.ready.Round(time.Millisecond), schedule)
	time.Sleep(o.settle)
	rss0, hwm0, err := memKB(pid)
	if err != nil {
		return err
	}
	cpu0, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	calls0 := totalCount(w, "", "")
	t0 := time.Now()
	fmt.Printf("after %s settling: VmRSS %.1f MB, VmHWM %.1f MB, CPU since start %s (load average %s)\n",
		o.settle, float64(rss0)/1024, float64(hwm0)/1024, ms(cpu0), benchenv.Loadavg())
	time.Sleep(o.idle)
	cpu1, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	el := time.Since(t0)
	rss1, hwm1, _ := memKB(pid)
	calls := totalCount(w, "", "") - calls0
	used := cpu1 - cpu0
	fmt.Printf("over %s idle: CPU %s (utime+stime, %d Hz ticks) = %.3f%% of one core; DSM calls %d\n",
		el.Round(time.Millisecond), ms(used), clkTck(), 100*used.Seconds()/el.Seconds(), calls)
	fmt.Printf("after the window: VmRSS %.1f MB, VmHWM %.1f MB (load average %s)\n", float64(rss1)/1024, float64(hwm1)/1024, benchenv.Loadavg())
	stopTook, err := p.stop()
	fmt.Printf("SIGTERM to exit: %s\n", ms(stopTook))
	verdict := "PASS"
	if rss1 > 30*1024 || hwm1 > 30*1024 {
		verdict = "FAIL"
	}
	fmt.Printf("targets: RSS <= 30 MB: %s (VmRSS %.1f MB, VmHWM %.1f MB); CPU ~ 0: %s over %s\n",
		verdict, float64(rss1)/1024, float64(hwm1)/1024, ms(used), el.Round(time.Second))
	return err
}

// ---- calls ----

// runCalls counts the DSM calls of steady-state runs of two policies on one fake NAS:
// "full" creates, replicates and deletes one snapshot per run (keep_last 3 over 3
// snapshots already there); "lean" has no replication and keeps everything (keep_last
// 100). The daemon keeps its session across runs; each run is triggered with `snapd
// snapshot --policy P`, which the daemon carries out as a scheduled run (same steps).
func runCalls(o options, bin, dir string) error {
	w, err := newWorld(o, dir, 1, 2)
	if err != nil {
		return err
	}
	defer w.close()
	n := w.fake(0)
	n.AddPlan(dsmfake.Plan{ID: "plan-s00", TargetType: "share", TargetName: shareName(0)})
	full, lean := policyName(0, 0), policyName(0, 1)
	now := time.Now()
	for k := 3; k >= 1; k-- {
		n.AddShareSnapshot(shareName(0), dsmfake.ShareSnapshot{Time: now.Add(-time.Duration(k) * time.Hour), Desc: policy.Describe("", full)})
		n.AddShareSnapshot(shareName(1), dsmfake.ShareSnapshot{Time: now.Add(-time.Duration(k) * time.Hour), Desc: policy.Describe("", lean)})
	}
	minute := time.Now().UTC().Add(30 * time.Minute).Minute()
	err = w.writeConfig("warn", o.maxConcurrent, 2, func(i, j int) string {
		s := fmt.Sprintf("    schedule: \"%d * * * *\"\n", minute)
		if j == 0 {
			return s + "    retention: {keep_last: 3}\n    replication: {plan: plan-s00}\n"
		}
		return s + "    retention: {keep_last: 100}\n"
	})
	if err != nil {
		return err
	}
	p, err := w.startDaemon(bin)
	if err != nil {
		return err
	}
	defer p.killIfRunning()
	fmt.Printf("daemon pid %d: READY=1 after %s; DSM calls at start-up: %d\n", p.cmd.Process.Pid, p.ready.Round(time.Millisecond), n.Count("", ""))
	// The first run of each logs in and discovers the API; it is not steady state.
	for _, pol := range []string{full, lean} {
		n.ResetCounts()
		if _, err := w.cli(bin, "snapshot", "--policy", pol); err != nil {
			return err
		}
		fmt.Printf("first run of %-7s (%s): %d calls: %s\n", pol, label(pol, full), n.Count("", ""), byMethod(n))
	}
	const steady = 3
	for k := 1; k <= steady; k++ {
		for _, pol := range []string{full, lean} {
			before := len(n.ShareSnapshots(shareName(map[string]int{full: 0, lean: 1}[pol])))
			n.ResetCounts()
			if _, err := w.cli(bin, "snapshot", "--policy", pol); err != nil {
				return err
			}
			after := len(n.ShareSnapshots(shareName(map[string]int{full: 0, lean: 1}[pol])))
			fmt.Printf("steady run %d of %-7s (%s): %d calls: %s; snapshots %d -> %d\n",
				k, pol, label(pol, full), n.Count("", ""), byMethod(n), before, after)
		}
	}
	if recs := n.SyncRecords("plan-s00"); len(recs) != 1+steady {
		fmt.Printf("note: %d syncs recorded on plan-s00, want %d\n", len(recs), 1+steady)
	}
	_, err = p.stop()
	return err
}

func label(pol, full string) string {
	if pol == full {
		return "create+replicate+delete"
	}
	return "create only, nothing deleted"
}

// byMethod lists the fake's counts by api/method, read back through Count.
func byMethod(n *dsmfake.NAS) string {
	seen := map[string]bool{}
	var keys []string
	for _, r := range n.Requests() {
		k := r.API + " " + r.Method
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		api, method, _ := strings.Cut(k, " ")
		parts = append(parts, fmt.Sprintf("%s=%d", k, n.Count(api, method)))
	}
	return strings.Join(parts, ", ")
}

// ---- procfs and machine ----

var tck = sync.OnceValue(func() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
})

func clkTck() int64 { return tck() }

// cpuTicks is utime+stime of pid from /proc/PID/stat, as a duration.
func cpuTicks(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the command: state is field 3, utime field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / time.Duration(clkTck()), nil
}

type sysCPU struct{ busy, total time.Duration }

// systemCPU reads the machine's busy and total CPU time from /proc/stat (all cores).
func systemCPU() sysCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return sysCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var c sysCPU
	for i, x := range f[1:] {
		v, _ := strconv.ParseInt(x, 10, 64)
		d := time.Duration(v) * time.Second / time.Duration(clkTck())
		if i >= 8 { // guest time is already counted in user
			break
		}
		c.total += d
		if i != 3 && i != 4 { // idle, iowait
			c.busy += d
		}
	}
	return c
}

// memKB returns VmRSS and VmHWM of pid in kB.
func memKB(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		x, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = x
		case "VmHWM":
			hwm = x
		}
	}
	return rss, hwm, nil
}

// ---- small statistics ----

// pct is the nearest-rank percentile (0 = min, 1 = max) of d.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if p <= 0 {
		return s[0]
	}
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func mean(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	var t time.Duration
	for _, x := range d {
		t += x
	}
	return t / time.Duration(len(d))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func sortedMap(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
