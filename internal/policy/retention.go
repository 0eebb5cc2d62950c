package policy

import (
	"encoding/json"
	"strings"
	"time"
)

// FutureTolerance is how far past the planning instant a snapshot may be dated
// before it counts as future-dated: clocks of a NAS and of the host running
// snapd never agree exactly.
const FutureTolerance = 5 * time.Minute

// Snapshot is one snapshot of a target as retention sees it.
type Snapshot struct {
	ID        string    // share snapshot name or LUN snapshot UUID
	Time      time.Time // any UTC offset
	WORMUntil time.Time // zero = not WORM; protected while at < WORMUntil
	Owned     bool      // carries this policy's tag
	Locked    bool
	Held      bool // non-empty locked_app_keys (e.g. Snapshot Replication)
}

// Reason is a set of reasons for keeping a snapshot.
type Reason uint32

// The reasons for keeping a snapshot, in the order Strings reports them.
const (
	ReasonKeepLast    Reason = 1 << iota // among the keep_last newest
	ReasonWithin                         // no older than `within` before the newest
	ReasonHourly                         // represents one of the hourly periods
	ReasonDaily                          // represents one of the daily periods
	ReasonWeekly                         // represents one of the weekly periods (ISO weeks)
	ReasonMonthly                        // represents one of the monthly periods
	ReasonYearly                         // represents one of the yearly periods
	ReasonMinKeep                        // deleting it would leave fewer than min_keep
	ReasonLocked                         // locked on the NAS
	ReasonWORM                           // WORM-immutable until after the planning instant
	ReasonReplication                    // held by another application, e.g. Snapshot Replication
	ReasonNotOwned                       // under scope own, not tagged by this policy
	ReasonNewest                         // the newest snapshot in scope that is not future-dated
	ReasonFuture                         // dated more than FutureTolerance after the planning instant
	ReasonNoRules                        // the policy has no retention rule, so nothing is pruned
)

var retReasonNames = [...]string{
	"keep_last", "within", "hourly", "daily", "weekly", "monthly", "yearly",
	"min_keep", "locked", "worm", "replication", "not_owned", "newest", "future",
	"no_rules",
}

// Strings returns the names of the reasons in r, as `snapd plan --json`
// reports them, in a fixed order: keep_last, within, hourly, daily, weekly,
// monthly, yearly, min_keep, locked, worm, replication, not_owned, newest,
// future, no_rules. An empty set yields an empty, non-nil slice.
func (r Reason) Strings() []string {
	out := make([]string, 0, 4)
	for i, name := range retReasonNames {
		if r&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// String returns the names of the reasons in r joined by commas.
func (r Reason) String() string {
	return strings.Join(r.Strings(), ",")
}

// MarshalJSON encodes r as an array of reason names.
func (r Reason) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.Strings())
}

// Decision says what retention does with one snapshot, and why it keeps it.
// A deleted snapshot has no reasons.
type Decision struct {
	Snapshot
	Delete  bool
	Reasons Reason
}

// Plan is the outcome of PlanRetention.
type Plan struct {
	At        time.Time
	Decisions []Decision // newest first (ties broken by ID, deterministic)
	Deletes   int
	Refused   bool // Deletes > MaxDeletesPerRun (and MaxDeletesPerRun > 0): the caller deletes nothing unless forced
	Future    int  // how many snapshots were future-dated
}

// PlanRetention decides, at the instant at, which of a target's snapshots the
// retention r keeps and which it deletes, with calendar periods taken in loc
// (nil means UTC). It is a pure function of its arguments and never changes
// snaps.
//
// Snapshots in scope are the policy's own (scope own, the default, and any
// value other than "all") or all of the target's (scope all). Those in scope
// and not dated more than FutureTolerance after at form the rule set; every
// rule is evaluated independently over it and a snapshot is kept if any rule
// keeps it:
//
//   - keep_last N keeps the N newest.
//   - within D keeps those no older than D before the newest (inclusive).
//   - hourly, daily, weekly, monthly and yearly N keep one snapshot (the oldest
//     or, with pick newest, the newest) of each of the N most recent periods
//     that hold a snapshot. A period's recency is that of its newest snapshot.
//     Hours are local wall hours told apart by UTC offset, so the hour repeated
//     when DST ends is two periods; weeks are ISO weeks.
//
// Kept whatever the rules say: the newest of the rule set; locked, held and
// WORM-locked (while at is before WORMUntil) snapshots; snapshots out of scope;
// future-dated ones, which take no part in the rules. Locked, held and WORM
// snapshots in scope still take part in the rules and represent their periods.
// When the deletions would leave fewer than MinKeep snapshots of the rule set,
// the newest of them are kept instead. A policy whose counts and within are
// all zero (or negative) deletes nothing.
//
// Equal instants are ordered by ID, then by position in snaps; the first of
// them is the newer. Pick is newest only when it says so, and scope all only
// when it says so: any other value gets the default. Plan.Future counts every
// future-dated snapshot, in scope or not. Plan.Refused reports a plan deleting
// more than MaxDeletesPerRun (when positive); the decisions are filled in all
// the same.
//
// It runs in O(n) for a list in time order either way round, as a NAS lists
// snapshots, otherwise in O(n) plus a radix sort of n integers (O(n log n) for
// times with sub-second parts). Besides the returned decisions it allocates
// nothing for common policies, unless it sorts more than 2048 snapshots.
func PlanRetention(snaps []Snapshot, r Retention, loc *time.Location, at time.Time) Plan {
	if loc == nil {
		loc = time.UTC
	}
	p := Plan{At: at}
	if len(snaps) == 0 {
		return p
	}
	d := retentionSorted(snaps)
	p.Decisions = d

	noRules := r.KeepLast <= 0 && r.Within <= 0 && r.Hourly <= 0 && r.Daily <= 0 &&
		r.Weekly <= 0 && r.Monthly <= 0 && r.Yearly <= 0
	own := r.Scope != ScopeAll
	newest := r.Pick == PickNewest
	limit := at.Add(FutureTolerance)

	var selBuf [64]retPeriod // enough for common policies, on the stack
	rules, nrules := retNewPeriodRules(
		[retNumKinds]int{r.Hourly, r.Daily, r.Weekly, r.Monthly, r.Yearly},
		[retNumKinds]Reason{ReasonHourly, ReasonDaily, ReasonWeekly, ReasonMonthly, ReasonYearly},
		newest, len(snaps), selBuf[:])
	cal := retNewCalendar(loc)

	var (
		rank      int       // snapshots of the rule set seen so far
		kept      int       // of them, kept so far
		cutoff    time.Time // within: the oldest instant kept
		checkFut  = true    // decisions are newest first, so future ones come first
		withinEnd bool
		// Every period rule holds its n periods and has walked past them, so
		// until the zone's offset changes no snapshot can fall in a selected
		// period: within one offset, local time only goes back as the walk
		// does.
		saturated bool
		lastFed   = -1 // position of the last snapshot fed to the period rules
	)
	for i := range d {
		x := &d[i]
		var why Reason
		if x.Locked {
			why |= ReasonLocked
		}
		if !x.WORMUntil.IsZero() && at.Before(x.WORMUntil) {
			why |= ReasonWORM
		}
		if x.Held {
			why |= ReasonReplication
		}
		if own && !x.Owned {
			why |= ReasonNotOwned
		}
		if checkFut {
			if x.Time.After(limit) {
				why |= ReasonFuture
				p.Future++
			} else {
				checkFut = false
			}
		}
		if why&(ReasonNotOwned|ReasonFuture) != 0 {
			x.Reasons = why
			continue
		}

		if rank == 0 {
			why |= ReasonNewest
			if r.Within > 0 {
				cutoff = x.Time.Add(-r.Within)
			}
		}
		if rank < r.KeepLast {
			why |= ReasonKeepLast
		}
		if r.Within > 0 && !withinEnd {
			if x.Time.Before(cutoff) {
				withinEnd = true
			} else {
				why |= ReasonWithin
			}
		}
		if noRules {
			why |= ReasonNoRules
		}
		x.Reasons = why
		rank++
		if why == 0 {
			// Deleted unless a period rule picks it (below) or min_keep
			// needs it.
			x.Delete = true
			p.Deletes++
		} else {
			kept++
		}

		if nrules == 0 {
			continue
		}
		sec := x.Time.Unix()
		if cal.sameKeys(sec) {
			// Every key is the previous snapshot's.
			lastFed = i
			continue
		}
		if saturated && cal.sameZone(sec) {
			continue
		}
		cal.at(sec)
		began := false
		for j := range nrules {
			began = rules[j].feed(cal.k[rules[j].kind], i, lastFed) || began
		}
		lastFed = i
		if began {
			saturated = true
			for j := range nrules {
				saturated = saturated && rules[j].passed()
			}
		}
	}
	for j := range nrules {
		rules[j].finish(lastFed)
		for _, s := range rules[j].selected() {
			x := &d[s.rep]
			x.Reasons |= rules[j].reason
			if x.Delete {
				x.Delete = false
				p.Deletes--
				kept++
			}
		}
	}
	for i := 0; i < len(d) && kept < r.MinKeep && p.Deletes > 0; i++ {
		if x := &d[i]; x.Delete {
			x.Delete = false
			x.Reasons |= ReasonMinKeep
			p.Deletes--
			kept++
		}
	}
	p.Refused = r.MaxDeletesPerRun > 0 && p.Deletes > r.MaxDeletesPerRun
	return p
}
