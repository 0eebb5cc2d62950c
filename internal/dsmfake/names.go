package dsmfake

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// snapshotName renders a share snapshot name the way DSM does: the local wall time in loc,
// prefixed by that moment's east-positive UTC offset ("GMT+09-2023.09.11-23.23.40"). Zones
// with a minutes offset get "GMT+0530"; DSM's form for them is unknown.
func snapshotName(t time.Time, loc *time.Location) string {
	lt := t.In(loc)
	_, off := lt.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	zone := fmt.Sprintf("GMT%c%02d", sign, off/3600)
	if m := off % 3600 / 60; m != 0 {
		zone += fmt.Sprintf("%02d", m)
	}
	return zone + lt.Format("-2006.01.02-15.04.05")
}

var nameRE = regexp.MustCompile(`^GMT([+-])(\d{2}):?(\d{2})?-(\d{4}\.\d{2}\.\d{2}-\d{2}\.\d{2}\.\d{2})$`)

// parseSnapshotName reads the moment a share snapshot name stands for; it accepts GMT±HH,
// GMT±HHMM and GMT±HH:MM.
func parseSnapshotName(name string) (time.Time, bool) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, false
	}
	h, _ := strconv.Atoi(m[2])
	mins := 0
	if m[3] != "" {
		mins, _ = strconv.Atoi(m[3])
	}
	off := h*3600 + mins*60
	if m[1] == "-" {
		off = -off
	}
	t, err := time.ParseInLocation("2006.01.02-15.04.05", m[4], time.FixedZone("", off))
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// ordered returns items (oldest first) in the configured list order. Shuffled is a fixed
// pseudo-random order keyed on each item's identity, so paging through it stays coherent.
func ordered[T any](items []T, o Order, key func(T) string) []T {
	out := append([]T(nil), items...)
	switch o {
	case NewestFirst:
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	case Shuffled:
		h := func(s string) uint64 {
			f := fnv.New64a()
			_, _ = f.Write([]byte(s))
			return f.Sum64()
		}
		sort.SliceStable(out, func(i, j int) bool { return h(key(out[i])) < h(key(out[j])) })
	}
	return out
}
