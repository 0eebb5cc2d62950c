package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// retSnaps builds snapshots from specs "id RFC3339-time [flag...]", flags being
// locked, held, foreign (not owned) and worm=RFC3339-time.
func retSnaps(t testing.TB, specs ...string) []Snapshot {
	t.Helper()
	out := make([]Snapshot, 0, len(specs))
	for _, spec := range specs {
		f := strings.Fields(spec)
		if len(f) < 2 {
			t.Fatalf("bad snapshot spec %q", spec)
		}
		s := Snapshot{ID: f[0], Time: retTS(t, f[1]), Owned: true}
		for _, flag := range f[2:] {
			switch {
			case flag == "locked":
				s.Locked = true
			case flag == "held":
				s.Held = true
			case flag == "foreign":
				s.Owned = false
			case strings.HasPrefix(flag, "worm="):
				s.WORMUntil = retTS(t, strings.TrimPrefix(flag, "worm="))
			default:
				t.Fatalf("bad flag %q in snapshot spec %q", flag, spec)
			}
		}
		out = append(out, s)
	}
	return out
}

func TestPlanRetentionRules(t *testing.T) {
	tests := []struct {
		name    string
		zone    string // default UTC
		at      string
		r       Retention
		snaps   []string
		want    map[string]string // id → "delete" or the reasons
		refused bool
		future  int
	}{
		{
			name:  "keep_last keeps the N newest",
			at:    "2025-01-02T00:00:00Z",
			r:     Retention{KeepLast: 2},
			snaps: []string{"c 2025-01-01T08:00:00Z", "a 2025-01-01T10:00:00Z", "d 2025-01-01T07:00:00Z", "b 2025-01-01T09:00:00Z"},
			want:  map[string]string{"a": "keep_last,newest", "b": "keep_last", "c": "delete", "d": "delete"},
		},
		{
			name:  "keep_last larger than the set keeps all",
			at:    "2025-01-02T00:00:00Z",
			r:     Retention{KeepLast: 10},
			snaps: []string{"a 2025-01-01T10:00:00Z", "b 2025-01-01T09:00:00Z"},
			want:  map[string]string{"a": "keep_last,newest", "b": "keep_last"},
		},
		{
			name: "within is anchored on the newest snapshot, not on at, and includes its bound",
			at:   "2025-03-01T00:00:00Z",
			r:    Retention{Within: 36 * time.Hour},
			snaps: []string{
				"a 2025-01-10T12:00:00Z", "b 2025-01-09T12:00:00Z",
				"c 2025-01-09T00:00:00Z", "d 2025-01-08T23:59:59Z",
			},
			want: map[string]string{"a": "within,newest", "b": "within", "c": "within", "d": "delete"},
		},
		{
			name: "within is anchored on the newest snapshot in scope",
			at:   "2025-01-02T00:00:00Z",
			r:    Retention{Within: time.Hour},
			snaps: []string{
				"x 2025-01-01T12:00:00Z foreign", "a 2025-01-01T06:00:00Z",
				"b 2025-01-01T05:00:00Z", "c 2025-01-01T04:59:59Z",
			},
			want: map[string]string{"x": "not_owned", "a": "within,newest", "b": "within", "c": "delete"},
		},
		{
			name: "a future snapshot neither anchors within nor takes a keep_last slot",
			at:   "2025-01-10T12:00:00Z",
			r:    Retention{KeepLast: 1, Within: time.Hour},
			snaps: []string{
				"f 2025-01-10T13:00:00Z", "a 2025-01-10T11:30:00Z", "b 2025-01-10T10:00:00Z",
			},
			want:   map[string]string{"f": "future", "a": "keep_last,within,newest", "b": "delete"},
			future: 1,
		},
		{
			name: "five minutes of clock skew are not future",
			at:   "2025-01-10T12:00:00Z",
			r:    Retention{KeepLast: 1},
			snaps: []string{
				"h 2025-01-10T12:05:01Z", "g 2025-01-10T12:05:00Z", "c 2025-01-10T11:00:00Z",
			},
			want:   map[string]string{"h": "future", "g": "keep_last,newest", "c": "delete"},
			future: 1,
		},
		{
			name: "only future snapshots: nothing is newest, nothing is deleted",
			at:   "2025-01-10T12:00:00Z",
			r:    Retention{KeepLast: 1, MinKeep: 1},
			snaps: []string{
				"f 2025-01-11T12:00:00Z", "g 2025-01-12T12:00:00Z locked",
			},
			want:   map[string]string{"f": "future", "g": "locked,future"},
			future: 2,
		},
		{
			name: "hourly: the repeated hour of a DST end is two periods (New York)",
			zone: "America/New_York",
			at:   "2025-11-02T12:00:00Z",
			r:    Retention{Hourly: 1},
			snaps: []string{
				"edt1 2025-11-02T01:15:00-04:00", "edt2 2025-11-02T01:45:00-04:00",
				"est1 2025-11-02T01:15:00-05:00", "est2 2025-11-02T01:45:00-05:00",
			},
			want: map[string]string{"est2": "newest", "est1": "hourly", "edt2": "delete", "edt1": "delete"},
		},
		{
			name: "hourly: both halves of the repeated hour are represented (New York)",
			zone: "America/New_York",
			at:   "2025-11-02T12:00:00Z",
			r:    Retention{Hourly: 2},
			snaps: []string{
				"edt1 2025-11-02T01:15:00-04:00", "edt2 2025-11-02T01:45:00-04:00",
				"est1 2025-11-02T01:15:00-05:00", "est2 2025-11-02T01:45:00-05:00",
			},
			want: map[string]string{"est2": "newest", "est1": "hourly", "edt2": "delete", "edt1": "hourly"},
		},
		{
			name: "hourly: the repeated hour of a DST end is two periods (Berlin, pick newest)",
			zone: "Europe/Berlin",
			at:   "2025-10-26T12:00:00Z",
			r:    Retention{Hourly: 2, Pick: PickNewest},
			snaps: []string{
				"cest1 2025-10-26T02:15:00+02:00", "cest2 2025-10-26T02:45:00+02:00",
				"cet1 2025-10-26T02:15:00+01:00", "cet2 2025-10-26T02:45:00+01:00",
			},
			want: map[string]string{"cet2": "hourly,newest", "cet1": "delete", "cest2": "hourly", "cest1": "delete"},
		},
		{
			name: "hourly: the hour skipped by a DST start does not exist",
			zone: "Europe/Berlin",
			at:   "2025-03-30T12:00:00Z",
			r:    Retention{Hourly: 1},
			snaps: []string{
				"x 2025-03-30T01:59:59+01:00", "y 2025-03-30T03:00:00+02:00", "z 2025-03-30T03:30:00+02:00",
			},
			want: map[string]string{"z": "newest", "y": "hourly", "x": "delete"},
		},
		{
			name: "hourly: the hours before and after a DST start are consecutive periods",
			zone: "Europe/Berlin",
			at:   "2025-03-30T12:00:00Z",
			r:    Retention{Hourly: 2},
			snaps: []string{
				"w 2025-03-30T01:00:00+01:00", "x 2025-03-30T01:59:59+01:00", "y 2025-03-30T03:00:00+02:00", "z 2025-03-30T03:30:00+02:00",
			},
			want: map[string]string{"z": "newest", "y": "hourly", "x": "delete", "w": "hourly"},
		},
		{
			name:  "hourly: a half-hour zone has its own hours (Kolkata)",
			zone:  "Asia/Kolkata",
			at:    "2025-06-02T00:00:00Z",
			r:     Retention{Hourly: 1},
			snaps: []string{"p 2025-06-01T10:00:00Z", "q 2025-06-01T10:29:00Z", "s 2025-06-01T10:30:00Z"},
			want:  map[string]string{"s": "hourly,newest", "q": "delete", "p": "delete"},
		},
		{
			name:  "hourly: the same snapshots in UTC share one hour",
			at:    "2025-06-02T00:00:00Z",
			r:     Retention{Hourly: 1},
			snaps: []string{"p 2025-06-01T10:00:00Z", "q 2025-06-01T10:29:00Z", "s 2025-06-01T10:30:00Z"},
			want:  map[string]string{"s": "newest", "q": "delete", "p": "hourly"},
		},
		{
			name:  "daily: days are the policy zone's (New York)",
			zone:  "America/New_York",
			at:    "2025-06-03T00:00:00Z",
			r:     Retention{Daily: 1},
			snaps: []string{"a 2025-06-02T03:00:00Z", "b 2025-06-02T05:00:00Z"},
			want:  map[string]string{"b": "daily,newest", "a": "delete"},
		},
		{
			name:  "daily: days are the policy zone's (UTC)",
			at:    "2025-06-03T00:00:00Z",
			r:     Retention{Daily: 1},
			snaps: []string{"a 2025-06-02T03:00:00Z", "b 2025-06-02T05:00:00Z"},
			want:  map[string]string{"b": "newest", "a": "daily"},
		},
		{
			name: "daily: a snapshot's own UTC offset does not decide its day",
			at:   "2025-06-03T00:00:00Z",
			r:    Retention{Daily: 1},
			// x is 2025-06-01T23:00Z, y is 2025-06-02T01:00Z.
			snaps: []string{"x 2025-06-02T08:00:00+09:00", "y 2025-06-01T20:00:00-05:00"},
			want:  map[string]string{"y": "daily,newest", "x": "delete"},
		},
		{
			name: "daily: periods without snapshots do not count",
			at:   "2025-06-01T00:00:00Z",
			r:    Retention{Daily: 3},
			snaps: []string{
				"d1 2025-01-01T12:00:00Z", "d5 2025-01-05T12:00:00Z",
				"d20 2025-01-20T12:00:00Z", "d21 2025-01-21T12:00:00Z",
			},
			want: map[string]string{"d21": "daily,newest", "d20": "daily", "d5": "daily", "d1": "delete"},
		},
		{
			name: "daily: pick oldest",
			at:   "2025-06-01T00:00:00Z",
			r:    Retention{Daily: 2},
			snaps: []string{
				"a1 2025-01-01T01:00:00Z", "a2 2025-01-01T12:00:00Z", "a3 2025-01-01T23:00:00Z",
				"b1 2025-01-02T01:00:00Z", "b2 2025-01-02T12:00:00Z", "b3 2025-01-02T23:00:00Z",
			},
			want: map[string]string{"b3": "newest", "b2": "delete", "b1": "daily", "a3": "delete", "a2": "delete", "a1": "daily"},
		},
		{
			name: "daily: pick newest",
			at:   "2025-06-01T00:00:00Z",
			r:    Retention{Daily: 2, Pick: PickNewest},
			snaps: []string{
				"a1 2025-01-01T01:00:00Z", "a2 2025-01-01T12:00:00Z", "a3 2025-01-01T23:00:00Z",
				"b1 2025-01-02T01:00:00Z", "b2 2025-01-02T12:00:00Z", "b3 2025-01-02T23:00:00Z",
			},
			want: map[string]string{"b3": "daily,newest", "b2": "delete", "b1": "delete", "a3": "daily", "a2": "delete", "a1": "delete"},
		},
		{
			name: "weekly: ISO week 53 of 2026 runs into January 2027 (pick oldest)",
			at:   "2027-01-10T00:00:00Z",
			r:    Retention{Weekly: 2},
			snaps: []string{
				"w52 2026-12-27T12:00:00Z", "w53mon 2026-12-28T12:00:00Z",
				"w53sun 2027-01-03T12:00:00Z", "w01 2027-01-04T12:00:00Z",
			},
			want: map[string]string{"w01": "weekly,newest", "w53sun": "delete", "w53mon": "weekly", "w52": "delete"},
		},
		{
			name: "weekly: ISO week 53 of 2026 runs into January 2027 (pick newest)",
			at:   "2027-01-10T00:00:00Z",
			r:    Retention{Weekly: 3, Pick: PickNewest},
			snaps: []string{
				"w52 2026-12-27T12:00:00Z", "w53mon 2026-12-28T12:00:00Z",
				"w53sun 2027-01-03T12:00:00Z", "w01 2027-01-04T12:00:00Z",
			},
			want: map[string]string{"w01": "weekly,newest", "w53sun": "weekly", "w53mon": "delete", "w52": "weekly"},
		},
		{
			name: "weekly: Monday begins in the policy zone (Berlin)",
			zone: "Europe/Berlin",
			at:   "2025-06-10T00:00:00Z",
			r:    Retention{Weekly: 1},
			// Sunday 23:30 and Monday 00:30 in Berlin.
			snaps: []string{"sun 2025-06-08T21:30:00Z", "mon 2025-06-08T22:30:00Z"},
			want:  map[string]string{"mon": "weekly,newest", "sun": "delete"},
		},
		{
			name:  "weekly: Monday begins in the policy zone (UTC)",
			at:    "2025-06-10T00:00:00Z",
			r:     Retention{Weekly: 1},
			snaps: []string{"sun 2025-06-08T21:30:00Z", "mon 2025-06-08T22:30:00Z"},
			want:  map[string]string{"mon": "newest", "sun": "weekly"},
		},
		{
			name: "monthly: a leap day belongs to February (pick newest)",
			at:   "2024-06-01T00:00:00Z",
			r:    Retention{Monthly: 2, Pick: PickNewest},
			snaps: []string{
				"f28 2024-02-28T12:00:00Z", "f29 2024-02-29T12:00:00Z", "m01 2024-03-01T12:00:00Z",
			},
			want: map[string]string{"m01": "monthly,newest", "f29": "monthly", "f28": "delete"},
		},
		{
			name: "monthly: a leap day belongs to February (pick oldest)",
			at:   "2024-06-01T00:00:00Z",
			r:    Retention{Monthly: 2},
			snaps: []string{
				"f28 2024-02-28T12:00:00Z", "f29 2024-02-29T12:00:00Z", "m01 2024-03-01T12:00:00Z",
			},
			want: map[string]string{"m01": "monthly,newest", "f29": "delete", "f28": "monthly"},
		},
		{
			name:  "yearly: the year ends in the policy zone (Berlin)",
			zone:  "Europe/Berlin",
			at:    "2025-06-01T00:00:00Z",
			r:     Retention{Yearly: 1},
			snaps: []string{"a 2024-12-31T22:30:00Z", "b 2024-12-31T23:30:00Z"},
			want:  map[string]string{"b": "yearly,newest", "a": "delete"},
		},
		{
			name:  "yearly: the year ends in the policy zone (New York)",
			zone:  "America/New_York",
			at:    "2025-06-01T00:00:00Z",
			r:     Retention{Yearly: 1},
			snaps: []string{"a 2024-12-31T22:30:00Z", "b 2024-12-31T23:30:00Z"},
			want:  map[string]string{"b": "newest", "a": "yearly"},
		},
		{
			name: "rules overlap rather than add up",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 2, Daily: 2, Pick: PickNewest},
			snaps: []string{
				"a 2025-01-03T10:00:00Z", "b 2025-01-03T09:00:00Z",
				"c 2025-01-02T10:00:00Z", "e 2025-01-01T10:00:00Z",
			},
			want: map[string]string{"a": "keep_last,daily,newest", "b": "keep_last", "c": "daily", "e": "delete"},
		},
		{
			name: "a locked snapshot represents its period",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{Daily: 1},
			snaps: []string{
				"l 2025-01-03T08:00:00Z locked", "m 2025-01-03T12:00:00Z", "n 2025-01-03T18:00:00Z",
			},
			want: map[string]string{"l": "daily,locked", "m": "delete", "n": "newest"},
		},
		{
			name: "a WORM snapshot represents its period",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{Monthly: 1},
			snaps: []string{
				"w 2025-01-03T08:00:00Z worm=2025-03-01T00:00:00Z", "m 2025-01-04T12:00:00Z", "n 2025-01-05T18:00:00Z",
			},
			want: map[string]string{"w": "monthly,worm", "m": "delete", "n": "newest"},
		},
		{
			name: "locked, WORM-locked and held snapshots are never deleted",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1},
			snaps: []string{
				"a 2025-01-10T00:00:00Z",
				"b 2025-01-09T00:00:00Z locked",
				"c 2025-01-08T00:00:00Z worm=2025-02-01T01:00:00Z",
				"d 2025-01-07T00:00:00Z held",
				"e 2025-01-06T00:00:00Z worm=2025-02-01T00:00:00Z",
				"g 2025-01-05T00:00:00Z worm=2025-02-01T00:00:00.000000001Z",
				"f 2025-01-04T00:00:00Z",
				"h 2025-01-03T00:00:00Z locked held worm=2030-01-01T00:00:00Z",
			},
			want: map[string]string{
				"a": "keep_last,newest", "b": "locked", "c": "worm", "d": "replication",
				"e": "delete", "g": "worm", "f": "delete", "h": "locked,worm,replication",
			},
		},
		{
			name: "the newest is kept whatever the rules say",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{Monthly: 1},
			snaps: []string{
				"a 2025-01-03T08:00:00Z", "b 2025-01-04T12:00:00Z", "c 2025-01-05T18:00:00Z",
			},
			want: map[string]string{"a": "monthly", "b": "delete", "c": "newest"},
		},
		{
			name: "the newest in scope is kept even when locked",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{Yearly: 1},
			snaps: []string{
				"a 2025-01-03T08:00:00Z", "b 2025-01-04T12:00:00Z", "c 2025-01-05T18:00:00Z locked",
			},
			want: map[string]string{"a": "yearly", "b": "delete", "c": "locked,newest"},
		},
		{
			name: "scope own keeps and ignores other snapshots",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1},
			snaps: []string{
				"x 2025-01-10T12:00:00Z foreign", "a 2025-01-10T11:00:00Z", "b 2025-01-10T10:00:00Z",
				"y 2025-01-01T10:00:00Z foreign locked",
			},
			want: map[string]string{"x": "not_owned", "a": "keep_last,newest", "b": "delete", "y": "locked,not_owned"},
		},
		{
			name: "scope all counts and deletes every snapshot",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1, Scope: ScopeAll},
			snaps: []string{
				"x 2025-01-10T12:00:00Z foreign", "a 2025-01-10T11:00:00Z", "b 2025-01-10T10:00:00Z foreign",
				"y 2025-01-01T10:00:00Z foreign locked",
			},
			want: map[string]string{"x": "keep_last,newest", "a": "delete", "b": "delete", "y": "locked"},
		},
		{
			name: "a future snapshot out of scope is reported as both",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1},
			snaps: []string{
				"x 2025-03-10T12:00:00Z foreign", "a 2025-01-10T11:00:00Z",
			},
			want:   map[string]string{"x": "not_owned,future", "a": "keep_last,newest"},
			future: 1,
		},
		{
			name: "min_keep keeps the newest planned deletions",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1, MinKeep: 3},
			snaps: []string{
				"a 2025-01-10T12:00:00Z", "b 2025-01-10T11:00:00Z", "c 2025-01-10T10:00:00Z",
				"d 2025-01-10T09:00:00Z", "e 2025-01-10T08:00:00Z",
			},
			want: map[string]string{"a": "keep_last,newest", "b": "min_keep", "c": "min_keep", "d": "delete", "e": "delete"},
		},
		{
			name: "min_keep counts protected snapshots in scope",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1, MinKeep: 3},
			snaps: []string{
				"a 2025-01-10T12:00:00Z", "b 2025-01-10T11:00:00Z locked", "c 2025-01-10T10:00:00Z",
				"d 2025-01-10T09:00:00Z",
			},
			want: map[string]string{"a": "keep_last,newest", "b": "locked", "c": "min_keep", "d": "delete"},
		},
		{
			name: "min_keep counts neither future nor foreign snapshots",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1, MinKeep: 2},
			snaps: []string{
				"f 2025-03-10T12:00:00Z", "x 2025-01-10T13:00:00Z foreign",
				"a 2025-01-10T12:00:00Z", "b 2025-01-10T11:00:00Z", "c 2025-01-10T10:00:00Z",
			},
			want:   map[string]string{"f": "future", "x": "not_owned", "a": "keep_last,newest", "b": "min_keep", "c": "delete"},
			future: 1,
		},
		{
			name: "min_keep larger than the set keeps everything",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1, MinKeep: 50},
			snaps: []string{
				"a 2025-01-10T12:00:00Z", "b 2025-01-10T11:00:00Z", "c 2025-01-10T10:00:00Z",
			},
			want: map[string]string{"a": "keep_last,newest", "b": "min_keep", "c": "min_keep"},
		},
		{
			name: "more deletions than max_deletes_per_run are refused",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1, MaxDeletesPerRun: 2},
			snaps: []string{
				"a 2025-01-10T12:00:00Z", "b 2025-01-10T11:00:00Z", "c 2025-01-10T10:00:00Z", "d 2025-01-10T09:00:00Z",
			},
			want:    map[string]string{"a": "keep_last,newest", "b": "delete", "c": "delete", "d": "delete"},
			refused: true,
		},
		{
			name: "as many deletions as max_deletes_per_run are not refused",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1, MaxDeletesPerRun: 3},
			snaps: []string{
				"a 2025-01-10T12:00:00Z", "b 2025-01-10T11:00:00Z", "c 2025-01-10T10:00:00Z", "d 2025-01-10T09:00:00Z",
			},
			want: map[string]string{"a": "keep_last,newest", "b": "delete", "c": "delete", "d": "delete"},
		},
		{
			name: "max_deletes_per_run 0 is no limit",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1},
			snaps: []string{
				"a 2025-01-10T12:00:00Z", "b 2025-01-10T11:00:00Z", "c 2025-01-10T10:00:00Z", "d 2025-01-10T09:00:00Z",
			},
			want: map[string]string{"a": "keep_last,newest", "b": "delete", "c": "delete", "d": "delete"},
		},
		{
			name: "a policy without rules deletes nothing",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{MinKeep: 1, MaxDeletesPerRun: 50, KeepLast: -1},
			snaps: []string{
				"a 2025-01-10T12:00:00Z", "b 2025-01-10T11:00:00Z locked", "x 2025-01-10T10:00:00Z foreign",
			},
			want: map[string]string{"a": "newest,no_rules", "b": "locked,no_rules", "x": "not_owned"},
		},
		{
			name: "equal instants are ordered by ID, whatever their offsets",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1},
			snaps: []string{
				"b 2025-01-01T10:00:00Z", "a 2025-01-01T19:00:00+09:00", "c 2025-01-01T05:00:00-05:00",
			},
			want: map[string]string{"a": "keep_last,newest", "b": "delete", "c": "delete"},
		},
		{
			name: "sub-second times are ordered exactly",
			at:   "2025-02-01T00:00:00Z",
			r:    Retention{KeepLast: 1},
			snaps: []string{
				"a 2025-01-01T10:00:00Z", "b 2025-01-01T10:00:00.5Z", "c 2025-01-01T10:00:00.000000001Z",
			},
			want: map[string]string{"b": "keep_last,newest", "c": "delete", "a": "delete"},
		},
		{
			name: "the calendar going back a day (Sitka, 1867) keeps periods whole",
			zone: "America/Sitka",
			at:   "1867-11-01T00:00:00Z",
			r:    Retention{Daily: 2},
			// The zone left +14:58:47 for -09:01:13 at 1867-10-19T00:31:13Z: local
			// dates 19, 19, 18, 19, 18 from the newest.
			snaps: []string{
				"s1 1867-10-18T06:00:00Z", "s2 1867-10-18T12:00:00Z", "s18 1867-10-19T06:00:00Z",
				"s3 1867-10-19T12:00:00Z", "s4 1867-10-20T00:00:00Z",
			},
			want: map[string]string{"s4": "newest", "s3": "delete", "s18": "delete", "s2": "daily", "s1": "daily"},
		},
		{
			name: "the calendar going back a day (Sitka, 1867) brings a period back after the rule is full",
			zone: "America/Sitka",
			at:   "1867-11-01T00:00:00Z",
			r:    Retention{Daily: 1},
			snaps: []string{
				"s1 1867-10-18T06:00:00Z", "s2 1867-10-18T12:00:00Z", "s18 1867-10-19T06:00:00Z",
				"s3 1867-10-19T12:00:00Z", "s4 1867-10-20T00:00:00Z",
			},
			want: map[string]string{"s4": "newest", "s3": "delete", "s18": "delete", "s2": "daily", "s1": "delete"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := time.UTC
			if tt.zone != "" {
				loc = retLoad(t, tt.zone)
			}
			snaps := retSnaps(t, tt.snaps...)
			at := retTS(t, tt.at)
			p := retPlan(t, snaps, tt.r, loc, at)
			if diff := cmp.Diff(tt.want, retSummary(p)); diff != "" {
				t.Errorf("PlanRetention(%s) decisions (-want +got):\n%s", tt.name, diff)
			}
			if p.Refused != tt.refused {
				t.Errorf("PlanRetention(%s).Refused = %v, want %v", tt.name, p.Refused, tt.refused)
			}
			if p.Future != tt.future {
				t.Errorf("PlanRetention(%s).Future = %d, want %d", tt.name, p.Future, tt.future)
			}
			if diff := cmp.Diff(retNaivePlan(snaps, tt.r, loc, at), p); diff != "" {
				t.Errorf("PlanRetention(%s) differs from the naive plan (-naive +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestPlanRetentionEmpty(t *testing.T) {
	at := retTS(t, "2025-01-01T00:00:00Z")
	p := retPlan(t, nil, Retention{KeepLast: 1}, nil, at)
	if len(p.Decisions) != 0 || p.Deletes != 0 || p.Refused || p.Future != 0 {
		t.Errorf("PlanRetention(nil) = %+v, want an empty plan", p)
	}
}

func TestPlanRetentionNilLocationIsUTC(t *testing.T) {
	snaps := retSnaps(t, "a 2025-06-02T03:00:00Z", "b 2025-06-02T05:00:00Z", "c 2025-06-01T23:00:00Z")
	at := retTS(t, "2025-07-01T00:00:00Z")
	r := Retention{Daily: 2}
	got := retSummary(retPlan(t, snaps, r, nil, at))
	want := retSummary(retPlan(t, snaps, r, time.UTC, at))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PlanRetention(loc nil) differs from UTC (-UTC +nil):\n%s", diff)
	}
}

func TestPlanRetentionOrder(t *testing.T) {
	snaps := retSnaps(t,
		"m 2025-01-01T10:00:00Z", "z 2025-01-01T11:00:00Z", "a 2025-01-01T10:00:00Z",
		"b 2025-01-01T09:00:00Z", "a 2025-01-01T11:00:00+01:00",
	)
	p := retPlan(t, snaps, Retention{KeepLast: 1}, nil, retTS(t, "2025-02-01T00:00:00Z"))
	if got, want := retIDs(p), "z a a m b"; got != want {
		t.Errorf("PlanRetention order = %q, want %q", got, want)
	}
	// Of the two "a" at 10:00Z, the one listed first in the input comes first.
	if got := p.Decisions[1].Time.Location(); got != time.UTC {
		t.Errorf("PlanRetention: first of two equal snapshots has location %v, want the input's first (UTC)", got)
	}
}

func TestReasonStrings(t *testing.T) {
	all := Reason(0)
	for i := range retReasonNames {
		all |= 1 << i
	}
	tests := []struct {
		r    Reason
		want []string
	}{
		{0, []string{}},
		{ReasonNewest | ReasonKeepLast, []string{"keep_last", "newest"}},
		{ReasonFuture | ReasonNotOwned | ReasonLocked, []string{"locked", "not_owned", "future"}},
		{all, []string{
			"keep_last", "within", "hourly", "daily", "weekly", "monthly", "yearly", "min_keep",
			"locked", "worm", "replication", "not_owned", "newest", "future", "no_rules",
		}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.r.Strings()); diff != "" {
			t.Errorf("Reason(%#x).Strings() (-want +got):\n%s", uint32(tt.r), diff)
		}
		b, err := json.Marshal(tt.r)
		if err != nil {
			t.Fatalf("json.Marshal(Reason(%#x)): %v", uint32(tt.r), err)
		}
		want, _ := json.Marshal(tt.want)
		if string(b) != string(want) {
			t.Errorf("json.Marshal(Reason(%#x)) = %s, want %s", uint32(tt.r), b, want)
		}
	}
	if got, want := (ReasonDaily | ReasonLocked).String(), "daily,locked"; got != want {
		t.Errorf("Reason.String() = %q, want %q", got, want)
	}
	// The SPEC's constants keep their bits.
	for i, r := range []Reason{
		ReasonKeepLast, ReasonWithin, ReasonHourly, ReasonDaily, ReasonWeekly, ReasonMonthly,
		ReasonYearly, ReasonMinKeep, ReasonLocked, ReasonWORM, ReasonReplication, ReasonNotOwned,
		ReasonNewest, ReasonFuture, ReasonNoRules,
	} {
		if r != 1<<i {
			t.Errorf("reason %d = %#x, want %#x", i, uint32(r), 1<<i)
		}
	}
}

// TestSnapshotFields guards the field-by-field copy of snapshots into
// decisions in PlanRetention: a new field must be copied there too.
func TestSnapshotFields(t *testing.T) {
	var names []string
	for f := range reflect.TypeFor[Snapshot]().Fields() {
		names = append(names, f.Name)
	}
	want := []string{"ID", "Time", "WORMUntil", "Owned", "Locked", "Held"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("Snapshot fields changed; copy the new ones in PlanRetention and update this test (-want +got):\n%s", diff)
	}
}
