package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/synology-snapd/snapd/internal/policy"
)

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// parseTime accepts RFC 3339, or a date with optional time in loc.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor 'YYYY-MM-DD[ HH:MM[:SS]]'", s)
}

// parseSince accepts a duration ago (36h, 7d, 2w) or a time.
func parseSince(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if d, err := policy.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("negative duration %q", s)
		}
		return now.Add(-d), nil
	}
	t, err := parseTime(s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (36h, 7d) nor a time", s)
	}
	return t, nil
}
