package dsmfake

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSeedExample(t *testing.T) {
	now := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	n := New(Options{Now: func() time.Time { return now }, Logf: t.Logf})
	f, err := os.Open("testdata/example-seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := n.LoadState(f); err != nil {
		t.Fatalf("LoadState(example-seed.yaml) = %v", err)
	}
	o := n.Options()
	if o.Zone.String() != "Europe/Berlin" || o.ListOrder != NewestFirst || o.SnapshotLimit != 10000 || o.IdleTimeout != 30*time.Minute {
		t.Errorf("options after seed = %+v", o)
	}
	homes := n.ShareSnapshots("homes")
	if len(homes) != 8760 {
		t.Fatalf("homes has %d snapshots, want 8760", len(homes))
	}
	if last := homes[len(homes)-1]; !last.Time.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || last.Name != "GMT+01-2026.01.01-01.00.00" || last.Desc != "hourly" {
		t.Errorf("newest homes snapshot = %+v", last)
	}
	if first := homes[0]; !first.Time.Equal(time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("oldest homes snapshot at %v", first.Time)
	}
	locked := 0
	for _, s := range homes {
		if s.Lock {
			locked++
		}
	}
	if locked != 365 {
		t.Errorf("%d locked homes snapshots, want 365 (lock_every 24)", locked)
	}
	// Summer time names follow DST.
	if s := homes[4000]; !strings.HasPrefix(s.Name, "GMT+02-") {
		t.Errorf("summer snapshot named %s, want GMT+02", s.Name)
	}
	media := n.ShareSnapshots("media")
	if len(media) != 368 {
		t.Fatalf("media has %d snapshots, want 368", len(media))
	}
	byDesc := map[string]ShareSnapshot{}
	for _, s := range media {
		byDesc[s.Desc] = s
	}
	if s := byDesc["before the move"]; s.WORMDays != 14 || !s.WORMBegin.Equal(s.Time) || s.Name != "GMT+02-2025.06.01-14.00.00" {
		t.Errorf("WORM snapshot = %+v", s)
	}
	if s := byDesc["held by replication"]; !s.Time.Equal(time.Date(2025, 6, 2, 6, 0, 0, 0, time.UTC)) || len(s.AppKeys) != 1 {
		t.Errorf("held snapshot = %+v", s)
	}
	if s := byDesc["daily"]; !s.Schedule {
		t.Errorf("daily snapshot = %+v, want schedule_snapshot", s)
	}
	luns := n.LUNSnapshots("0b7c6f7e-1111-4c3e-9d5e-000000000001")
	if len(luns) != 41 || !luns[len(luns)-1].Time.Equal(time.Date(2026, 1, 15, 6, 0, 0, 0, time.UTC)) || luns[len(luns)-1].ID != 41 {
		t.Errorf("LUN has %d snapshots, newest %+v; want 41 ending at the clock rounded to 6h", len(luns), luns[len(luns)-1])
	}
}

func TestDumpRoundTrip(t *testing.T) {
	clk := newClock(time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC))
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	n := New(Options{Now: clk.now, Zone: tokyo, Profile: DSM6, Strict: true, IdleTimeout: time.Hour,
		SnapshotLimit: 300, ListOrder: Shuffled, RequireSynoToken: true, MaxFailedLogins: 9, Logf: t.Logf})
	n.AddUser(User{Name: "a", Password: "p"})
	n.AddUser(User{Name: "b", Password: "q", OTP: "111111"})
	n.AddShareSnapshot("s", ShareSnapshot{Time: clk.now(), Desc: "x", Lock: true, Schedule: true, WORMDays: 3,
		WORMBegin: clk.now().Add(time.Minute), AppKeys: []string{"k1", "k2"}, Hide: true})
	n.AddShareSnapshot("s", ShareSnapshot{Name: "GMT+09-2023.09.11-23.23.40"})
	n.AddShare("empty")
	n.AddLUN(LUN{UUID: "l", Name: "L", Location: "/volume3", Size: 42, TypeStr: "FILE"})
	n.AddLUNSnapshot("l", LUNSnapshot{UUID: "u1", ID: 7, Name: "n", Time: clk.now(), Desc: "d", Locked: true,
		WORM: true, AppKeys: []string{"k"}, TakenBy: "me", AppConsistent: true})
	n.AddPlan(Plan{ID: "p", TargetType: "lun", TargetName: "l", SendEncrypted: true})
	shareRet := Retention{TaskID: 3, PolicyType: 1, RetainDays: 7, Hourly: 24, Daily: 7, Weekly: 2, Monthly: 1, Yearly: 1, Recently: 5}
	lunRet := Retention{TaskID: 4, RetainDays: 30}
	n.SetRetention("share", "s", shareRet)
	n.SetRetention("lun", "l", lunRet)
	n.mu.Lock()
	n.plans["p"].records = append(n.plans["p"].records, SyncRecord{PlanID: "p", Time: clk.now(), LockSnapshot: true, Description: "d", Snapshot: "u1"})
	n.mu.Unlock()

	var first bytes.Buffer
	if err := n.DumpState(&first); err != nil {
		t.Fatal(err)
	}
	m := New(Options{Logf: t.Logf})
	if err := m.LoadState(bytes.NewReader(first.Bytes())); err != nil {
		t.Fatalf("LoadState(dump) = %v\n%s", err, first.String())
	}
	var second bytes.Buffer
	if err := m.DumpState(&second); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(first.String(), second.String()); d != "" {
		t.Errorf("dump of the reloaded state differs (-first +second):\n%s", d)
	}
	if d := cmp.Diff(n.ShareSnapshots("s"), m.ShareSnapshots("s"), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("ShareSnapshots differ after the round trip:\n%s", d)
	}
	if d := cmp.Diff(n.LUNSnapshots("l"), m.LUNSnapshots("l"), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("LUNSnapshots differ after the round trip:\n%s", d)
	}
	if d := cmp.Diff(n.SyncRecords("p"), m.SyncRecords("p"), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("SyncRecords differ after the round trip:\n%s", d)
	}
	o := m.Options()
	if o.Profile != DSM6 || !o.Strict || o.IdleTimeout != time.Hour || o.SnapshotLimit != 300 || o.ListOrder != Shuffled ||
		!o.RequireSynoToken || o.MaxFailedLogins != 9 || o.Zone.String() != "Asia/Tokyo" {
		t.Errorf("options after the round trip = %+v", o)
	}
	m.mu.Lock()
	gotShare, gotLUN, gotEmpty := m.shares["s"].retention, m.luns["l"].retention, m.shares["empty"].retention
	m.mu.Unlock()
	if gotShare != shareRet || gotLUN != lunRet || gotEmpty != (Retention{}) {
		t.Errorf("retention after the round trip: share %+v, LUN %+v, empty %+v; want %+v, %+v and none",
			gotShare, gotLUN, gotEmpty, shareRet, lunRet)
	}
	if !strings.Contains(first.String(), "task_id: 3") || strings.Count(first.String(), "retention:") != 2 {
		t.Errorf("dump lacks the retention blocks, or has one for a share without:\n%s", first.String())
	}
	if s := m.ShareSnapshots("empty"); s != nil {
		t.Errorf("share empty = %v", s)
	}
	if !strings.Contains(first.String(), "name: empty") {
		t.Errorf("dump lacks the empty share:\n%s", first.String())
	}
}

func TestLoadStateErrors(t *testing.T) {
	tests := []struct {
		name, seed, want string
	}{
		{"unknown key", "shares:\n  - name: s\n    snapshot: []\n", "line 3: field snapshot not found"},
		{"unknown option", "options:\n  colour: red\n", "line 2: field colour not found"},
		{"bad duration", "options:\n  idle_timeout: soon\n", "line 2 column 17: bad duration"},
		{"bad time", "shares:\n  - name: s\n    snapshots:\n      - time: yesterday\n", "line 4 column 15: bad time"},
		{"bad zone", "options:\n  zone: Mars/Olympus\n", "options.zone"},
		{"bad profile", "options:\n  profile: dsm5\n", "unknown profile"},
		{"bad order", "options:\n  order: random\n", "unknown order"},
		{"negative limit", "options:\n  limit: -1\n", "options.limit"},
		{"share without name", "shares:\n  - snapshots: []\n", "shares[0]: name is empty"},
		{"snapshot without time or name", "shares:\n  - name: s\n    snapshots:\n      - desc: x\n", "shares[0] snapshots[0]: no time"},
		{"duplicate snapshot", "shares:\n  - name: s\n    snapshots:\n      - name: GMT+00-2025.01.01-00.00.00\n      - time: 2025-01-01T00:00:00Z\n", "listed twice"},
		{"generate both ends", "shares:\n  - name: s\n    generate: {every: 1h, count: 2, start: 2025-01-01T00:00:00Z, end: 2025-01-02T00:00:00Z}\n", "start or end, not both"},
		{"generate no count", "shares:\n  - name: s\n    generate: {every: 1h}\n", "generate.count"},
		{"generate no every", "luns:\n  - uuid: l\n    generate: {count: 3}\n", "luns[0]: generate.every"},
		{"lun without uuid", "luns:\n  - name: x\n", "luns[0]: uuid is empty"},
		{"lun snapshot without time", "luns:\n  - uuid: l\n    snapshots:\n      - desc: x\n", "time is missing"},
		{"negative LUN snapshot id", "luns:\n  - uuid: l\n    snapshots:\n      - {time: 2025-01-01T00:00:00Z, id: -4}\n", "id -4 is negative"},
		{"negative retention count", "shares:\n  - name: s\n    retention: {task_id: 1, daily: -1}\n", "shares[0]: retention.daily -1 is negative"},
		{"retention task id", "luns:\n  - uuid: l\n    retention: {task_id: -2}\n", "luns[0]: retention.task_id -2 is below -1"},
		{"unknown retention key", "shares:\n  - name: s\n    retention: {keep: 3}\n", "field keep not found"},
		{"plan target type", "plans:\n  - id: p\n    target_type: volume\n    target: x\n", "target_type \"volume\""},
		{"plan without target", "plans:\n  - id: p\n", "target is empty"},
		{"not yaml", "shares: [\n", "seed: yaml"},
		{"wrong type", "users: 3\n", "cannot unmarshal"},
		{"several errors", "users:\n  - password: x\nplans:\n  - id: p\n", "users[0]: name is empty\nseed: plans[0]: target is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := New(Options{Logf: t.Logf})
			n.AddShare("keep")
			err := n.LoadState(strings.NewReader(tt.seed))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadState(%q) = %v, want an error containing %q", tt.seed, err, tt.want)
			}
			var b bytes.Buffer
			if err := n.DumpState(&b); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "name: s\n") || !strings.Contains(b.String(), "name: keep") || n.Options().Profile != DSM7 {
				t.Errorf("a failed LoadState changed the state:\n%s", b.String())
			}
		})
	}
}

func TestLoadStateMerges(t *testing.T) {
	n := New(Options{Logf: t.Logf, SnapshotLimit: 2})
	n.AddUser(User{Name: "snapd", Password: "old"})
	n.AddShare("a")
	seed := "users:\n  - {name: snapd, password: new}\nshares:\n  - name: b\n    generate: {every: 1h, count: 3}\n"
	var logged []string
	o := n.Options()
	o.Logf = func(f string, a ...any) { logged = append(logged, f) }
	n.SetOptions(o)
	if err := n.LoadState(strings.NewReader(seed)); err != nil {
		t.Fatal(err)
	}
	if n.users["snapd"].Password != "new" || n.shares["a"] == nil || len(n.ShareSnapshots("b")) != 3 {
		t.Errorf("merge result: users %v shares %v", n.users, n.shares)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "above the limit") {
		t.Errorf("logged %q, want one line about the limit", logged)
	}
	if err := n.LoadState(strings.NewReader("")); err != nil {
		t.Errorf("LoadState(empty) = %v", err)
	}
}

func FuzzLoadState(f *testing.F) {
	for _, path := range []string{"testdata/example-seed.yaml", "testdata/python-wire.yaml"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		// Keep the generated histories small: every fuzz input is loaded, dumped and reloaded.
		f.Add(strings.NewReplacer("count: 8760", "count: 24", "count: 365", "count: 5").Replace(string(b)))
	}
	f.Add("shares:\n  - name: s\n    generate: {every: 1s, count: 3}\n")
	f.Add("options: {idle_timeout: 3d}\n")
	f.Add("luns: [{uuid: x, snapshots: [{time: 2025-01-01T00:00:00Z, id: -4}]}]")
	f.Fuzz(func(t *testing.T, seed string) {
		if len(seed) > 4096 {
			return
		}
		n := New(Options{Logf: func(string, ...any) {}, Now: func() time.Time { return time.Unix(1700000000, 0) }})
		if err := n.LoadState(strings.NewReader(seed)); err != nil {
			return
		}
		total := 0
		for _, sh := range n.shares {
			total += len(sh.snaps)
		}
		for _, l := range n.luns {
			total += len(l.snaps)
		}
		if total > 2000 {
			return // valid, but too slow to dump on every fuzz input
		}
		var b bytes.Buffer
		if err := n.DumpState(&b); err != nil {
			t.Fatalf("DumpState after a good seed: %v", err)
		}
		m := New(Options{Logf: func(string, ...any) {}})
		if err := m.LoadState(&b); err != nil {
			t.Fatalf("LoadState(DumpState()) = %v for seed %q", err, seed)
		}
	})
}

// TestDocSchemaExample loads the seed example of the package documentation.
func TestDocSchemaExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var y strings.Builder
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(line, "// # Seed and dump"):
			in = true
		case in && strings.HasPrefix(line, "//\t"):
			y.WriteString(strings.TrimPrefix(line, "//\t") + "\n")
		case in && strings.HasPrefix(line, "// generate adds"):
			in = false
		}
	}
	if y.Len() == 0 {
		t.Fatal("no seed example in doc.go")
	}
	n := New(Options{Logf: t.Logf})
	if err := n.LoadState(strings.NewReader(y.String())); err != nil {
		t.Fatalf("LoadState(doc example) = %v\n%s", err, y.String())
	}
	if got := len(n.ShareSnapshots("homes")); got != 8762 {
		t.Errorf("homes has %d snapshots, want 8762", got)
	}
	if got := n.LUNSnapshots("0b7c6f7e-1111-4c3e-9d5e-000000000001"); len(got) != 41 {
		t.Errorf("LUN has %d snapshots, want 41", len(got))
	}
	n.mu.Lock()
	homes, lun := n.shares["homes"].retention, n.luns["0b7c6f7e-1111-4c3e-9d5e-000000000001"].retention
	n.mu.Unlock()
	if want := (Retention{TaskID: 3, RetainDays: 7, Hourly: 24, Daily: 7, Weekly: 2, Monthly: 1}); homes != want {
		t.Errorf("homes retention = %+v, want %+v", homes, want)
	}
	if want := (Retention{TaskID: 4, RetainDays: 30}); lun != want {
		t.Errorf("LUN retention = %+v, want %+v", lun, want)
	}
	if got := n.SyncRecords("p-1"); len(got) != 1 {
		t.Errorf("plan p-1 has %d syncs, want 1", len(got))
	}
}
