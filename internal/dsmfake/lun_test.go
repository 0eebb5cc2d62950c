package dsmfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

type lunSnapListed struct {
	UUID         string   `json:"uuid"`
	ID           int      `json:"snapshot_id"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	UserLocked   bool     `json:"is_user_locked"`
	WORM         *bool    `json:"is_worm_locked"`
	WORMDay      *string  `json:"worm_lock_day"`
	AppKeys      []string `json:"locked_app_keys"`
	Status       string   `json:"status"`
	CreateTime   int64    `json:"create_time"`
	ParentUUID   string   `json:"parent_uuid"`
	TakenBy      string   `json:"taken_by"`
	AppConsisten bool     `json:"is_app_consistent"`
}

func (h *harness) lunSnaps(uuid string, additional []string) (count int, snaps []lunSnapListed) {
	h.t.Helper()
	p := map[string]string{"src_lun_uuid": js(uuid)}
	if additional != nil {
		p["additional"] = js(additional)
	}
	a := h.call("SYNO.Core.ISCSI.LUN", "list_snapshot", 1, p)
	wantCode(h.t, "list_snapshot", a, 0)
	var d struct {
		Count     int             `json:"count"`
		Snapshots []lunSnapListed `json:"snapshots"`
	}
	a.data(h.t, &d)
	return d.Count, d.Snapshots
}

func TestLUNSnapshots(t *testing.T) {
	clk := newClock(time.Date(2025, 3, 24, 12, 0, 0, 0, time.UTC))
	h := newHarness(t, Options{Now: clk.now, Strict: true, SnapshotLimit: 4})
	h.nas.AddLUN(LUN{UUID: "lun-1", Name: "LUN-1", Location: "/volume2", Size: 1 << 30, TypeStr: "BLUN"})
	held := h.nas.AddLUNSnapshot("lun-1", LUNSnapshot{Time: clk.now().Add(-2 * time.Hour), Desc: "held",
		AppKeys: []string{"SnapshotReplication-synodr-p"}})
	worm := h.nas.AddLUNSnapshot("lun-1", LUNSnapshot{Time: clk.now().Add(-time.Hour), WORM: true})
	h.login()

	a := h.call("SYNO.Core.ISCSI.LUN", "take_snapshot", 1, map[string]string{"src_lun_uuid": `"lun-1"`,
		"description": `"lun snap"`, "taken_by": `"snapd"`, "is_locked": "true", "is_app_consistent": "false"})
	wantCode(t, "take_snapshot", a, 0)
	var taken struct {
		ID   int    `json:"snapshot_id"`
		UUID string `json:"snapshot_uuid"`
	}
	a.data(t, &taken)
	if taken.ID != 3 || taken.UUID == "" {
		t.Fatalf("take_snapshot = %+v, want snapshot_id 3 and a uuid", taken)
	}
	got := h.nas.LUNSnapshots("lun-1")
	if len(got) != 3 || got[2].UUID != taken.UUID || !got[2].Locked || got[2].Desc != "lun snap" || got[2].TakenBy != "snapd" || got[2].Name != "SnapShot-3" {
		t.Fatalf("LUNSnapshots = %+v", got)
	}

	count, snaps := h.lunSnaps("lun-1", nil)
	if count != 3 || snaps[0].WORM != nil || snaps[0].AppKeys != nil {
		t.Errorf("list_snapshot without additional = %d %+v, want 3 without WORM and app keys", count, snaps)
	}
	count, snaps = h.lunSnaps("lun-1", []string{"locked_app_keys", "is_worm_locked"})
	if count != 3 || snaps[0].UUID != held || !slices.Equal(snaps[0].AppKeys, []string{"SnapshotReplication-synodr-p"}) ||
		snaps[1].UUID != worm || snaps[1].WORM == nil || !*snaps[1].WORM || *snaps[1].WORMDay != "0" ||
		snaps[2].AppKeys == nil || snaps[0].Status != "Healthy" || snaps[0].ParentUUID != "lun-1" {
		t.Errorf("list_snapshot = %+v", snaps)
	}

	o := h.nas.Options()
	o.ListOrder = NewestFirst
	h.nas.SetOptions(o)
	if _, snaps := h.lunSnaps("lun-1", nil); snaps[0].UUID != taken.UUID {
		t.Errorf("newest-first list_snapshot starts with %s, want %s", snaps[0].UUID, taken.UUID)
	}

	clk.add(time.Second)
	wantCode(t, "take_snapshot 4", h.call("SYNO.Core.ISCSI.LUN", "take_snapshot", 1, map[string]string{"src_lun_uuid": `"lun-1"`}), 0)
	wantCode(t, "take_snapshot over the limit", h.call("SYNO.Core.ISCSI.LUN", "take_snapshot", 1, map[string]string{"src_lun_uuid": `"lun-1"`}), 18990543)
	wantCode(t, "take_snapshot unknown LUN", h.call("SYNO.Core.ISCSI.LUN", "take_snapshot", 1, map[string]string{"src_lun_uuid": `"nope"`}), 18990531)
	wantCode(t, "list_snapshot unknown LUN", h.call("SYNO.Core.ISCSI.LUN", "list_snapshot", 1, map[string]string{"src_lun_uuid": `"nope"`}), 18990531)
	wantCode(t, "list_snapshot without LUN", h.call("SYNO.Core.ISCSI.LUN", "list_snapshot", 1, nil), 114)

	del := func(p map[string]string) answer { return h.call("SYNO.Core.ISCSI.LUN", "delete_snapshot", 1, p) }
	a = del(map[string]string{"snapshot_uuids": js([]string{held, worm, "nope", taken.UUID})})
	wantCode(t, "delete_snapshot array", a, 0)
	if want := fmt.Sprintf(`[{%q:18990540},{%q:18990540},{"nope":18990532}]`, held, worm); string(a.Data) != want {
		t.Errorf("delete_snapshot data = %s, want %s", a.Data, want)
	}
	if got := h.nas.LUNSnapshots("lun-1"); len(got) != 3 {
		t.Errorf("%d LUN snapshots left, want 3", len(got))
	}
	a = del(map[string]string{"snapshot_uuid": js(h.nas.LUNSnapshots("lun-1")[2].UUID)})
	wantCode(t, "delete_snapshot single", a, 0)
	if string(a.Data) != "[]" {
		t.Errorf("delete_snapshot single data = %s, want []", a.Data)
	}
	wantCode(t, "delete_snapshot single unknown", del(map[string]string{"snapshot_uuid": `"nope"`}), 18990532)
	a = del(map[string]string{"snapshot_uuid": js(held)})
	wantCode(t, "delete_snapshot single held", a, 0)
	if want := fmt.Sprintf(`[{%q:18990540}]`, held); string(a.Data) != want {
		t.Errorf("delete_snapshot single held data = %s, want %s", a.Data, want)
	}
	wantCode(t, "delete_snapshot without uuids", del(nil), 114)
}

func TestLUNList(t *testing.T) {
	h := newHarness(t, Options{})
	h.nas.AddLUN(LUN{UUID: "a", Name: "LUN-A", Location: "/volume1", TypeStr: "BLUN"})
	h.nas.AddLUN(LUN{UUID: "b", Name: "LUN-B", Location: "/volume2", TypeStr: "FILE"})
	h.nas.AddLUNSnapshot("a", LUNSnapshot{Time: time.Unix(1742739365, 0), Desc: "test"})
	h.login()
	list := func(p map[string]string) []map[string]json.RawMessage {
		a := h.call("SYNO.Core.ISCSI.LUN", "list", 1, p)
		wantCode(t, "list", a, 0)
		var d struct {
			LUNs []map[string]json.RawMessage `json:"luns"`
		}
		a.data(t, &d)
		return d.LUNs
	}
	tests := []struct {
		name      string
		p         map[string]string
		want      []string
		wantSnaps bool
	}{
		{"all", nil, []string{`"a"`, `"b"`}, false},
		{"types", map[string]string{"types": `["BLUN"]`}, []string{`"a"`}, false},
		{"location", map[string]string{"location": `"/volume2"`}, []string{`"b"`}, false},
		{"snapshot_info", map[string]string{"additional": `["snapshot_info"]`}, []string{`"a"`, `"b"`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			luns := list(tt.p)
			var got []string
			for _, l := range luns {
				got = append(got, string(l["uuid"]))
				if _, ok := l["snapshots"]; ok != tt.wantSnaps {
					t.Errorf("LUN %s has snapshots %v, want %v", l["uuid"], ok, tt.wantSnaps)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("list(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	var snaps []struct {
		Status struct {
			Type string `json:"type"`
		} `json:"status"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(list(map[string]string{"additional": `["snapshot_info"]`})[0]["snapshots"], &snaps); err != nil ||
		len(snaps) != 1 || snaps[0].Status.Type != "Healthy" || snaps[0].Description != "test" {
		t.Errorf("embedded snapshots = %+v (%v), want one with status object", snaps, err)
	}
}
