// Package scheduler fires policy runs on their cron schedules, with jitter, catch-up and
// per-NAS and per-policy concurrency limits.
package scheduler

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parser accepts the five standard fields, descriptors (@hourly, @every 15m) and a
// CRON_TZ= or TZ= prefix. The config loader and the scheduler both use it, so a
// schedule that validates is exactly a schedule that fires.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse parses a cron spec. A spec without its own CRON_TZ= prefix is evaluated in loc
// (nil means UTC), independent of the time zone of the times passed to Next.
// "@every D" needs D of at least one second.
func Parse(spec string, loc *time.Location) (cron.Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	s, err := parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bad cron expression %q: %w", spec, err)
	}
	switch ss := s.(type) {
	case *cron.SpecSchedule:
		if ss.Location == time.Local {
			ss.Location = loc
		}
	case cron.ConstantDelaySchedule:
		// robfig rounds a shorter or negative interval up to one second without a word.
		_, every, _ := strings.Cut(spec, "@every")
		if d, _ := time.ParseDuration(strings.TrimSpace(every)); d < time.Second {
			return nil, fmt.Errorf("bad cron expression %q: interval %s is shorter than one second", spec, d)
		}
	}
	return s, nil
}

// parse guards robfig's parser, which panics on some malformed input (a CRON_TZ= prefix
// not followed by a space and a schedule), so that a bad config line is an error.
func parse(spec string) (s cron.Schedule, err error) {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		if !strings.Contains(spec, " ") {
			return nil, fmt.Errorf("time zone prefix without a schedule after a space")
		}
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("malformed spec: %v", r)
		}
	}()
	return parser.Parse(spec)
}
