package policy

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// retFuzzDecode turns bytes into a policy, a zone, a planning instant and
// snapshots. The first 16 bytes choose the policy, zone and instant; then
// every 8 bytes make one snapshot: a signed offset from the instant, an ID
// from a small set (so that IDs and instants tie), flags and an offset zone.
func retFuzzDecode(data []byte, zones []*time.Location) ([]Snapshot, Retention, *time.Location, time.Time) {
	var head [16]byte
	copy(head[:], data)
	rest := data[min(len(data), len(head)):]

	r := Retention{
		KeepLast:         int(head[0]%8) - 1, // -1 tests a negative count
		Hourly:           int(head[1] % 40),
		Daily:            int(head[2] % 16),
		Weekly:           int(head[3] % 8),
		Monthly:          int(head[4] % 14),
		Yearly:           int(head[5] % 4),
		MinKeep:          int(head[6]%8) - 1,
		MaxDeletesPerRun: int(head[7] % 20),
		Within:           time.Duration(int8(head[8])) * 37 * time.Minute,
	}
	if head[9]&1 != 0 {
		r.Pick = PickNewest
	}
	switch head[9] >> 1 % 4 {
	case 1:
		r.Scope = ScopeAll
	case 2:
		r.Scope = ScopeOwn
	case 3:
		r.Scope = "bogus"
	}
	loc := zones[int(head[10])%len(zones)]
	// From 1850 to 2100, in whole minutes.
	at := time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC).
		Add(time.Duration(binary.LittleEndian.Uint32(head[11:15])%131_000_000) * time.Minute)
	unit := []time.Duration{time.Second, time.Minute, 7 * time.Minute, time.Hour, 13 * time.Hour}[head[15]%5]

	offsets := []*time.Location{time.UTC, loc, time.FixedZone("", 9*3600), time.FixedZone("", -(3*3600 + 30*60))}
	var snaps []Snapshot
	for len(rest) >= 8 {
		rec := rest[:8]
		rest = rest[8:]
		delta := time.Duration(int32(binary.LittleEndian.Uint32(rec[0:4]))) * unit
		flags := rec[5]
		s := Snapshot{
			ID:     fmt.Sprintf("s%d", rec[4]%16),
			Time:   at.Add(delta).In(offsets[int(rec[6])%len(offsets)]),
			Owned:  flags&1 == 0,
			Locked: flags&2 != 0,
			Held:   flags&4 != 0,
		}
		if flags&8 != 0 {
			s.WORMUntil = at.Add(time.Duration(int8(rec[7])) * time.Minute)
		}
		if flags&16 != 0 {
			s.Time = s.Time.Add(time.Duration(rec[7]) * time.Millisecond)
		}
		snaps = append(snaps, s)
	}
	return snaps, r, loc, at
}

// FuzzPlanRetention checks that PlanRetention never panics, always satisfies
// the invariants, and agrees with the naive implementation.
func FuzzPlanRetention(f *testing.F) {
	zones := []*time.Location{time.UTC}
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/Sitka"} {
		zones = append(zones, retLoad(f, name))
	}
	f.Add([]byte{})
	f.Add([]byte("\x03\x18\x07\x04\x0c\x02\x02\x32\x00\x00\x01\x00\x00\x00\x00\x01" +
		"\x00\x00\x00\x00\x01\x00\x00\x00" + "\xff\xff\xff\xff\x02\x02\x01\x00" +
		"\xf0\xff\xff\xff\x03\x08\x02\x10" + "\x05\x00\x00\x00\x04\x01\x00\x00" +
		"\x00\x00\x00\x00\x05\x04\x03\x00" + "\x10\x00\x00\x00\x06\x10\x00\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		snaps, r, loc, at := retFuzzDecode(data, zones)
		got := retPlan(t, snaps, r, loc, at)
		if want := retNaivePlan(snaps, r, loc, at); !retPlansEqual(want, got) {
			t.Fatalf("PlanRetention(%d snapshots, %+v, %s, %v) differs from the naive plan:\n got %+v\nwant %+v",
				len(snaps), r, loc, at, got, want)
		}
	})
}
