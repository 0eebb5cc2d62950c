// Package scheduler fires policy runs on their cron schedules, with jitter, catch-up and
// per-NAS and per-policy concurrency limits.
package scheduler

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// parser accepts the five standard fields, descriptors (@hourly, @every 15m) and a
// CRON_TZ= or TZ= prefix. The config loader and the scheduler both use it, so a
// schedule that validates is exactly a schedule that fires.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse parses a cron spec. A spec without its own CRON_TZ= prefix is evaluated in loc
// (nil means UTC), independent of the time zone of the times passed to Next.
func Parse(spec string, loc *time.Location) (cron.Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bad cron expression %q: %w", spec, err)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok && ss.Location == time.Local {
		ss.Location = loc
	}
	return s, nil
}
