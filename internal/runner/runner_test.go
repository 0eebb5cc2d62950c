package runner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synology-snapd/snapd/internal/dsmfake"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/state"
)

const hourly = `  homes:
    nas: nas1
    share: homes
    schedule: "0 * * * *"
    snapshot: {description: hourly}
    retention: {keep_last: 3, max_deletes_per_run: 50}
    replication: {plan: plan-homes}
`

func TestScheduledRunCreatesSyncsAndPrunes(t *testing.T) {
	e := newEnv(t, hourly)
	old := e.seed("homes", "homes", 5, time.Hour)
	e.nas.ResetCounts()

	res, err := e.r.Run(context.Background(), "homes", ScheduledSteps(e.cfg.Policies["homes"]), e.clock.Now())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Created == "" || !res.Synced {
		t.Fatalf("Run = %+v, want a created snapshot and a sync", res)
	}
	// keep_last 3 of 6 (5 old + the new one): the 3 oldest go.
	want := append(slices.Clone(old[3:]), res.Created)
	if got := e.shareNames("homes"); !slices.Equal(got, want) {
		t.Errorf("snapshots after run = %v, want %v", got, want)
	}
	if got := res.Deleted; !slices.Equal(got, old[:3]) {
		t.Errorf("deleted = %v, want %v", got, old[:3])
	}
	if n := len(e.nas.SyncRecords("plan-homes")); n != 1 {
		t.Errorf("sync records = %d, want 1", n)
	}
	wantJournal := []string{
		"snapshot.create ok " + res.Created,
		"replication.sync ok plan-homes",
		"prune.plan ok",
		"snapshot.delete ok " + old[0],
		"snapshot.delete ok " + old[1],
		"snapshot.delete ok " + old[2],
	}
	if got := e.journal(); !slices.Equal(got, wantJournal) {
		t.Errorf("journal =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantJournal, "\n"))
	}
	if got := e.nas.Count("SYNO.Core.Share.Snapshot", "delete"); got != 1 {
		t.Errorf("delete calls = %d, want 1 batched call", got)
	}
	if in, _ := e.db.PendingIntents(); len(in) != 0 {
		t.Errorf("pending intents after a clean run = %v, want none", in)
	}
	last, ok, err := e.db.LastRun("homes")
	if err != nil || !ok || last.Outcome != OutcomeOK || last.NewestSnapshot.IsZero() {
		t.Errorf("LastRun = %+v, %v, %v; want ok with the newest snapshot", last, ok, err)
	}
}

// TestSteadyStateCalls counts the DSM calls of a run: the session is reused, so a run
// with deletions and replication makes create, list, sync (with the plan lookup it
// needs), one batched delete and a re-list.
func TestSteadyStateCalls(t *testing.T) {
	e := newEnv(t, hourly)
	e.seed("homes", "homes", 3, time.Hour)
	ctx := context.Background()
	if _, err := e.r.Run(ctx, "homes", ScheduledSteps(e.cfg.Policies["homes"]), time.Time{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	e.nas.ResetCounts()
	if _, err := e.r.Run(ctx, "homes", ScheduledSteps(e.cfg.Policies["homes"]), time.Time{}); err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, rq := range e.nas.Requests() {
		calls[rq.API+" "+rq.Method]++
	}
	t.Logf("calls of a steady-state run with a deletion and replication: %v", calls)
	if calls["SYNO.API.Auth login"] != 0 {
		t.Errorf("steady-state run logged in again: %v", calls)
	}
	for _, c := range []string{"SYNO.Core.Share.Snapshot create", "SYNO.DR.Plan sync", "SYNO.Core.Share.Snapshot delete"} {
		if calls[c] != 1 {
			t.Errorf("%s calls = %d, want 1 (all: %v)", c, calls[c], calls)
		}
	}
	if calls["SYNO.Core.Share.Snapshot list"] != 2 {
		t.Errorf("list calls = %d, want 2 (confirm, re-list after delete)", calls["SYNO.Core.Share.Snapshot list"])
	}
}

// TestProtectedSnapshotsSurvive is SPEC §4's safety rules against the fake NAS: with a
// retention that would keep only the newest, a locked, a WORM, a replication-held, a
// foreign (untagged) and another policy's snapshot all survive the prune.
func TestProtectedSnapshotsSurvive(t *testing.T) {
	for _, scope := range []string{"own", "all"} {
		t.Run(scope, func(t *testing.T) {
			e := newEnv(t, `  homes:
    nas: nas1
    share: homes
    schedule: "0 * * * *"
    retention: {keep_last: 1, scope: `+scope+`, max_deletes_per_run: 0}
`)
			at := e.clock.Now()
			mk := func(age time.Duration, s dsmfake.ShareSnapshot) string {
				s.Time = at.Add(-age)
				return e.nas.AddShareSnapshot("homes", s)
			}
			own := policy.Describe("", "homes")
			locked := mk(10*time.Hour, dsmfake.ShareSnapshot{Desc: own, Lock: true})
			worm := mk(9*time.Hour, dsmfake.ShareSnapshot{Desc: own, WORMDays: 7})
			held := mk(8*time.Hour, dsmfake.ShareSnapshot{Desc: own, AppKeys: []string{"SnapshotReplication-synodr-plan-homes"}})
			plain := mk(7*time.Hour, dsmfake.ShareSnapshot{Desc: own})
			foreign := mk(6*time.Hour, dsmfake.ShareSnapshot{Desc: "made by hand"})
			other := mk(5*time.Hour, dsmfake.ShareSnapshot{Desc: policy.Describe("daily", "homes-daily")})

			res, err := e.r.Run(context.Background(), "homes", Steps{Create: true, Prune: true}, time.Time{})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			names := e.shareNames("homes")
			mustKeep := []string{locked, worm, held, res.Created}
			if scope == "own" {
				mustKeep = append(mustKeep, foreign, other)
			}
			for _, n := range mustKeep {
				if !slices.Contains(names, n) {
					t.Errorf("protected snapshot %s was deleted (left: %v)", n, names)
				}
			}
			if slices.Contains(names, plain) {
				t.Errorf("unprotected snapshot %s survived keep_last 1 (left: %v)", plain, names)
			}
			for _, d := range res.Deleted {
				if slices.Contains(mustKeep, d) {
					t.Errorf("runner deleted protected %s", d)
				}
			}
		})
	}
}

func TestUncertainCreateIsResolvedByListing(t *testing.T) {
	e := newEnv(t, hourly)
	e.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "create", DropAfter: true, Times: 1})
	res, err := e.r.Run(context.Background(), "homes", Steps{Create: true}, time.Time{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := e.shareNames("homes"); len(got) != 1 || got[0] != res.Created {
		t.Errorf("snapshots = %v, want exactly the one created %q", got, res.Created)
	}
	if n := e.nas.Count("SYNO.Core.Share.Snapshot", "create"); n != 1 {
		t.Errorf("create calls = %d, want 1 (no blind retry)", n)
	}
}

func TestDroppedCreateThatDidNotLandIsRetriedOnce(t *testing.T) {
	e := newEnv(t, hourly)
	e.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "create", HTTPStatus: 502, Times: 1})
	res, err := e.r.Run(context.Background(), "homes", Steps{Create: true}, time.Time{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := e.shareNames("homes"); len(got) != 1 || got[0] != res.Created {
		t.Errorf("snapshots = %v, want exactly one", got)
	}
	if n := e.nas.Count("SYNO.Core.Share.Snapshot", "create"); n != 2 {
		t.Errorf("create calls = %d, want 2 (list showed the first did not land)", n)
	}
}

func TestNoPruneAfterFailedCreate(t *testing.T) {
	e := newEnv(t, hourly)
	e.seed("homes", "homes", 6, time.Hour)
	e.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "create", Code: 3329})
	_, err := e.r.Run(context.Background(), "homes", ScheduledSteps(e.cfg.Policies["homes"]), time.Time{})
	if err == nil {
		t.Fatal("Run succeeded with a failing create")
	}
	if n := e.nas.Count("SYNO.Core.Share.Snapshot", "delete"); n != 0 {
		t.Errorf("delete calls after a failed create = %d, want 0", n)
	}
	if n := e.nas.Count("SYNO.DR.Plan", "sync"); n != 0 {
		t.Errorf("sync calls after a failed create = %d, want 0", n)
	}
	if got := len(e.shareNames("homes")); got != 6 {
		t.Errorf("snapshots = %d, want the 6 seeded", got)
	}
	last, _, _ := e.db.LastRun("homes")
	if last.Outcome != OutcomeError {
		t.Errorf("last run outcome = %q, want error", last.Outcome)
	}
}

func TestNoPruneOnIncompleteList(t *testing.T) {
	e := newEnv(t, hourly)
	e.seed("homes", "homes", 6, time.Hour)
	e.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "list", Body: []byte(`{"success":true,"data":{"snapshots":[{"time":"GMT+00-2026.03`), ContentType: "application/json"})
	_, err := e.r.Run(context.Background(), "homes", Steps{Prune: true}, time.Time{})
	if err == nil {
		t.Fatal("prune succeeded on a truncated list")
	}
	if n := e.nas.Count("SYNO.Core.Share.Snapshot", "delete"); n != 0 {
		t.Errorf("delete calls after a bad list = %d, want 0", n)
	}
}

func TestRefusedPruneAndForce(t *testing.T) {
	e := newEnv(t, `  homes:
    nas: nas1
    share: homes
    schedule: "0 * * * *"
    retention: {keep_last: 2, max_deletes_per_run: 3}
`)
	e.seed("homes", "homes", 10, time.Hour)
	ctx := context.Background()
	res, err := e.r.Prune(ctx, "homes", false, false)
	if !errors.Is(err, ErrRefused) || !res.Refused {
		t.Fatalf("Prune = %+v, %v; want refused", res, err)
	}
	if got := len(e.shareNames("homes")); got != 10 {
		t.Errorf("refused prune left %d snapshots, want 10", got)
	}
	if j := e.journal(); len(j) != 1 || j[0] != "prune.plan refused" {
		t.Errorf("journal = %v, want one refused prune.plan", j)
	}
	// Dry run: reports, deletes nothing, journals nothing.
	res, err = e.r.Prune(ctx, "homes", true, true)
	if err != nil || res.Plan.Deletes != 8 {
		t.Fatalf("dry run = %+v, %v; want 8 planned deletions", res, err)
	}
	if got := len(e.shareNames("homes")); got != 10 {
		t.Errorf("dry run left %d snapshots, want 10", got)
	}
	res, err = e.r.Prune(ctx, "homes", false, true)
	if err != nil || len(res.Deleted) != 8 {
		t.Fatalf("forced prune = %+v, %v; want 8 deleted", res, err)
	}
	if got := len(e.shareNames("homes")); got != 2 {
		t.Errorf("forced prune left %d snapshots, want 2", got)
	}
}

func TestPartialDeleteJournalsTheTruth(t *testing.T) {
	e := newEnv(t, `  homes:
    nas: nas1
    share: homes
    schedule: "0 * * * *"
    retention: {keep_last: 1}
`)
	old := e.seed("homes", "homes", 4, time.Hour)
	e.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "delete", ItemFailures: map[string]int{old[1]: 3337}})
	res, err := e.r.Prune(context.Background(), "homes", false, false)
	if err == nil {
		t.Fatal("prune with a failed deletion returned no error")
	}
	if !slices.Equal(res.Failed, []string{old[1]}) || len(res.Deleted) != 2 {
		t.Errorf("result = deleted %v failed %v; want 2 deleted and %s failed", res.Deleted, res.Failed, old[1])
	}
	j := e.journal()
	if !slices.Contains(j, "snapshot.delete error "+old[1]) || !slices.Contains(j, "snapshot.delete ok "+old[0]) {
		t.Errorf("journal = %v, want per-snapshot outcomes", j)
	}
}

// TestTwoPoliciesOneShare runs an hourly and a daily policy on one share at once: their
// operations are serialised, both creates land, and each prunes only its own.
func TestTwoPoliciesOneShare(t *testing.T) {
	e := newEnv(t, `  homes:
    nas: nas1
    share: homes
    schedule: "0 * * * *"
    retention: {keep_last: 1}
  homes-daily:
    nas: nas1
    share: homes
    schedule: "0 0 * * *"
    retention: {keep_last: 1}
`)
	e.r.CreateSpacing = 0 // the real spacing: the fake NAS refuses two creates in one second
	e.clock.mu.Lock()
	e.clock.t = time.Time{}
	e.clock.mu.Unlock()
	e.r.Now = nil
	e.nas.SetOptions(dsmfake.Options{Strict: true, Logf: t.Logf})
	h := e.seed("homes", "homes", 2, time.Hour)
	d := e.seed("homes", "homes-daily", 2, 24*time.Hour)
	ctx := context.Background()
	errs := make(chan error, 2)
	for _, p := range []string{"homes", "homes-daily"} {
		go func() {
			_, err := e.r.Run(ctx, p, ScheduledSteps(e.cfg.Policies[p]), time.Time{})
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	left := e.shareNames("homes")
	if len(left) != 2 {
		t.Fatalf("left %v, want one snapshot per policy", left)
	}
	for _, n := range append(h, d...) {
		if slices.Contains(left, n) {
			t.Errorf("old snapshot %s survived", n)
		}
	}
	owners := map[string]bool{}
	for _, s := range e.nas.ShareSnapshots("homes") {
		p, _ := policy.Owner(s.Desc)
		owners[p] = true
	}
	if !owners["homes"] || !owners["homes-daily"] {
		t.Errorf("owners of what is left = %v, want both policies", owners)
	}
}

func TestReconcileInterruptedActions(t *testing.T) {
	e := newEnv(t, hourly)
	ctx := context.Background()
	desc := policy.Describe("hourly", "homes")
	// A create that landed on the NAS but whose completion never reached the journal.
	id, err := e.db.BeginIntent(state.Intent{Time: e.clock.Now(), Policy: "homes", NAS: "nas1", Target: "homes", Kind: "share", Action: ActionCreate, Desc: desc})
	if err != nil {
		t.Fatal(err)
	}
	name := e.nas.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: e.clock.Now(), Desc: desc})
	// A delete of two snapshots of which one went.
	gone := e.nas.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: e.clock.Now().Add(-2 * time.Hour), Desc: desc})
	stays := e.nas.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: e.clock.Now().Add(-3 * time.Hour), Desc: desc})
	if _, err := e.db.BeginIntent(state.Intent{Time: e.clock.Now(), Policy: "homes", NAS: "nas1", Target: "homes", Kind: "share", Action: ActionDelete, Snapshots: []string{gone, stays}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Shared.Client("nas1").ListShareSnapshots(ctx, "homes"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Shared.Client("nas1").DeleteShareSnapshots(ctx, "homes", []string{gone}); err != nil {
		t.Fatal(err)
	}
	n, err := e.r.Reconcile(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Reconcile = %d, %v; want 2 settled", n, err)
	}
	_ = id
	want := []string{"snapshot.create ok " + name, "snapshot.delete ok " + gone, "snapshot.delete error " + stays}
	if got := e.journal(); !slices.Equal(got, want) {
		t.Errorf("journal = %v, want %v", got, want)
	}
	if in, _ := e.db.PendingIntents(); len(in) != 0 {
		t.Errorf("pending intents after reconcile = %v", in)
	}
}

func TestLUNPolicy(t *testing.T) {
	e := newEnv(t, `  vms:
    nas: nas1
    lun: vm-store
    schedule: "0 * * * *"
    snapshot: {description: vm, app_aware: true}
    retention: {keep_last: 2}
`)
	desc := policy.Describe("vm", "vms")
	var old []string
	for i := 5; i >= 1; i-- {
		old = append(old, e.nas.AddLUNSnapshot("lun-uuid-1", dsmfake.LUNSnapshot{Time: e.clock.Now().Add(-time.Duration(i) * time.Hour), Desc: desc}))
	}
	held := e.nas.AddLUNSnapshot("lun-uuid-1", dsmfake.LUNSnapshot{Time: e.clock.Now().Add(-10 * time.Hour), Desc: desc, AppKeys: []string{"SnapshotReplication-synodr-x"}})
	res, err := e.r.Run(context.Background(), "vms", ScheduledSteps(e.cfg.Policies["vms"]), time.Time{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var left []string
	for _, s := range e.nas.LUNSnapshots("lun-uuid-1") {
		left = append(left, s.UUID)
	}
	want := []string{held, old[4], res.Created}
	if !slices.Equal(left, want) {
		t.Errorf("LUN snapshots = %v, want %v", left, want)
	}
}

// TestUncertainCreateWithFailedListIsSettledBeforeTheNextRun: the create's answer is
// lost and so is the list that should tell whether it landed. The intent stays open and
// the next run on the target settles it from the NAS before doing anything else.
func TestUncertainCreateWithFailedListIsSettledBeforeTheNextRun(t *testing.T) {
	e := newEnv(t, hourly)
	ctx := context.Background()
	e.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "create", DropAfter: true, Times: 1})
	e.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "list", Code: 117, Times: 1})
	if _, err := e.r.Run(ctx, "homes", Steps{Create: true, Prune: true}, time.Time{}); err == nil {
		t.Fatal("Run succeeded although the create's outcome was unknown")
	}
	landed := e.shareNames("homes")
	if len(landed) != 1 {
		t.Fatalf("snapshots after the lost create = %v, want the one that landed", landed)
	}
	if in, _ := e.db.PendingIntents(); len(in) != 1 {
		t.Fatalf("pending intents = %v, want the open create", in)
	}
	e.clock.Add(time.Hour)
	res, err := e.r.Run(ctx, "homes", Steps{Create: true}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := e.db.PendingIntents(); len(in) != 0 {
		t.Errorf("pending intents after the next run = %v, want none", in)
	}
	want := []string{"snapshot.create ok " + landed[0], "snapshot.create ok " + res.Created}
	if got := e.journal(); !slices.Equal(got, want) {
		t.Errorf("journal = %v, want %v", got, want)
	}
	if n := e.nas.Count("SYNO.Core.Share.Snapshot", "create"); n != 2 {
		t.Errorf("create calls = %d, want 2 (one per run, none blind)", n)
	}
}

// TestSyncFailureIsJournaledAndPruneStillRuns: a failed replication sync is an error of
// the run, journaled as such; the snapshot exists, so the prune still runs (replication
// bases are held by DSM and protected anyway).
func TestSyncFailureIsJournaledAndPruneStillRuns(t *testing.T) {
	e := newEnv(t, hourly)
	old := e.seed("homes", "homes", 4, time.Hour)
	e.nas.InjectFault(dsmfake.Fault{API: "SYNO.DR.Plan", Method: "sync", Code: 400})
	res, err := e.r.Run(context.Background(), "homes", ScheduledSteps(e.cfg.Policies["homes"]), time.Time{})
	if err == nil || res.Synced {
		t.Fatalf("Run = %+v, %v; want a sync error", res, err)
	}
	j := e.journal()
	if !slices.Contains(j, "replication.sync error plan-homes") {
		t.Errorf("journal = %v, want the failed sync", j)
	}
	if len(res.Deleted) != 2 || !slices.Equal(res.Deleted, old[:2]) {
		t.Errorf("deleted = %v, want the 2 oldest", res.Deleted)
	}
	last, _, _ := e.db.LastRun("homes")
	if last.Outcome != OutcomeError {
		t.Errorf("last run outcome = %q, want error", last.Outcome)
	}
}

// TestLostListAfterDeleteIsReconciled: the delete went through but the list that should
// confirm it failed; the deletions stay an open intent and the next run journals what
// really happened, once.
func TestLostListAfterDeleteIsReconciled(t *testing.T) {
	e := newEnv(t, `  homes:
    nas: nas1
    share: homes
    schedule: "0 * * * *"
    retention: {keep_last: 1}
`)
	old := e.seed("homes", "homes", 3, time.Hour)
	// The prune's own list (first) succeeds; the re-list after the delete fails.
	e.nas.InjectFault(dsmfake.Fault{API: "SYNO.Core.Share.Snapshot", Method: "list", Skip: 1, Times: 1, Code: 117})
	if _, err := e.r.Prune(context.Background(), "homes", false, false); err == nil {
		t.Fatal("Prune succeeded without confirming its deletions")
	}
	if in, _ := e.db.PendingIntents(); len(in) != 1 {
		t.Fatalf("pending intents = %v, want the open delete", in)
	}
	if _, err := e.r.Prune(context.Background(), "homes", false, false); err != nil {
		t.Fatal(err)
	}
	want := []string{"prune.plan ok", "snapshot.delete ok " + old[0], "snapshot.delete ok " + old[1], "prune.plan ok"}
	if got := e.journal(); !slices.Equal(got, want) {
		t.Errorf("journal = %v, want %v", got, want)
	}
}
