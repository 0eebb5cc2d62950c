package dsmfake

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestPlans(t *testing.T) {
	clk := newClock(time.Date(2025, 3, 23, 14, 17, 40, 0, time.UTC))
	h := newHarness(t, Options{Now: clk.now})
	first := h.nas.AddShareSnapshot("api", ShareSnapshot{Time: clk.now().Add(-2 * time.Hour)})
	second := h.nas.AddShareSnapshot("api", ShareSnapshot{Time: clk.now().Add(-time.Hour)})
	h.nas.AddLUN(LUN{UUID: "lun-1", Name: "LUN-1"})
	lunSnap := h.nas.AddLUNSnapshot("lun-1", LUNSnapshot{Time: clk.now().Add(-time.Hour)})
	h.nas.AddPlan(Plan{ID: "p-1", TargetType: "share", TargetName: "api", SendEncrypted: true})
	h.nas.AddPlan(Plan{ID: "p-2", TargetType: "lun", TargetName: "lun-1"})
	h.login()

	type plan struct {
		PlanID     string                     `json:"plan_id"`
		TargetID   string                     `json:"target_id"`
		TargetType int                        `json:"target_type"`
		Additional map[string]json.RawMessage `json:"additional"`
	}
	list := func(add []string) []plan {
		a := h.call("SYNO.DR.Plan", "list", 1, map[string]string{"additional": js(add)})
		wantCode(t, "DR list", a, 0)
		var d struct {
			Plans []plan `json:"plans"`
		}
		a.data(t, &d)
		return d.Plans
	}
	plans := list([]string{"sync_policy"})
	if len(plans) != 2 || plans[0].PlanID != "p-1" || plans[0].TargetID != "api" || plans[0].TargetType != 2 ||
		plans[1].TargetType != 1 || len(plans[0].Additional) != 1 {
		t.Fatalf("DR list = %+v", plans)
	}
	var policy struct {
		Encrypted bool `json:"is_send_encrypted"`
	}
	if err := json.Unmarshal(plans[0].Additional["sync_policy"], &policy); err != nil || !policy.Encrypted {
		t.Errorf("sync_policy = %s, want is_send_encrypted true", plans[0].Additional["sync_policy"])
	}

	sync := func(id string, extra map[string]string) answer {
		p := map[string]string{"plan_id": js(id), "nowait": "true", "auto_remove": "true", "is_snapshot_locked": "false",
			"is_send_encrypted": "true", "sync_description": `"by snapd"`}
		for k, v := range extra {
			p[k] = v
		}
		return h.call("SYNO.DR.Plan", "sync", 1, p)
	}
	wantCode(t, "sync unknown plan", sync("nope", nil), 400)
	wantCode(t, "sync without plan", h.call("SYNO.DR.Plan", "sync", 1, nil), 114)
	wantCode(t, "sync p-1", sync("p-1", nil), 0)
	key := "SnapshotReplication-synodr-p-1"
	snaps := h.nas.ShareSnapshots("api")
	if len(snaps[0].AppKeys) != 0 || !slices.Equal(snaps[1].AppKeys, []string{key}) {
		t.Fatalf("after sync: %+v, want the newest held by %s", snaps, key)
	}
	recs := h.nas.SyncRecords("p-1")
	if want := (SyncRecord{PlanID: "p-1", Time: clk.now(), LockSnapshot: false, Description: "by snapd", Snapshot: second}); len(recs) != 1 || recs[0] != want {
		t.Fatalf("SyncRecords = %+v, want %+v", recs, want)
	}
	wantCode(t, "delete held", h.call("SYNO.Core.Share.Snapshot", "delete", 1,
		map[string]string{"name": `"api"`, "snapshots": js([]string{second})}), 3337)

	clk.add(time.Hour)
	wantCode(t, "create", h.call("SYNO.Core.Share.Snapshot", "create", 1, map[string]string{"name": `"api"`}), 0)
	wantCode(t, "second sync (defaults)", h.call("SYNO.DR.Plan", "sync", 1, map[string]string{"plan_id": `"p-1"`}), 0)
	snaps = h.nas.ShareSnapshots("api")
	if len(snaps[1].AppKeys) != 0 || !slices.Equal(snaps[2].AppKeys, []string{key}) {
		t.Fatalf("after second sync: %+v, want the hold moved to the newest", snaps)
	}
	if recs := h.nas.SyncRecords("p-1"); len(recs) != 2 || !recs[1].LockSnapshot || recs[1].Snapshot != snaps[2].Name {
		t.Errorf("SyncRecords = %+v", recs)
	}
	wantCode(t, "delete released", h.call("SYNO.Core.Share.Snapshot", "delete", 1,
		map[string]string{"name": `"api"`, "snapshots": js([]string{first, second})}), 0)

	wantCode(t, "sync LUN plan", sync("p-2", nil), 0)
	if got := h.nas.LUNSnapshots("lun-1"); !slices.Equal(got[0].AppKeys, []string{"SnapshotReplication-synodr-p-2"}) {
		t.Errorf("LUN snapshot after sync: %+v", got)
	}
	if recs := h.nas.SyncRecords("p-2"); len(recs) != 1 || recs[0].Snapshot != lunSnap {
		t.Errorf("LUN SyncRecords = %+v", recs)
	}

	plans = list([]string{"sync_report", "retention_lock_report", "last_op_info"})
	var report struct {
		Records []struct {
			Version string `json:"snapshot_version"`
			Begin   int64  `json:"begin_time"`
		} `json:"recent_records"`
		Success int `json:"success_sync_count"`
	}
	if err := json.Unmarshal(plans[0].Additional["sync_report"], &report); err != nil || report.Success != 2 ||
		len(report.Records) != 2 || report.Records[1].Version != snaps[2].Name {
		t.Errorf("sync_report = %s", plans[0].Additional["sync_report"])
	}
	var ret struct {
		First string `json:"first_snapshot"`
		Last  string `json:"last_snapshot"`
	}
	if err := json.Unmarshal(plans[0].Additional["retention_lock_report"], &ret); err != nil || ret.First != second || ret.Last != snaps[2].Name {
		t.Errorf("retention_lock_report = %s", plans[0].Additional["retention_lock_report"])
	}
}
