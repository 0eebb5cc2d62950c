package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestCivilFromDays(t *testing.T) {
	// Every day from 1583 to 2500, and a spread of far ones, against the
	// time package.
	check := func(day int64) {
		tm := time.Unix(day*retSecPerDay, 0).UTC()
		y, m, d := retCivilFromDays(day)
		if int(y) != tm.Year() || time.Month(m) != tm.Month() || int(d) != tm.Day() {
			t.Fatalf("retCivilFromDays(%d) = %d-%d-%d, want %s", day, y, m, d, tm.Format(time.DateOnly))
		}
		if back := retDaysFromCivil(y, m, d); back != day {
			t.Fatalf("retDaysFromCivil(%d, %d, %d) = %d, want %d", y, m, d, back, day)
		}
		iy, iw := retISOWeek(day)
		wy, ww := tm.ISOWeek()
		if int(iy) != wy || int(iw) != ww {
			t.Fatalf("retISOWeek(%d) (%s) = %d-W%d, want %d-W%d", day, tm.Format(time.DateOnly), iy, iw, wy, ww)
		}
	}
	first := retDaysFromCivil(1583, 1, 1)
	last := retDaysFromCivil(2500, 12, 31)
	for day := first; day <= last; day++ {
		check(day)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		check(rng.Int64N(2*400*146097) - 400*146097) // ±160,000 years
	}
}

func TestISOWeekKnownDates(t *testing.T) {
	tests := []struct {
		date     string
		year, wk int64
	}{
		{"2020-12-31", 2020, 53},
		{"2021-01-03", 2020, 53},
		{"2021-01-04", 2021, 1},
		{"2026-12-28", 2026, 53},
		{"2027-01-03", 2026, 53},
		{"2027-01-04", 2027, 1},
		{"2024-12-30", 2025, 1},
		{"2024-02-29", 2024, 9},
	}
	for _, tt := range tests {
		d, err := time.Parse(time.DateOnly, tt.date)
		if err != nil {
			t.Fatal(err)
		}
		y, w := retISOWeek(d.Unix() / retSecPerDay)
		if y != tt.year || w != tt.wk {
			t.Errorf("retISOWeek(%s) = %d-W%02d, want %d-W%02d", tt.date, y, w, tt.year, tt.wk)
		}
	}
}

// TestCalendarKeys checks the cached calendar against time.In for random
// instants, walked in time order as PlanRetention walks them and shuffled, in
// zones with DST, half-hour offsets, LMT offsets in seconds and a skipped day.
func TestCalendarKeys(t *testing.T) {
	zones := []string{
		"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
		"America/Sitka", "Pacific/Apia", "America/Santiago", "Asia/Kathmandu", "Europe/Dublin",
	}
	lo := time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2120, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, name := range zones {
		loc := retLoad(t, name)
		for _, sorted := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/sorted=%v", name, sorted), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, uint64(len(name))))
				secs := make([]int64, 20000)
				for i := range secs {
					secs[i] = lo + rng.Int64N(hi-lo)
				}
				// Dense runs around the zone's transitions.
				tr := time.Unix(lo, 0).In(loc)
				for i := 0; i < 400; i++ {
					_, end := tr.ZoneBounds()
					if end.IsZero() || end.Unix() > hi {
						break
					}
					for d := int64(-7200); d <= 7200; d += 599 {
						secs = append(secs, end.Unix()+d)
					}
					tr = end
				}
				if sorted {
					slices.Sort(secs)
					slices.Reverse(secs)
				}
				c := retNewCalendar(loc)
				for _, s := range secs {
					tm := time.Unix(s, 0)
					if c.sameKeys(s) {
						if got, want := c.k, retNaiveKeys(tm, loc); got != want {
							t.Fatalf("retCalendar.sameKeys(%s in %s) with keys %v, want %v", tm.UTC().Format(time.RFC3339), name, got, want)
						}
					}
					c.at(s)
					if got, want := c.k, retNaiveKeys(tm, loc); got != want {
						t.Fatalf("retCalendar.at(%s in %s) = %v, want %v", tm.UTC().Format(time.RFC3339), name, got, want)
					}
				}
			})
		}
	}
}

// retNaiveKeys computes period keys with time.In, the documented way.
func retNaiveKeys(t time.Time, loc *time.Location) [retNumKinds]int64 {
	l := t.In(loc)
	_, off := l.Zone()
	y, m, d := l.Date()
	iy, iw := l.ISOWeek()
	wall := time.Date(y, m, d, l.Hour(), 0, 0, 0, time.UTC).Unix() // the wall hour as if in UTC
	var k [retNumKinds]int64
	k[retHour] = (wall/retSecPerHour)<<24 + (retOffsetBias - int64(off))
	k[retDay] = int64(y)*10000 + int64(m)*100 + int64(d)
	k[retWeek] = int64(iy)*100 + int64(iw)
	k[retMonth] = int64(y)*100 + int64(m)
	k[retYear] = int64(y)
	return k
}

// TestPeriodRule feeds key sequences, including ones where the calendar goes
// back, and compares with grouping by a map.
func TestPeriodRule(t *testing.T) {
	naive := func(keys []int64, n int, newest bool) []retPeriod {
		members := map[int64][]int{}
		var order []int64
		for pos, k := range keys {
			if _, ok := members[k]; !ok {
				order = append(order, k)
			}
			members[k] = append(members[k], pos)
		}
		var out []retPeriod
		for i, k := range order {
			if i >= n {
				break
			}
			m := members[k]
			rep := m[len(m)-1]
			if newest {
				rep = m[0]
			}
			out = append(out, retPeriod{key: k, rep: rep})
		}
		return out
	}
	run := func(keys []int64, n int, newest bool) []retPeriod {
		var counts [retNumKinds]int
		counts[retDay] = n
		rules, _ := retNewPeriodRules(counts, [retNumKinds]Reason{}, newest, len(keys), make([]retPeriod, n%4))
		r := &rules[0]
		for pos, k := range keys {
			r.feed(k, pos, pos-1)
			// passed promises that no key at or below this one, as the rest
			// of the walk within one UTC offset brings, is selected.
			want := len(r.selected()) == n
			for _, s := range r.selected() {
				want = want && s.key > k
			}
			if got := r.passed(); got != want {
				t.Errorf("period rule n=%d over %v: passed() after %d = %v, want %v", n, keys, pos, got, want)
			}
		}
		r.finish(len(keys) - 1)
		return r.selected()
	}
	tests := [][]int64{
		{},
		{5},
		{5, 5, 5},
		{9, 8, 8, 7, 6, 6, 6, 5},
		{19, 19, 18, 19, 18},     // a day repeated (Sitka 1867)
		{10, 9, 11, 9, 8, 11, 7}, // keys coming back from both sides
		{3, 4, 5, 6, 3, 2, 6, 1}, // growing keys
		{1, 2, 1, 2, 1, 2, 3, 3, 1},
		{10, 5, 7, 6, 5, 4}, // an unselected key between selected ones
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		keys := make([]int64, rng.IntN(40))
		k := int64(100)
		for i := range keys {
			switch rng.IntN(4) {
			case 0:
				k -= int64(rng.IntN(3))
			case 1:
				k += int64(rng.IntN(3))
			}
			keys[i] = k
		}
		tests = append(tests, keys)
	}
	for _, keys := range tests {
		for _, n := range []int{1, 2, 3, 5, 100} {
			for _, newest := range []bool{false, true} {
				want := naive(keys, n, newest)
				got := run(keys, n, newest)
				if !slices.Equal(want, got) {
					t.Errorf("period rule n=%d newest=%v over %v = %v, want %v", n, newest, keys, got, want)
				}
			}
		}
	}
}
