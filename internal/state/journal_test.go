package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

// fixtureEntries are ten entries a minute apart, alternating policies.
func fixtureEntries() []Entry {
	var es []Entry
	for i := range 10 {
		p := "homes"
		if i%2 == 1 {
			p = "media"
		}
		es = append(es, Entry{
			Time: t0.Add(time.Duration(i) * time.Minute), Policy: p, NAS: "primary", Target: "share:" + p,
			Action: "snapshot.create", Snapshot: fmt.Sprintf("GMT+01-2026.11.29-10.%02d.00", i), Outcome: "ok",
			DurationMS: int64(100 + i), Count: i,
		})
	}
	return es
}

func seqsOf(es []Entry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func TestAppendEntries(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	in := fixtureEntries()
	seqs, err := db.Append(in...)
	if err != nil {
		t.Fatalf("Append = %v", err)
	}
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !cmp.Equal(seqs, want) {
		t.Fatalf("Append seqs = %v, want %v", seqs, want)
	}
	all, err := db.Entries(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := fixtureEntries()
	for i := range want {
		want[i].Seq = uint64(i + 1)
	}
	if d := cmp.Diff(want, all); d != "" {
		t.Fatalf("Entries(all) mismatch (-want +got):\n%s", d)
	}

	tests := []struct {
		name string
		f    Filter
		want []uint64
	}{
		{"all", Filter{}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"policy", Filter{Policy: "media"}, []uint64{2, 4, 6, 8, 10}},
		{"unknown policy", Filter{Policy: "nope"}, nil},
		{"since", Filter{Since: t0.Add(7 * time.Minute)}, []uint64{8, 9, 10}},
		{"since exact time is included", Filter{Since: t0.Add(9 * time.Minute)}, []uint64{10}},
		{"since in another zone", Filter{Since: t0.Add(7 * time.Minute).In(time.FixedZone("X", 3600))}, []uint64{8, 9, 10}},
		{"since after all", Filter{Since: t0.Add(time.Hour)}, nil},
		{"limit", Filter{Limit: 3}, []uint64{8, 9, 10}},
		{"limit above count", Filter{Limit: 100}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"negative limit is no limit", Filter{Limit: -1}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"policy and limit", Filter{Policy: "homes", Limit: 2}, []uint64{7, 9}},
		{"since and limit", Filter{Since: t0.Add(2 * time.Minute), Limit: 20}, []uint64{3, 4, 5, 6, 7, 8, 9, 10}},
		{"all three", Filter{Policy: "homes", Since: t0.Add(2 * time.Minute), Limit: 2}, []uint64{7, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Entries(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(seqsOf(got), tt.want) {
				t.Errorf("Entries(%+v) = %v, want %v", tt.f, seqsOf(got), tt.want)
			}
		})
	}
}

func TestAppendAssignsTimeAndKeepsSequenceAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	db.now = func() time.Time { return t0.In(time.FixedZone("CET", 3600)) }
	if _, err := db.Append(Entry{Action: "run", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	checkAndClose(t, db)
	db = mustOpen(t, dir, Options{})
	seqs, err := db.Append(Entry{Time: t0, Action: "run", Outcome: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(seqs, []uint64{2}) {
		t.Errorf("Append after reopen = %v, want [2]", seqs)
	}
	es, err := db.Entries(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || !es[0].Time.Equal(t0) || es[0].Time.Location() != time.UTC {
		t.Errorf("Entries() = %+v, want 2 entries, the first at %v in UTC", es, t0)
	}
}

func TestAppendRejectsIncompleteBatch(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	tests := []struct {
		name  string
		batch []Entry
	}{
		{"no action", []Entry{{Action: "run", Outcome: "ok"}, {Outcome: "ok"}}},
		{"no outcome", []Entry{{Action: "run"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if seqs, err := db.Append(tt.batch...); err == nil {
				t.Errorf("Append(%+v) = %v, nil, want an error", tt.batch, seqs)
			}
		})
	}
	if es, err := db.Entries(Filter{}); err != nil || len(es) != 0 {
		t.Errorf("Entries() after rejected batches = %v, %v, want none", es, err)
	}
	if seqs, err := db.Append(); err != nil || seqs != nil {
		t.Errorf("Append() = %v, %v, want nil, nil", seqs, err)
	}
}

func TestEntriesSinceAfterClockStep(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	// The clock was stepped back an hour between seq 2 and 3.
	times := []time.Time{t0, t0.Add(2 * time.Hour), t0.Add(time.Hour), t0.Add(time.Hour + time.Minute)}
	for _, tm := range times {
		if _, err := db.Append(Entry{Time: tm, Action: "run", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Entries(Filter{Since: t0.Add(90 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{2}; !cmp.Equal(seqsOf(got), want) {
		t.Errorf("Entries(since +90m) = %v, want %v", seqsOf(got), want)
	}
}

// smallBatches makes compaction batches small for the test.
func smallBatches(t *testing.T) {
	b := compactBatch
	compactBatch = 7
	t.Cleanup(func() { compactBatch = b })
}

// TestTimeWalksMatchBruteForce appends random time sequences, with clock
// steps both ways, and checks Entries with Since and Compact against a
// plain scan.
func TestTimeWalksMatchBruteForce(t *testing.T) {
	smallBatches(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 40 {
		db := mustOpen(t, t.TempDir(), Options{})
		var times []time.Time
		cur := t0
		for range 1 + rng.IntN(60) {
			switch r := rng.IntN(10); {
			case r < 6:
				cur = cur.Add(time.Duration(rng.IntN(10)) * time.Minute)
			case r < 8:
				cur = cur.Add(-time.Duration(rng.IntN(60)) * time.Minute)
			default:
				cur = cur.Add(time.Duration(rng.IntN(300)) * time.Minute)
			}
			times = append(times, cur)
		}
		// Some entries go in batches, so backsteps inside a batch count.
		for i := 0; i < len(times); {
			n := min(1+rng.IntN(4), len(times)-i)
			var es []Entry
			for _, tm := range times[i : i+n] {
				es = append(es, Entry{Time: tm, Action: "run", Outcome: "ok"})
			}
			if _, err := db.Append(es...); err != nil {
				t.Fatal(err)
			}
			i += n
		}
		for range 5 {
			since := t0.Add(time.Duration(rng.IntN(600)-60) * time.Minute)
			var want []uint64
			for i, tm := range times {
				if !tm.Before(since) {
					want = append(want, uint64(i+1))
				}
			}
			got, err := db.Entries(Filter{Since: since})
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(seqsOf(got), want) {
				t.Fatalf("round %d: times %v: Entries(since %v) = %v, want %v", round, times, since, seqsOf(got), want)
			}
			if len(want) > 2 {
				got, err = db.Entries(Filter{Since: since, Limit: 2})
				if err != nil || !cmp.Equal(seqsOf(got), want[len(want)-2:]) {
					t.Fatalf("round %d: Entries(since %v, limit 2) = %v, %v, want %v", round, since, seqsOf(got), err, want[len(want)-2:])
				}
			}
		}
		before := t0.Add(time.Duration(rng.IntN(600)) * time.Minute)
		var want []uint64
		for i, tm := range times {
			if !tm.Before(before) {
				want = append(want, uint64(i+1))
			}
		}
		removed, err := db.Compact(before)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.Entries(Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(seqsOf(got), want) || removed != len(times)-len(want) {
			t.Fatalf("round %d: times %v: Compact(%v) = %d, left %v, want %d, %v", round, times, before, removed, seqsOf(got), len(times)-len(want), want)
		}
		// Later walks still agree once the oldest entries are gone.
		since := t0.Add(time.Duration(rng.IntN(600)) * time.Minute)
		var wantSince []uint64
		for _, s := range want {
			if !times[s-1].Before(since) {
				wantSince = append(wantSince, s)
			}
		}
		if got, err := db.Entries(Filter{Since: since}); err != nil || !cmp.Equal(seqsOf(got), wantSince) {
			t.Fatalf("round %d: after Compact, Entries(since %v) = %v, %v, want %v", round, since, seqsOf(got), err, wantSince)
		}
	}
}

func TestPeekHeader(t *testing.T) {
	policies := []string{"", "homes", "a.b-c_d", "with \"quote\"", `back\slash`, "<html>&", "grüße", "line\nbreak", "\u2028", "bad\xffutf8"}
	times := []time.Time{t0, t0.Add(123456789 * time.Nanosecond), time.Unix(0, 0).UTC()}
	for _, p := range policies {
		for _, tm := range times {
			v, err := encode(&entryRecord{V: 1, Time: tm, Policy: p, Action: "run", Outcome: "ok", Error: `"policy":"homes"`})
			if err != nil {
				t.Fatal(err)
			}
			checkPeek(t, v)
		}
	}
}

// checkPeek asserts that peekHeader, when it answers, agrees with a full
// decode.
func checkPeek(t *testing.T, v []byte) {
	t.Helper()
	gt, gp, ok := peekHeader(v)
	if !ok {
		return
	}
	var r entryRecord
	if err := json.Unmarshal(v, &r); err != nil {
		t.Fatalf("peekHeader(%s) ok, but the value does not decode: %v", v, err)
	}
	if !gt.Equal(r.Time) || gp != r.Policy {
		t.Errorf("peekHeader(%s) = %v, %q, want %v, %q", v, gt, gp, r.Time, r.Policy)
	}
}

func FuzzPeekHeader(f *testing.F) {
	f.Add("homes", int64(0), "ok")
	f.Add(`a"b`, int64(1e18), `"policy":"x"`)
	f.Fuzz(func(t *testing.T, policy string, ns int64, errText string) {
		v, err := encode(&entryRecord{V: 1, Time: time.Unix(0, ns).UTC(), Policy: policy, Action: "run", Outcome: "ok", Error: errText})
		if err != nil {
			t.Skip()
		}
		checkPeek(t, v)
		// Arbitrary bytes must never make peekHeader answer wrongly.
		checkPeek(t, []byte(errText))
	})
}

func TestUnknownVersionNamesKey(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	if _, err := db.Append(Entry{Time: t0, Action: "run", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	putRaw(t, db, bucketJournal, seqKey(2), []byte(`{"v":2,"time":"2026-11-29T10:00:00Z","when":17}`))
	putRaw(t, db, bucketJournal, seqKey(3), []byte(`{"v":2,"time":17}`))
	putRaw(t, db, bucketIntents, seqKey(7), []byte(`{"v":2}`))
	putRaw(t, db, bucketLastRun, []byte("homes"), []byte(`{"start":"2026-11-29T10:00:00Z"}`))
	putRaw(t, db, bucketSchedule, []byte("homes"), []byte(`{"v":3,"time":"2026-11-29T10:00:00Z"}`))
	putRaw(t, db, bucketTokens, []byte("primary"), []byte(`{"v":2,"token":"s3cr3t-token"}`))

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"journal", func() error { _, err := db.Entries(Filter{}); return err }, "journal entry 3: record version 2 is not known"},
		{"journal limit", func() error { _, err := db.Entries(Filter{Limit: 1}); return err }, "journal entry 3: record version 2"},
		{"compact", func() error { _, err := db.Compact(t0.Add(time.Hour)); return err }, "journal entry 2: record version 2"},
		{"intents", func() error { _, err := db.PendingIntents(); return err }, "intent 7: record version 2"},
		{"complete intent", func() error { return db.CompleteIntent(7) }, "intent 7: record version 2"},
		{"last run", func() error { _, _, err := db.LastRun("homes"); return err }, `last run of policy "homes": no record version`},
		{"last runs", func() error { _, err := db.LastRuns(); return err }, `last run of policy "homes": no record version`},
		{"last scheduled", func() error { _, _, err := db.LastScheduled("homes"); return err }, `last schedule fire of policy "homes": record version 3`},
		{"device token", func() error { _, _, err := db.DeviceToken("primary"); return err }, `device token of nas "primary": record version 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q shows the stored token", err)
			}
		})
	}
}

func TestCompactRemovesExactlyOldEntries(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	// Entries a second apart for several delete batches, with one entry out
	// of order (a clock stepped back) near the end.
	smallBatches(t)
	const n = 1000
	var es []Entry
	for i := range n {
		es = append(es, Entry{Time: t0.Add(time.Duration(i) * time.Second), Policy: "homes", Action: "snapshot.create", Outcome: "ok"})
	}
	es[n-5].Time = t0.Add(-time.Hour)
	if _, err := db.Append(es...); err != nil {
		t.Fatal(err)
	}
	cut := 703
	removed, err := db.Compact(t0.Add(time.Duration(cut) * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if removed != cut+1 {
		t.Errorf("Compact removed %d, want %d", removed, cut+1)
	}
	got, err := db.Entries(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for i := cut; i < n; i++ {
		if i != n-5 {
			want = append(want, uint64(i+1))
		}
	}
	if d := cmp.Diff(want, seqsOf(got)); d != "" {
		t.Errorf("Entries after Compact (-want +got):\n%s", d)
	}
	if removed, err := db.Compact(t0.Add(time.Duration(cut) * time.Second)); err != nil || removed != 0 {
		t.Errorf("second Compact = %d, %v, want 0, nil", removed, err)
	}
}

func TestCompactShrinksFileAndKeepsEverythingElse(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	const n = 8000
	for b := 0; b < n; b += 1000 {
		var es []Entry
		for i := b; i < b+1000; i++ {
			es = append(es, Entry{Time: t0.Add(time.Duration(i) * time.Minute), Policy: "homes", NAS: "primary",
				Target: "share:homes", Action: "snapshot.create", Snapshot: "GMT+01-2026.11.29-10.00.00", Outcome: "ok", Error: strings.Repeat("e", 300)})
		}
		if _, err := db.Append(es...); err != nil {
			t.Fatal(err)
		}
	}
	id, err := db.BeginIntent(Intent{NAS: "primary", Action: "snapshot.create", Kind: "share", Target: "homes", Desc: "hourly [snapd:homes]"})
	if err != nil {
		t.Fatal(err)
	}
	run := RunRecord{Policy: "homes", Start: t0, End: t0.Add(time.Second), Outcome: "ok"}
	if err := db.SetLastRun(run); err != nil {
		t.Fatal(err)
	}
	if err := db.SetDeviceToken("primary", "tok"); err != nil {
		t.Fatal(err)
	}
	before, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	keep := n / 10
	removed, err := db.Compact(t0.Add(time.Duration(n-keep) * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if removed != n-keep {
		t.Errorf("Compact removed %d, want %d", removed, n-keep)
	}
	after, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before %+v, after %+v", before, after)
	if after.FileSize*3 > before.FileSize {
		t.Errorf("file size after Compact = %d, want under a third of %d", after.FileSize, before.FileSize)
	}
	if after.Entries != keep || after.PendingIntents != 1 || after.LastSeq != n {
		t.Errorf("Stats after Compact = %+v, want %d entries, 1 intent, last seq %d", after, keep, n)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("state dir after rewrite holds %v, want state.db and its holder record", ents)
	}
	if fi, err := os.Stat(db.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode of rewritten file = %v, %v, want 0600", fi.Mode(), err)
	}
	seqs, err := db.Append(Entry{Action: "run", Outcome: "ok"})
	if err != nil || !cmp.Equal(seqs, []uint64{n + 1}) {
		t.Errorf("Append after rewrite = %v, %v, want [%d]", seqs, err, n+1)
	}
	if ins, err := db.PendingIntents(); err != nil || len(ins) != 1 || ins[0].ID != id {
		t.Errorf("PendingIntents after rewrite = %+v, %v, want intent %d", ins, err, id)
	}
	if next, err := db.BeginIntent(Intent{Action: "replication.sync"}); err != nil || next != id+1 {
		t.Errorf("BeginIntent after rewrite = %d, %v, want %d", next, err, id+1)
	}
	if got, ok, err := db.LastRun("homes"); err != nil || !ok || !cmp.Equal(got, run) {
		t.Errorf("LastRun after rewrite = %+v, %v, %v, want %+v", got, ok, err, run)
	}
	if tok, ok, err := db.DeviceToken("primary"); err != nil || !ok || tok != "tok" {
		t.Errorf("DeviceToken after rewrite = %q, %v, %v, want tok", tok, ok, err)
	}
}

func TestCompactWithoutRewriteWhenLittleIsFree(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	var es []Entry
	for i := range 100 {
		es = append(es, Entry{Time: t0.Add(time.Duration(i) * time.Minute), Action: "run", Outcome: "ok"})
	}
	if _, err := db.Append(es...); err != nil {
		t.Fatal(err)
	}
	old := db.bolt
	if removed, err := db.Compact(t0.Add(10 * time.Minute)); err != nil || removed != 10 {
		t.Fatalf("Compact = %d, %v, want 10, nil", removed, err)
	}
	if db.bolt != old {
		t.Errorf("Compact of 10 small entries rewrote the file, want no rewrite under %d free bytes", rewriteMinFree)
	}
}

func TestRewriteRemovesLeftoversAndKeepsMode(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	if _, err := db.Append(fixtureEntries()...); err != nil {
		t.Fatal(err)
	}
	checkAndClose(t, db)
	leftover := filepath.Join(dir, rewritePrefix+"123")
	if err := os.WriteFile(leftover, []byte("half a copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, FileName), 0o640); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, dir, Options{})
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover of a killed rewrite after Open: stat = %v, want not exist", err)
	}
	if err := db.Rewrite(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(db.Path()); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after Rewrite = %v, %v, want 0640 kept", fi.Mode(), err)
	}
	if es, err := db.Entries(Filter{}); err != nil || len(es) != 10 {
		t.Errorf("Entries after Rewrite = %d entries, %v, want 10", len(es), err)
	}
}

func TestConcurrentUseDuringRewrite(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := db.Append(Entry{Policy: fmt.Sprint(w), Action: "run", Outcome: "ok", Count: i}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if err := db.Rewrite(); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() {
		for range 20 {
			if _, err := db.Entries(Filter{Limit: 10}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	es, err := db.Entries(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for _, e := range es {
		seen[e.Seq] = true
	}
	if len(es) != writers*each || len(seen) != writers*each || !seen[1] || !seen[writers*each] {
		t.Errorf("Entries after concurrent appends = %d entries, %d distinct seqs, want %d numbered 1..%d", len(es), len(seen), writers*each, writers*each)
	}
}
