package policy

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
)

// retentionSorted returns snaps as decisions, newest first; equal instants
// are ordered by ID, then by position in snaps.
//
// A NAS lists snapshots in time order, so that costs one pass of comparisons
// (either way round). Otherwise snapshot times have whole seconds (share names and LUN
// create_time both do), so the usual path packs each snapshot into one
// integer, its age in seconds relative to the newest above its input
// position, and sorts those integers by LSD radix; then each snapshot is
// copied to its place, reading the input in order (scattered writes are
// cheaper than scattered reads). Times with sub-second parts, or spans too
// wide to pack, fall back to a comparison sort.
func retentionSorted(snaps []Snapshot) []Decision {
	n := len(snaps)
	d := make([]Decision, n)
	// In order, as a NAS lists them: copied in the pass that checks it.
	i := 0
	for ; i < n; i++ {
		if i > 0 && retCompare(&snaps[i-1], &snaps[i]) > 0 {
			break
		}
		retSet(&d[i], &snaps[i])
	}
	if i == n {
		return d
	}
	if retReversed(snaps) {
		for i := range snaps {
			retSet(&d[n-1-i], &snaps[i])
		}
		return d
	}
	if n <= retStackSort {
		// Short lists sort on the stack: less work for the collector.
		var stack [2 * retStackSort]uint64
		retPlace(d, snaps, stack[:2*n])
	} else {
		retPlace(d, snaps, make([]uint64, 2*n))
	}
	return d
}

// retPlace sorts snaps, using buf (2·len(snaps) long) as scratch, and copies
// each to its place in d.
func retPlace(d []Decision, snaps []Snapshot, buf []uint64) {
	n := len(snaps)
	keys, shift, scratch := retentionKeys(snaps, buf)
	if keys == nil {
		keys, scratch = buf[:n], buf[n:]
		for i := range keys {
			keys[i] = uint64(i)
		}
		slices.SortFunc(keys, func(a, b uint64) int {
			if c := retCompare(&snaps[a], &snaps[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		shift = 64
	}
	mask := uint64(1)<<shift - 1 // all ones when shift is 64
	rank := scratch[:n]
	for pos, k := range keys {
		rank[k&mask] = uint64(pos)
	}
	for i := range snaps {
		retSet(&d[rank[i]], &snaps[i])
	}
}

// retSet copies s into the decision x field by field, which is cheaper than
// copying the struct while the garbage collector runs. TestSnapshotFields
// guards the list.
func retSet(x *Decision, s *Snapshot) {
	x.ID, x.Time, x.WORMUntil = s.ID, s.Time, s.WORMUntil
	x.Owned, x.Locked, x.Held = s.Owned, s.Locked, s.Held
}

// retCompare orders two snapshots newest first, then by ID.
func retCompare(a, b *Snapshot) int {
	if as, bs := a.Time.Unix(), b.Time.Unix(); as != bs {
		if as > bs {
			return -1
		}
		return 1
	}
	if an, bn := a.Time.Nanosecond(), b.Time.Nanosecond(); an != bn {
		if an > bn {
			return -1
		}
		return 1
	}
	return strings.Compare(a.ID, b.ID)
}

// retReversed reports whether snaps is in exactly the reverse of its order,
// no two snapshots alike.
func retReversed(snaps []Snapshot) bool {
	for i := 1; i < len(snaps); i++ {
		if retCompare(&snaps[i-1], &snaps[i]) <= 0 {
			return false
		}
	}
	return true
}

// retentionKeys returns, sorted ascending, one key per snapshot: its age below
// the newest in seconds, shifted left by shift bits, plus its input position;
// and a scratch slice as long, both carved from both (2·len(snaps) long). It
// returns nil when a time has a sub-second part or the keys do not fit.
func retentionKeys(snaps []Snapshot, both []uint64) (keys []uint64, shift uint, scratch []uint64) {
	n := len(snaps)
	shift = uint(bits.Len(uint(n - 1)))
	keys, scratch = both[:n:n], both[n:]
	var lo, hi int64
	for i := range snaps {
		t := &snaps[i].Time
		if t.Nanosecond() != 0 {
			return nil, 0, nil
		}
		s := t.Unix()
		keys[i] = uint64(s)
		if i == 0 || s < lo {
			lo = s
		}
		if i == 0 || s > hi {
			hi = s
		}
	}
	span := uint64(hi) - uint64(lo)
	width := bits.Len64(span)
	if width+int(shift) > 64 {
		return nil, 0, nil
	}
	if n < retRadixMin {
		for i, s := range keys {
			keys[i] = (uint64(hi)-s)<<shift | uint64(i)
		}
		slices.Sort(keys)
	} else if sorted := retRadixSort(keys, scratch, uint64(hi), shift, width); &sorted[0] != &keys[0] {
		keys, scratch = scratch, keys
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
	return keys, shift, scratch
}

// retStackSort is the longest list sorted in a buffer on the stack (32 KiB).
const retStackSort = 2048

// retRadixMin is the length below which a comparison sort beats the radix
// sort's fixed cost.
const retRadixMin = 256

// retRadixSort turns the Unix seconds in a into keys, (newest-second)<<shift
// plus the input position, and sorts them by LSD radix on the width bits of
// the age alone: the sort is stable and a starts in input order, so equal ages
// stay in input order. buf (as long as a) is scratch; the sorted keys are
// returned in a or buf. Digits are at most 11 bits wide and as even as the
// number of passes allows.
func retRadixSort(a, buf []uint64, newest uint64, shift uint, width int) []uint64 {
	const maxDigit = 11
	passes := max(1, (width+maxDigit-1)/maxDigit)
	digit := (width + passes - 1) / passes
	size := 1 << digit
	dmask := uint64(size - 1)

	var small [3 << 10]uint32 // three 10-bit digits, on the stack
	var count []uint32
	if passes*size <= len(small) {
		count = small[:passes*size]
	} else {
		count = make([]uint32, passes*size)
	}
	for i, s := range a {
		age := newest - s
		a[i] = age<<shift | uint64(i)
		for p := range passes {
			count[p*size+int(age>>(p*digit)&dmask)]++
		}
	}
	src, dst := a, buf
	for p := range passes {
		c := count[p*size : (p+1)*size]
		sh := shift + uint(p*digit)
		if int(c[src[0]>>sh&dmask]) == len(src) {
			continue // every key has the same digit here
		}
		sum := uint32(0)
		for i, x := range c {
			c[i] = sum
			sum += x
		}
		for _, v := range src {
			b := v >> sh & dmask
			dst[c[b]] = v
			c[b]++
		}
		src, dst = dst, src
	}
	return src
}
