package scheduler

import (
	"time"

	"github.com/robfig/cron/v3"
)

// MaxMissed caps the count Missed returns, so that a frequent schedule over a long outage
// is counted quickly: robfig's Next costs about 15µs for a once-a-minute spec, so a
// million fires would hold the daemon's start for seconds. A count of MaxMissed means
// "at least that many". The latest missed fire is exact even when the count is capped.
const MaxMissed = 10_000

// Missed reports the fires of sched after last and up to now (both ends: last < t <=
// now): how many there were, capped at MaxMissed, and the latest of them. last is the
// most recent fire the daemon recorded; a zero last means nothing was recorded, so
// nothing counts as missed. Missed never reads the clock.
//
// Missed asks sched exactly as cron does, so it inherits robfig/cron's daylight saving
// behaviour: a daily time inside the hour skipped in spring has no fire that day, and a
// time inside the hour repeated in autumn fires twice.
func Missed(sched cron.Schedule, last, now time.Time) (count int, latest time.Time) {
	if sched == nil || last.IsZero() || !now.After(last) {
		return 0, time.Time{}
	}
	for t := sched.Next(last); !t.IsZero() && !t.After(now); {
		count++
		latest = t
		if count == MaxMissed {
			return count, latestFire(sched, latest, now)
		}
		n := sched.Next(t)
		if !n.After(t) {
			break
		}
		t = n
	}
	return count, latest
}

// latestFire returns the last fire of sched at or before now, given that from <= now is
// a fire. It looks back from now in doubling steps until a fire lies in the step, then
// walks forward, so its cost depends on the gap between fires, not on now-from.
func latestFire(sched cron.Schedule, from, now time.Time) time.Time {
	start := from
	for step := time.Second; now.Add(-step).After(from); step *= 2 {
		if t := sched.Next(now.Add(-step)); !t.IsZero() && !t.After(now) {
			start = t
			break
		}
	}
	for range MaxMissed {
		n := sched.Next(start)
		if n.IsZero() || n.After(now) || !n.After(start) {
			break
		}
		start = n
	}
	return start
}
