package policy

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var retRandomZones = []string{
	"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
}

// retRandomCase draws a snapshot set, a policy and a planning instant.
func retRandomCase(rng *rand.Rand, zones []*time.Location) ([]Snapshot, Retention, *time.Location, time.Time) {
	loc := zones[rng.IntN(len(zones))]

	// Around a DST change, over years, or far back where zones had odd
	// local-mean-time offsets.
	var origin time.Time
	switch rng.IntN(5) {
	case 0:
		origin = time.Date(2025, 10, 26, 3, 0, 0, 0, time.UTC)
	case 4:
		// Sitka's calendar went back a day on 1867-10-19.
		origin = time.Date(1867, 10, 19, 12+rng.IntN(36), 0, 0, 0, time.UTC)
		if sitka := zones[len(zones)-1]; sitka.String() == "America/Sitka" && rng.IntN(2) == 0 {
			loc = sitka
		}
	case 1:
		origin = time.Date(2025, 11, 2, 7, 0, 0, 0, time.UTC)
	case 2:
		origin = time.Date(2000+rng.IntN(40), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), 0, 0, 0, time.UTC)
	default:
		origin = time.Date(1850+rng.IntN(150), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	}
	steps := []time.Duration{time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	step := steps[rng.IntN(len(steps))]
	n := rng.IntN(200)
	if rng.IntN(10) == 0 {
		n = retRadixMin + rng.IntN(500) // large enough for the radix sort
	}
	offsets := []*time.Location{time.UTC, loc, time.FixedZone("", 9*3600), time.FixedZone("", -5*3600), time.FixedZone("", 5*3600+45*60)}
	subSecond := rng.IntN(8) == 0 // some sets have sub-second times, which take another sort
	snaps := make([]Snapshot, n)
	tm := origin
	for i := range snaps {
		switch rng.IntN(10) {
		case 0: // a gap
			tm = tm.Add(-time.Duration(rng.IntN(50)) * step)
		case 1: // the same instant again
		default:
			tm = tm.Add(-step/2 - time.Duration(rng.Int64N(int64(step))))
		}
		t := tm.Truncate(time.Second)
		if subSecond && rng.IntN(3) == 0 {
			t = tm
		}
		s := Snapshot{
			ID:    fmt.Sprintf("GMT-%04d", rng.IntN(n+1)),
			Time:  t.In(offsets[rng.IntN(len(offsets))]),
			Owned: rng.IntN(5) != 0,
		}
		s.Locked = rng.IntN(12) == 0
		s.Held = rng.IntN(15) == 0
		if rng.IntN(10) == 0 {
			s.WORMUntil = origin.Add(time.Duration(rng.Int64N(int64(4*time.Hour))) - 2*time.Hour)
		}
		snaps[i] = s
	}
	rng.Shuffle(n, func(i, j int) { snaps[i], snaps[j] = snaps[j], snaps[i] })

	count := func(p int, max int) int {
		if rng.IntN(p) == 0 {
			return rng.IntN(max + 1)
		}
		return 0
	}
	r := Retention{
		KeepLast:         count(3, 10),
		Hourly:           count(2, 50),
		Daily:            count(2, 20),
		Weekly:           count(2, 10),
		Monthly:          count(2, 12),
		Yearly:           count(2, 5),
		MinKeep:          rng.IntN(6),
		MaxDeletesPerRun: rng.IntN(30),
	}
	if rng.IntN(3) == 0 {
		// One small period rule: the walk soon passes all its periods.
		r.Hourly, r.Daily, r.Weekly, r.Monthly, r.Yearly = 0, 0, 0, 0, 0
		n := 1 + rng.IntN(3)
		switch rng.IntN(5) {
		case 0:
			r.Hourly = n
		case 1:
			r.Daily = n
		case 2:
			r.Weekly = n
		case 3:
			r.Monthly = n
		default:
			r.Yearly = n
		}
	}
	if rng.IntN(4) == 0 {
		r.Within = time.Duration(rng.Int64N(int64(40 * step)))
	}
	if rng.IntN(2) == 0 {
		r.Pick = PickNewest
	} else if rng.IntN(2) == 0 {
		r.Pick = PickOldest
	}
	if rng.IntN(3) == 0 {
		r.Scope = ScopeAll
	} else if rng.IntN(2) == 0 {
		r.Scope = ScopeOwn
	}
	// The instant: just after the newest, long after it, or before some
	// snapshots so that they are future-dated.
	var at time.Time
	switch rng.IntN(4) {
	case 0:
		at = origin.Add(-time.Duration(rng.Int64N(int64(10 * step))))
	case 1:
		at = origin.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
	case 2:
		at = origin.Add(FutureTolerance - time.Duration(rng.IntN(3)-1)*time.Second)
	default:
		at = origin
	}
	return snaps, r, loc, at
}

// TestPlanRetentionRandom compares PlanRetention with retNaivePlan over many
// random snapshot sets, policies and zones.
func TestPlanRetentionRandom(t *testing.T) {
	zones := make([]*time.Location, 0, len(retRandomZones)+1)
	for _, name := range retRandomZones {
		zones = append(zones, retLoad(t, name))
	}
	zones = append(zones, retLoad(t, "America/Sitka")) // its calendar went back a day in 1867
	iterations := 3000
	if testing.Short() {
		iterations = 500
	}
	for seed := range uint64(iterations) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		snaps, r, loc, at := retRandomCase(rng, zones)
		got := retPlan(t, snaps, r, loc, at)
		want := retNaivePlan(snaps, r, loc, at)
		if retPlansEqual(want, got) {
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d: PlanRetention(%d snapshots, %+v, %s, %v) differs from the naive plan (-naive +got):\n%s",
				seed, len(snaps), r, loc, at, diff)
		}
	}
}

// retPlansEqual is a fast equality for plans built from the same input; cmp
// explains the difference when there is one.
func retPlansEqual(a, b Plan) bool {
	if !a.At.Equal(b.At) || a.Deletes != b.Deletes || a.Refused != b.Refused || a.Future != b.Future ||
		len(a.Decisions) != len(b.Decisions) {
		return false
	}
	for i := range a.Decisions {
		if a.Decisions[i] != b.Decisions[i] {
			return false
		}
	}
	return true
}
