// Package daemon runs snapd as a long-lived service: schedules, reloads, systemd
// notification, the watchdog and the control socket.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/synology-snapd/snapd/internal/control"
	"github.com/synology-snapd/snapd/internal/metrics"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/runner"
	"github.com/synology-snapd/snapd/internal/scheduler"
	"github.com/synology-snapd/snapd/internal/state"
	"github.com/synology-snapd/snapd/internal/synology"
)

// ConfigError marks an error in the configuration (exit code 2).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Options configure Run.
type Options struct {
	ConfigPath string
	// Config, when set, is ConfigPath already loaded (main loads it first to set up
	// logging); reloads read ConfigPath again.
	Config *policy.Config
	Log    zerolog.Logger
	// Reload receives one value per SIGHUP.
	Reload <-chan struct{}
	// StopWatchdog, when it receives, makes the daemon stop its watchdog pings, as a
	// wedged daemon would (a test hook, wired to SIGUSR1 only with SNAPD_TEST_HOOKS=1).
	StopWatchdog <-chan struct{}
	// StopTimeout bounds how long a stop waits for in-flight runs; 0 = 30s.
	StopTimeout time.Duration
}

// daemon is the running state of Run.
type daemon struct {
	opts    Options
	log     zerolog.Logger
	db      *state.DB
	shared  *runner.Shared
	metrics *metrics.Metrics
	sched   *scheduler.Scheduler

	mu          sync.Mutex
	cfg         *policy.Config
	run         *runner.Runner
	statusDirty chan struct{}      // a run finished: STATUS= is due for a refresh
	compacting  sync.WaitGroup     // a compaction in progress, waited for at stop
	failing     map[string]string  // policy (or "reload") → its last error, while failing
	lastErr     string             // the most recent error, for STATUS=
	retired     []*synology.Client // replaced by a reload; logged out at stop
}

// Run loads the configuration, arms the schedules and serves until ctx is cancelled.
// A configuration error is a *ConfigError.
func Run(ctx context.Context, o Options) error {
	log := o.Log
	cfg := o.Config
	if cfg == nil {
		var err error
		if cfg, err = policy.Load(o.ConfigPath); err != nil {
			return &ConfigError{err}
		}
	}
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w)
	}
	dir := StateDir(cfg)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	db, err := state.Open(dir, state.Options{Timeout: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	defer db.Close()

	d := &daemon{opts: o, log: log, db: db, shared: runner.NewShared(), cfg: cfg, statusDirty: make(chan struct{}, 1)}
	if cfg.Metrics.Listen != "" {
		d.metrics = metrics.New()
		addr, _, err := metrics.Serve(ctx, cfg.Metrics.Listen, d.metrics.Handler())
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		log.Info().Str("listen", addr.String()).Msg("serving metrics")
	}
	if err := d.connect(cfg, nil); err != nil {
		return &ConfigError{err}
	}
	d.run = d.newRunner(cfg)

	sched, err := scheduler.New(d.schedOptions(cfg), d.jobs(cfg))
	if err != nil {
		return &ConfigError{err}
	}
	d.sched = sched
	d.catchUp(cfg, time.Now())
	sched.Start()

	sock := SocketPath()
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		log.Warn().Err(err).Msg("no control socket: one-off commands cannot reach the daemon")
	}
	ctl, err := control.Listen(sock, d.handle)
	if err != nil {
		log.Warn().Err(err).Msg("no control socket: one-off commands cannot reach the daemon")
	}

	go d.reconcile(ctx)

	log.Info().Str("action", "daemon.start").Int("policies", len(cfg.Policies)).Str("state_dir", dir).Msg("snapd started")
	d.notify(sddaemon.SdNotifyReady + "\n" + d.statusLine())

	d.loop(ctx)

	d.notify(sddaemon.SdNotifyStopping + "\nSTATUS=stopping")
	log.Info().Str("action", "daemon.stop").Msg("stopping: waiting for in-flight runs")
	stopTimeout := o.StopTimeout
	if stopTimeout == 0 {
		stopTimeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := sched.Stop(sctx); err != nil {
		log.Warn().Err(err).Msg("in-flight runs did not finish in time")
	}
	if ctl != nil {
		ctl.Close()
	}
	d.logout(sctx)
	d.compacting.Wait()
	log.Info().Str("action", "daemon.stop").Msg("snapd stopped")
	return nil
}

func (d *daemon) loop(ctx context.Context) {
	var wdTick <-chan time.Time
	var wdEvery time.Duration
	if iv, err := sddaemon.SdWatchdogEnabled(false); err == nil && iv > 0 {
		wdEvery = iv / 2
		t := time.NewTicker(wdEvery)
		defer t.Stop()
		wdTick = t.C
	}
	statusTick := time.NewTicker(30 * time.Second)
	defer statusTick.Stop()
	go d.compact()
	compactTick := time.NewTicker(24 * time.Hour)
	defer compactTick.Stop()
	pinging := true
	// STATUS= follows finished runs, at most once a second: a fleet of runs finishing
	// together must not each pay for a summary of every schedule.
	var statusSoon <-chan time.Time
	var lastStatus time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.opts.Reload:
			d.reload()
		case <-d.opts.StopWatchdog:
			pinging = false
			d.log.Warn().Msg("watchdog pings stopped by test hook")
		case <-wdTick:
			if !pinging {
				continue
			}
			// The ping goes through the scheduler's own loop, so a wedged scheduler
			// stops the pings and systemd restarts the service.
			pctx, cancel := context.WithTimeout(ctx, wdEvery)
			err := d.sched.Ping(pctx)
			cancel()
			if err != nil {
				d.log.Error().Err(err).Msg("scheduler did not answer; withholding the watchdog ping")
				continue
			}
			d.notify(sddaemon.SdNotifyWatchdog)
		case <-d.statusDirty:
			if statusSoon == nil {
				statusSoon = time.After(max(0, time.Second-time.Since(lastStatus)))
			}
		case <-statusSoon:
			statusSoon, lastStatus = nil, time.Now()
			d.notify(d.statusLine())
		case <-statusTick.C:
			lastStatus = time.Now()
			d.notify(d.statusLine())
		case <-compactTick.C:
			go d.compact()
		}
	}
}

// statusChanged asks the main loop to refresh STATUS= soon.
func (d *daemon) statusChanged() {
	select {
	case d.statusDirty <- struct{}{}:
	default: // a refresh is already pending
	}
}

// compact drops journal entries older than journal.retention, so the file stays bounded.
// It runs beside the main loop, so signals and watchdog pings are not held up; Run
// waits for it before closing the database.
func (d *daemon) compact() {
	d.compacting.Add(1)
	defer d.compacting.Done()
	keep := d.config().Journal.Retention
	if keep <= 0 {
		return
	}
	n, err := d.db.Compact(time.Now().Add(-keep))
	if err != nil {
		d.log.Error().Err(err).Msg("journal compaction failed")
		return
	}
	if n > 0 {
		d.log.Info().Int("count", n).Dur("retention", keep).Msg("compacted old journal entries")
	}
}

func (d *daemon) notify(state string) {
	if _, err := sddaemon.SdNotify(false, state); err != nil {
		d.log.Debug().Err(err).Msg("sd_notify")
	}
}

// connect builds a client for every NAS of cfg whose settings differ from prev (all
// when prev is nil). Nothing is installed unless every client builds.
func (d *daemon) connect(cfg *policy.Config, prev *policy.Config) error {
	built := map[string]*synology.Client{}
	var errs []error
	for name, n := range cfg.NAS {
		if prev != nil {
			if old, ok := prev.NAS[name]; ok && reflect.DeepEqual(old, n) && d.shared.Client(name) != nil {
				continue
			}
		}
		tok, _, err := d.db.DeviceToken(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := NewClient(n, tok, d.log, d.metrics)
		if err != nil {
			errs = append(errs, fmt.Errorf("nas %s: %w", name, err))
			continue
		}
		built[name] = c
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for name, c := range built {
		if old := d.shared.SetClient(name, c); old != nil {
			d.retired = append(d.retired, old)
		}
	}
	return nil
}

// logout ends every NAS session, all at once so a stop does not grow with the fleet.
func (d *daemon) logout(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range append(slices.Collect(maps.Values(d.shared.Clients())), d.retired...) {
		wg.Go(func() { c.Close(ctx) })
	}
	wg.Wait()
}

func (d *daemon) newRunner(cfg *policy.Config) *runner.Runner {
	return &runner.Runner{Config: cfg, Shared: d.shared, Journal: d.db, Log: d.log, Metrics: d.metrics}
}

func (d *daemon) runner() *runner.Runner {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.run
}

func (d *daemon) config() *policy.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// setErr records the outcome of a policy's run (or of a reload, key "reload").
func (d *daemon) setErr(key string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failing == nil {
		d.failing = map[string]string{}
	}
	if err == nil {
		delete(d.failing, key)
		return
	}
	d.failing[key] = err.Error()
	d.lastErr = key + ": " + err.Error()
}

func (d *daemon) reconcile(ctx context.Context) {
	n, err := d.runner().Reconcile(ctx)
	if n > 0 {
		d.log.Info().Int("count", n).Msg("reconciled interrupted actions")
	}
	if err != nil {
		d.log.Warn().Err(err).Msg("some interrupted actions could not be reconciled yet")
	}
}

// catchUp journals and queues, once, each policy run missed while snapd was down.
func (d *daemon) catchUp(cfg *policy.Config, now time.Time) {
	for _, p := range cfg.Policies {
		if !p.CatchUp {
			continue
		}
		last, ok, err := d.db.LastScheduled(p.Name)
		if err != nil || !ok {
			continue
		}
		n, latest := scheduler.Missed(p.Schedule, last, now)
		if n == 0 {
			continue
		}
		d.runner().Journal.Append(state.Entry{Time: now, Policy: p.Name, NAS: p.NAS, Target: string(p.Kind) + ":" + p.Target, Action: runner.ActionMissed, Outcome: runner.OutcomeOK, Count: n})
		d.log.Warn().Str("action", runner.ActionMissed).Str("policy", p.Name).Int("count", n).Time("latest", latest).Msg("runs missed while snapd was down; running once now")
		if err := d.sched.RunOnce(p.Name, latest); err != nil {
			d.log.Error().Err(err).Str("policy", p.Name).Msg("cannot queue the catch-up run")
			continue
		}
		// The catch-up serves the latest missed fire; record it so a second crash before
		// the next fire does not count the same fires again.
		if err := d.db.SetLastScheduled(p.Name, latest); err != nil {
			d.log.Error().Err(err).Str("policy", p.Name).Msg("cannot record the catch-up")
		}
	}
}

// statusLine is the one-line STATUS= summary: policies, next fire, last error.
func (d *daemon) statusLine() string {
	cfg := d.config()
	var next time.Time
	var nextName string
	for _, e := range d.sched.Entries() {
		if !e.Next.IsZero() && (next.IsZero() || e.Next.Before(next)) {
			next, nextName = e.Next, e.Name
		}
	}
	s := fmt.Sprintf("STATUS=%d policies", len(cfg.Policies))
	if nextName != "" {
		s += fmt.Sprintf("; next %s at %s", nextName, next.In(cfg.Location).Format("2006-01-02 15:04:05 MST"))
	}
	d.mu.Lock()
	if n := len(d.failing); n > 0 {
		s += fmt.Sprintf("; %d failing; last error: %s", n, firstLine(d.lastErr))
	}
	d.mu.Unlock()
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func monotonicUsec() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return "0"
	}
	return strconv.FormatInt(ts.Sec*1_000_000+ts.Nsec/1000, 10)
}

// reload builds everything new first and swaps only if all of it is good; a bad new
// configuration leaves the old one running.
func (d *daemon) reload() {
	d.notify("RELOADING=1\nMONOTONIC_USEC=" + monotonicUsec())
	defer func() { d.notify(sddaemon.SdNotifyReady + "\n" + d.statusLine()) }()
	fail := func(err error) {
		d.log.Error().Str("action", "daemon.reload").Str("outcome", runner.OutcomeError).Err(err).Msg("reload failed; keeping the running configuration")
		d.setErr("reload", fmt.Errorf("failed, running the previous configuration: %w", err))
	}
	old := d.config()
	cfg, err := policy.Load(d.opts.ConfigPath)
	if err != nil {
		fail(err)
		return
	}
	if StateDir(cfg) != StateDir(old) {
		d.log.Warn().Msg("state_dir changes take effect at the next start")
	}
	for _, w := range cfg.Warnings {
		d.log.Warn().Msg(w)
	}
	if err := d.connect(cfg, old); err != nil {
		fail(err)
		return
	}
	nr := d.newRunner(cfg)
	d.mu.Lock()
	prevRunner, prevCfg := d.run, d.cfg
	d.run, d.cfg = nr, cfg
	d.mu.Unlock()
	if err := d.sched.Reload(d.schedOptions(cfg), d.jobs(cfg)); err != nil {
		d.mu.Lock()
		d.run, d.cfg = prevRunner, prevCfg
		d.mu.Unlock()
		fail(err)
		return
	}
	if d.metrics != nil {
		for name := range old.Policies {
			if _, ok := cfg.Policies[name]; !ok {
				d.metrics.ForgetPolicy(name)
			}
		}
	}
	d.setErr("reload", nil)
	names := make([]string, 0, len(cfg.Policies))
	for n := range cfg.Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	d.log.Info().Str("action", "daemon.reload").Str("outcome", runner.OutcomeOK).Strs("policies", names).Msg("configuration reloaded")
}
