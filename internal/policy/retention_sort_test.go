package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestRetentionOrder compares the ordering with a stable comparison sort over
// inputs that take every path: already ordered either way, shuffled below and
// above the radix threshold, equal instants, sub-second times, and spans too
// wide to pack.
func TestRetentionOrder(t *testing.T) {
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
	for _, n := range []int{1, 2, 3, 100, retRadixMin - 1, retRadixMin, retRadixMin + 1, 5000} {
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
				snaps[i] = Snapshot{ID: fmt.Sprintf("s%03d", rng.IntN(50)), Time: tm}
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
			ord := retentionOrder(in.snaps)
			for i, j := range idx {
				if got := ord.at(i); got != j {
					t.Fatalf("retentionOrder[%d] = input %d (%q at %v), want input %d (%q at %v)",
						i, got, in.snaps[got].ID, in.snaps[got].Time, j, in.snaps[j].ID, in.snaps[j].Time)
				}
			}
		})
	}
}

func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, width := range []int{1, 7, 8, 9, 33, 63, 64} {
		for _, n := range []int{1, 2, 300, 4096} {
			a := make([]uint64, n)
			for i := range a {
				a[i] = rng.Uint64() >> (64 - width)
			}
			want := slices.Clone(a)
			slices.Sort(want)
			got := retRadixSort(a, make([]uint64, n), width)
			if !slices.Equal(got, want) {
				t.Errorf("retRadixSort(%d values of %d bits) is not sorted", n, width)
			}
		}
	}
}
