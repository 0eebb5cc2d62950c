package policy

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// This file holds what every retention test shares: the invariants checked on
// each plan, and a deliberately naive second implementation of SPEC §4 that
// the fast one must agree with.

func retLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %q: %v", name, err)
	}
	return loc
}

// retTS parses an RFC 3339 time, keeping its UTC offset.
func retTS(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("parse time %q: %v", s, err)
	}
	return v
}

// retRuleReasons are the reasons only snapshots of the rule set may carry.
const retRuleReasons = ReasonKeepLast | ReasonWithin | ReasonHourly | ReasonDaily | ReasonWeekly |
	ReasonMonthly | ReasonYearly | ReasonMinKeep | ReasonNewest | ReasonNoRules

// retPlan runs PlanRetention, checks its invariants, and checks that
// snaps was not changed.
func retPlan(t testing.TB, snaps []Snapshot, r Retention, loc *time.Location, at time.Time) Plan {
	t.Helper()
	before := append([]Snapshot(nil), snaps...)
	p := PlanRetention(snaps, r, loc, at)
	for i := range snaps {
		if snaps[i] != before[i] {
			t.Fatalf("PlanRetention changed its input at %d: %+v, was %+v", i, snaps[i], before[i])
		}
	}
	retCheckInvariants(t, snaps, r, at, p)
	return p
}

// retCheckInvariants checks what must hold of every plan, whatever the calendar.
func retCheckInvariants(t testing.TB, snaps []Snapshot, r Retention, at time.Time, p Plan) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("PlanRetention(%d snapshots, %+v, at %v): %s", len(snaps), r, at, fmt.Sprintf(format, args...))
	}
	if !p.At.Equal(at) {
		fail("At = %v, want %v", p.At, at)
	}

	// Kept ∪ deleted = input, each exactly once.
	if len(p.Decisions) != len(snaps) {
		fail("%d decisions for %d snapshots", len(p.Decisions), len(snaps))
	}
	count := make(map[Snapshot]int, len(snaps))
	for _, s := range snaps {
		count[s]++
	}
	for _, d := range p.Decisions {
		count[d.Snapshot]--
	}
	for s, c := range count {
		if c != 0 {
			fail("snapshot %q at %v: %d more in the input than in the decisions", s.ID, s.Time, c)
		}
	}

	// Newest first, ties by ID.
	for i := 1; i < len(p.Decisions); i++ {
		a, b := p.Decisions[i-1], p.Decisions[i]
		if a.Time.Before(b.Time) || (a.Time.Equal(b.Time) && a.ID > b.ID) {
			fail("decision %d (%q at %v) comes before %d (%q at %v)", i-1, a.ID, a.Time, i, b.ID, b.Time)
		}
	}

	own := r.Scope != ScopeAll
	limit := at.Add(FutureTolerance)
	noRules := r.KeepLast <= 0 && r.Within <= 0 && r.Hourly <= 0 && r.Daily <= 0 &&
		r.Weekly <= 0 && r.Monthly <= 0 && r.Yearly <= 0
	var (
		rank, deletes, future, kept int
		anchor                      time.Time
		reasonCount                 = map[Reason]int{}
		oldestMinKeep               = -1 // position of the oldest kept only for min_keep
		newestDelete                = -1 // position of the newest deletion
	)
	for i, d := range p.Decisions {
		isFuture := d.Time.After(limit)
		inScope := !own || d.Owned
		inRules := inScope && !isFuture
		for bit := Reason(1); bit <= ReasonNoRules; bit <<= 1 {
			if d.Reasons&bit != 0 {
				reasonCount[bit]++
			}
		}
		for _, c := range []struct {
			bit  Reason
			want bool
		}{
			{ReasonLocked, d.Locked},
			{ReasonWORM, !d.WORMUntil.IsZero() && at.Before(d.WORMUntil)},
			{ReasonReplication, d.Held},
			{ReasonNotOwned, !inScope},
			{ReasonFuture, isFuture},
			{ReasonNewest, inRules && rank == 0},
			{ReasonKeepLast, inRules && rank < r.KeepLast},
			{ReasonNoRules, inRules && noRules},
		} {
			if got := d.Reasons&c.bit != 0; got != c.want {
				fail("%q at %v: reason %v is %v, want %v (reasons %v)", d.ID, d.Time, c.bit, got, c.want, d.Reasons)
			}
		}
		if d.Delete != (d.Reasons == 0) {
			fail("%q: delete %v with reasons %v", d.ID, d.Delete, d.Reasons)
		}
		if !inRules && d.Reasons&retRuleReasons != 0 {
			fail("%q out of the rule set has rule reasons %v", d.ID, d.Reasons)
		}
		if d.Delete {
			deletes++
			if newestDelete < 0 {
				newestDelete = i
			}
		}
		if isFuture {
			future++
		}
		if inRules {
			if rank == 0 {
				anchor = d.Time
			}
			if r.Within > 0 {
				want := !d.Time.Before(anchor.Add(-r.Within))
				if got := d.Reasons&ReasonWithin != 0; got != want {
					fail("%q at %v, newest %v: within %v is %v, want %v", d.ID, d.Time, anchor, r.Within, got, want)
				}
			}
			if !d.Delete {
				kept++
			}
			if d.Reasons == ReasonMinKeep {
				oldestMinKeep = i
			}
			rank++
		} else if d.Delete {
			fail("%q out of the rule set (future %v, in scope %v) is deleted", d.ID, isFuture, inScope)
		}
	}
	if r.Within <= 0 && reasonCount[ReasonWithin] != 0 {
		fail("within is off but %d snapshots carry it", reasonCount[ReasonWithin])
	}
	for _, c := range []struct {
		bit Reason
		n   int
	}{
		{ReasonKeepLast, r.KeepLast}, {ReasonHourly, r.Hourly}, {ReasonDaily, r.Daily},
		{ReasonWeekly, r.Weekly}, {ReasonMonthly, r.Monthly}, {ReasonYearly, r.Yearly},
		{ReasonMinKeep, r.MinKeep},
	} {
		if got := reasonCount[c.bit]; got > max(c.n, 0) {
			fail("%d snapshots carry %v, more than its count %d", got, c.bit, c.n)
		}
	}
	if rank > 0 {
		// Each period rule holds at least one period when there is a snapshot.
		for _, c := range []struct {
			bit Reason
			n   int
		}{{ReasonHourly, r.Hourly}, {ReasonDaily, r.Daily}, {ReasonWeekly, r.Weekly}, {ReasonMonthly, r.Monthly}, {ReasonYearly, r.Yearly}} {
			if c.n > 0 && reasonCount[c.bit] == 0 {
				fail("no snapshot carries %v although %d snapshots are in the rule set", c.bit, rank)
			}
		}
	}
	if p.Deletes != deletes {
		fail("Deletes = %d, want %d", p.Deletes, deletes)
	}
	if want := r.MaxDeletesPerRun > 0 && deletes > r.MaxDeletesPerRun; p.Refused != want {
		fail("Refused = %v with %d deletes and max %d", p.Refused, deletes, r.MaxDeletesPerRun)
	}
	if p.Future != future {
		fail("Future = %d, want %d", p.Future, future)
	}
	if noRules && deletes != 0 {
		fail("a policy without rules deletes %d", deletes)
	}
	if kept < min(r.MinKeep, rank) {
		fail("%d of %d snapshots in the rule set kept, min_keep %d", kept, rank, r.MinKeep)
	}
	if reasonCount[ReasonMinKeep] > 0 && deletes > 0 && kept != r.MinKeep {
		fail("min_keep kept %d and deleted %d, leaving %d, want exactly %d", reasonCount[ReasonMinKeep], deletes, kept, r.MinKeep)
	}
	if oldestMinKeep >= 0 && newestDelete >= 0 && newestDelete < oldestMinKeep {
		fail("min_keep kept position %d but deleted the newer position %d", oldestMinKeep, newestDelete)
	}
}

// retNaivePlan is SPEC §4 written as plainly as possible: a stable sort, time.In
// for every snapshot and every rule, maps from period to snapshots.
func retNaivePlan(snaps []Snapshot, r Retention, loc *time.Location, at time.Time) Plan {
	if loc == nil {
		loc = time.UTC
	}
	p := Plan{At: at}
	if len(snaps) == 0 {
		return p
	}
	type item struct {
		s   Snapshot
		pos int
	}
	items := make([]item, len(snaps))
	for i, s := range snaps {
		items[i] = item{s, i}
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if !a.s.Time.Equal(b.s.Time) {
			return a.s.Time.After(b.s.Time)
		}
		if a.s.ID != b.s.ID {
			return a.s.ID < b.s.ID
		}
		return a.pos < b.pos
	})

	dec := make([]Decision, len(items))
	var set []int // positions of the rule set
	for i, it := range items {
		dec[i].Snapshot = it.s
		if it.s.Locked {
			dec[i].Reasons |= ReasonLocked
		}
		if !it.s.WORMUntil.IsZero() && at.Before(it.s.WORMUntil) {
			dec[i].Reasons |= ReasonWORM
		}
		if it.s.Held {
			dec[i].Reasons |= ReasonReplication
		}
		inScope := r.Scope == ScopeAll || it.s.Owned
		if !inScope {
			dec[i].Reasons |= ReasonNotOwned
		}
		future := it.s.Time.Sub(at) > 5*time.Minute
		if future {
			dec[i].Reasons |= ReasonFuture
			p.Future++
		}
		if inScope && !future {
			set = append(set, i)
		}
	}

	if len(set) > 0 {
		dec[set[0]].Reasons |= ReasonNewest
	}
	for k, i := range set {
		if k < r.KeepLast {
			dec[i].Reasons |= ReasonKeepLast
		}
		if r.Within > 0 && dec[set[0]].Time.Sub(dec[i].Time) <= r.Within {
			dec[i].Reasons |= ReasonWithin
		}
	}

	type bucketRule struct {
		n      int
		reason Reason
		key    func(time.Time) any
	}
	rules := []bucketRule{
		{r.Hourly, ReasonHourly, func(t time.Time) any {
			l := t.In(loc)
			_, off := l.Zone()
			return [5]int{l.Year(), int(l.Month()), l.Day(), l.Hour(), off}
		}},
		{r.Daily, ReasonDaily, func(t time.Time) any {
			l := t.In(loc)
			return [3]int{l.Year(), int(l.Month()), l.Day()}
		}},
		{r.Weekly, ReasonWeekly, func(t time.Time) any {
			y, w := t.In(loc).ISOWeek()
			return [2]int{y, w}
		}},
		{r.Monthly, ReasonMonthly, func(t time.Time) any {
			l := t.In(loc)
			return [2]int{l.Year(), int(l.Month())}
		}},
		{r.Yearly, ReasonYearly, func(t time.Time) any {
			return t.In(loc).Year()
		}},
	}
	for _, rule := range rules {
		if rule.n <= 0 {
			continue
		}
		members := map[any][]int{}
		var order []any // periods by their newest snapshot
		for _, i := range set {
			k := rule.key(dec[i].Time)
			if _, ok := members[k]; !ok {
				order = append(order, k)
			}
			members[k] = append(members[k], i)
		}
		for c, k := range order {
			if c >= rule.n {
				break
			}
			m := members[k]
			rep := m[len(m)-1]
			if r.Pick == PickNewest {
				rep = m[0]
			}
			dec[rep].Reasons |= rule.reason
		}
	}

	noRules := true
	for _, n := range []int{r.KeepLast, int(r.Within), r.Hourly, r.Daily, r.Weekly, r.Monthly, r.Yearly} {
		if n > 0 {
			noRules = false
		}
	}
	kept := 0
	for _, i := range set {
		if noRules {
			dec[i].Reasons |= ReasonNoRules
		}
		if dec[i].Reasons == 0 {
			dec[i].Delete = true
			p.Deletes++
		} else {
			kept++
		}
	}
	for _, i := range set {
		if kept >= r.MinKeep {
			break
		}
		if dec[i].Delete {
			dec[i].Delete = false
			dec[i].Reasons |= ReasonMinKeep
			p.Deletes--
			kept++
		}
	}
	if r.MaxDeletesPerRun > 0 && p.Deletes > r.MaxDeletesPerRun {
		p.Refused = true
	}
	p.Decisions = dec
	return p
}

// retSummary renders a plan as id → "delete" or its reasons, for table tests.
func retSummary(p Plan) map[string]string {
	m := make(map[string]string, len(p.Decisions))
	for _, d := range p.Decisions {
		if d.Delete {
			m[d.ID] = "delete"
		} else {
			m[d.ID] = d.Reasons.String()
		}
	}
	return m
}

// retIDs renders a plan's decision order as IDs.
func retIDs(p Plan) string {
	ids := make([]string, len(p.Decisions))
	for i, d := range p.Decisions {
		ids[i] = d.ID
	}
	return strings.Join(ids, " ")
}
