package policy

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
)

// retOrder is the order of snapshots, newest first; equal instants are
// ordered by ID, then by position in the input.
type retOrder struct {
	dir  int      // 1: the input is in order; -1: in reverse order; 0: see keys
	n    int      // number of snapshots
	keys []uint64 // keys[i]&mask is the input position of the i-th snapshot
	mask uint64
}

// at returns the input position of the i-th snapshot.
func (o *retOrder) at(i int) int {
	switch o.dir {
	case 1:
		return i
	case -1:
		return o.n - 1 - i
	}
	return int(o.keys[i] & o.mask)
}

// retentionOrder orders snaps. A NAS lists snapshots in time order, so that
// costs one pass of comparisons. Otherwise snapshot times have whole seconds
// (share names and LUN create_time both do), so the usual path packs each
// snapshot into one integer, its age in seconds relative to the newest above
// its input position, and sorts those integers by LSD radix. Times with
// sub-second parts, or spans too wide to pack, fall back to a comparison sort.
func retentionOrder(snaps []Snapshot) retOrder {
	n := len(snaps)
	if dir := retDirection(snaps); dir != 0 {
		return retOrder{dir: dir, n: n}
	}
	if keys, shift := retentionKeys(snaps); keys != nil {
		return retOrder{n: n, keys: keys, mask: uint64(1)<<shift - 1}
	}
	ord := make([]uint64, n)
	for i := range ord {
		ord[i] = uint64(i)
	}
	slices.SortFunc(ord, func(a, b uint64) int {
		if c := retCompare(&snaps[a], &snaps[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return retOrder{n: n, keys: ord, mask: ^uint64(0)}
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

// retDirection returns 1 when snaps is already in order, -1 when it is in
// exactly the reverse order (no two snapshots alike), else 0.
func retDirection(snaps []Snapshot) int {
	fwd, rev := true, true
	for i := 1; i < len(snaps) && (fwd || rev); i++ {
		c := retCompare(&snaps[i-1], &snaps[i])
		fwd = fwd && c <= 0
		rev = rev && c > 0
	}
	switch {
	case fwd:
		return 1
	case rev:
		return -1
	}
	return 0
}

// retentionKeys returns, sorted ascending, one key per snapshot: its age below
// the newest in seconds, shifted left by shift bits, plus its input position.
// It returns nil when a time has a sub-second part or the keys do not fit.
func retentionKeys(snaps []Snapshot) (keys []uint64, shift uint) {
	n := len(snaps)
	shift = uint(bits.Len(uint(n - 1)))
	keys = make([]uint64, n)
	var lo, hi int64
	for i := range snaps {
		t := &snaps[i].Time
		if t.Nanosecond() != 0 {
			return nil, 0
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
	if bits.Len64(span)+int(shift) > 64 {
		return nil, 0
	}
	for i, s := range keys {
		keys[i] = (uint64(hi)-s)<<shift | uint64(i)
	}
	if n < retRadixMin {
		slices.Sort(keys)
	} else {
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
