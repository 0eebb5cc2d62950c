package scheduler

import (
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// tracked wraps a job's schedule inside one cron instance. cron runs a job without
// telling it which scheduled instant fired it, so tracked records every instant that
// cron's loop obtained from Next: cron calls Next once when the entry is armed and then
// once right after each fire, in its own loop, so the k-th value Next returned is the
// instant of the k-th fire. The job's goroutine takes its instant from the queue.
//
// The wrapper also carries a job across a reload: the first Next of the new instance
// resumes from the old instance's pending fire instead of from cron's "now", so that a
// fire due during the swap is neither lost nor doubled.
type tracked struct {
	inner cron.Schedule

	mu      sync.Mutex
	armed   bool        // Next has been called at least once
	last    time.Time   // the value Next returned most recently: the pending fire
	prev    time.Time   // the instant of the most recent fire
	fired   []time.Time // fired instants not yet taken by their job goroutine
	ahead   int         // fires taken by their goroutine before Next queued them
	carry   bool        // resume from the old instance's pending fire
	resume  time.Time   // the old instance's pending fire, never fired there
	same    bool        // the old instance had an identical schedule
	resumed bool        // the first Next returned a carried fire that was already due
}

func newTracked(inner cron.Schedule) *tracked {
	return &tracked{inner: inner}
}

// carryFrom makes t continue old, which must belong to a cron instance that has been
// stopped, so that old.last is a fire old will never deliver.
func (t *tracked) carryFrom(old *tracked) {
	old.mu.Lock()
	defer old.mu.Unlock()
	if !old.armed {
		return
	}
	t.carry = true
	t.resume = old.last
	t.prev = old.prev
	t.same = sameSchedule(old.inner, t.inner)
}

// Next implements cron.Schedule. Only cron's loop calls it. The lock is not held while
// the inner schedule computes, so Entries and Next stay responsive even if it is slow.
func (t *tracked) Next(now time.Time) time.Time {
	t.mu.Lock()
	armed, carry, same, resume := t.armed, t.carry, t.same, t.resume
	if armed {
		// cron asks again only after it fired the previous value.
		if t.ahead > 0 {
			t.ahead--
		} else {
			t.fired = append(t.fired, t.last)
		}
		t.prev = t.last
	}
	t.mu.Unlock()

	var next time.Time
	resumed := false
	switch {
	case armed:
		next = t.inner.Next(now)
	case carry && same:
		// An unchanged schedule keeps its pending fire exactly, whether it is still
		// ahead (cron fires it on time) or already due (cron fires it at once). For
		// @every this also keeps the phase, so frequent reloads never postpone it.
		next = resume
		resumed = !next.IsZero() && !next.After(now)
	case carry && !resume.IsZero() && !resume.After(now):
		// The old schedule's fire came due before the swap but the old loop was
		// stopped before delivering it: it belongs to the old configuration and runs
		// now; the new schedule applies from the next fire on.
		next = resume
		resumed = true
	default:
		next = t.inner.Next(now)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	t.armed = true
	t.last = next
	t.resumed = t.resumed || resumed
	return next
}

// take returns the instant of the fire whose job goroutine is calling. cron starts that
// goroutine before it calls Next for the entry again, so the instant may not be queued
// yet: the queue is then empty and the value Next returned last is the one that fired.
func (t *tracked) take() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fired) == 0 {
		t.ahead++
		return t.last
	}
	f := t.fired[0]
	t.fired = t.fired[1:]
	return f
}

// state returns the pending fire and the most recent fire.
func (t *tracked) state() (next, prev time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last, t.prev
}

// sameSchedule reports whether a and b fire at the same instants. Locations are compared
// by name because each load of a zone yields a distinct *time.Location.
func sameSchedule(a, b cron.Schedule) bool {
	switch x := a.(type) {
	case *cron.SpecSchedule:
		y, ok := b.(*cron.SpecSchedule)
		if !ok || x == nil || y == nil {
			return ok && x == y
		}
		return x.Second == y.Second && x.Minute == y.Minute && x.Hour == y.Hour &&
			x.Dom == y.Dom && x.Month == y.Month && x.Dow == y.Dow &&
			locName(x.Location) == locName(y.Location)
	case cron.ConstantDelaySchedule:
		y, ok := b.(cron.ConstantDelaySchedule)
		return ok && x.Delay == y.Delay
	}
	return false
}

func locName(l *time.Location) string {
	if l == nil {
		return "UTC"
	}
	return l.String()
}
