package scheduler

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
)

// recorder collects what the scheduler does, keyed by job name.
type recorder struct {
	mu     sync.Mutex
	runs   map[string][]time.Time // fire instants passed to Run
	starts map[string][]time.Time // clock when Run started
	fires  map[string][]time.Time // OnFire
	skips  map[string][]time.Time // OnSkip

	cur, max map[string]int // runs in flight per group, and the most seen
}

func newRecorder() *recorder {
	return &recorder{
		runs: map[string][]time.Time{}, starts: map[string][]time.Time{},
		fires: map[string][]time.Time{}, skips: map[string][]time.Time{},
		cur: map[string]int{}, max: map[string]int{},
	}
}

func (r *recorder) onFire(job string, fire time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fires[job] = append(r.fires[job], fire)
}

func (r *recorder) onSkip(job string, fire time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skips[job] = append(r.skips[job], fire)
}

// run returns a Run func that records its fire, then sleeps for d (giving up early
// when its context is cancelled) and returns err.
func (r *recorder) run(name, group string, d time.Duration, err error) func(context.Context, time.Time) error {
	return func(ctx context.Context, fire time.Time) error {
		r.mu.Lock()
		r.runs[name] = append(r.runs[name], fire)
		r.starts[name] = append(r.starts[name], time.Now())
		r.cur[group]++
		r.max[group] = max(r.max[group], r.cur[group])
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			r.cur[group]--
			r.mu.Unlock()
		}()
		if d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return err
	}
}

func (r *recorder) get(m map[string][]time.Time, name string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), m[name]...)
}

// series returns n instants from first, step apart.
func series(first time.Time, step time.Duration, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = first.Add(time.Duration(i) * step)
	}
	return out
}

func concat(lists ...[]time.Time) []time.Time {
	var out []time.Time
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func checkTimes(t *testing.T, what string, got, want []time.Time) {
	t.Helper()
	if !equalInstants(got, want) {
		t.Errorf("%s = %d instants %s,\nwant %d instants %s", what, len(got), fmtTimes(got), len(want), fmtTimes(want))
	}
}

func newSched(t *testing.T, o Options, jobs []Job) *Scheduler {
	t.Helper()
	s, err := New(o, jobs)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func stop(t *testing.T, s *Scheduler) {
	t.Helper()
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// sleepUntil advances the bubble's clock to at.
func sleepUntil(at time.Time) {
	time.Sleep(time.Until(at))
}

// gated is a schedule whose Next can be made to block, to hold cron's loop still.
type gated struct {
	inner cron.Schedule
	mu    sync.Mutex
	gate  chan struct{}
}

// hold makes the next call of Next block until the returned channel is closed.
func (g *gated) hold() chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
	return g.gate
}

func (g *gated) Next(t time.Time) time.Time {
	g.mu.Lock()
	c := g.gate
	g.gate = nil
	g.mu.Unlock()
	if c != nil {
		<-c
	}
	return g.inner.Next(t)
}

// logBuffer is a goroutine-safe log sink for a zerolog.Logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns the number of log lines that contain every one of subs.
func (b *logBuffer) count(subs ...string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for line := range strings.Lines(b.buf.String()) {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}

func (b *logBuffer) logger() zerolog.Logger {
	return zerolog.New(b).Level(zerolog.DebugLevel)
}
