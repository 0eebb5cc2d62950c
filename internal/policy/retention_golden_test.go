package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// retGoldenAt is the planning instant of the golden files.
const retGoldenAt = "2027-01-05T12:00:00Z"

// retGoldenSnapshots is a fixed list that crosses DST changes in Berlin and
// New York, ISO weeks 53 of 2020 and 2026, the leap day 2024-02-29 and year
// ends, with times in several UTC offsets, and protected, foreign and
// future-dated snapshots. Names follow DSM's share snapshot names.
var retGoldenSnapshots = []string{
	// 2020-W53 runs from Monday 2020-12-28 to Sunday 2021-01-03.
	"GMT+00-2020.12.27-12.00.00 2020-12-27T12:00:00Z",
	"GMT+00-2020.12.28-12.00.00 2020-12-28T12:00:00Z",
	"GMT+00-2020.12.31-23.30.00 2020-12-31T23:30:00Z",
	"GMT+00-2021.01.03-12.00.00 2021-01-03T12:00:00Z",
	"GMT+00-2021.01.04-12.00.00 2021-01-04T12:00:00Z",
	"GMT+09-2021.06.15-09.00.00 2021-06-15T09:00:00+09:00 locked",
	"GMT+00-2022.03.01-00.00.00 2022-03-01T00:00:00Z foreign",
	"GMT-05-2022.12.31-20.00.00 2022-12-31T20:00:00-05:00",
	"GMT+00-2023.07.01-08.00.00 2023-07-01T08:00:00Z",
	// The leap day.
	"GMT+00-2024.02.28-12.00.00 2024-02-28T12:00:00Z",
	"GMT+00-2024.02.29-00.30.00 2024-02-29T00:30:00Z",
	"GMT+00-2024.02.29-23.30.00 2024-02-29T23:30:00Z",
	"GMT+00-2024.03.01-12.00.00 2024-03-01T12:00:00Z",
	// Year end: 2025 in Berlin, 2024 in UTC and New York.
	"GMT+00-2024.12.31-23.30.00 2024-12-31T23:30:00Z",
	"GMT+01-2025.01.01-01.30.00 2025-01-01T01:30:00+01:00",
	// Berlin's DST start, 2025-03-30 02:00 CET → 03:00 CEST.
	"GMT+01-2025.03.30-01.30.00 2025-03-30T01:30:00+01:00",
	"GMT+02-2025.03.30-03.10.00 2025-03-30T03:10:00+02:00",
	"GMT+02-2025.03.30-03.40.00 2025-03-30T03:40:00+02:00",
	// New York's DST start, 2025-03-09 02:00 EST → 03:00 EDT.
	"GMT-05-2025.03.09-01.45.00 2025-03-09T01:45:00-05:00",
	"GMT-04-2025.03.09-03.15.00 2025-03-09T03:15:00-04:00",
	"GMT+0545-2025.06.01-12.00.00 2025-06-01T12:00:00+05:45 held",
	// Berlin's DST end, 2025-10-26 03:00 CEST → 02:00 CET: 02:xx twice.
	"GMT+02-2025.10.26-01.50.00 2025-10-26T01:50:00+02:00",
	"GMT+02-2025.10.26-02.15.00 2025-10-26T02:15:00+02:00",
	"GMT+02-2025.10.26-02.45.00 2025-10-26T02:45:00+02:00",
	"GMT+01-2025.10.26-02.15.00 2025-10-26T02:15:00+01:00",
	"GMT+01-2025.10.26-02.45.00 2025-10-26T02:45:00+01:00 foreign",
	"GMT+01-2025.10.26-03.05.00 2025-10-26T03:05:00+01:00",
	// New York's DST end, 2025-11-02 02:00 EDT → 01:00 EST: 01:xx twice.
	"GMT-04-2025.11.02-01.10.00 2025-11-02T01:10:00-04:00",
	"GMT-04-2025.11.02-01.50.00 2025-11-02T01:50:00-04:00",
	"GMT-05-2025.11.02-01.10.00 2025-11-02T01:10:00-05:00",
	"GMT-05-2025.11.02-01.50.00 2025-11-02T01:50:00-05:00 locked",
	"GMT-05-2025.11.02-02.10.00 2025-11-02T02:10:00-05:00",
	// Monday boundary: Sunday night in UTC, Monday in Berlin.
	"GMT+00-2025.12.07-23.30.00 2025-12-07T23:30:00Z",
	"GMT+00-2025.12.08-06.00.00 2025-12-08T06:00:00Z",
	"GMT+00-2025.12.31-23.59.59 2025-12-31T23:59:59Z",
	"GMT+00-2026.01.01-00.00.00 2026-01-01T00:00:00Z worm=2026-02-01T00:00:00Z",
	"GMT+00-2026.06.30-12.00.00 2026-06-30T12:00:00Z worm=2027-06-30T12:00:00Z",
	// 2026-W53 runs from Monday 2026-12-28 to Sunday 2027-01-03.
	"GMT+00-2026.12.20-12.00.00 2026-12-20T12:00:00Z",
	"GMT+00-2026.12.27-12.00.00 2026-12-27T12:00:00Z",
	"GMT+00-2026.12.28-00.30.00 2026-12-28T00:30:00Z",
	"GMT+00-2026.12.28-12.00.00 2026-12-28T12:00:00Z",
	"GMT+00-2026.12.31-23.30.00 2026-12-31T23:30:00Z",
	"GMT+00-2027.01.01-00.30.00 2027-01-01T00:30:00Z",
	"GMT+00-2027.01.03-22.00.00 2027-01-03T22:00:00Z",
	"GMT+00-2027.01.03-23.30.00 2027-01-03T23:30:00Z",
	"GMT+00-2027.01.04-00.30.00 2027-01-04T00:30:00Z",
	"GMT+00-2027.01.04-12.00.00 2027-01-04T12:00:00Z",
	"GMT+00-2027.01.05-02.00.00 2027-01-05T02:00:00Z",
	"GMT+00-2027.01.05-06.00.00 2027-01-05T06:00:00Z",
	"GMT+00-2027.01.05-08.00.00 2027-01-05T08:00:00Z",
	"GMT+00-2027.01.05-09.00.00 2027-01-05T09:00:00Z",
	"GMT+00-2027.01.05-09.30.00 2027-01-05T09:30:00Z foreign",
	"GMT+00-2027.01.05-10.00.00 2027-01-05T10:00:00Z",
	"GMT+00-2027.01.05-10.59.59 2027-01-05T10:59:59Z",
	"GMT+00-2027.01.05-11.00.00 2027-01-05T11:00:00Z",
	"GMT+0530-2027.01.05-16.45.00 2027-01-05T16:45:00+05:30",
	"GMT+00-2027.01.05-11.30.00 2027-01-05T11:30:00Z locked",
	"GMT+00-2027.01.05-12.00.00 2027-01-05T12:00:00Z",
	// Within the five minutes of tolerated clock skew, then beyond them.
	"GMT+00-2027.01.05-12.04.00 2027-01-05T12:04:00Z",
	"GMT+00-2027.01.05-13.00.00 2027-01-05T13:00:00Z",
}

var retGoldenPolicies = []struct {
	name string
	r    Retention
}{
	{"defaults", Retention{KeepLast: 3, Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 2, MinKeep: 1, MaxDeletesPerRun: 50}},
	{"defaults-newest", Retention{KeepLast: 3, Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 2, Pick: PickNewest, MinKeep: 1, MaxDeletesPerRun: 50}},
	{"keep-last-5", Retention{KeepLast: 5, MinKeep: 1}},
	{"within-36h", Retention{Within: 36 * time.Hour, MinKeep: 1}},
	{"hourly-60", Retention{Hourly: 60, MinKeep: 1}},
	{"daily-30-newest", Retention{Daily: 30, Pick: PickNewest, MinKeep: 1}},
	{"weekly-12", Retention{Weekly: 12, MinKeep: 1}},
	{"weekly-12-newest", Retention{Weekly: 12, Pick: PickNewest, MinKeep: 1}},
	{"monthly-24", Retention{Monthly: 24, MinKeep: 1}},
	{"yearly-10-newest", Retention{Yearly: 10, Pick: PickNewest, MinKeep: 1}},
	{"scope-all", Retention{KeepLast: 2, Daily: 3, Scope: ScopeAll, MinKeep: 1}},
	{"min-keep-20", Retention{KeepLast: 1, MinKeep: 20}},
	{"refused", Retention{KeepLast: 3, Weekly: 2, MinKeep: 1, MaxDeletesPerRun: 10}},
	{"no-rules", Retention{MinKeep: 1, MaxDeletesPerRun: 50}},
}

var retGoldenZones = []string{"UTC", "Europe/Berlin", "America/New_York"}

type retGoldenFile struct {
	Policy    string           `json:"policy"`
	Zone      string           `json:"zone"`
	At        string           `json:"at"`
	Retention retGoldenPolicy  `json:"retention"`
	Deletes   int              `json:"deletes"`
	Refused   bool             `json:"refused"`
	Future    int              `json:"future"`
	Snapshots []retGoldenEntry `json:"snapshots"`
}

type retGoldenPolicy struct {
	KeepLast         int    `json:"keep_last,omitempty"`
	Within           string `json:"within,omitempty"`
	Hourly           int    `json:"hourly,omitempty"`
	Daily            int    `json:"daily,omitempty"`
	Weekly           int    `json:"weekly,omitempty"`
	Monthly          int    `json:"monthly,omitempty"`
	Yearly           int    `json:"yearly,omitempty"`
	Pick             string `json:"pick,omitempty"`
	Scope            string `json:"scope,omitempty"`
	MinKeep          int    `json:"min_keep"`
	MaxDeletesPerRun int    `json:"max_deletes_per_run"`
}

type retGoldenEntry struct {
	ID      string   `json:"id"`
	Time    string   `json:"time"`  // as the snapshot carries it
	Local   string   `json:"local"` // in the policy's zone
	Action  string   `json:"action"`
	Reasons []string `json:"reasons"`
}

// TestPlanRetentionGolden runs a fixed snapshot list through many policies in
// several zones. go test -run Golden -update rewrites testdata/retention.
func TestPlanRetentionGolden(t *testing.T) {
	snaps := retSnaps(t, retGoldenSnapshots...)
	at := retTS(t, retGoldenAt)
	dir := filepath.Join("testdata", "retention")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, pol := range retGoldenPolicies {
		for _, zone := range retGoldenZones {
			name := pol.name + "_" + strings.ReplaceAll(zone, "/", "-")
			t.Run(name, func(t *testing.T) {
				loc := retLoad(t, zone)
				p := retPlan(t, snaps, pol.r, loc, at)
				if diff := cmp.Diff(retNaivePlan(snaps, pol.r, loc, at), p); diff != "" {
					t.Errorf("PlanRetention differs from the naive plan (-naive +got):\n%s", diff)
				}
				got := retGoldenOf(pol.name, zone, pol.r, loc, p)
				path := filepath.Join(dir, name+".json")
				if *update {
					b, err := json.MarshalIndent(got, "", "  ")
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("read golden file: %v (run go test -run Golden -update)", err)
				}
				var want retGoldenFile
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&want); err != nil {
					t.Fatalf("decode %s: %v", path, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("PlanRetention(golden snapshots, %s, %s) differs from %s (-want +got):\n%s", pol.name, zone, path, diff)
				}
			})
		}
	}
}

func retGoldenOf(policy, zone string, r Retention, loc *time.Location, p Plan) retGoldenFile {
	g := retGoldenFile{
		Policy: policy,
		Zone:   zone,
		At:     p.At.Format(time.RFC3339),
		Retention: retGoldenPolicy{
			KeepLast: r.KeepLast, Hourly: r.Hourly, Daily: r.Daily, Weekly: r.Weekly,
			Monthly: r.Monthly, Yearly: r.Yearly, Pick: string(r.Pick), Scope: string(r.Scope),
			MinKeep: r.MinKeep, MaxDeletesPerRun: r.MaxDeletesPerRun,
		},
		Deletes: p.Deletes,
		Refused: p.Refused,
		Future:  p.Future,
	}
	if r.Within > 0 {
		g.Retention.Within = r.Within.String()
	}
	for _, d := range p.Decisions {
		action := "keep"
		if d.Delete {
			action = "delete"
		}
		l := d.Time.In(loc)
		_, week := l.ISOWeek()
		g.Snapshots = append(g.Snapshots, retGoldenEntry{
			ID:      d.ID,
			Time:    d.Time.Format(time.RFC3339),
			Local:   fmt.Sprintf("%s W%02d %s", l.Format("2006-01-02 15:04:05 -07:00"), week, l.Weekday().String()[:3]),
			Action:  action,
			Reasons: d.Reasons.Strings(),
		})
	}
	return g
}
