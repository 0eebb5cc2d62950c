package policy

import (
	"math"
	"time"
)

// retPeriodKind indexes the period keys of retCalendar.k.
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
	k   [retNumKinds]int64 // the keys of the last instant, indexed by retPeriodKind

	zoneLo, zoneHi int64 // the cached offset applies to Unix seconds in [zoneLo, zoneHi)
	offset         int64 // seconds east of UTC
	day            int64 // local days since 1970-01-01 of the last instant
	hourLo, hourHi int64 // k holds for Unix seconds in [hourLo, hourHi)
}

// retNewCalendar returns a calendar in loc with nothing cached.
func retNewCalendar(loc *time.Location) retCalendar {
	return retCalendar{
		loc:    loc,
		zoneLo: math.MaxInt64, zoneHi: math.MinInt64,
		hourLo: math.MaxInt64, hourHi: math.MinInt64,
		day: math.MinInt64,
	}
}

// sameKeys reports whether sec (Unix seconds) has the keys of the last instant
// passed to at: the same local hour at the same UTC offset.
func (c *retCalendar) sameKeys(sec int64) bool {
	return sec >= c.hourLo && sec < c.hourHi
}

// retDivBias is added to local seconds before dividing them into days and
// hours, so that the division is unsigned; a multiple of a day, and larger
// than any clamped local time.
const retDivBias = retSecPerDay << 35

// at sets c.k to the period keys of the instant sec (Unix seconds).
func (c *retCalendar) at(sec int64) {
	sec = min(max(sec, -retMaxSec), retMaxSec)
	if sec < c.zoneLo || sec >= c.zoneHi {
		c.lookupZone(sec)
	}
	local := uint64(sec + c.offset + retDivBias)
	if day := int64(local/retSecPerDay) - retDivBias/retSecPerDay; day != c.day {
		c.setDay(day)
	}
	hour := int64(local/retSecPerHour) - retDivBias/retSecPerHour
	c.k[retHour] = hour<<24 + (retOffsetBias - c.offset)
	c.hourLo, c.hourHi = c.zoneLo, c.zoneHi
	if sec > -retMaxSec && sec < retMaxSec { // else clamped: no cache
		start := hour*retSecPerHour - c.offset
		c.hourLo = max(c.hourLo, start)
		c.hourHi = min(c.hourHi, start+retSecPerHour)
	} else {
		c.hourLo, c.hourHi = math.MaxInt64, math.MinInt64
	}
}

// sameZone reports whether sec (Unix seconds) has the UTC offset of the last
// instant passed to at.
func (c *retCalendar) sameZone(sec int64) bool {
	return sec >= c.zoneLo && sec < c.zoneHi && sec > -retMaxSec && sec < retMaxSec
}

// lookupZone caches the UTC offset at sec and the span it holds for.
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
	if sec < c.zoneLo || sec >= c.zoneHi {
		// Never expected; a one-instant range keeps keys right at the cost
		// of a lookup per snapshot.
		c.zoneLo, c.zoneHi = sec, sec+1
	}
}

// setDay sets the day, ISO week, month and year keys of a local day.
func (c *retCalendar) setDay(day int64) {
	y, m, d := retCivilFromDays(day)
	c.day = day
	c.k[retDay] = y*10000 + m*100 + d
	c.k[retMonth] = y*100 + m
	c.k[retYear] = y
	iy, w := retISOWeek(day)
	c.k[retWeek] = iy*100 + w
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

// retPeriodRule selects, from snapshots fed newest first, one snapshot of each
// of the n most recent periods. Keys normally never grow along the walk, so a
// key differing from the previous one starts a new period and a single
// comparison with the smallest selected key tells it apart from a selected
// one. Where a zone transition turns the calendar back (a fall-back across
// midnight, say), a key may come back; the rule then indexes its selected
// periods in a map. Under pick oldest, the representative of a period is set
// when the walk leaves it, so that staying in a period costs one comparison.
type retPeriodRule struct {
	n      int
	kind   retPeriodKind
	reason Reason
	newest bool // pick newest: the first snapshot seen represents its period

	// sel[:nsel] are the selected periods in order of first appearance.
	// Appending would store a slice header through the receiver and move
	// a caller's stack buffer to the heap; counting does not.
	sel     []retPeriod
	nsel    int
	lo, hi  int64 // smallest and largest selected key
	prev    int64 // key of the previous snapshot; math.MinInt64, no key, before the first
	prevSel int   // index in sel of the previous snapshot's period, or -1
	index   map[int64]int
}

// retNewPeriodRules returns a rule for each count n[kind] > 0, for a walk over
// size snapshots. Their selections share buf when it is large enough, else one
// allocation.
func retNewPeriodRules(n [retNumKinds]int, reasons [retNumKinds]Reason, newest bool, size int, buf []retPeriod) ([retNumKinds]retPeriodRule, int) {
	var rules [retNumKinds]retPeriodRule
	total := 0
	for _, c := range n {
		if c > 0 {
			total += min(c, size)
		}
	}
	if total > len(buf) {
		buf = make([]retPeriod, total)
	}
	nrules, off := 0, 0
	for kind, c := range n {
		if c <= 0 {
			continue
		}
		c2 := min(c, size)
		rules[nrules] = retPeriodRule{
			n: c, kind: retPeriodKind(kind), reason: reasons[kind], newest: newest,
			sel: buf[off : off+c2 : off+c2], prev: math.MinInt64, prevSel: -1,
		}
		off += c2
		nrules++
	}
	return rules, nrules
}

// feed feeds the snapshot at position pos with period key; last is the
// position of the snapshot fed before. It reports whether a period began.
func (r *retPeriodRule) feed(key int64, pos, last int) bool {
	if key == r.prev {
		return false
	}
	r.enter(key, pos, last)
	return true
}

// enter feeds the snapshot at position pos whose key differs from the
// previous snapshot's, at position last.
func (r *retPeriodRule) enter(key int64, pos, last int) {
	r.finish(last)
	r.prev = key
	j := r.find(key)
	if j < 0 && r.nsel < r.n {
		j = r.nsel
		r.sel[j] = retPeriod{key: key, rep: pos}
		r.nsel++
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

// finish ends the walk through the current period, whose last snapshot is at
// position last.
func (r *retPeriodRule) finish(last int) {
	if r.prevSel >= 0 && !r.newest {
		r.sel[r.prevSel].rep = last
	}
}

// passed reports whether the rule holds its n periods and the last key fed
// lies below all of them, so that keys that keep falling cannot change the
// selection.
func (r *retPeriodRule) passed() bool {
	return r.nsel == r.n && r.prevSel < 0 && r.prev < r.lo
}

// selected returns the selected periods in order of first appearance.
func (r *retPeriodRule) selected() []retPeriod {
	return r.sel[:r.nsel]
}

// find returns the index in sel of the period with key, or -1.
func (r *retPeriodRule) find(key int64) int {
	if r.nsel == 0 || key < r.lo || key > r.hi {
		return -1
	}
	if r.index == nil {
		r.index = make(map[int64]int, r.nsel)
		for i, s := range r.selected() {
			r.index[s.key] = i
		}
	}
	if i, ok := r.index[key]; ok {
		return i
	}
	return -1
}
