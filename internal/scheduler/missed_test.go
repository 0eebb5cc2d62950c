package scheduler

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func TestMissed(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	hourly := mustParse(t, "0 * * * *", berlin)
	tests := []struct {
		name       string
		sched      cron.Schedule
		last, now  time.Time
		wantCount  int
		wantLatest time.Time
	}{
		{
			name:  "hourly over a five hour outage",
			sched: hourly, last: utc(2025, 5, 1, 10, 0, 0), now: utc(2025, 5, 1, 15, 30, 0),
			wantCount: 5, wantLatest: utc(2025, 5, 1, 15, 0, 0),
		},
		{
			name:  "a fire at now counts",
			sched: hourly, last: utc(2025, 5, 1, 10, 0, 0), now: utc(2025, 5, 1, 15, 0, 0),
			wantCount: 5, wantLatest: utc(2025, 5, 1, 15, 0, 0),
		},
		{
			name:  "a second before the fire it does not",
			sched: hourly, last: utc(2025, 5, 1, 10, 0, 0), now: utc(2025, 5, 1, 14, 59, 59),
			wantCount: 4, wantLatest: utc(2025, 5, 1, 14, 0, 0),
		},
		{
			name:  "none missed",
			sched: hourly, last: utc(2025, 5, 1, 10, 0, 0), now: utc(2025, 5, 1, 10, 59, 59),
		},
		{
			name:  "now before last",
			sched: hourly, last: utc(2025, 5, 1, 10, 0, 0), now: utc(2025, 5, 1, 9, 0, 0),
		},
		{
			name:  "nothing recorded",
			sched: hourly, last: time.Time{}, now: utc(2025, 5, 1, 9, 0, 0),
		},
		{
			name:  "no schedule",
			sched: nil, last: utc(2025, 5, 1, 10, 0, 0), now: utc(2025, 5, 1, 19, 0, 0),
		},
		{
			name:  "never fires",
			sched: mustParse(t, "0 0 30 2 *", berlin), last: utc(2025, 1, 1, 0, 0, 0), now: utc(2026, 1, 1, 0, 0, 0),
		},
		{
			name:  "every minute of January first, uncapped",
			sched: mustParse(t, "* * 1 1 *", time.UTC), last: utc(2020, 1, 1, 0, 0, 0), now: utc(2025, 7, 1, 0, 0, 0),
			wantCount: 6*1440 - 1, wantLatest: utc(2025, 1, 1, 23, 59, 0),
		},
		{
			name:  "every 15 minutes from the last fire",
			sched: mustParse(t, "@every 15m", berlin), last: utc(2025, 5, 1, 10, 7, 0), now: utc(2025, 5, 1, 11, 10, 0),
			wantCount: 4, wantLatest: utc(2025, 5, 1, 11, 7, 0),
		},
		{
			name:  "daily in the skipped hour of spring forward",
			sched: mustParse(t, "30 2 * * *", berlin), last: utc(2025, 3, 29, 1, 30, 0), now: utc(2025, 3, 31, 2, 0, 0),
			wantCount: 1, wantLatest: utc(2025, 3, 31, 0, 30, 0),
		},
		{
			name:  "daily in the repeated hour of fall back counts twice",
			sched: mustParse(t, "30 2 * * *", berlin), last: utc(2025, 10, 25, 0, 30, 0), now: utc(2025, 10, 27, 2, 0, 0),
			wantCount: 3, wantLatest: utc(2025, 10, 27, 1, 30, 0),
		},
		{
			name:  "hourly across fall back counts real hours",
			sched: hourly, last: utc(2025, 10, 25, 22, 0, 0), now: utc(2025, 10, 26, 3, 0, 0),
			wantCount: 5, wantLatest: utc(2025, 10, 26, 3, 0, 0),
		},
		{
			name:  "cron_tz schedule",
			sched: mustParse(t, "CRON_TZ=America/New_York 0 9 * * 1-5", berlin), last: utc(2025, 5, 2, 13, 0, 0), now: utc(2025, 5, 6, 12, 0, 0),
			wantCount: 1, wantLatest: utc(2025, 5, 5, 13, 0, 0),
		},
		{
			name:  "every second over three years is capped with an exact latest",
			sched: mustParse(t, "@every 1s", berlin), last: utc(2020, 1, 1, 0, 0, 0), now: time.Date(2023, 1, 1, 0, 0, 0, 500_000_000, time.UTC),
			wantCount: MaxMissed, wantLatest: utc(2023, 1, 1, 0, 0, 0),
		},
		{
			name:  "every minute over three years is capped with an exact latest",
			sched: mustParse(t, "* * * * *", berlin), last: utc(2020, 1, 1, 0, 0, 0), now: utc(2023, 1, 1, 12, 34, 56),
			wantCount: MaxMissed, wantLatest: utc(2023, 1, 1, 12, 34, 0),
		},
		{
			name:  "every minute of January first, capped, latest months back",
			sched: mustParse(t, "* * 1 1 *", time.UTC), last: utc(2000, 1, 1, 0, 0, 0), now: utc(2025, 7, 1, 0, 0, 0),
			wantCount: MaxMissed, wantLatest: utc(2025, 1, 1, 23, 59, 0),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			count, latest := Missed(tt.sched, tt.last, tt.now)
			if count != tt.wantCount || !latest.Equal(tt.wantLatest) {
				t.Errorf("Missed(%v, %v) = %d, %v, want %d, %v", tt.last, tt.now, count, latest, tt.wantCount, tt.wantLatest)
			}
		})
	}
}
