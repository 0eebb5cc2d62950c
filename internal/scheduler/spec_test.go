package scheduler

import (
	"strings"
	"testing"
	"time"

	_ "time/tzdata" // the zone tests must not depend on the host's zoneinfo

	"github.com/robfig/cron/v3"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func mustParse(t testing.TB, spec string, loc *time.Location) cron.Schedule {
	t.Helper()
	s, err := Parse(spec, loc)
	if err != nil {
		t.Fatalf("Parse(%q, %v): %v", spec, loc, err)
	}
	return s
}

// nexts returns the first n fires of s after from.
func nexts(s cron.Schedule, from time.Time, n int) []time.Time {
	var out []time.Time
	for t := from; len(out) < n; {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

func fmtTimes(ts []time.Time) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.Format("2006-01-02 15:04:05 MST"))
	}
	return "[" + b.String() + "]"
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{
		"",
		"* * * *",
		"0 0 * * * *", // six fields: seconds are not accepted
		"61 * * * *",
		"0 25 * * *",
		"0 0 32 * *",
		"0 0 * 13 *",
		"0 0 * * 8",
		"@fortnightly",
		"@every",
		"@every 5x",
		"CRON_TZ=Mars/Olympus 0 * * * *",
		"CRON_TZ=Europe/Berlin",
		"TZ=Europe/Berlin\t0 * * * *",
		"@every 0s",
		"@every -5m",
		"@every 500ms",
	} {
		t.Run(spec, func(t *testing.T) {
			s, err := Parse(spec, time.UTC)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", spec, s)
			}
			if !strings.Contains(err.Error(), "bad cron expression") {
				t.Errorf("Parse(%q) error = %q, want it to name the bad cron expression", spec, err)
			}
		})
	}
}

// TestParseNext pins Schedule.Next across daylight saving changes in named zones, as
// robfig/cron v3.0.1 computes it. Two behaviours matter to a snapshot schedule:
//   - spring forward: a daily time inside the skipped hour does not fire at all that day
//     (no fire on 30 March 2025 for "30 2 * * *" in Berlin), and an hourly schedule
//     simply has no fire for the skipped hour;
//   - fall back: a time inside the repeated hour fires twice, once per offset (02:30
//     CEST and 02:30 CET on 26 October 2025), which for an hourly schedule is right (two
//     real hours) and for a daily one means two runs an hour apart.
func TestParseNext(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	newYork := mustLoad(t, "America/New_York")
	tokyo := mustLoad(t, "Asia/Tokyo")
	at := func(loc *time.Location, y int, mo time.Month, d, h, mi int) time.Time {
		return time.Date(y, mo, d, h, mi, 0, 0, loc)
	}
	// utc builds instants from their UTC reading, so an ambiguous local time is never
	// guessed: the expected list says exactly which offset fires.
	utc := func(y int, mo time.Month, d, h, mi int) time.Time { return at(time.UTC, y, mo, d, h, mi) }

	tests := []struct {
		name string
		spec string
		loc  *time.Location
		from time.Time
		want []time.Time
	}{
		{
			name: "berlin spring forward daily in the skipped hour",
			spec: "30 2 * * *", loc: berlin, from: at(berlin, 2025, 3, 28, 12, 0),
			want: []time.Time{utc(2025, 3, 29, 1, 30), utc(2025, 3, 31, 0, 30), utc(2025, 4, 1, 0, 30)},
		},
		{
			name: "berlin spring forward daily outside the skipped hour",
			spec: "30 3 * * *", loc: berlin, from: at(berlin, 2025, 3, 28, 12, 0),
			want: []time.Time{utc(2025, 3, 29, 2, 30), utc(2025, 3, 30, 1, 30), utc(2025, 3, 31, 1, 30)},
		},
		{
			name: "berlin spring forward midnight",
			spec: "0 0 * * *", loc: berlin, from: at(berlin, 2025, 3, 29, 12, 0),
			want: []time.Time{utc(2025, 3, 29, 23, 0), utc(2025, 3, 30, 22, 0)},
		},
		{
			name: "berlin spring forward hourly",
			spec: "0 * * * *", loc: berlin, from: at(berlin, 2025, 3, 30, 0, 30),
			want: []time.Time{utc(2025, 3, 30, 0, 0), utc(2025, 3, 30, 1, 0), utc(2025, 3, 30, 2, 0)},
		},
		{
			name: "berlin fall back daily in the repeated hour fires twice",
			spec: "30 2 * * *", loc: berlin, from: at(berlin, 2025, 10, 25, 12, 0),
			want: []time.Time{utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 30), utc(2025, 10, 27, 1, 30)},
		},
		{
			name: "berlin fall back hourly has both 02:00",
			spec: "0 * * * *", loc: berlin, from: at(berlin, 2025, 10, 26, 0, 30),
			want: []time.Time{utc(2025, 10, 25, 23, 0), utc(2025, 10, 26, 0, 0), utc(2025, 10, 26, 1, 0), utc(2025, 10, 26, 2, 0)},
		},
		{
			name: "berlin fall back every 30 minutes",
			spec: "*/30 * * * *", loc: berlin, from: utc(2025, 10, 25, 23, 45),
			want: []time.Time{utc(2025, 10, 26, 0, 0), utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 0), utc(2025, 10, 26, 1, 30), utc(2025, 10, 26, 2, 0)},
		},
		{
			name: "new york spring forward daily in the skipped hour",
			spec: "30 2 * * *", loc: newYork, from: at(newYork, 2025, 3, 7, 12, 0),
			want: []time.Time{utc(2025, 3, 8, 7, 30), utc(2025, 3, 10, 6, 30)},
		},
		{
			name: "new york fall back daily in the repeated hour fires twice",
			spec: "30 1 * * *", loc: newYork, from: at(newYork, 2025, 10, 31, 12, 0),
			want: []time.Time{utc(2025, 11, 1, 5, 30), utc(2025, 11, 2, 5, 30), utc(2025, 11, 2, 6, 30), utc(2025, 11, 3, 6, 30)},
		},
		{
			name: "new york weekly on sunday across fall back",
			spec: "0 3 * * 0", loc: newYork, from: at(newYork, 2025, 10, 20, 0, 0),
			want: []time.Time{utc(2025, 10, 26, 7, 0), utc(2025, 11, 2, 8, 0)},
		},
		{
			name: "cron_tz overrides the default location",
			spec: "CRON_TZ=America/New_York 30 2 * * *", loc: berlin, from: at(newYork, 2025, 3, 7, 12, 0),
			want: []time.Time{utc(2025, 3, 8, 7, 30), utc(2025, 3, 10, 6, 30)},
		},
		{
			name: "tz prefix is accepted too",
			spec: "TZ=Asia/Tokyo 0 9 * * *", loc: berlin, from: utc(2025, 3, 29, 0, 0),
			want: []time.Time{utc(2025, 3, 30, 0, 0), utc(2025, 3, 31, 0, 0)},
		},
		{
			name: "the zone of the from time does not matter",
			spec: "0 9 * * *", loc: tokyo, from: at(berlin, 2025, 3, 29, 1, 0),
			want: []time.Time{utc(2025, 3, 30, 0, 0), utc(2025, 3, 31, 0, 0)},
		},
		{
			name: "nil location means UTC",
			spec: "0 9 * * *", loc: nil, from: at(berlin, 2025, 3, 29, 12, 0),
			want: []time.Time{utc(2025, 3, 30, 9, 0), utc(2025, 3, 31, 9, 0)},
		},
		{
			name: "descriptor in the given location",
			spec: "@daily", loc: berlin, from: utc(2025, 1, 1, 0, 0),
			want: []time.Time{utc(2025, 1, 1, 23, 0), utc(2025, 1, 2, 23, 0)},
		},
		{
			name: "every is relative and ignores zones",
			spec: "@every 90m", loc: berlin, from: utc(2025, 3, 30, 0, 0),
			want: []time.Time{utc(2025, 3, 30, 1, 30), utc(2025, 3, 30, 3, 0), utc(2025, 3, 30, 4, 30)},
		},
		{
			name: "leap day",
			spec: "0 12 29 2 *", loc: berlin, from: utc(2025, 1, 1, 0, 0),
			want: []time.Time{utc(2028, 2, 29, 11, 0), utc(2032, 2, 29, 11, 0)},
		},
		{
			name: "day of month or day of week",
			spec: "0 0 1 * 1", loc: time.UTC, from: utc(2025, 9, 27, 0, 0),
			want: []time.Time{utc(2025, 9, 29, 0, 0), utc(2025, 10, 1, 0, 0), utc(2025, 10, 6, 0, 0)},
		},
		{
			name: "never fires",
			spec: "0 0 30 2 *", loc: time.UTC, from: utc(2025, 1, 1, 0, 0),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.spec, tt.loc)
			got := nexts(s, tt.from, len(tt.want)+boolInt(tt.want == nil))
			if !equalInstants(got, tt.want) {
				t.Errorf("Next(%q in %v) from %v = %s, want %s", tt.spec, tt.loc, tt.from, fmtTimes(got), fmtTimes(tt.want))
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func equalInstants(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// TestParseLocationIndependent checks that Parse's result does not depend on the zone
// of the times it is asked about, nor on the host's local zone.
func TestParseLocationIndependent(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	s := mustParse(t, "0 6 * * *", berlin)
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	want := time.Date(2025, 6, 1, 4, 0, 0, 0, time.UTC)
	for _, loc := range []*time.Location{time.UTC, time.Local, mustLoad(t, "Pacific/Auckland")} {
		if got := s.Next(from.In(loc)); !got.Equal(want) {
			t.Errorf("Next(%v) = %v, want %v", from.In(loc), got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 * * * *", "@hourly", "@every 15m", "CRON_TZ=Europe/Berlin 30 2 * * *", "*/5 1-3 1,15 jan-mar mon-fri"} {
		f.Add(s)
	}
	from := time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec, time.UTC)
		if err != nil {
			return
		}
		if n := s.Next(from); !n.IsZero() && !n.After(from) {
			t.Errorf("Parse(%q).Next(%v) = %v, want a later time", spec, from, n)
		}
	})
}
