package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/synology-snapd/snapd/internal/dsmfake"
	"github.com/synology-snapd/snapd/internal/policy"
)

// snapdBin is the real binary, built once for the end-to-end tests.
var snapdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "snapd-e2e-")
	if err != nil {
		panic(err)
	}
	snapdBin = filepath.Join(dir, "snapd")
	build := exec.Command("go", "build", "-race", "-o", snapdBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		// Without -race where the toolchain cannot (no cgo), a plain build.
		build = exec.Command("go", "build", "-o", snapdBin, ".")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			panic("build snapd: " + err.Error())
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is a fake NAS on loopback HTTPS plus the files and environment of one snapd
// installation: config, state dir, runtime dir, and a NOTIFY_SOCKET listener.
type world struct {
	t      *testing.T
	nas    *dsmfake.NAS
	srv    *httptest.Server
	dir    string
	config string
	env    []string
	notify *notifyListener
}

func newWorld(t *testing.T) *world {
	t.Helper()
	nas := dsmfake.New(dsmfake.Options{Strict: true, Logf: t.Logf})
	nas.AddUser(dsmfake.User{Name: "snapd", Password: "s3cret"})
	nas.AddShare("homes")
	nas.AddPlan(dsmfake.Plan{ID: "plan-homes", TargetType: "share", TargetName: "homes"})
	srv := httptest.NewTLSServer(nas)
	t.Cleanup(srv.Close)
	dir, err := os.MkdirTemp("", "snapd-e2e-w")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"state", "run", "creds"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	os.WriteFile(filepath.Join(dir, "creds", "nas-password"), []byte("s3cret\n"), 0o600)
	w := &world{t: t, nas: nas, srv: srv, dir: dir, config: filepath.Join(dir, "config.yaml")}
	w.env = append(os.Environ(),
		"STATE_DIRECTORY="+filepath.Join(dir, "state"),
		"RUNTIME_DIRECTORY="+filepath.Join(dir, "run"),
		"CREDENTIALS_DIRECTORY="+filepath.Join(dir, "creds"),
		"JOURNAL_STREAM=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
	)
	return w
}

// writeConfig writes a config with the given policies block.
func (w *world) writeConfig(policies string) {
	w.t.Helper()
	sum := sha256.Sum256(w.srv.Certificate().Raw)
	cfg := fmt.Sprintf(`timezone: UTC
log: {level: debug, format: json}
nas:
  nas1:
    url: %s
    user: snapd
    password_credential: nas-password
    tls: {fingerprint_sha256: %q}
    timeout: 5s
policies:
%s`, w.srv.URL, hex.EncodeToString(sum[:]), policies)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// cli runs one snapd command and returns stdout, stderr and the exit code.
func (w *world) cli(args ...string) (string, string, int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, snapdBin, append(args, "--config", w.config)...)
	cmd.Env = w.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("snapd %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// daemonProc is a running `snapd run`.
type daemonProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (w *world) start(extraEnv ...string) *daemonProc {
	w.t.Helper()
	cmd := exec.Command(snapdBin, "run", "--config", w.config)
	cmd.Env = append(append([]string{}, w.env...), extraEnv...)
	if w.notify != nil {
		cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+w.notify.path)
	}
	d := &daemonProc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { d.done <- cmd.Wait() }()
	w.t.Cleanup(func() {
		cmd.Process.Kill()
		<-d.done
		if w.t.Failed() {
			w.t.Logf("daemon stderr:\n%s", d.stderr.String())
		}
	})
	return d
}

// wait waits for the daemon to exit and returns its exit code.
func (d *daemonProc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("daemon did not exit within %s", within)
		return -1
	}
}

// notifyListener is a unixgram socket standing in for systemd's NOTIFY_SOCKET.
type notifyListener struct {
	path string
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
	ch   chan string
}

func (w *world) listenNotify() *notifyListener {
	w.t.Helper()
	p := filepath.Join(w.dir, "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		w.t.Fatal(err)
	}
	n := &notifyListener{path: p, conn: c, ch: make(chan string, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, _, err := c.ReadFromUnix(buf)
			if err != nil {
				close(n.ch)
				return
			}
			m := string(buf[:k])
			n.mu.Lock()
			n.msgs = append(n.msgs, m)
			n.mu.Unlock()
			n.ch <- m
		}
	}()
	w.t.Cleanup(func() { c.Close() })
	w.notify = n
	return n
}

// expect waits for a notification containing every one of the substrings.
func (n *notifyListener) expect(t *testing.T, within time.Duration, subs ...string) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m, ok := <-n.ch:
			if !ok {
				t.Fatalf("notify socket closed while waiting for %q", subs)
			}
			all := true
			for _, s := range subs {
				all = all && strings.Contains(m, s)
			}
			if all {
				return m
			}
		case <-deadline:
			n.mu.Lock()
			defer n.mu.Unlock()
			t.Fatalf("no notification with %q within %s; got %q", subs, within, n.msgs)
			return ""
		}
	}
}

// eventually polls cond until it holds.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type journalLine struct {
	Seq      uint64 `json:"seq"`
	Policy   string `json:"policy"`
	Action   string `json:"action"`
	Snapshot string `json:"snapshot"`
	Outcome  string `json:"outcome"`
	Error    string `json:"error"`
}

func (w *world) journal() []journalLine {
	w.t.Helper()
	out, errs, code := w.cli("journal", "--json")
	if code != 0 {
		w.t.Fatalf("snapd journal: exit %d: %s", code, errs)
	}
	var ls []journalLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			w.t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		ls = append(ls, l)
	}
	return ls
}

func count(ls []journalLine, action, outcome string) int {
	n := 0
	for _, l := range ls {
		if l.Action == action && l.Outcome == outcome {
			n++
		}
	}
	return n
}

func ownSnapshots(n *dsmfake.NAS, share, pol string) int {
	k := 0
	for _, s := range n.ShareSnapshots(share) {
		if p, ok := policy.Owner(s.Desc); ok && p == pol {
			k++
		}
	}
	return k
}

const fastPolicy = `  homes:
    nas: nas1
    share: homes
    schedule: "@every 1s"
    snapshot: {description: e2e}
    retention: {keep_last: 3}
    replication: {plan: plan-homes}
`

// TestDaemon runs the real binary under a stand-in for systemd's notify socket: it
// creates, replicates and prunes on a seconds schedule, answers one-off commands over
// its control socket, reloads on SIGHUP (keeping the old config when the new one is
// broken), refuses a second instance, pings the watchdog, and stops cleanly on SIGTERM.
func TestDaemon(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(fastPolicy)
	n := w.listenNotify()
	d := w.start("WATCHDOG_USEC=400000")

	n.expect(t, 20*time.Second, "READY=1", "STATUS=1 policies")
	n.expect(t, 5*time.Second, "WATCHDOG=1")

	eventually(t, 30*time.Second, "four snapshot runs and a prune", func() bool {
		return w.nas.Count("SYNO.Core.Share.Snapshot", "create") >= 4 && w.nas.Count("SYNO.Core.Share.Snapshot", "delete") >= 1
	})
	if got := w.nas.Count("SYNO.API.Auth", "login"); got != 1 {
		t.Errorf("logins = %d, want 1 (the session is reused)", got)
	}
	if n := len(w.nas.SyncRecords("plan-homes")); n < 4 {
		t.Errorf("replication syncs = %d, want one per run", n)
	}

	// One-off commands go through the daemon while it runs.
	out, errs, code := w.cli("status", "--json")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errs)
	}
	var st struct {
		Daemon   bool `json:"daemon"`
		Policies []struct {
			Name        string `json:"name"`
			LastOutcome string `json:"last_outcome"`
			NextRun     string `json:"next_run"`
		} `json:"policies"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if !st.Daemon || len(st.Policies) != 1 || st.Policies[0].Name != "homes" || st.Policies[0].NextRun == "" {
		t.Errorf("status = %s", out)
	}
	if _, errs, code := w.cli("journal", "--limit", "5"); code != 0 {
		t.Errorf("journal --limit 5: exit %d: %s", code, errs)
	}
	if out, errs, code := w.cli("prune", "--policy", "homes", "--dry-run"); code != 0 || !strings.Contains(out, "dry run") {
		t.Errorf("prune --dry-run: exit %d\n%s%s", code, out, errs)
	}

	if out, errs, code := w.cli("snapshot", "--policy", "homes", "--no-prune"); code != 0 || !strings.Contains(out, "created GMT") {
		t.Errorf("snapshot through the daemon: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := w.cli("sync", "--policy", "homes"); code != 0 || !strings.Contains(out, "replication sync triggered") {
		t.Errorf("sync through the daemon: exit %d\n%s%s", code, out, errs)
	}

	// A second instance on the same state dir is refused at once, naming the holder.
	start := time.Now()
	_, errs, code = w.cli("run")
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("pid %d", d.cmd.Process.Pid)) {
		t.Errorf("second instance: exit %d, stderr %q; want exit 1 naming pid %d", code, errs, d.cmd.Process.Pid)
	}
	t.Logf("second instance refused after %s", time.Since(start))

	// Reload with a good config: RELOADING=1 with MONOTONIC_USEC, then READY=1.
	w.writeConfig(strings.Replace(fastPolicy, "keep_last: 3", "keep_last: 2", 1))
	d.cmd.Process.Signal(syscall.SIGHUP)
	n.expect(t, 10*time.Second, "RELOADING=1", "MONOTONIC_USEC=")
	n.expect(t, 10*time.Second, "READY=1")
	eventually(t, 20*time.Second, "keep_last 2 to take effect", func() bool { return ownSnapshots(w.nas, "homes", "homes") == 2 })

	// Reload with a broken config: the old one keeps running and STATUS says why.
	os.WriteFile(w.config, []byte("policies: {homes: {nas: nope}}\nbogus: 1\n"), 0o600)
	before := w.nas.Count("SYNO.Core.Share.Snapshot", "create")
	d.cmd.Process.Signal(syscall.SIGHUP)
	n.expect(t, 10*time.Second, "RELOADING=1")
	n.expect(t, 10*time.Second, "READY=1", "last error: reload: failed")
	eventually(t, 20*time.Second, "runs to continue after a failed reload", func() bool {
		return w.nas.Count("SYNO.Core.Share.Snapshot", "create") >= before+2
	})

	// SIGTERM: STOPPING=1 and exit 0, logged out.
	d.cmd.Process.Signal(syscall.SIGTERM)
	n.expect(t, 30*time.Second, "STOPPING=1")
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	if s := w.nas.Sessions(); s != 0 {
		t.Errorf("live sessions after stop = %d, want 0 (logout)", s)
	}
	// Restore a valid config to read the journal without the daemon.
	w.writeConfig(fastPolicy)
	j := w.journal()
	if count(j, "snapshot.create", "ok") < 4 || count(j, "replication.sync", "ok") < 4 || count(j, "snapshot.delete", "ok") < 1 {
		t.Errorf("journal lacks creates, syncs or deletes: %+v", j)
	}
}

// TestWatchdogStopsWhenHooked checks that the test hook really stops the pings, which
// is what makes systemd kill and restart a wedged daemon.
func TestWatchdogStopsWhenHooked(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(strings.Replace(fastPolicy, "@every 1s", "@hourly", 1))
	n := w.listenNotify()
	d := w.start("WATCHDOG_USEC=200000", "SNAPD_TEST_HOOKS=1")
	n.expect(t, 20*time.Second, "READY=1")
	n.expect(t, 5*time.Second, "WATCHDOG=1")
	d.cmd.Process.Signal(syscall.SIGUSR1)
	time.Sleep(300 * time.Millisecond) // let a ping already in flight arrive
	n.mu.Lock()
	k := len(n.msgs)
	n.mu.Unlock()
	time.Sleep(time.Second)
	n.mu.Lock()
	later := n.msgs[k:]
	n.mu.Unlock()
	for _, m := range later {
		if strings.Contains(m, "WATCHDOG=1") {
			t.Fatalf("WATCHDOG=1 sent after the hook stopped the pings: %q", later)
		}
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit = %d, want 0", code)
	}
}

// TestKill9MidRunAndRestart kills the daemon while a create is in flight, restarts it,
// and checks that the journal is intact, the interrupted intent is reconciled, and no
// duplicate snapshot appears.
func TestKill9MidRunAndRestart(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(strings.Replace(fastPolicy, "@every 1s", "@every 2s", 1))
	d := w.start()
	eventually(t, 30*time.Second, "two runs", func() bool { return w.nas.Count("SYNO.DR.Plan", "sync") >= 2 })
	// The next create lands on the NAS, but the answer never comes back.
	w.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "create", Latency: 3 * time.Second, Times: 1})
	creates := w.nas.Count("SYNO.Core.Share.Snapshot", "create")
	eventually(t, 30*time.Second, "a create in flight", func() bool {
		return w.nas.Count("SYNO.Core.Share.Snapshot", "create") > creates
	})
	time.Sleep(200 * time.Millisecond)
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.wait(t, 10*time.Second)
	landed := ownSnapshots(w.nas, "homes", "homes")

	w.nas.ClearFaults()
	d2 := w.start()
	eventually(t, 30*time.Second, "runs after restart", func() bool {
		return w.nas.Count("SYNO.Core.Share.Snapshot", "create") > creates+2
	})
	d2.cmd.Process.Signal(syscall.SIGTERM)
	if code := d2.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit after restart = %d, want 0", code)
	}
	j := w.journal()
	seen := map[uint64]bool{}
	for _, l := range j {
		if seen[l.Seq] {
			t.Errorf("duplicate journal seq %d", l.Seq)
		}
		seen[l.Seq] = true
	}
	// Every create the NAS made appears once in the journal as ok (the interrupted one
	// through reconciliation), and no two snapshots share a run.
	names := map[string]int{}
	for _, l := range j {
		if l.Action == "snapshot.create" && l.Outcome == "ok" {
			names[l.Snapshot]++
		}
	}
	for n, c := range names {
		if c > 1 {
			t.Errorf("snapshot %s journaled as created %d times", n, c)
		}
	}
	t.Logf("own snapshots after kill: %d; creates journaled ok: %d; create calls: %d", landed, len(names), w.nas.Count("SYNO.Core.Share.Snapshot", "create"))
	if out, _, _ := w.cli("journal", "--json"); !strings.Contains(out, "snapshot.create") {
		t.Errorf("journal unreadable after kill -9: %s", out)
	}
}

// TestSessionExpiryMidDaemon expires the NAS session between runs: the daemon logs in
// once more and carries on.
func TestSessionExpiryMidDaemon(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(fastPolicy)
	d := w.start()
	eventually(t, 30*time.Second, "a run", func() bool { return w.nas.Count("SYNO.DR.Plan", "sync") >= 1 })
	w.nas.ExpireSessions()
	syncs := w.nas.Count("SYNO.DR.Plan", "sync")
	eventually(t, 30*time.Second, "runs after expiry", func() bool { return w.nas.Count("SYNO.DR.Plan", "sync") >= syncs+2 })
	if got := w.nas.Count("SYNO.API.Auth", "login"); got != 2 {
		t.Errorf("logins = %d, want 2 (one re-login after expiry)", got)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.wait(t, 30*time.Second)
}

// TestSafetyRulesEndToEnd prunes through the CLI with a retention that keeps only one:
// locked, WORM, replication-held, foreign and other policies' snapshots survive.
func TestSafetyRulesEndToEnd(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(`  homes:
    nas: nas1
    share: homes
    schedule: "@daily"
    retention: {keep_last: 1, max_deletes_per_run: 0}
`)
	now := time.Now().Add(-time.Minute)
	own := policy.Describe("", "homes")
	add := func(age time.Duration, s dsmfake.ShareSnapshot) string {
		s.Time = now.Add(-age)
		return w.nas.AddShareSnapshot("homes", s)
	}
	keep := []string{
		add(9*time.Hour, dsmfake.ShareSnapshot{Desc: own, Lock: true}),
		add(8*time.Hour, dsmfake.ShareSnapshot{Desc: own, WORMDays: 7}),
		add(7*time.Hour, dsmfake.ShareSnapshot{Desc: own, AppKeys: []string{"SnapshotReplication-synodr-x"}}),
		add(6*time.Hour, dsmfake.ShareSnapshot{Desc: "by hand"}),
		add(5*time.Hour, dsmfake.ShareSnapshot{Desc: policy.Describe("", "other")}),
		add(1*time.Hour, dsmfake.ShareSnapshot{Desc: own}), // the newest own
	}
	plain := add(4*time.Hour, dsmfake.ShareSnapshot{Desc: own})

	out, errs, code := w.cli("plan", "--policy", "homes", "--json")
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errs)
	}
	for _, reason := range []string{`"locked"`, `"worm"`, `"replication"`, `"not_owned"`, `"newest"`} {
		if !strings.Contains(out, reason) {
			t.Errorf("plan --json lacks reason %s:\n%s", reason, out)
		}
	}
	out, errs, code = w.cli("prune", "--policy", "homes", "--force")
	if code != 0 {
		t.Fatalf("prune: exit %d\n%s%s", code, out, errs)
	}
	left := map[string]bool{}
	for _, s := range w.nas.ShareSnapshots("homes") {
		left[s.Name] = true
	}
	for _, k := range keep {
		if !left[k] {
			t.Errorf("protected snapshot %s deleted", k)
		}
	}
	if left[plain] {
		t.Errorf("unprotected %s survived", plain)
	}
	// The nas command refuses WORM and held snapshots, and locked ones without --force.
	_, errs, code = w.cli("nas", "delete", "--nas", "nas1", "--share", "homes", "--snapshot", keep[1], "--snapshot", keep[2])
	if code != 1 || !strings.Contains(errs, "WORM") || !strings.Contains(errs, "held by replication") {
		t.Errorf("nas delete of WORM and held: exit %d, %s", code, errs)
	}
	_, errs, code = w.cli("nas", "delete", "--nas", "nas1", "--share", "homes", "--snapshot", keep[0])
	if code != 1 || !strings.Contains(errs, "--force") {
		t.Errorf("nas delete of locked without --force: exit %d, %s", code, errs)
	}
	if !left[keep[0]] || len(w.nas.ShareSnapshots("homes")) != len(keep) {
		t.Errorf("nas delete refusals deleted something")
	}
}

func TestExitCodes(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(fastPolicy)
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"validate"}, 0},
		{[]string{"version"}, 0},
		{[]string{"bogus"}, 2},
		{[]string{"plan", "--policy", "nope"}, 2},
		{[]string{"snapshot"}, 2},
		{[]string{"journal", "--limit", "x"}, 2},
		{[]string{"journal", "--since", "yesterday-ish"}, 2},
	} {
		if _, errs, code := w.cli(c.args...); code != c.code {
			t.Errorf("snapd %v: exit %d, want %d (%s)", c.args, code, c.code, errs)
		}
	}
	os.WriteFile(w.config, []byte("policies: {}\nwhat: 1\n"), 0o600)
	if _, errs, code := w.cli("validate"); code != 2 || !strings.Contains(errs, "config.yaml:") {
		t.Errorf("validate on a bad config: exit %d, %q; want 2 naming the file", code, errs)
	}
	// The NAS unreachable: exit 1.
	w.writeConfig(fastPolicy)
	w.srv.Close()
	if _, _, code := w.cli("snapshot", "--policy", "homes"); code != 1 {
		t.Errorf("snapshot with the NAS down: exit %d, want 1", code)
	}
}

// TestSIGTERMMidRun stops the daemon while a create is in flight: the call is allowed to
// finish, its outcome is journaled, and the exit is clean.
func TestSIGTERMMidRun(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(strings.Replace(fastPolicy, "@every 1s", "@every 2s", 1))
	w.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "create", Latency: 2 * time.Second, Times: 1})
	d := w.start()
	eventually(t, 30*time.Second, "a create in flight", func() bool { return w.nas.Count("SYNO.Core.Share.Snapshot", "create") >= 1 })
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit = %d, want 0", code)
	}
	j := w.journal()
	if count(j, "snapshot.create", "ok") != 1 || ownSnapshots(w.nas, "homes", "homes") != 1 {
		t.Errorf("after SIGTERM mid-create: journal %+v, %d snapshots; want the in-flight create finished and journaled", j, ownSnapshots(w.nas, "homes", "homes"))
	}
}

// TestNASCommands drives the `nas` subcommands, `validate --connect` and `check`.
func TestNASCommands(t *testing.T) {
	w := newWorld(t)
	w.nas.AddLUN(dsmfake.LUN{UUID: "lun-uuid-1", Name: "vm-store", Location: "/volume1", Size: 1 << 30, TypeStr: "BLUN"})
	w.writeConfig(`  homes:
    nas: nas1
    share: homes
    schedule: "@hourly"
    retention: {keep_last: 3}
    replication: {plan: plan-homes}
  vms:
    nas: nas1
    lun: vm-store
    schedule: "@hourly"
    retention: {keep_last: 3}
`)
	out, errs, code := w.cli("validate", "--connect")
	if code != 0 || !strings.Contains(out, "every share, LUN and plan exists") {
		t.Errorf("validate --connect: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = w.cli("nas", "luns", "--nas", "nas1", "--json")
	if code != 0 || !strings.Contains(out, `"lun-uuid-1"`) {
		t.Errorf("nas luns: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = w.cli("nas", "plans", "--nas", "nas1")
	if code != 0 || !strings.Contains(out, "plan-homes") {
		t.Errorf("nas plans: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = w.cli("nas", "create", "--nas", "nas1", "--share", "homes", "--desc", "by hand", "--lock")
	if code != 0 || !strings.HasPrefix(out, "created GMT") {
		t.Fatalf("nas create: exit %d\n%s%s", code, out, errs)
	}
	name := strings.TrimSpace(strings.TrimPrefix(out, "created "))
	if _, errs, code = w.cli("nas", "set", "--nas", "nas1", "--share", "homes", "--snapshot", name, "--unlock", "--desc", "relabelled"); code != 0 {
		t.Errorf("nas set: exit %d: %s", code, errs)
	}
	snaps := w.nas.ShareSnapshots("homes")
	if len(snaps) != 1 || snaps[0].Lock || snaps[0].Desc != "relabelled" {
		t.Errorf("after nas set: %+v, want unlocked and relabelled", snaps)
	}
	out, errs, code = w.cli("nas", "snapshots", "--nas", "nas1", "--share", "homes", "--json")
	if code != 0 || !strings.Contains(out, `"relabelled"`) {
		t.Errorf("nas snapshots: exit %d\n%s%s", code, out, errs)
	}
	// A snapshot made outside any policy: no tag, so no policy prunes it, and check
	// warns that the policy has no snapshot of its own yet.
	out, _, code = w.cli("check")
	if code != 1 || !strings.HasPrefix(out, "SNAPD WARNING") {
		t.Errorf("check before any run: exit %d, %q; want WARNING", code, out)
	}
	if _, errs, code = w.cli("snapshot", "--policy", "homes"); code != 0 {
		t.Fatalf("snapshot: exit %d: %s", code, errs)
	}
	if _, errs, code = w.cli("snapshot", "--policy", "vms"); code != 0 {
		t.Fatalf("snapshot vms: exit %d: %s", code, errs)
	}
	out, _, code = w.cli("check")
	if code != 0 || !strings.HasPrefix(out, "SNAPD OK") {
		t.Errorf("check after runs: exit %d, %q; want OK", code, out)
	}
	if _, errs, code = w.cli("nas", "delete", "--nas", "nas1", "--share", "homes", name); code != 0 {
		t.Errorf("nas delete: exit %d: %s", code, errs)
	}
	j := w.journal()
	for _, a := range []string{"snapshot.set", "snapshot.delete"} {
		if count(j, a, "ok") == 0 {
			t.Errorf("journal lacks %s from the nas commands: %+v", a, j)
		}
	}
	// Old snapshots make check critical.
	w.srv.Close()
	out, _, code = w.cli("check")
	if code != 3 || !strings.HasPrefix(out, "SNAPD UNKNOWN") {
		t.Errorf("check with the NAS down: exit %d, %q; want UNKNOWN", code, out)
	}
}

// TestValidateDSMRetention checks that `validate --connect` warns, without failing, about
// each target DSM's own retention also prunes, and says it cannot tell without Snapshot
// Replication.
func TestValidateDSMRetention(t *testing.T) {
	w := newWorld(t)
	w.nas.AddLUN(dsmfake.LUN{UUID: "lun-uuid-1", Name: "vm-store"})
	w.writeConfig(`  homes:
    nas: nas1
    share: homes
    schedule: "@hourly"
    retention: {keep_last: 3}
  vms:
    nas: nas1
    lun: vm-store
    schedule: "@hourly"
    retention: {keep_last: 3}
`)
	out, errs, code := w.cli("validate", "--connect")
	if code != 0 || !strings.Contains(out, "every share, LUN and plan exists") || strings.Contains(errs, "retention") {
		t.Errorf("validate --connect without DSM retention: exit %d, want 0 and no warning\n%s%s", code, out, errs)
	}
	if got := w.nas.Count("SYNO.DisasterRecovery.Retention", "get"); got != 2 {
		t.Errorf("retention reads = %d, want one per policy", got)
	}

	w.nas.SetRetention("share", "homes", dsmfake.Retention{TaskID: 3, RetainDays: 7, Hourly: 24, Daily: 7, Weekly: 2, Monthly: 1})
	w.nas.SetRetention("lun", "lun-uuid-1", dsmfake.Retention{TaskID: 4, RetainDays: 30})
	out, errs, code = w.cli("validate", "--connect")
	wantLines := []string{
		"snapd: warning: policy homes: DSM's own retention also prunes share homes (task 3: keep 7 days, hourly 24, daily 7, weekly 2, monthly 1); its deletions do not respect snapd's policy\n",
		"snapd: warning: policy vms: DSM's own retention also prunes LUN vm-store (task 4: keep 30 days); its deletions do not respect snapd's policy\n",
	}
	if code != 0 || !strings.Contains(out, "every share, LUN and plan exists") {
		t.Errorf("validate --connect with DSM retention: exit %d, want 0\n%s%s", code, out, errs)
	}
	t.Logf("validate --connect with DSM retention:\n%s%s", out, errs)
	for _, l := range wantLines {
		if !strings.Contains(errs, l) {
			t.Errorf("validate --connect stderr lacks %q:\n%s", l, errs)
		}
	}
	for _, r := range w.nas.Requests() {
		if r.API == "SYNO.DisasterRecovery.Retention" && r.Params.Get("type") == `"lun"` && r.Params.Get("name") != `"lun-uuid-1"` {
			t.Errorf("LUN retention read by name=%s, want the LUN's UUID", r.Params.Get("name"))
		}
	}

	// Without Snapshot Replication there is nothing to ask: a neutral line, no warning.
	o := w.nas.Options()
	o.NoDRPackage = true
	w.nas.SetOptions(o)
	out, errs, code = w.cli("validate", "--connect")
	if code != 0 || !strings.Contains(out, "nas nas1: DSM's own retention: cannot tell: Snapshot Replication not installed\n") ||
		strings.Count(out, "cannot tell") != 1 || strings.Contains(errs, "retention") {
		t.Errorf("validate --connect without Snapshot Replication: exit %d, want 0, one neutral line and no warning\n%s%s", code, out, errs)
	}
}

// TestLoginWith2FA answers the OTP prompt on stdin and checks that the device token is
// stored and used: the next login needs no code.
func TestLoginWith2FA(t *testing.T) {
	w := newWorld(t)
	w.nas.AddUser(dsmfake.User{Name: "snapd", Password: "s3cret", OTP: "123456"})
	w.writeConfig(fastPolicy)
	cmd := exec.Command(snapdBin, "login", "--nas", "nas1", "--config", w.config)
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader("123456\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "device token stored") {
		t.Fatalf("login: %v\n%s", err, out)
	}
	if ids := w.nas.IssuedDeviceIDs(); len(ids) != 1 {
		t.Fatalf("device ids issued = %v, want 1", ids)
	}
	// With the stored token a one-off run logs in without a code.
	if _, errs, code := w.cli("snapshot", "--policy", "homes", "--no-prune"); code != 0 {
		t.Errorf("snapshot after login: exit %d: %s", code, errs)
	}
	// Commands that talk to the NAS without the journal open use the token too.
	if out, errs, code := w.cli("plan", "--policy", "homes"); code != 0 {
		t.Errorf("plan after login: exit %d\n%s%s", code, out, errs)
	}
	sd, _ := os.ReadFile(filepath.Join(w.dir, "state", "state.db"))
	if bytes.Contains(sd, []byte("s3cret")) {
		t.Error("the password was written to the state database")
	}
}

// TestCatchUp stops the daemon for a few fires of its schedule: at the next start the
// missed fires are journaled as one run.missed with their count, and the policy runs.
func TestCatchUp(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(strings.Replace(fastPolicy, "@every 1s", "@every 2s", 1))
	d := w.start()
	eventually(t, 30*time.Second, "a scheduled run", func() bool { return w.nas.Count("SYNO.DR.Plan", "sync") >= 1 })
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.wait(t, 30*time.Second)
	time.Sleep(5 * time.Second) // two or three fires missed
	d2 := w.start()
	eventually(t, 30*time.Second, "the run.missed entry", func() bool {
		out, _, _ := w.cli("journal", "--json")
		return strings.Contains(out, `"run.missed"`)
	})
	d2.cmd.Process.Signal(syscall.SIGTERM)
	d2.wait(t, 30*time.Second)
	out, _, _ := w.cli("journal", "--json")
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"run.missed"`) {
			var e struct{ Count int }
			json.Unmarshal([]byte(line), &e)
			if e.Count < 2 {
				t.Errorf("run.missed count = %d, want at least 2 (%s)", e.Count, line)
			}
		}
	}
}

// TestMetricsEndpoint scrapes /metrics of a running daemon.
func TestMetricsEndpoint(t *testing.T) {
	w := newWorld(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w.writeConfig(fastPolicy)
	cfg, _ := os.ReadFile(w.config)
	os.WriteFile(w.config, []byte(strings.Replace(string(cfg), "timezone: UTC\n", "timezone: UTC\nmetrics: {listen: \""+addr+"\"}\n", 1)), 0o600)
	d := w.start()
	eventually(t, 30*time.Second, "two runs", func() bool { return w.nas.Count("SYNO.DR.Plan", "sync") >= 2 })
	var body string
	eventually(t, 10*time.Second, "a scrape", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	for _, want := range []string{
		`snapd_policy_last_run_success{policy="homes"} 1`,
		`snapd_policy_last_create_timestamp_seconds{policy="homes"}`,
		`snapd_policy_last_sync_timestamp_seconds{policy="homes"}`,
		`snapd_policy_newest_snapshot_timestamp_seconds{policy="homes"}`,
		`snapd_dsm_requests_total{api="SYNO.Core.Share.Snapshot",method="create",nas="nas1",outcome="ok"}`,
		`snapd_dsm_logins_total{nas="nas1"} 1`,
		`snapd_schedule_fire_delay_seconds_count{policy="homes"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.wait(t, 30*time.Second)
}

// TestCheckAges: an hourly policy whose newest own snapshot is 2.5 h old is WARNING and
// 3.5 h old CRITICAL, and either wins over another policy's UNKNOWN (a share it cannot
// list).
func TestCheckAges(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(`  homes:
    nas: nas1
    share: homes
    schedule: "@hourly"
    retention: {keep_last: 3}
  gone:
    nas: nas1
    share: missing
    schedule: "@hourly"
    retention: {keep_last: 3}
`)
	own := policy.Describe("", "homes")
	first := w.nas.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: time.Now().Add(-150 * time.Minute), Desc: own})
	out, _, code := w.cli("check")
	if code != 1 || !strings.HasPrefix(out, "SNAPD WARNING") || !strings.Contains(out, "homes: newest snapshot is 2h30m") || !strings.Contains(out, "gone: cannot list snapshots") {
		t.Errorf("check at 2.5 h: exit %d, %q; want WARNING naming both policies", code, out)
	}
	if _, errs, code := w.cli("nas", "delete", "--nas", "nas1", "--share", "homes", "--snapshot", first); code != 0 {
		t.Fatalf("nas delete: exit %d: %s", code, errs)
	}
	w.nas.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: time.Now().Add(-210 * time.Minute), Desc: own})
	out, _, code = w.cli("check")
	if code != 2 || !strings.HasPrefix(out, "SNAPD CRITICAL") {
		t.Errorf("check at 3.5 h: exit %d, %q; want CRITICAL", code, out)
	}
}
