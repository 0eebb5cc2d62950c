package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
)

var (
	// ErrRunning means the job already has a run in flight (or waiting for its jitter
	// or a group slot).
	ErrRunning = errors.New("job is already running")
	// ErrUnknownJob means no job of that name is in the current job set.
	ErrUnknownJob = errors.New("unknown job")
	// ErrStopped means Stop has been called.
	ErrStopped = errors.New("scheduler is stopped")
)

// Job is one named schedule and the work it fires. In snapd a job is a policy's run (or
// its separately scheduled prune or sync) and its group is the policy's NAS.
type Job struct {
	// Name identifies the job across reloads; it must be unique in a job set.
	Name string
	// Group names the concurrency group; "" means the job is in no group.
	Group string
	// Schedule is the job's cron schedule, usually from Parse.
	Schedule cron.Schedule
	// Jitter is the upper bound (exclusive) of a random delay between a fire and the
	// run; zero means no delay.
	Jitter time.Duration
	// Run does the work. fire is the scheduled instant (the missed instant for a
	// catch-up run, zero for Trigger). ctx is cancelled when Stop's grace period ends
	// and, for Trigger, when the caller's context is done.
	Run func(ctx context.Context, fire time.Time) error
}

// Options configure a scheduler; Reload may change all of them.
type Options struct {
	// Location is the cron instance's time zone, used for schedules that carry none of
	// their own; nil means UTC, as in Parse.
	Location *time.Location
	// GroupLimits is the number of runs each group may have in flight at once. Every
	// group a job names must have a limit of at least 1.
	GroupLimits map[string]int
	// OnSkip is called when a fire finds the job's previous run still going.
	OnSkip func(job string, fire time.Time)
	// OnFire is called for every fire cron delivers, before the overlap check, so a
	// skipped fire is reported here too. Catch-up runs and Trigger do not call it.
	OnFire func(job string, fire time.Time)
	// Rand returns a uniform random number in [0, n) for the jitter; nil means
	// math/rand/v2's Int64N.
	Rand func(n int64) int64
	// Logger receives the scheduler's own messages; the zero Logger discards them.
	Logger zerolog.Logger
}

// EntryInfo describes one job of the current set.
type EntryInfo struct {
	Name    string
	Group   string
	Next    time.Time // the next scheduled fire; zero before Start or if it never fires
	Prev    time.Time // the most recent scheduled fire, skipped or not; zero if none
	Running bool      // a run is in flight, or waiting for its jitter or a group slot
}

// entry is a job inside one cron instance.
type entry struct {
	job Job
	tr  *tracked
}

// generation is one cron instance with the job set it fires. A reload builds a new
// generation and swaps it in; the running-state and the group slots live in the
// Scheduler and so survive the swap.
type generation struct {
	cron    *cron.Cron
	entries map[string]*entry
}

// Scheduler fires jobs on their cron schedules through robfig/cron. Per job it adds a
// random jitter and never lets two runs overlap: a fire that finds the previous run
// still going (or still waiting for its jitter or slot) is skipped and reported through
// OnSkip. Per group it allows at most GroupLimits[group] runs at once: a fire waits for
// a slot, first come first served, and is never dropped for lack of one.
//
// Reload builds and validates a whole new job set, then stops the old cron instance and
// starts a new one. Which jobs are in flight and which group slots are held survive the
// swap, so a job running across a reload still blocks its next fire and still holds its
// slot. A fire due during the swap is delivered exactly once: a job that keeps its
// schedule resumes at the pending fire of the old instance, and a job whose schedule
// changed still gets the old schedule's fire if it came due before the swap, then
// follows its new schedule.
//
// The callbacks and Run are called from job goroutines, never from cron's loop, and may
// be called concurrently.
//
// Fires follow robfig/cron v3.0.1 exactly, quirks included. Across daylight saving
// changes a daily time inside the hour skipped in spring does not fire that day, and one
// inside the hour repeated in autumn fires twice, an hour apart; hourly schedules follow
// real hours. If cron's loop is held up (a slow Schedule.Next), it arms its next timer
// from the instant it last woke, so the following fire comes late by that delay; the
// job still receives the scheduled instant. A removed job's fire that came due in the
// very instant of a reload but was not yet delivered is dropped with the job.
type Scheduler struct {
	life sync.Mutex // serialises Start, Reload and Stop

	mu      sync.Mutex
	opts    Options
	log     zerolog.Logger
	gen     *generation
	started bool
	stopped bool
	running map[string]bool
	groups  map[string]*slots
	once    []onceReq
	probe   chan struct{} // closed when the outstanding Ping probe is answered

	wg          sync.WaitGroup // runs in flight, counted from the fire
	quit        chan struct{}  // closed by Stop: cancels jitter and slot waits
	cronStopped chan struct{}  // closed when Stop has stopped cron's loop
	runCtx      context.Context
	cancelRuns  context.CancelFunc
}

type onceReq struct {
	name string
	fire time.Time
}

// New validates the job set and builds a scheduler that fires nothing until Start.
func New(o Options, jobs []Job) (*Scheduler, error) {
	if err := validate(o, jobs); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		running:    make(map[string]bool),
		groups:     make(map[string]*slots),
		quit:       make(chan struct{}),
		runCtx:     ctx,
		cancelRuns: cancel,
	}
	s.applyOptions(o)
	s.gen = s.build(o, jobs, nil)
	return s, nil
}

// validate checks a whole job set and reports every problem at once.
func validate(o Options, jobs []Job) error {
	var errs []error
	seen := make(map[string]bool, len(jobs))
	for i, j := range jobs {
		name := j.Name
		if name == "" {
			errs = append(errs, fmt.Errorf("job %d: empty name", i))
			name = fmt.Sprintf("#%d", i)
		} else if seen[name] {
			errs = append(errs, fmt.Errorf("job %q: duplicate name", name))
		}
		seen[name] = true
		if j.Schedule == nil {
			errs = append(errs, fmt.Errorf("job %q: no schedule", name))
		}
		if j.Run == nil {
			errs = append(errs, fmt.Errorf("job %q: no run function", name))
		}
		if j.Jitter < 0 {
			errs = append(errs, fmt.Errorf("job %q: negative jitter %s", name, j.Jitter))
		}
		if j.Group != "" {
			if _, ok := o.GroupLimits[j.Group]; !ok {
				errs = append(errs, fmt.Errorf("job %q: group %q has no concurrency limit", name, j.Group))
			}
		}
	}
	groups := make([]string, 0, len(o.GroupLimits))
	for g := range o.GroupLimits {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		if n := o.GroupLimits[g]; n < 1 {
			errs = append(errs, fmt.Errorf("group %q: concurrency limit %d, want at least 1", g, n))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid job set: %w", errors.Join(errs...))
	}
	return nil
}

// applyOptions installs o and sets the group limits. The caller holds s.mu or owns s.
func (s *Scheduler) applyOptions(o Options) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Rand == nil {
		o.Rand = rand.Int64N
	}
	s.opts = o
	s.log = o.Logger.With().Str("component", "scheduler").Logger()
	for g, n := range o.GroupLimits {
		if m, ok := s.groups[g]; ok {
			m.setLimit(n)
		} else {
			s.groups[g] = newSlots(n)
		}
	}
}

// build makes a cron instance for jobs, not yet started. With old, each job continues
// the old instance's entry of the same name; old's cron must be stopped.
func (s *Scheduler) build(o Options, jobs []Job, old *generation) *generation {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	g := &generation{
		cron:    cron.New(cron.WithLocation(loc), cron.WithLogger(cronLogger{s.log})),
		entries: make(map[string]*entry, len(jobs)),
	}
	for _, j := range jobs {
		e := &entry{job: j, tr: newTracked(j.Schedule)}
		if old != nil {
			if oe, ok := old.entries[j.Name]; ok {
				e.tr.carryFrom(oe.tr)
			}
		}
		g.entries[j.Name] = e
		g.cron.Schedule(e.tr, cron.FuncJob(func() { s.fire(e.job, e.tr.take(), true) }))
	}
	return g
}

// Start starts firing, and runs the catch-up runs queued by RunOnce. It does nothing
// if the scheduler was started or stopped before.
func (s *Scheduler) Start() {
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	if s.started || s.stopped {
		s.mu.Unlock()
		return
	}
	s.started = true
	g := s.gen
	once := s.once
	s.once = nil
	s.mu.Unlock()

	startCron(g.cron)
	for _, r := range once {
		if e, ok := g.entries[r.name]; ok {
			go s.fire(e.job, r.fire, false)
		}
	}
	s.log.Debug().Int("jobs", len(g.entries)).Msg("scheduler started")
}

// startCron starts c and returns once c's loop has computed every entry's first fire,
// so that Next and Entries are meaningful as soon as Start or Reload returns.
func startCron(c *cron.Cron) {
	c.Start()
	c.Entries() // served by the loop only after it armed all entries
}

// Reload replaces the options and the job set. The new set is validated first; if it is
// invalid the old set keeps running untouched and the error is returned. Jobs are
// matched by name: see Scheduler for what carries over.
func (s *Scheduler) Reload(o Options, jobs []Job) error {
	if err := validate(o, jobs); err != nil {
		return err
	}
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	stopped, started, old := s.stopped, s.started, s.gen
	s.mu.Unlock()
	if stopped {
		return fmt.Errorf("reload: %w", ErrStopped)
	}
	if started {
		// Stop returns once cron's loop has left, so no fire of the old instance
		// starts after this point and each entry's pending fire is final.
		old.cron.Stop()
	}
	s.mu.Lock()
	s.applyOptions(o)
	g := s.build(o, jobs, old)
	s.gen = g
	s.mu.Unlock()
	if started {
		startCron(g.cron)
		for name, e := range g.entries {
			e.tr.mu.Lock()
			resumed, next := e.tr.resumed, e.tr.last
			e.tr.mu.Unlock()
			if resumed {
				s.log.Debug().Str("policy", name).Time("fire", next).Msg("fire due during reload delivered by the new schedule")
			}
		}
	}
	s.log.Debug().Int("jobs", len(g.entries)).Msg("scheduler reloaded")
	return nil
}

// Stop stops firing, cancels jitter and slot waits (those runs do not start), and waits
// for the runs in flight until ctx is done. If they have not finished by then, it
// cancels their context and returns an error that wraps ctx's error and names them.
// Stop may be called again to wait once more for runs that are still unwinding.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	first := !s.stopped
	s.stopped = true
	c := s.gen.cron
	s.mu.Unlock()
	if first {
		// Fires that cron still delivers find s.stopped set and do nothing, so the
		// waits can be cancelled before cron's loop has left. That loop is stopped in
		// the background so that a wedged loop cannot make Stop unbounded.
		close(s.quit)
		s.cronStopped = make(chan struct{})
		go func() {
			c.Stop()
			close(s.cronStopped)
		}()
		s.log.Debug().Msg("scheduler stopping")
	}
	done := make(chan struct{})
	go func() {
		<-s.cronStopped
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.cancelRuns()
	s.mu.Lock()
	var names []string
	for n, r := range s.running {
		if r {
			names = append(names, n)
		}
	}
	s.mu.Unlock()
	slices.Sort(names)
	select {
	case <-s.cronStopped:
	default:
		return fmt.Errorf("stop scheduler: cron's loop did not stop: %w", ctx.Err())
	}
	return fmt.Errorf("stop scheduler: runs still in flight (%s): %w", strings.Join(names, ", "), ctx.Err())
}

// Trigger runs the job now, synchronously, under the same rules as a scheduled fire but
// without jitter: it returns ErrRunning at once if the job is in flight, otherwise waits
// for a group slot (giving up when ctx is done or the scheduler stops) and returns the
// run's error. The run's context derives from ctx, so it carries ctx's values. While the
// triggered run is in flight, scheduled fires of the job are skipped.
func (s *Scheduler) Trigger(ctx context.Context, name string) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return fmt.Errorf("trigger %q: %w", name, ErrStopped)
	}
	e, ok := s.gen.entries[name]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("trigger %q: %w", name, ErrUnknownJob)
	}
	if s.running[name] {
		s.mu.Unlock()
		return fmt.Errorf("trigger %q: %w", name, ErrRunning)
	}
	s.running[name] = true
	sl := s.slotsFor(e.job.Group)
	log := s.log
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.finish(name)

	if sl != nil {
		switch sl.acquire(ctx.Done(), s.quit) {
		case 0:
			return fmt.Errorf("trigger %q: wait for a slot in group %q: %w", name, e.job.Group, ctx.Err())
		case 1:
			return fmt.Errorf("trigger %q: %w", name, ErrStopped)
		}
		defer sl.release()
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.runCtx, cancel)()
	return run(rctx, log, e.job, time.Time{})
}

// RunOnce runs the job once soon, with fire as its scheduled instant, under the normal
// rules (jitter, no overlap, group slot); OnFire is not called. Before Start the run is
// queued and starts with the scheduler; this is how a fire missed while the daemon was
// down is caught up.
func (s *Scheduler) RunOnce(name string, fire time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return fmt.Errorf("run %q once: %w", name, ErrStopped)
	}
	e, ok := s.gen.entries[name]
	if !ok {
		return fmt.Errorf("run %q once: %w", name, ErrUnknownJob)
	}
	if !s.started {
		s.once = append(s.once, onceReq{name, fire})
		return nil
	}
	go s.fire(e.job, fire, false)
	return nil
}

// Next returns the job's next scheduled fire, or zero if the job is unknown, the
// scheduler has not started, or the schedule never fires again.
func (s *Scheduler) Next(name string) time.Time {
	s.mu.Lock()
	e, ok := s.gen.entries[name]
	s.mu.Unlock()
	if !ok {
		return time.Time{}
	}
	next, _ := e.tr.state()
	return next
}

// Entries describes the current job set, sorted by name.
func (s *Scheduler) Entries() []EntryInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]EntryInfo, 0, len(s.gen.entries))
	for name, e := range s.gen.entries {
		next, prev := e.tr.state()
		out = append(out, EntryInfo{Name: name, Group: e.job.Group, Next: next, Prev: prev, Running: s.running[name]})
	}
	slices.SortFunc(out, func(a, b EntryInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Ping proves that the scheduler is alive, for the systemd watchdog: it asks cron's own
// loop for a snapshot of its entries (cron.Entries on a running instance is a request on
// a channel that only the loop serves) and then takes the scheduler's lock. If the loop
// or the lock is wedged, Ping returns ctx's error when ctx is done; a scheduler that is
// not running (before Start, after Stop) has no loop to answer and behaves the same.
// At most one probe is outstanding: concurrent Pings share it, so a wedged loop does
// not accumulate goroutines.
func (s *Scheduler) Ping(ctx context.Context) error {
	s.mu.Lock()
	if !s.started || s.stopped {
		s.mu.Unlock()
		<-ctx.Done()
		return fmt.Errorf("ping scheduler: not running: %w", ctx.Err())
	}
	probe := s.probe
	if probe == nil {
		probe = make(chan struct{})
		s.probe = probe
		c := s.gen.cron
		go func() {
			c.Entries()
			s.mu.Lock()
			s.probe = nil
			s.mu.Unlock()
			close(probe)
		}()
	}
	s.mu.Unlock()
	select {
	case <-probe:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ping scheduler: loop did not answer: %w", ctx.Err())
	}
}

// fire handles one fire of j: the overlap check, the jitter, the group slot and the
// run. scheduled is false for catch-up runs, which do not call OnFire.
func (s *Scheduler) fire(j Job, fire time.Time, scheduled bool) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	o, log := s.opts, s.log
	if s.running[j.Name] {
		s.mu.Unlock()
		if scheduled && o.OnFire != nil {
			o.OnFire(j.Name, fire)
		}
		log.Warn().Str("policy", j.Name).Str("nas", j.Group).Time("fire", fire).Msg("previous run still going; fire skipped")
		if o.OnSkip != nil {
			o.OnSkip(j.Name, fire)
		}
		return
	}
	s.running[j.Name] = true
	sl := s.slotsFor(j.Group)
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.finish(j.Name)
	if scheduled && o.OnFire != nil {
		o.OnFire(j.Name, fire)
	}

	var delay time.Duration
	if j.Jitter > 0 {
		delay = time.Duration(o.Rand(int64(j.Jitter)))
		delay = max(0, min(delay, j.Jitter-1))
	}
	log.Debug().Str("policy", j.Name).Str("nas", j.Group).Time("fire", fire).Dur("jitter", delay).Bool("catch_up", !scheduled).Msg("fired")
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.quit:
			t.Stop()
			return
		}
	}
	if sl != nil {
		if sl.acquire(nil, s.quit) >= 0 {
			return
		}
		defer sl.release()
	}
	start := time.Now()
	err := run(s.runCtx, log, j, fire)
	log.Debug().Err(err).Str("policy", j.Name).Str("nas", j.Group).Time("fire", fire).Dur("took", time.Since(start)).Msg("run finished")
}

// run calls j.Run and turns a panic into an error, so one bad run cannot take the
// daemon and every other schedule down with it.
func run(ctx context.Context, log zerolog.Logger, j Job, fire time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("run of %q panicked: %v", j.Name, r)
			log.Error().Str("policy", j.Name).Str("nas", j.Group).Err(err).Msg("run panicked")
		}
	}()
	return j.Run(ctx, fire)
}

// slotsFor returns the group's semaphore, nil for a job in no group. The caller holds
// s.mu.
func (s *Scheduler) slotsFor(group string) *slots {
	if group == "" {
		return nil
	}
	return s.groups[group]
}

// finish marks a run (or an abandoned wait) of name as over.
func (s *Scheduler) finish(name string) {
	s.mu.Lock()
	delete(s.running, name)
	s.mu.Unlock()
	s.wg.Done()
}

// cronLogger sends cron's own chatter (every wake, every fire) to trace level.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	l.log.Trace().Fields(kv).Msg("cron: " + msg)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error().Err(err).Fields(kv).Msg("cron: " + msg)
}
