package policy

import (
	"math"
	"time"
)

// retPeriodKind indexes the period keys that retCalendar.keys returns.
type retPeriodKind int

const (
	retHour retPeriodKind = iota
	retDay
	retWeek
	retMonth
	retYear
	retNumKinds
)

// Bucket keys are plain integers. Day, ISO week, month and year keys are
// y·10000+m·100+d, isoYear·100+week, y·100+m and y. An hour key packs the local
// wall hour since the epoch with the UTC offset in force, so the hour that
// repeats when DST ends yields two keys: hour·2²⁴ + (2²³ − offset). The offset
// is subtracted so that keys grow with time across a DST end, where the wall
// hour stays and the offset drops.
//
// Keys are computed for instants clamped to ±2⁵⁰ s (about 35 million years)
// and offsets clamped below ±2²³ s, which keeps the packing free of overflow;
// no real snapshot or time zone comes near either bound.
const (
	retMaxSec     = 1 << 50
	retOffsetBias = 1 << 23
	retSecPerDay  = 86400
	retSecPerHour = 3600
)

// retCalendar turns instants into period keys in one location. It caches the
// zone period in force and the civil fields of the last day, so that a walk
// over snapshots in time order costs one zone lookup per zone transition and
// one date computation per day, not one time.In per snapshot.
type retCalendar struct {
	loc *time.Location

	zoneOK         bool
	zoneLo, zoneHi int64 // the cached offset applies to Unix seconds in [zoneLo, zoneHi)
	offset         int64 // seconds east of UTC
	dayOK          bool
	day            int64 // local days since 1970-01-01
	dayKeys        [retNumKinds]int64
}

// keys returns the period keys of t, indexed by retPeriodKind.
func (c *retCalendar) keys(t time.Time) [retNumKinds]int64 {
	sec := min(max(t.Unix(), -retMaxSec), retMaxSec)
	if !c.zoneOK || sec < c.zoneLo || sec >= c.zoneHi {
		c.lookupZone(sec)
	}
	local := sec + c.offset
	day := retFloorDiv(local, retSecPerDay)
	if !c.dayOK || day != c.day {
		c.setDay(day)
	}
	k := c.dayKeys
	k[retHour] = retFloorDiv(local, retSecPerHour)<<24 + (retOffsetBias - c.offset)
	return k
}

func (c *retCalendar) lookupZone(sec int64) {
	t := time.Unix(sec, 0).In(c.loc)
	_, off := t.Zone()
	lo, hi := t.ZoneBounds()
	c.zoneLo, c.zoneHi = math.MinInt64, math.MaxInt64
	if !lo.IsZero() {
		c.zoneLo = lo.Unix()
	}
	if !hi.IsZero() {
		c.zoneHi = hi.Unix()
	}
	c.offset = min(max(int64(off), -retOffsetBias+1), retOffsetBias-1)
	c.zoneOK = true
	if sec < c.zoneLo || sec >= c.zoneHi {
		// Never expected; a one-instant range keeps keys right at the cost
		// of a lookup per snapshot.
		c.zoneLo, c.zoneHi = sec, sec+1
	}
}

func (c *retCalendar) setDay(day int64) {
	y, m, d := retCivilFromDays(day)
	c.day, c.dayOK = day, true
	c.dayKeys[retDay] = y*10000 + m*100 + d
	c.dayKeys[retMonth] = y*100 + m
	c.dayKeys[retYear] = y
	iy, w := retISOWeek(day)
	c.dayKeys[retWeek] = iy*100 + w
}

// retCivilFromDays converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil inverse).
func retCivilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := retFloorDiv(z, 146097)
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365], from March 1
	mp := (5*doy + 2) / 153                                // [0, 11], March = 0
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

// retDaysFromCivil converts a proleptic Gregorian date to days since 1970-01-01.
func retDaysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := retFloorDiv(y, 400)
	yoe := y - era*400
	mp := m - 3
	if mp < 0 {
		mp += 12
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// retISOWeek returns the ISO 8601 week-numbering year and week of a day: weeks
// start on Monday and week 1 holds the year's first Thursday.
func retISOWeek(day int64) (year, week int64) {
	weekday := retFloorMod(day+3, 7) // Monday = 0; 1970-01-01 was a Thursday
	thursday := day - weekday + 3
	year, _, _ = retCivilFromDays(thursday)
	return year, (thursday-retDaysFromCivil(year, 1, 1))/7 + 1
}

func retFloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func retFloorMod(a, b int64) int64 {
	return a - retFloorDiv(a, b)*b
}

// retPeriod is one selected period of a rule and the position of the snapshot
// that represents it.
type retPeriod struct {
	key int64
	rep int
}

// retPeriodRule selects, from snapshots fed newest first, one snapshot of each of
// the n most recent periods. Keys normally never grow along the walk, so a key
// differing from the previous one starts a new period and a single comparison
// with the smallest selected key tells it apart from a selected one. Where a
// zone transition turns the calendar back (a fall-back across midnight, say),
// a key may come back; the rule then indexes its selected periods in a map.
type retPeriodRule struct {
	n      int
	kind   retPeriodKind
	reason Reason
	newest bool // pick newest: the first snapshot seen represents its period

	sel     []retPeriod // in order of first appearance, at most n
	lo, hi  int64       // smallest and largest key in sel
	prev    int64       // key of the previous snapshot
	prevSel int         // index in sel of the previous snapshot's retPeriod, or -1
	started bool
	index   map[int64]int
}

func retNewPeriodRule(n int, kind retPeriodKind, reason Reason, newest bool, size int) retPeriodRule {
	return retPeriodRule{
		n: n, kind: kind, reason: reason, newest: newest,
		sel: make([]retPeriod, 0, min(n, size)),
	}
}

// add feeds the snapshot at position pos with period key.
func (r *retPeriodRule) add(key int64, pos int) {
	if r.started && key == r.prev {
		if r.prevSel >= 0 && !r.newest {
			r.sel[r.prevSel].rep = pos
		}
		return
	}
	r.started, r.prev = true, key
	j := r.find(key)
	switch {
	case j >= 0:
		if !r.newest {
			r.sel[j].rep = pos
		}
	case len(r.sel) < r.n:
		j = len(r.sel)
		r.sel = append(r.sel, retPeriod{key: key, rep: pos})
		if j == 0 || key < r.lo {
			r.lo = key
		}
		if j == 0 || key > r.hi {
			r.hi = key
		}
		if r.index != nil {
			r.index[key] = j
		}
	}
	r.prevSel = j
}

// find returns the index in sel of the period with key, or -1.
func (r *retPeriodRule) find(key int64) int {
	if len(r.sel) == 0 || key < r.lo || key > r.hi {
		return -1
	}
	if r.index == nil {
		r.index = make(map[int64]int, len(r.sel))
		for i, s := range r.sel {
			r.index[s.key] = i
		}
	}
	if i, ok := r.index[key]; ok {
		return i
	}
	return -1
}
