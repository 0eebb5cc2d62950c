package policy

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
)

// retentionSorted returns snaps as decisions, newest first; equal instants are
// ordered by ID, then by position in snaps.
//
// Snapshot times have whole seconds (share names and LUN create_time both do),
// so the usual path packs each snapshot into one integer, its age in seconds
// relative to the newest above its input position, and sorts those integers: a
// linear scan when the list is already ordered either way, as a NAS usually
// lists it, else an LSD radix sort. Times with sub-second parts, or spans too
// wide to pack, fall back to a comparison sort.
func retentionSorted(snaps []Snapshot) []Decision {
	d := make([]Decision, len(snaps))
	if keys, shift := retentionKeys(snaps); keys != nil {
		mask := uint64(1)<<shift - 1
		for i, k := range keys {
			d[i].Snapshot = snaps[k&mask]
		}
		return d
	}
	idx := make([]int, len(snaps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := snaps[b].Time.Compare(snaps[a].Time); c != 0 {
			return c
		}
		if c := strings.Compare(snaps[a].ID, snaps[b].ID); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for i, j := range idx {
		d[i].Snapshot = snaps[j]
	}
	return d
}

// retentionKeys returns, sorted ascending, one key per snapshot: its age below
// the newest in seconds, shifted left by shift bits, plus its input position.
// It returns nil when a time has a sub-second part or the keys do not fit.
func retentionKeys(snaps []Snapshot) (keys []uint64, shift uint) {
	n := len(snaps)
	shift = uint(bits.Len(uint(n - 1)))
	var lo, hi int64
	for i := range snaps {
		t := &snaps[i].Time
		if t.Nanosecond() != 0 {
			return nil, 0
		}
		s := t.Unix()
		if i == 0 || s < lo {
			lo = s
		}
		if i == 0 || s > hi {
			hi = s
		}
	}
	span := uint64(hi) - uint64(lo)
	if bits.Len64(span)+int(shift) > 64 {
		return nil, 0
	}
	keys = make([]uint64, n)
	asc, desc := true, true
	for i := range snaps {
		k := (uint64(hi)-uint64(snaps[i].Time.Unix()))<<shift | uint64(i)
		keys[i] = k
		if i > 0 {
			if k < keys[i-1] {
				asc = false
			} else {
				desc = false
			}
		}
	}
	switch {
	case asc:
	case desc:
		slices.Reverse(keys)
	case n < retRadixMin:
		slices.Sort(keys)
	default:
		keys = retRadixSort(keys, make([]uint64, n), bits.Len64(span<<shift|uint64(n-1)))
	}

	// Equal instants: order by ID, then input position.
	mask := uint64(1)<<shift - 1
	for i := 0; i < n; {
		j := i + 1
		for j < n && keys[j]>>shift == keys[i]>>shift {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(keys[i:j], func(a, b uint64) int {
				if c := strings.Compare(snaps[a&mask].ID, snaps[b&mask].ID); c != 0 {
					return c
				}
				return cmp.Compare(a, b)
			})
		}
		i = j
	}
	return keys, shift
}

// retRadixMin is the length below which a comparison sort beats the radix
// sort's fixed cost.
const retRadixMin = 256

// retRadixSort sorts a, whose values have at most width significant bits, by
// LSD radix on bytes, using buf (as long as a) as scratch; it returns the
// sorted slice, which is either a or buf.
func retRadixSort(a, buf []uint64, width int) []uint64 {
	passes := (width + 7) / 8
	var count [8][256]int
	for _, v := range a {
		for p := range passes {
			count[p][byte(v>>(8*p))]++
		}
	}
	src, dst := a, buf
	for p := range passes {
		c := &count[p]
		if c[byte(src[0]>>(8*p))] == len(src) {
			continue // every value has the same byte here
		}
		sum := 0
		for i, x := range c {
			c[i] = sum
			sum += x
		}
		sh := uint(8 * p)
		for _, v := range src {
			b := byte(v >> sh)
			dst[c[b]] = v
			c[b]++
		}
		src, dst = dst, src
	}
	return src
}
