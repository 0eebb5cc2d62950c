package policy

import (
	"fmt"
	"strconv"
	"time"
)

// cfgDurationUnits extends time.ParseDuration's units by days and weeks. A day is
// 24 hours and a week 168 hours: a retention window is a span of time, not a span
// of calendar days, so a DST change does not stretch or shrink it.
var cfgDurationUnits = map[string]uint64{
	"ns": uint64(time.Nanosecond),
	"us": uint64(time.Microsecond),
	"µs": uint64(time.Microsecond), // U+00B5 micro sign
	"μs": uint64(time.Microsecond), // U+03BC Greek letter mu
	"ms": uint64(time.Millisecond),
	"s":  uint64(time.Second),
	"m":  uint64(time.Minute),
	"h":  uint64(time.Hour),
	"d":  uint64(24 * time.Hour),
	"w":  uint64(7 * 24 * time.Hour),
}

// ParseDuration parses a duration in Go syntax ("90m", "1h30m", "-5s") that may also
// use the units d (24 hours) and w (7 days): "7d", "2w", "1w2d3h", "1.5d". A bare
// "0" is zero. The error names the input.
func ParseDuration(s string) (time.Duration, error) {
	d, msg := cfgParseDuration(s)
	if msg != "" {
		return 0, fmt.Errorf("invalid duration %q: %s", s, msg)
	}
	return d, nil
}

// cfgParseDuration follows time.ParseDuration's algorithm, so every string Go
// accepts means the same here. It returns a reason instead of an error so that
// ParseDuration words all failures alike.
func cfgParseDuration(s string) (time.Duration, string) {
	var total uint64
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, ""
	}
	if s == "" {
		return 0, "empty"
	}
	for s != "" {
		if s[0] != '.' && (s[0] < '0' || s[0] > '9') {
			return 0, "expected a number"
		}
		var v, f uint64
		var ok bool
		scale := 1.0
		n := len(s)
		v, s, ok = cfgLeadingInt(s)
		if !ok {
			return 0, "out of range"
		}
		pre := n != len(s)
		post := false
		if s != "" && s[0] == '.' {
			s = s[1:]
			n := len(s)
			f, scale, s = cfgLeadingFraction(s)
			post = n != len(s)
		}
		if !pre && !post {
			return 0, "expected a number"
		}
		i := 0
		for ; i < len(s); i++ {
			if c := s[i]; c == '.' || '0' <= c && c <= '9' {
				break
			}
		}
		if i == 0 {
			return 0, "missing unit (use ns, us, ms, s, m, h, d or w)"
		}
		u := s[:i]
		s = s[i:]
		unit, ok := cfgDurationUnits[u]
		if !ok {
			return 0, "unknown unit " + strconv.Quote(u) + " (use ns, us, ms, s, m, h, d or w)"
		}
		if v > 1<<63/unit {
			return 0, "out of range"
		}
		v *= unit
		if f > 0 {
			v += uint64(float64(f) * (float64(unit) / scale))
			if v > 1<<63 {
				return 0, "out of range"
			}
		}
		total += v
		if total > 1<<63 {
			return 0, "out of range"
		}
	}
	if neg {
		return -time.Duration(total), ""
	}
	if total > 1<<63-1 {
		return 0, "out of range"
	}
	return time.Duration(total), ""
}

// cfgLeadingInt consumes the leading decimal digits of s.
func cfgLeadingInt(s string) (x uint64, rest string, ok bool) {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			break
		}
		if x > 1<<63/10 {
			return 0, "", false
		}
		x = x*10 + uint64(c) - '0'
		if x > 1<<63 {
			return 0, "", false
		}
	}
	return x, s[i:], true
}

// cfgLeadingFraction consumes the digits after a decimal point; digits beyond
// what fits are dropped, as time.ParseDuration does.
func cfgLeadingFraction(s string) (x uint64, scale float64, rest string) {
	i := 0
	scale = 1
	overflow := false
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			break
		}
		if overflow {
			continue
		}
		if x > (1<<63-1)/10 {
			overflow = true
			continue
		}
		y := x*10 + uint64(c) - '0'
		if y > 1<<63 {
			overflow = true
			continue
		}
		x = y
		scale *= 10
	}
	return x, scale, s[i:]
}
