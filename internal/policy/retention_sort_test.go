package policy

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestRetentionSorted compares the ordering with a stable comparison sort over
// inputs that take every path: already ordered either way, shuffled below and
// above the radix threshold, equal instants, sub-second times, and spans too
// wide to pack.
func TestRetentionSorted(t *testing.T) {
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	far := []time.Time{
		time.Date(-200000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(200000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(1<<62, 0),
		time.Unix(-1<<62, 0),
	}
	type input struct {
		name  string
		snaps []Snapshot
	}
	var inputs []input
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 2, 3, 100, retRadixMin - 1, retRadixMin, retRadixMin + 1, 5000, 1<<16 + 1} {
		for _, kind := range []string{"newest-first", "oldest-first", "oldest-first-ties", "newest-first-ties", "shuffled", "ties", "nanos", "far", "offsets"} {
			snaps := make([]Snapshot, n)
			for i := range snaps {
				tm := base.Add(-time.Duration(i) * 10 * time.Minute)
				switch kind {
				case "ties":
					tm = base.Add(-time.Duration(rng.IntN(5)) * time.Second)
				case "oldest-first-ties", "newest-first-ties":
					tm = base.Add(-time.Duration(i/3) * time.Minute)
				case "nanos":
					tm = base.Add(-time.Duration(rng.Int64N(int64(time.Hour))))
					if rng.IntN(3) == 0 {
						tm = tm.Truncate(time.Second)
					}
				case "far":
					tm = far[rng.IntN(len(far))].Add(time.Duration(rng.IntN(3)) * time.Second)
				case "offsets":
					tm = tm.In(time.FixedZone("", 3600*(rng.IntN(27)-12)))
				}
				snaps[i] = Snapshot{ID: fmt.Sprintf("s%03d", rng.IntN(50)), Time: tm, Locked: rng.IntN(2) == 0}
			}
			switch kind {
			case "oldest-first":
				slices.Reverse(snaps)
			case "newest-first":
			case "oldest-first-ties", "newest-first-ties":
				// As a NAS might list them: by time, equal times by name, or
				// exactly reversed.
				slices.SortStableFunc(snaps, func(a, b Snapshot) int { return retCompare(&a, &b) })
				if kind == "oldest-first-ties" {
					slices.Reverse(snaps)
					if rng.IntN(2) == 0 {
						slices.SortStableFunc(snaps, func(a, b Snapshot) int {
							if c := a.Time.Compare(b.Time); c != 0 {
								return c
							}
							return strings.Compare(a.ID, b.ID)
						})
					}
				}
			default:
				rng.Shuffle(n, func(i, j int) { snaps[i], snaps[j] = snaps[j], snaps[i] })
			}
			inputs = append(inputs, input{fmt.Sprintf("%s/n=%d", kind, n), snaps})
		}
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			idx := make([]int, len(in.snaps))
			for i := range idx {
				idx[i] = i
			}
			sort.SliceStable(idx, func(a, b int) bool {
				x, y := in.snaps[idx[a]], in.snaps[idx[b]]
				if !x.Time.Equal(y.Time) {
					return x.Time.After(y.Time)
				}
				return x.ID < y.ID
			})
			got := retentionSorted(in.snaps)
			if len(got) != len(idx) {
				t.Fatalf("retentionSorted: %d decisions, want %d", len(got), len(idx))
			}
			for i, j := range idx {
				if got[i].Snapshot != in.snaps[j] {
					t.Fatalf("retentionSorted[%d] = %+v, want input %d, %+v", i, got[i].Snapshot, j, in.snaps[j])
				}
			}
		})
	}
}

func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, width := range []int{0, 1, 7, 8, 9, 24, 33, 44} {
		for _, n := range []int{1, 2, 300, 4096, 1 << 16} {
			shift := uint(bits.Len(uint(n - 1)))
			if width+int(shift) > 64 {
				continue
			}
			const newest = 1 << 50
			secs := make([]uint64, n)
			want := make([]uint64, n)
			for i := range secs {
				age := rng.Uint64() >> (64 - width)
				if width == 0 {
					age = 0
				}
				secs[i] = newest - age
				want[i] = age<<shift | uint64(i)
			}
			slices.Sort(want)
			got := retRadixSort(secs, make([]uint64, n), newest, shift, width)
			if !slices.Equal(got, want) {
				t.Errorf("retRadixSort(%d ages of %d bits) is not sorted by age, then position", n, width)
			}
		}
	}
}
