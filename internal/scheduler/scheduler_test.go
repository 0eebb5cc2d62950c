package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Every test here runs the real robfig/cron inside a synctest bubble: the clock is fake,
// starts at 2000-01-01 00:00 UTC (a Saturday), and advances only when every goroutine
// of the bubble is blocked, so a simulated week takes milliseconds.

var bubbleStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func utcAt(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, time.UTC)
}

func TestSimulatedWeek(t *testing.T) {
	realStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		if now := time.Now(); !now.Equal(bubbleStart) {
			t.Fatalf("bubble starts at %v, want %v", now, bubbleStart)
		}
		berlin := mustLoad(t, "Europe/Berlin")
		rec := newRecorder()
		jobs := []Job{
			{Name: "hourly", Group: "nas", Schedule: mustParse(t, "0 * * * *", berlin), Run: rec.run("hourly", "nas", 5*time.Minute, nil)},
			{Name: "daily", Group: "nas", Schedule: mustParse(t, "30 3 * * *", berlin), Run: rec.run("daily", "nas", 20*time.Minute, nil)},
			{Name: "workdays-ny", Group: "nas", Schedule: mustParse(t, "CRON_TZ=America/New_York 0 9 * * 1-5", berlin), Run: rec.run("workdays-ny", "nas", time.Minute, nil)},
		}
		s := newSched(t, Options{Location: berlin, GroupLimits: map[string]int{"nas": 2}, OnFire: rec.onFire, OnSkip: rec.onSkip}, jobs)
		s.Start()
		sleepUntil(bubbleStart.Add(7*24*time.Hour + 30*time.Minute))
		stop(t, s)

		want := map[string][]time.Time{
			"hourly": series(utcAt(2000, 1, 1, 1, 0), time.Hour, 7*24),
			// 03:30 in Berlin is 02:30 UTC in winter.
			"daily": series(utcAt(2000, 1, 1, 2, 30), 24*time.Hour, 7),
			// Monday 3 to Friday 7 January, 09:00 EST is 14:00 UTC.
			"workdays-ny": series(utcAt(2000, 1, 3, 14, 0), 24*time.Hour, 5),
		}
		for name, w := range want {
			checkTimes(t, name+" runs", rec.get(rec.runs, name), w)
			checkTimes(t, name+" run starts", rec.get(rec.starts, name), w)
			checkTimes(t, name+" OnFire", rec.get(rec.fires, name), w)
			checkTimes(t, name+" OnSkip", rec.get(rec.skips, name), nil)
		}
	})
	t.Logf("simulated week took %v of real time", time.Since(realStart))
}

// TestSimulatedDSTWeeks runs real cron through daylight saving changes. robfig/cron
// v3.0.1 skips a daily time inside the hour lost in spring (no run that day) and runs a
// daily time inside the hour repeated in autumn twice, once per offset; an hourly
// schedule follows real hours. The tests pin that behaviour.
func TestSimulatedDSTWeeks(t *testing.T) {
	tests := []struct {
		name  string
		zone  string
		from  time.Time
		daily string
		want  []time.Time // daily runs in UTC
	}{
		{
			name: "berlin spring forward", zone: "Europe/Berlin", from: utcAt(2000, 3, 22, 0, 0), daily: "30 2 * * *",
			want: concat(series(utcAt(2000, 3, 22, 1, 30), 24*time.Hour, 4), series(utcAt(2000, 3, 27, 0, 30), 24*time.Hour, 2)),
		},
		{
			name: "berlin fall back", zone: "Europe/Berlin", from: utcAt(2000, 10, 25, 0, 0), daily: "30 2 * * *",
			want: concat(series(utcAt(2000, 10, 25, 0, 30), 24*time.Hour, 5), series(utcAt(2000, 10, 29, 1, 30), 24*time.Hour, 3)),
		},
		{
			name: "berlin fall back outside the repeated hour", zone: "Europe/Berlin", from: utcAt(2000, 10, 25, 0, 0), daily: "30 3 * * *",
			want: concat(series(utcAt(2000, 10, 25, 1, 30), 24*time.Hour, 4), series(utcAt(2000, 10, 29, 2, 30), 24*time.Hour, 3)),
		},
		{
			name: "new york spring forward", zone: "America/New_York", from: utcAt(2000, 3, 29, 0, 0), daily: "30 2 * * *",
			want: concat(series(utcAt(2000, 3, 29, 7, 30), 24*time.Hour, 4), series(utcAt(2000, 4, 3, 6, 30), 24*time.Hour, 2)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				loc := mustLoad(t, tt.zone)
				sleepUntil(tt.from)
				rec := newRecorder()
				jobs := []Job{
					{Name: "daily", Schedule: mustParse(t, tt.daily, loc), Run: rec.run("daily", "", time.Minute, nil)},
					{Name: "hourly", Schedule: mustParse(t, "0 * * * *", loc), Run: rec.run("hourly", "", time.Minute, nil)},
				}
				s := newSched(t, Options{Location: loc, OnFire: rec.onFire}, jobs)
				s.Start()
				sleepUntil(tt.from.Add(7 * 24 * time.Hour).Add(-time.Minute))
				stop(t, s)
				checkTimes(t, "daily runs", rec.get(rec.runs, "daily"), tt.want)
				checkTimes(t, "hourly runs", rec.get(rec.runs, "hourly"), series(tt.from.Add(time.Hour), time.Hour, 7*24-1))
			})
		})
	}
}

func TestNoOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		jobs := []Job{{Name: "slow", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run("slow", "", 90*time.Minute, nil)}}
		s := newSched(t, Options{OnFire: rec.onFire, OnSkip: rec.onSkip}, jobs)
		s.Start()
		sleepUntil(utcAt(2000, 1, 1, 1, 30))
		if e := s.Entries(); len(e) != 1 || !e[0].Running {
			t.Errorf("Entries() during the run = %+v, want slow running", e)
		}
		sleepUntil(utcAt(2000, 1, 1, 6, 45))
		if e := s.Entries(); len(e) != 1 || e[0].Running {
			t.Errorf("Entries() after the run = %+v, want slow not running", e)
		}
		stop(t, s)
		hour := func(h int) time.Time { return utcAt(2000, 1, 1, h, 0) }
		checkTimes(t, "runs", rec.get(rec.runs, "slow"), []time.Time{hour(1), hour(3), hour(5)})
		checkTimes(t, "skips", rec.get(rec.skips, "slow"), []time.Time{hour(2), hour(4), hour(6)})
		checkTimes(t, "OnFire", rec.get(rec.fires, "slow"), series(hour(1), time.Hour, 6))
	})
}

func TestGroupLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		names := []string{"j0", "j1", "j2", "j3", "j4"}
		var jobs []Job
		for _, n := range names {
			jobs = append(jobs, Job{Name: n, Group: "nas", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run(n, "nas", 10*time.Minute, nil)})
		}
		jobs = append(jobs, Job{Name: "free", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run("free", "", 10*time.Minute, nil)})
		s := newSched(t, Options{GroupLimits: map[string]int{"nas": 2, "unused": 1}, OnSkip: rec.onSkip}, jobs)
		s.Start()
		sleepUntil(utcAt(2000, 1, 2, 0, 45))
		stop(t, s)

		fires := series(utcAt(2000, 1, 1, 1, 0), time.Hour, 24)
		offsets := map[time.Time][]time.Duration{}
		for _, n := range names {
			checkTimes(t, n+" runs", rec.get(rec.runs, n), fires)
			runs, starts := rec.get(rec.runs, n), rec.get(rec.starts, n)
			for i := range runs {
				offsets[runs[i]] = append(offsets[runs[i]], starts[i].Sub(runs[i]))
			}
			checkTimes(t, n+" skips", rec.get(rec.skips, n), nil)
		}
		checkTimes(t, "free runs", rec.get(rec.starts, "free"), fires)
		rec.mu.Lock()
		gotMax := rec.max["nas"]
		rec.mu.Unlock()
		if gotMax != 2 {
			t.Errorf("most runs in flight in group nas = %d, want 2", gotMax)
		}
		// Two start at the fire, two when the first pair ends, the last after that:
		// waiting fires are delayed, never dropped.
		want := []time.Duration{0, 0, 10 * time.Minute, 10 * time.Minute, 20 * time.Minute}
		for _, f := range fires {
			got := offsets[f]
			sortDurations(got)
			if !equalDurations(got, want) {
				t.Errorf("start delays of the fire at %v = %v, want %v", f, got, want)
			}
		}
	})
}

func sortDurations(d []time.Duration) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestJitter(t *testing.T) {
	tests := []struct {
		name  string
		draws []int64         // what Rand returns, in turn
		want  []time.Duration // the delays that follow
	}{
		{
			name:  "within bounds",
			draws: []int64{0, int64(3 * time.Minute), int64(10*time.Minute - 1), int64(7 * time.Minute)},
			want:  []time.Duration{0, 3 * time.Minute, 10*time.Minute - 1, 7 * time.Minute},
		},
		{
			name:  "out of range draws are clamped",
			draws: []int64{-5, int64(10 * time.Minute), int64(time.Hour)},
			want:  []time.Duration{0, 10*time.Minute - 1, 10*time.Minute - 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecorder()
				var mu sync.Mutex
				var ns []int64
				i := 0
				rnd := func(n int64) int64 {
					mu.Lock()
					defer mu.Unlock()
					ns = append(ns, n)
					v := tt.draws[i%len(tt.draws)]
					i++
					return v
				}
				jobs := []Job{{Name: "j", Schedule: mustParse(t, "0 * * * *", nil), Jitter: 10 * time.Minute, Run: rec.run("j", "", 0, nil)}}
				s := newSched(t, Options{Rand: rnd, OnFire: rec.onFire}, jobs)
				s.Start()
				sleepUntil(utcAt(2000, 1, 1, 8, 30))
				stop(t, s)

				fires := series(utcAt(2000, 1, 1, 1, 0), time.Hour, 8)
				checkTimes(t, "runs", rec.get(rec.runs, "j"), fires)
				checkTimes(t, "OnFire", rec.get(rec.fires, "j"), fires)
				starts := rec.get(rec.starts, "j")
				for k := range fires {
					want := tt.want[k%len(tt.want)]
					if k >= len(starts) {
						break
					}
					if got := starts[k].Sub(fires[k]); got != want {
						t.Errorf("delay of the fire at %v = %v, want %v", fires[k], got, want)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				for _, n := range ns {
					if n != int64(10*time.Minute) {
						t.Errorf("Rand(%d), want Rand(%d)", n, int64(10*time.Minute))
					}
				}
				if len(ns) != len(fires) {
					t.Errorf("Rand called %d times, want %d", len(ns), len(fires))
				}
			})
		})
	}
}

func TestReloadMidWeek(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		job := func(name, spec string) Job {
			return Job{Name: name, Group: "nas", Schedule: mustParse(t, spec, nil), Run: rec.run(name, "nas", time.Minute, nil)}
		}
		o := Options{GroupLimits: map[string]int{"nas": 10}, OnFire: rec.onFire, OnSkip: rec.onSkip}
		s := newSched(t, o, []Job{
			job("a", "0 * * * *"),
			job("b", "0 3 * * *"),
			job("c", "30 * * * *"),
			job("e", "@every 7h"),
			job("f", "@every 5h"),
		})
		s.Start()
		h := func(d float64) time.Time { return bubbleStart.Add(time.Duration(d * float64(time.Hour))) }
		reloadAt := h(84).Add(10 * time.Minute)
		sleepUntil(reloadAt)
		if err := s.Reload(o, []Job{
			job("a", "0 * * * *"),   // unchanged
			job("b", "0 */6 * * *"), // changed
			job("d", "15 * * * *"),  // added; c is removed
			job("e", "@every 7h"),   // unchanged: keeps its phase
			job("f", "@every 2h"),   // changed: counts from the reload
		}); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		entries := s.Entries()
		var names []string
		for _, e := range entries {
			names = append(names, e.Name)
		}
		if got := strings.Join(names, " "); got != "a b d e f" {
			t.Errorf("Entries() names after reload = %q, want %q", got, "a b d e f")
		}
		if a := entries[0]; !a.Prev.Equal(h(84)) || !a.Next.Equal(h(85)) {
			t.Errorf("Entries() a after reload = prev %v next %v, want %v and %v", a.Prev, a.Next, h(84), h(85))
		}
		if got := s.Next("f"); !got.Equal(reloadAt.Add(2 * time.Hour)) {
			t.Errorf("Next(f) after reload = %v, want %v", got, reloadAt.Add(2*time.Hour))
		}
		end := h(168.5)
		sleepUntil(end)
		stop(t, s)

		checkTimes(t, "a runs", rec.get(rec.runs, "a"), series(h(1), time.Hour, 168))
		checkTimes(t, "b runs", rec.get(rec.runs, "b"), concat(series(h(3), 24*time.Hour, 4), series(h(90), 6*time.Hour, 14)))
		checkTimes(t, "c runs", rec.get(rec.runs, "c"), series(h(0.5), time.Hour, 84))
		checkTimes(t, "d runs", rec.get(rec.runs, "d"), series(h(84.25), time.Hour, 85))
		checkTimes(t, "e runs", rec.get(rec.runs, "e"), series(h(7), 7*time.Hour, 24))
		checkTimes(t, "f runs", rec.get(rec.runs, "f"), concat(series(h(5), 5*time.Hour, 16), series(reloadAt.Add(2*time.Hour), 2*time.Hour, 42)))
		for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
			checkTimes(t, n+" skips", rec.get(rec.skips, n), nil)
		}
	})
}

// TestReloadAtFireInstant reloads exactly when fires are due, many times, and checks that
// every fire runs exactly once. Plain reloads at the fire instant let the old cron
// deliver the fire (its timer is served first). To reach the other case, where the old
// loop is stopped before it delivers a due fire, the loop is held inside another job's
// Next across the fire instant: once released, robfig arms its timer from the instant
// it last woke, so the pending stop request is served first and the new cron must
// deliver the due fire.
func TestReloadAtFireInstant(t *testing.T) {
	for _, changed := range []bool{false, true} {
		name := "same schedule"
		if changed {
			name = "changed schedule"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecorder()
				logs := &logBuffer{}
				hold := &gated{inner: mustParse(t, "59 * * * *", nil)}
				hourly := mustParse(t, "0 * * * *", nil)
				jobs := func(i int) []Job {
					a := mustParse(t, "0 * * * *", nil)
					if changed && i%2 == 1 {
						// Same instants, different spec: takes the changed-schedule path.
						a = mustParse(t, "0 0-23 * * *", nil)
					}
					return []Job{
						{Name: "a", Schedule: a, Run: rec.run("a", "", 0, nil)},
						{Name: "hold", Schedule: hold, Run: rec.run("hold", "", 0, nil)},
						{Name: "plain", Schedule: hourly, Run: rec.run("plain", "", 0, nil)},
					}
				}
				o := Options{OnFire: rec.onFire, OnSkip: rec.onSkip, Logger: logs.logger()}
				s := newSched(t, o, jobs(0))
				s.Start()
				due := func() int { return logs.count(`"policy":"a"`, "fire due during reload") }

				const plain, held = 24, 24
				for i := 1; i <= plain; i++ {
					sleepUntil(bubbleStart.Add(time.Duration(i) * time.Hour))
					if err := s.Reload(o, jobs(i)); err != nil {
						t.Fatalf("Reload: %v", err)
					}
				}
				duePlain := due()
				for i := plain + 1; i <= plain+held; i++ {
					at := bubbleStart.Add(time.Duration(i) * time.Hour)
					sleepUntil(at.Add(-2 * time.Minute))
					gate := hold.hold() // blocks cron's loop right after hold fires at :59
					sleepUntil(at.Add(time.Minute))
					errc := make(chan error, 1)
					go func() { errc <- s.Reload(o, jobs(i)) }()
					synctest.Wait() // the reload now waits for the held loop to stop
					close(gate)
					if err := <-errc; err != nil {
						t.Fatalf("Reload: %v", err)
					}
				}
				last := plain + held
				sleepUntil(bubbleStart.Add(time.Duration(last)*time.Hour + 30*time.Minute))
				stop(t, s)

				t.Logf("fires due during the swap delivered by the new cron: %d of %d plain reloads, %d of %d held reloads", duePlain, plain, due()-duePlain, held)
				if got := due() - duePlain; got != held {
					t.Errorf("held reloads whose due fire the new cron delivered = %d, want %d", got, held)
				}
				fires := series(bubbleStart.Add(time.Hour), time.Hour, last)
				checkTimes(t, "a runs", rec.get(rec.runs, "a"), fires)
				checkTimes(t, "a OnFire", rec.get(rec.fires, "a"), fires)
				checkTimes(t, "plain runs", rec.get(rec.runs, "plain"), fires)
				checkTimes(t, "hold runs", rec.get(rec.runs, "hold"), series(bubbleStart.Add(59*time.Minute), time.Hour, last))
				checkTimes(t, "a skips", rec.get(rec.skips, "a"), nil)
			})
		})
	}
}

func TestReloadInvalidKeepsOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		o := Options{GroupLimits: map[string]int{"nas": 1}, OnFire: rec.onFire}
		s := newSched(t, o, []Job{{Name: "a", Group: "nas", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run("a", "nas", 0, nil)}})
		s.Start()
		sleepUntil(utcAt(2000, 1, 1, 10, 10))
		run := func(context.Context, time.Time) error { return nil }
		bad := []Job{
			{Name: "a", Group: "nas", Schedule: mustParse(t, "0 * * * *", nil), Run: run},
			{Name: "a", Group: "nas", Schedule: mustParse(t, "0 * * * *", nil), Run: run},
			{Name: "b", Group: "nas", Run: run},
			{Name: "c", Group: "other", Schedule: mustParse(t, "0 * * * *", nil), Run: run},
			{Name: "", Schedule: mustParse(t, "0 * * * *", nil), Run: run},
			{Name: "d", Schedule: mustParse(t, "0 * * * *", nil)},
			{Name: "e", Schedule: mustParse(t, "0 * * * *", nil), Jitter: -time.Second, Run: run},
		}
		badOpts := Options{GroupLimits: map[string]int{"nas": 0}}
		err := s.Reload(badOpts, bad)
		if err == nil {
			t.Fatal("Reload(bad set) = nil, want an error")
		}
		for _, want := range []string{
			`job "a": duplicate name`,
			`job "b": no schedule`,
			`job "c": group "other" has no concurrency limit`,
			`job 4: empty name`,
			`job "d": no run function`,
			`job "e": negative jitter -1s`,
			`group "nas": concurrency limit 0, want at least 1`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Reload(bad set) = %q, want it to contain %q", err, want)
			}
		}
		if e := s.Entries(); len(e) != 1 || e[0].Name != "a" || !e[0].Next.Equal(utcAt(2000, 1, 1, 11, 0)) {
			t.Errorf("Entries() after a failed reload = %+v, want only a, next at 11:00", e)
		}
		sleepUntil(utcAt(2000, 1, 2, 0, 30))
		stop(t, s)
		checkTimes(t, "a runs", rec.get(rec.runs, "a"), series(utcAt(2000, 1, 1, 1, 0), time.Hour, 24))
	})
}

// TestReloadKeepsRunningState checks that what is in flight survives a reload: a run
// across the reload still blocks its job's next fire and still holds its group slot,
// and the in-flight run of a removed job finishes and is waited for by Stop.
func TestReloadKeepsRunningState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		var mu sync.Mutex
		var goneErr error
		goneDone := false
		gone := func(ctx context.Context, fire time.Time) error {
			select {
			case <-time.After(3 * time.Hour):
			case <-ctx.Done():
				mu.Lock()
				goneErr = ctx.Err()
				mu.Unlock()
			}
			mu.Lock()
			goneDone = true
			mu.Unlock()
			return nil
		}
		mk := func(slowRun func(context.Context, time.Time) error) []Job {
			return []Job{
				{Name: "slow", Group: "nas", Schedule: mustParse(t, "0 * * * *", nil), Run: slowRun},
				{Name: "other", Group: "nas", Schedule: mustParse(t, "5 * * * *", nil), Run: rec.run("other", "nas", time.Minute, nil)},
			}
		}
		o := Options{GroupLimits: map[string]int{"nas": 1}, OnSkip: rec.onSkip, OnFire: rec.onFire}
		jobs := append(mk(rec.run("slow", "nas", 90*time.Minute, nil)),
			Job{Name: "gone", Group: "solo", Schedule: mustParse(t, "0 1 * * *", nil), Run: gone})
		o.GroupLimits["solo"] = 1
		s := newSched(t, o, jobs)
		s.Start()
		sleepUntil(utcAt(2000, 1, 1, 1, 30)) // slow runs 01:00-02:30, gone 01:00-04:00
		o2 := Options{GroupLimits: map[string]int{"nas": 1}, OnSkip: rec.onSkip, OnFire: rec.onFire}
		if err := s.Reload(o2, mk(rec.run("slow", "nas", 10*time.Minute, nil))); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		sleepUntil(utcAt(2000, 1, 1, 5, 30))
		stop(t, s)

		hour := func(h, m int) time.Time { return utcAt(2000, 1, 1, h, m) }
		// 02:00 finds the run from 01:00 still going across the reload.
		checkTimes(t, "slow skips", rec.get(rec.skips, "slow"), []time.Time{hour(2, 0)})
		checkTimes(t, "slow runs", rec.get(rec.runs, "slow"), []time.Time{hour(1, 0), hour(3, 0), hour(4, 0), hour(5, 0)})
		// other's 01:05 and 02:05 fires wait for the slot slow holds until 02:30.
		checkTimes(t, "other runs", rec.get(rec.runs, "other"), []time.Time{hour(0, 5), hour(1, 5), hour(3, 5), hour(4, 5), hour(5, 5)})
		checkTimes(t, "other run starts", rec.get(rec.starts, "other"), []time.Time{hour(0, 5), hour(2, 30), hour(3, 10), hour(4, 10), hour(5, 10)})
		checkTimes(t, "other skips", rec.get(rec.skips, "other"), []time.Time{hour(2, 5)})
		mu.Lock()
		defer mu.Unlock()
		if !goneDone || goneErr != nil {
			t.Errorf("removed job's run: done %v, ctx error %v; want it to finish uncancelled", goneDone, goneErr)
		}
		checkTimes(t, "gone OnFire", rec.get(rec.fires, "gone"), []time.Time{hour(1, 0)})
	})
}

func TestReloadRaisesGroupLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		jobs := []Job{
			{Name: "a", Group: "nas", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run("a", "nas", 30*time.Minute, nil)},
			{Name: "b", Group: "nas", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run("b", "nas", 30*time.Minute, nil)},
		}
		s := newSched(t, Options{GroupLimits: map[string]int{"nas": 1}}, jobs)
		s.Start()
		sleepUntil(utcAt(2000, 1, 1, 1, 10))
		if err := s.Reload(Options{GroupLimits: map[string]int{"nas": 2}}, jobs); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		sleepUntil(utcAt(2000, 1, 1, 2, 45))
		stop(t, s)
		starts := concat(rec.get(rec.starts, "a"), rec.get(rec.starts, "b"))
		// At 01:00 one waits; the higher limit lets it start at the reload.
		checkTimes(t, "run starts", starts, []time.Time{utcAt(2000, 1, 1, 1, 0), utcAt(2000, 1, 1, 1, 10), utcAt(2000, 1, 1, 2, 0), utcAt(2000, 1, 1, 2, 0)})
	})
}

func TestStop(t *testing.T) {
	t.Run("waits for a run in flight", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec := newRecorder()
			var runErr error
			jobs := []Job{{Name: "a", Schedule: mustParse(t, "0 * * * *", nil), Run: func(ctx context.Context, fire time.Time) error {
				runErr = rec.run("a", "", 10*time.Minute, nil)(ctx, fire)
				return runErr
			}}}
			s := newSched(t, Options{}, jobs)
			s.Start()
			sleepUntil(utcAt(2000, 1, 1, 1, 5))
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			if err := s.Stop(ctx); err != nil {
				t.Errorf("Stop = %v, want nil", err)
			}
			if now := time.Now(); !now.Equal(utcAt(2000, 1, 1, 1, 10)) {
				t.Errorf("Stop returned at %v, want when the run ended at 01:10", now)
			}
			if runErr != nil {
				t.Errorf("run ended with %v, want nil", runErr)
			}
			sleepUntil(utcAt(2000, 1, 1, 5, 0))
			checkTimes(t, "runs", rec.get(rec.runs, "a"), []time.Time{utcAt(2000, 1, 1, 1, 0)})
		})
	})
	t.Run("cancels the run when the grace period ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ended := make(chan error, 1)
			jobs := []Job{{Name: "a", Schedule: mustParse(t, "0 * * * *", nil), Run: func(ctx context.Context, fire time.Time) error {
				select {
				case <-time.After(time.Hour):
					ended <- nil
				case <-ctx.Done():
					time.Sleep(time.Second) // some unwinding
					ended <- ctx.Err()
				}
				return nil
			}}}
			s := newSched(t, Options{}, jobs)
			s.Start()
			sleepUntil(utcAt(2000, 1, 1, 1, 5))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := s.Stop(ctx)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "(a)") {
				t.Errorf("Stop = %v, want a deadline error naming a", err)
			}
			if now := time.Now(); !now.Equal(utcAt(2000, 1, 1, 1, 6)) {
				t.Errorf("Stop returned at %v, want at the end of the grace period, 01:06", now)
			}
			if err := s.Stop(context.Background()); err != nil {
				t.Errorf("second Stop = %v, want nil once the run unwound", err)
			}
			if err := <-ended; !errors.Is(err, context.Canceled) {
				t.Errorf("run's context error = %v, want context.Canceled", err)
			}
		})
	})
	t.Run("cancels jitter and slot waits", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec := newRecorder()
			jobs := []Job{
				{Name: "holder", Group: "nas", Schedule: mustParse(t, "0 1 * * *", nil), Run: rec.run("holder", "nas", time.Hour, nil)},
				{Name: "waiter", Group: "nas", Schedule: mustParse(t, "2 1 * * *", nil), Run: rec.run("waiter", "nas", 0, nil)},
				{Name: "jittered", Schedule: mustParse(t, "0 1 * * *", nil), Jitter: time.Hour, Run: rec.run("jittered", "", 0, nil)},
			}
			rnd := func(n int64) int64 { return int64(30 * time.Minute) }
			s := newSched(t, Options{GroupLimits: map[string]int{"nas": 1}, Rand: rnd}, jobs)
			s.Start()
			sleepUntil(utcAt(2000, 1, 1, 1, 5))
			trig := make(chan error, 1)
			go func() { trig <- s.Trigger(context.Background(), "jittered") }()
			synctest.Wait()
			if err := <-trig; !errors.Is(err, ErrRunning) {
				t.Errorf("Trigger during the jitter wait = %v, want ErrRunning", err)
			}
			go func() { trig <- s.Trigger(context.Background(), "holder") }()
			synctest.Wait()
			if err := <-trig; !errors.Is(err, ErrRunning) {
				t.Errorf("Trigger of a running job = %v, want ErrRunning", err)
			}
			if err := s.Stop(context.Background()); err != nil {
				t.Errorf("Stop = %v", err)
			}
			if now := time.Now(); !now.Equal(utcAt(2000, 1, 1, 2, 0)) {
				t.Errorf("Stop returned at %v, want when holder ended at 02:00", now)
			}
			sleepUntil(utcAt(2000, 1, 1, 3, 0))
			checkTimes(t, "holder runs", rec.get(rec.runs, "holder"), []time.Time{utcAt(2000, 1, 1, 1, 0)})
			checkTimes(t, "waiter runs", rec.get(rec.runs, "waiter"), nil)
			checkTimes(t, "jittered runs", rec.get(rec.runs, "jittered"), nil)
		})
	})
	t.Run("bounded when cron's loop is wedged", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hold := &gated{inner: mustParse(t, "30 * * * *", nil)}
			rec := newRecorder()
			s := newSched(t, Options{}, []Job{{Name: "hold", Schedule: hold, Run: rec.run("hold", "", 0, nil)}})
			s.Start()
			gate := hold.hold()
			sleepUntil(utcAt(2000, 1, 1, 0, 40)) // the loop is stuck since 00:30
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := s.Stop(ctx)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "loop did not stop") {
				t.Errorf("Stop with a wedged loop = %v, want a deadline error about the loop", err)
			}
			close(gate)
			if err := s.Stop(context.Background()); err != nil {
				t.Errorf("Stop once the loop is free = %v, want nil", err)
			}
			sleepUntil(utcAt(2000, 1, 1, 2, 0))
			checkTimes(t, "hold runs", rec.get(rec.runs, "hold"), []time.Time{utcAt(2000, 1, 1, 0, 30)})
		})
	})
	t.Run("before start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec := newRecorder()
			s := newSched(t, Options{}, []Job{{Name: "a", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run("a", "", 0, nil)}})
			stop(t, s)
			s.Start()
			sleepUntil(utcAt(2000, 1, 1, 3, 0))
			checkTimes(t, "runs", rec.get(rec.runs, "a"), nil)
			if err := s.Reload(Options{}, nil); !errors.Is(err, ErrStopped) {
				t.Errorf("Reload after Stop = %v, want ErrStopped", err)
			}
		})
	})
}

type ctxKey struct{}

func TestTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		errBoom := errors.New("boom")
		var mu sync.Mutex
		var seen []any
		b := rec.run("b", "nas", time.Minute, errBoom)
		jobs := []Job{
			{Name: "a", Group: "nas", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run("a", "nas", 10*time.Minute, nil)},
			{Name: "b", Group: "nas", Schedule: mustParse(t, "0 0 1 1 *", nil), Jitter: time.Hour, Run: func(ctx context.Context, fire time.Time) error {
				mu.Lock()
				seen = append(seen, ctx.Value(ctxKey{}))
				mu.Unlock()
				return b(ctx, fire)
			}},
		}
		s := newSched(t, Options{GroupLimits: map[string]int{"nas": 1}, OnSkip: rec.onSkip}, jobs)
		s.Start()
		at := func(h, m int) time.Time { return utcAt(2000, 1, 1, h, m) }

		sleepUntil(at(1, 5))
		if err := s.Trigger(context.Background(), "a"); !errors.Is(err, ErrRunning) {
			t.Errorf("Trigger(a) while a runs = %v, want ErrRunning", err)
		}
		if now := time.Now(); !now.Equal(at(1, 5)) {
			t.Errorf("Trigger(a) while a runs returned at %v, want at once", now)
		}

		// b waits for the slot a holds until 01:10, runs a minute, returns its error.
		err := s.Trigger(context.WithValue(context.Background(), ctxKey{}, "one-off"), "b")
		if !errors.Is(err, errBoom) {
			t.Errorf("Trigger(b) = %v, want the run's error", err)
		}
		if now := time.Now(); !now.Equal(at(1, 11)) {
			t.Errorf("Trigger(b) returned at %v, want 01:11 (slot at 01:10, no jitter)", now)
		}

		// A triggered run blocks the job's scheduled fire.
		sleepUntil(at(1, 58))
		if err := s.Trigger(context.Background(), "a"); err != nil {
			t.Errorf("Trigger(a) = %v, want nil", err)
		}
		if now := time.Now(); !now.Equal(at(2, 8)) {
			t.Errorf("Trigger(a) returned at %v, want 02:08", now)
		}

		// Giving up on the slot wait.
		sleepUntil(at(3, 1))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err = s.Trigger(ctx, "b")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Trigger(b) with a short context = %v, want context.DeadlineExceeded", err)
		}
		if err := s.Trigger(context.Background(), "nope"); !errors.Is(err, ErrUnknownJob) {
			t.Errorf("Trigger(nope) = %v, want ErrUnknownJob", err)
		}

		sleepUntil(at(3, 30))
		stop(t, s)
		if err := s.Trigger(context.Background(), "a"); !errors.Is(err, ErrStopped) {
			t.Errorf("Trigger after Stop = %v, want ErrStopped", err)
		}

		checkTimes(t, "b runs", rec.get(rec.runs, "b"), []time.Time{{}})
		checkTimes(t, "a runs", rec.get(rec.runs, "a"), []time.Time{at(1, 0), {}, at(3, 0)})
		checkTimes(t, "a skips", rec.get(rec.skips, "a"), []time.Time{at(2, 0)})
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || seen[0] != "one-off" {
			t.Errorf("context values seen by b's run = %v, want [one-off]", seen)
		}
	})
}

func TestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		jobs := []Job{
			{Name: "a", Group: "nas", Schedule: mustParse(t, "0 * * * *", nil), Jitter: 10 * time.Minute, Run: rec.run("a", "nas", 20*time.Minute, nil)},
		}
		rnd := func(n int64) int64 { return int64(3 * time.Minute) }
		s := newSched(t, Options{GroupLimits: map[string]int{"nas": 1}, Rand: rnd, OnFire: rec.onFire, OnSkip: rec.onSkip}, jobs)
		missed := utcAt(1999, 12, 31, 22, 0)
		if err := s.RunOnce("a", missed); err != nil {
			t.Errorf("RunOnce(a) = %v", err)
		}
		if err := s.RunOnce("nope", missed); !errors.Is(err, ErrUnknownJob) {
			t.Errorf("RunOnce(nope) = %v, want ErrUnknownJob", err)
		}
		sleepUntil(utcAt(2000, 1, 1, 0, 30))
		checkTimes(t, "runs before Start", rec.get(rec.runs, "a"), nil)
		s.Start() // at 00:30
		sleepUntil(utcAt(2000, 1, 1, 1, 30))
		if err := s.RunOnce("a", utcAt(2000, 1, 1, 1, 30)); err != nil { // a ran 01:03-01:23, so this one runs
			t.Errorf("RunOnce(a) = %v", err)
		}
		sleepUntil(utcAt(2000, 1, 1, 2, 10))
		if err := s.RunOnce("a", utcAt(2000, 1, 1, 2, 10)); err != nil { // a runs 02:03-02:23: skipped
			t.Errorf("RunOnce(a) = %v", err)
		}
		sleepUntil(utcAt(2000, 1, 1, 2, 50))
		stop(t, s)
		if err := s.RunOnce("a", missed); !errors.Is(err, ErrStopped) {
			t.Errorf("RunOnce after Stop = %v, want ErrStopped", err)
		}
		checkTimes(t, "runs", rec.get(rec.runs, "a"), []time.Time{missed, utcAt(2000, 1, 1, 1, 0), utcAt(2000, 1, 1, 1, 30), utcAt(2000, 1, 1, 2, 0)})
		checkTimes(t, "starts", rec.get(rec.starts, "a"), []time.Time{utcAt(2000, 1, 1, 0, 33), utcAt(2000, 1, 1, 1, 3), utcAt(2000, 1, 1, 1, 33), utcAt(2000, 1, 1, 2, 3)})
		checkTimes(t, "OnFire", rec.get(rec.fires, "a"), []time.Time{utcAt(2000, 1, 1, 1, 0), utcAt(2000, 1, 1, 2, 0)})
		checkTimes(t, "skips", rec.get(rec.skips, "a"), []time.Time{utcAt(2000, 1, 1, 2, 10)})
	})
}

func TestPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hold := &gated{inner: mustParse(t, "30 * * * *", nil)}
		rec := newRecorder()
		jobs := []Job{
			{Name: "a", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run("a", "", 0, nil)},
			{Name: "hold", Schedule: hold, Run: rec.run("hold", "", 0, nil)},
		}
		s := newSched(t, Options{}, jobs)
		ping := func(d time.Duration) error {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			return s.Ping(ctx)
		}
		if err := ping(time.Second); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Ping before Start = %v, want context.DeadlineExceeded", err)
		}
		s.Start()
		if err := ping(time.Second); err != nil {
			t.Errorf("Ping on a running scheduler = %v, want nil", err)
		}

		// Wedge cron's loop: it calls hold's Next right after hold fires at 00:30.
		sleepUntil(utcAt(2000, 1, 1, 0, 10))
		gate := hold.hold()
		sleepUntil(utcAt(2000, 1, 1, 0, 40))
		errs := make(chan error, 2)
		for range 2 {
			go func() { errs <- ping(time.Second) }()
		}
		for range 2 {
			if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Ping with cron's loop wedged = %v, want context.DeadlineExceeded", err)
			}
		}
		if next := s.Next("a"); !next.Equal(utcAt(2000, 1, 1, 1, 0)) {
			t.Errorf("Next(a) with cron's loop wedged = %v, want 01:00", next)
		}
		close(gate)
		if err := ping(time.Second); err != nil {
			t.Errorf("Ping once the loop is free = %v, want nil", err)
		}
		// Released, robfig arms its timer from the instant it last woke (00:30), so the
		// 01:00 fire comes late by the time the loop was held; it still carries 01:00.
		sleepUntil(utcAt(2000, 1, 1, 1, 30))
		checkTimes(t, "a runs", rec.get(rec.runs, "a"), []time.Time{utcAt(2000, 1, 1, 1, 0)})
		checkTimes(t, "a run starts", rec.get(rec.starts, "a"), []time.Time{utcAt(2000, 1, 1, 1, 10).Add(time.Second)})

		stop(t, s)
		if err := ping(time.Second); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Ping after Stop = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestNextAndEntries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		berlin := mustLoad(t, "Europe/Berlin")
		rec := newRecorder()
		jobs := []Job{
			{Name: "z-daily", Group: "nas", Schedule: mustParse(t, "0 6 * * *", berlin), Run: rec.run("z-daily", "nas", 0, nil)},
			{Name: "a-hourly", Group: "nas", Schedule: mustParse(t, "15 * * * *", berlin), Run: rec.run("a-hourly", "nas", 20*time.Minute, nil)},
			{Name: "never", Schedule: mustParse(t, "0 0 30 2 *", berlin), Run: rec.run("never", "", 0, nil)},
		}
		s := newSched(t, Options{Location: berlin, GroupLimits: map[string]int{"nas": 1}}, jobs)
		if got := s.Next("a-hourly"); !got.IsZero() {
			t.Errorf("Next before Start = %v, want zero", got)
		}
		s.Start()
		sleepUntil(utcAt(2000, 1, 1, 5, 20))
		got := s.Entries()
		want := []EntryInfo{
			{Name: "a-hourly", Group: "nas", Next: utcAt(2000, 1, 1, 6, 15), Prev: utcAt(2000, 1, 1, 5, 15), Running: true},
			{Name: "never", Group: "", Next: time.Time{}, Prev: time.Time{}},
			{Name: "z-daily", Group: "nas", Next: utcAt(2000, 1, 2, 5, 0), Prev: utcAt(2000, 1, 1, 5, 0)},
		}
		if len(got) != len(want) {
			t.Fatalf("Entries() = %+v, want %+v", got, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Name != w.Name || g.Group != w.Group || !g.Next.Equal(w.Next) || !g.Prev.Equal(w.Prev) || g.Running != w.Running {
				t.Errorf("Entries()[%d] = %+v, want %+v", i, g, w)
			}
		}
		if got := s.Next("z-daily"); !got.Equal(utcAt(2000, 1, 2, 5, 0)) {
			t.Errorf("Next(z-daily) = %v, want 2 January 05:00 UTC", got)
		}
		if got := s.Next("nope"); !got.IsZero() {
			t.Errorf("Next(nope) = %v, want zero", got)
		}
		stop(t, s)
	})
}

func TestPanickingRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &logBuffer{}
		rec := newRecorder()
		jobs := []Job{
			{Name: "bad", Schedule: mustParse(t, "0 * * * *", nil), Run: func(context.Context, time.Time) error { panic("oops") }},
			{Name: "good", Schedule: mustParse(t, "0 * * * *", nil), Run: rec.run("good", "", 0, nil)},
		}
		s := newSched(t, Options{Logger: logs.logger()}, jobs)
		s.Start()
		sleepUntil(utcAt(2000, 1, 1, 0, 59))
		if err := s.Trigger(context.Background(), "bad"); err == nil || !strings.Contains(err.Error(), `run of "bad" panicked: oops`) {
			t.Errorf("Trigger(bad) = %v, want the panic as an error", err)
		}
		sleepUntil(utcAt(2000, 1, 1, 3, 30))
		stop(t, s)
		checkTimes(t, "good runs", rec.get(rec.runs, "good"), series(utcAt(2000, 1, 1, 1, 0), time.Hour, 3))
		if n := logs.count("run panicked"); n != 4 {
			t.Errorf("logged %d panics, want 4", n)
		}
	})
}

func TestNewRejectsInvalid(t *testing.T) {
	run := func(context.Context, time.Time) error { return nil }
	if _, err := New(Options{}, []Job{{Name: "a", Group: "g", Schedule: mustParse(t, "@hourly", nil), Run: run}}); err == nil ||
		!strings.Contains(err.Error(), `job "a": group "g" has no concurrency limit`) {
		t.Errorf("New(job in a group without a limit) = %v, want an error naming it", err)
	}
	if _, err := New(Options{}, nil); err != nil {
		t.Errorf("New(no jobs) = %v, want nil", err)
	}
}
