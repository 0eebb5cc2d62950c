package synology

import (
	"fmt"
	"time"
)

// ParseShareSnapshotTime returns the instant a share snapshot named like
// "GMT+09-2023.09.11-23.23.40" was taken: the date and time are the NAS's wall clock in
// the zone whose offset east of UTC follows "GMT" (so that name is 14:23:40 UTC). The
// offset may be written ±HH, ±HHMM or ±HH:MM. The result carries that fixed offset.
func ParseShareSnapshotTime(name string) (time.Time, error) {
	t, reason := parseShareSnapshotTime(name)
	if reason != "" {
		return time.Time{}, fmt.Errorf("share snapshot name %q: %s", name, reason)
	}
	return t, nil
}

func parseShareSnapshotTime(s string) (time.Time, string) {
	const want = `want "GMT±HH-YYYY.MM.DD-hh.mm.ss"`
	if len(s) < 3 || s[:3] != "GMT" {
		return time.Time{}, "does not start with GMT, " + want
	}
	s = s[3:]
	if len(s) == 0 || s[0] != '+' && s[0] != '-' {
		return time.Time{}, "no offset sign after GMT, " + want
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	s = s[1:]
	oh, s, ok := digits(s, 2)
	if !ok {
		return time.Time{}, "offset hours are not two digits, " + want
	}
	om := 0
	if len(s) > 0 && s[0] == ':' {
		if om, s, ok = digits(s[1:], 2); !ok {
			return time.Time{}, "offset minutes are not two digits after ':'"
		}
	} else if len(s) > 0 && s[0] != '-' {
		if om, s, ok = digits(s, 2); !ok {
			return time.Time{}, "offset is not ±HH, ±HHMM or ±HH:MM"
		}
	}
	if oh > 14 || om > 59 || oh == 14 && om > 0 {
		return time.Time{}, "offset out of range"
	}
	var f [6]int
	seps := []byte{'-', '.', '.', '-', '.', '.'}
	widths := []int{4, 2, 2, 2, 2, 2}
	for i := range f {
		if len(s) == 0 || s[0] != seps[i] {
			return time.Time{}, fmt.Sprintf("expected %q at %q, %s", seps[i], s, want)
		}
		if f[i], s, ok = digits(s[1:], widths[i]); !ok {
			return time.Time{}, "date or time field is not a number of the right width, " + want
		}
	}
	if s != "" {
		return time.Time{}, fmt.Sprintf("trailing text %q", s)
	}
	off := sign * (oh*3600 + om*60)
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, time.FixedZone(zoneName(off), off))
	if t.Year() != f[0] || int(t.Month()) != f[1] || t.Day() != f[2] || t.Hour() != f[3] || t.Minute() != f[4] || t.Second() != f[5] {
		return time.Time{}, "no such date or time"
	}
	return t, ""
}

// digits reads exactly n ASCII digits.
func digits(s string, n int) (int, string, bool) {
	if len(s) < n {
		return 0, s, false
	}
	v := 0
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, s, false
		}
		v = v*10 + int(c-'0')
	}
	return v, s[n:], true
}

func zoneName(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	if off%3600 == 0 {
		return fmt.Sprintf("GMT%c%02d", sign, off/3600)
	}
	return fmt.Sprintf("GMT%c%02d%02d", sign, off/3600, off%3600/60)
}
