package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// BenchmarkPlanRetention plans n snapshots taken every 10 minutes back from a
// fixed instant, listed newest first ("sorted", as a NAS usually lists them)
// or shuffled with a fixed seed, with the policy zone UTC or Europe/Berlin.
func BenchmarkPlanRetention(b *testing.B) {
	r := Retention{KeepLast: 3, Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 5, MinKeep: 1, MaxDeletesPerRun: 50}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, zone := range []string{"UTC", "Europe/Berlin"} {
		loc := retLoad(b, zone)
		for _, order := range []string{"shuffled", "sorted"} {
			for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
				name := fmt.Sprintf("zone=%s/order=%s/n=%d", strings.ReplaceAll(zone, "/", "_"), order, n)
				b.Run(name, func(b *testing.B) {
					// Built here, so that only one input is alive at a time.
					snaps := make([]Snapshot, n)
					for i := range snaps {
						tm := at.Add(-time.Duration(i) * 10 * time.Minute)
						snaps[i] = Snapshot{ID: tm.Format("GMT+00-2006.01.02-15.04.05"), Time: tm, Owned: true}
					}
					if order == "shuffled" {
						rng := rand.New(rand.NewPCG(1, 2))
						rng.Shuffle(n, func(i, j int) { snaps[i], snaps[j] = snaps[j], snaps[i] })
					}
					b.ReportAllocs()
					var p Plan
					for b.Loop() {
						p = PlanRetention(snaps, r, loc, at)
					}
					if len(p.Decisions) != n {
						b.Fatalf("PlanRetention: %d decisions, want %d", len(p.Decisions), n)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/snapshot")
				})
			}
		}
	}
}

// BenchmarkPlanRetentionFloor measures the least any implementation of
// PlanRetention does: allocate the decisions and copy the snapshots in, from a
// list already in order, with nothing decided.
func BenchmarkPlanRetentionFloor(b *testing.B) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			snaps := make([]Snapshot, n)
			for i := range snaps {
				tm := at.Add(-time.Duration(i) * 10 * time.Minute)
				snaps[i] = Snapshot{ID: tm.Format("GMT+00-2006.01.02-15.04.05"), Time: tm, Owned: true}
			}
			b.ReportAllocs()
			var d []Decision
			for b.Loop() {
				d = make([]Decision, n)
				for i := range snaps {
					retSet(&d[i], &snaps[i])
				}
			}
			if len(d) != n {
				b.Fatal("no decisions")
			}
		})
	}
}
