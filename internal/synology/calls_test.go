package synology

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

// strictNAS is a DSM 7 fake that rejects any value not JSON-encoded and any request
// without its SynoToken; every test here also checks no request was answered 120.
func strictNAS(t *testing.T, opts dsmfake.Options) *nas {
	t.Helper()
	opts.Strict = true
	opts.RequireSynoToken = true
	n := newNAS(t, opts)
	t.Cleanup(func() {
		for _, r := range n.Requests() {
			if r.Code == 120 || r.Code == 114 || r.Code == 101 || r.Code == 103 || r.Code == 104 {
				t.Errorf("%s %s v%d answered %d: the client sent a request the NAS does not accept (%v)",
					r.API, r.Method, r.Version, r.Code, r.Params)
			}
		}
	})
	return n
}

func TestShareSnapshotCalls(t *testing.T) {
	for _, zone := range []string{"UTC", "Asia/Tokyo", "America/New_York", "Asia/Kolkata"} {
		t.Run(zone, func(t *testing.T) {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				t.Skip(err)
			}
			n := strictNAS(t, dsmfake.Options{Zone: loc})
			n.AddShare("my share")
			c := n.client(t)
			ctx := context.Background()

			snaps, err := c.ListShareSnapshots(ctx, "my share")
			if err != nil || len(snaps) != 0 {
				t.Fatalf("ListShareSnapshots(empty share) = %v, %v", snaps, err)
			}
			t0 := n.clock.Now()
			a, err := c.CreateShareSnapshot(ctx, "my share", CreateShareOptions{Desc: `hourly "snapd:homes" <&>`, Lock: false})
			if err != nil {
				t.Fatalf("CreateShareSnapshot: %v", err)
			}
			n.clock.Advance(time.Second)
			b, err := c.CreateShareSnapshot(ctx, "my share", CreateShareOptions{Desc: "locked", Lock: true})
			if err != nil {
				t.Fatal(err)
			}
			n.clock.Advance(time.Second)
			w, err := c.CreateShareSnapshot(ctx, "my share", CreateShareOptions{Desc: "worm", WORMDays: 7})
			if err != nil {
				t.Fatal(err)
			}
			snaps, err = c.ListShareSnapshots(ctx, "my share")
			if err != nil {
				t.Fatal(err)
			}
			want := []ShareSnapshot{
				{Name: a, Time: t0, Desc: `hourly "snapd:homes" <&>`},
				{Name: b, Time: t0.Add(time.Second), Desc: "locked", Locked: true},
				{Name: w, Time: t0.Add(2 * time.Second), Desc: "worm", WORM: true,
					WORMBegin: t0.Add(2 * time.Second), WORMEnd: t0.Add(2*time.Second + 7*24*time.Hour)},
			}
			if d := cmp.Diff(want, snaps, timeEq); d != "" {
				t.Errorf("ListShareSnapshots mismatch (-want +got):\n%s", d)
			}
			if got, _ := ParseShareSnapshotTime(a); !got.Equal(t0) {
				t.Errorf("created name %s parses to %v, want %v", a, got, t0)
			}

			desc, lock := "renamed", true
			if err := c.SetShareSnapshot(ctx, "my share", a, ShareSnapshotAttrs{Desc: &desc, Lock: &lock}); err != nil {
				t.Fatalf("SetShareSnapshot: %v", err)
			}
			unlock := false
			if err := c.SetShareSnapshot(ctx, "my share", b, ShareSnapshotAttrs{Lock: &unlock}); err != nil {
				t.Fatalf("SetShareSnapshot(unlock): %v", err)
			}
			if err := c.SetShareSnapshot(ctx, "my share", b, ShareSnapshotAttrs{}); err != nil {
				t.Fatalf("SetShareSnapshot(nothing): %v", err)
			}
			got := n.ShareSnapshots("my share")
			if got[0].Desc != "renamed" || !got[0].Lock || got[1].Desc != "locked" || got[1].Lock {
				t.Errorf("after set: %+v", got[:2])
			}

			if err := c.DeleteShareSnapshots(ctx, "my share", []string{a, b}); err != nil {
				t.Fatalf("DeleteShareSnapshots: %v", err)
			}
			if err := c.DeleteShareSnapshots(ctx, "my share", nil); err != nil {
				t.Fatalf("DeleteShareSnapshots(none): %v", err)
			}
			if got := n.ShareSnapshots("my share"); len(got) != 1 || got[0].Name != w {
				t.Errorf("after delete: %+v, want only %s", got, w)
			}
			// The WORM snapshot refuses deletion: every item failed.
			err = c.DeleteShareSnapshots(ctx, "my share", []string{w})
			var pe *PartialError
			var ae *APIError
			if !errors.Is(err, ErrProtected) || !errors.As(err, &pe) || !errors.As(err, &ae) || ae.Code != 3350 {
				t.Errorf("DeleteShareSnapshots(WORM) = %v, want ErrProtected as *PartialError wrapping *APIError 3350", err)
			} else if len(pe.Items) != 1 || pe.Items[0] != (ItemError{ID: w, Code: 3350}) {
				t.Errorf("DeleteShareSnapshots(WORM) items = %v", pe.Items)
			}
			for _, r := range n.Requests() {
				if r.API == apiShare && r.Method == "create" && r.Params.Get("name") != `"my share"` {
					t.Errorf("create sent name=%s, want a JSON string", r.Params.Get("name"))
				}
				if r.API == apiShare && r.Method == "list" && r.Version != 2 {
					t.Errorf("list sent as version %d, want 2", r.Version)
				}
			}
		})
	}
}

func TestShareDeletePartial(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	now := n.clock.Now()
	x := n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: now.Add(-3 * time.Hour)})
	held := n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: now.Add(-2 * time.Hour), AppKeys: []string{"SnapshotReplication-synodr-p1"}})
	y := n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: now.Add(-time.Hour)})
	c := n.client(t)
	ctx := context.Background()
	snaps, err := c.ListShareSnapshots(ctx, "homes")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(snaps[1].AppKeys, []string{"SnapshotReplication-synodr-p1"}) {
		t.Errorf("held snapshot AppKeys = %v", snaps[1].AppKeys)
	}
	err = c.DeleteShareSnapshots(ctx, "homes", []string{x, held, "GMT+00-2020.01.01-00.00.00"})
	var pe *PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("DeleteShareSnapshots(partly held) = %v, want *PartialError", err)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		t.Errorf("a partial success wraps an *APIError: %v", ae)
	}
	wantItems := []ItemError{{held, 3337}, {"GMT+00-2020.01.01-00.00.00", 3300}}
	slices.SortFunc(pe.Items, func(a, b ItemError) int { return strings.Compare(b.ID, a.ID) })
	if d := cmp.Diff(wantItems, pe.Items); d != "" {
		t.Errorf("items mismatch (-want +got):\n%s", d)
	}
	if !errors.Is(err, ErrProtected) || !errors.Is(err, ErrNotFound) {
		t.Errorf("errors.Is does not follow the items: %v", err)
	}
	if !strings.Contains(err.Error(), held) || !strings.Contains(err.Error(), `share "homes"`) {
		t.Errorf("error %q does not name the share and the held snapshot", err)
	}
	if got := n.ShareSnapshots("homes"); len(got) != 2 || got[0].Name != held || got[1].Name != y {
		t.Errorf("after the partial delete: %+v", got)
	}
	// Injected per-item failures.
	n.InjectFault(dsmfake.Fault{API: apiShare, Method: "delete", ItemFailures: map[string]int{y: 3330}})
	err = c.DeleteShareSnapshots(ctx, "homes", []string{y})
	if !errors.As(err, &pe) || len(pe.Items) != 1 || pe.Items[0].Code != 3330 {
		t.Errorf("DeleteShareSnapshots(injected 3330) = %v", err)
	}
}

func TestShareErrors(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{SnapshotLimit: 2})
	c := n.client(t)
	ctx := context.Background()
	n.AddShare("homes")
	if _, err := c.ListShareSnapshots(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListShareSnapshots(unknown share) = %v, want ErrNotFound", err)
	}
	if _, err := c.CreateShareSnapshot(ctx, "nope", CreateShareOptions{}); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUncertain) {
		t.Errorf("CreateShareSnapshot(unknown share) = %v, want ErrNotFound and not ErrUncertain", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.CreateShareSnapshot(ctx, "homes", CreateShareOptions{}); err != nil {
			t.Fatal(err)
		}
		n.clock.Advance(time.Second)
	}
	_, err := c.CreateShareSnapshot(ctx, "homes", CreateShareOptions{})
	if !errors.Is(err, ErrTooManySnapshots) || !strings.Contains(err.Error(), "3329") {
		t.Errorf("CreateShareSnapshot over the limit = %v, want ErrTooManySnapshots naming 3329", err)
	}
	// Same second: DSM's collision code is surfaced as it is.
	n2 := strictNAS(t, dsmfake.Options{})
	n2.AddShare("homes")
	c2 := n2.client(t)
	if _, err := c2.CreateShareSnapshot(ctx, "homes", CreateShareOptions{}); err != nil {
		t.Fatal(err)
	}
	var ae *APIError
	if _, err := c2.CreateShareSnapshot(ctx, "homes", CreateShareOptions{}); !errors.As(err, &ae) || ae.Code != 3301 {
		t.Errorf("second create in one second = %v, want *APIError 3301", err)
	}
	if n2.Count(apiShare, "create") != 2 {
		t.Errorf("creates sent = %d, want 2 (no retry)", n2.Count(apiShare, "create"))
	}
}

func TestShareSnapshotLimit256(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	start := n.clock.Now().Add(-300 * time.Hour)
	for i := 0; i < 256; i++ {
		n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: start.Add(time.Duration(i) * time.Hour)})
	}
	c := n.client(t)
	_, err := c.CreateShareSnapshot(context.Background(), "homes", CreateShareOptions{Desc: "one too many"})
	if !errors.Is(err, ErrTooManySnapshots) {
		t.Fatalf("257th snapshot = %v, want ErrTooManySnapshots", err)
	}
	if got := len(n.ShareSnapshots("homes")); got != 256 {
		t.Errorf("snapshots = %d, want 256", got)
	}
}

func TestShareListPagingAndOrder(t *testing.T) {
	for _, order := range []dsmfake.Order{dsmfake.OldestFirst, dsmfake.NewestFirst, dsmfake.Shuffled} {
		t.Run(string(order), func(t *testing.T) {
			n := strictNAS(t, dsmfake.Options{ListOrder: order, Zone: time.FixedZone("", 9*3600)})
			start := n.clock.Now().Add(-2000 * time.Hour)
			const count = 1203
			var want []string
			for i := 0; i < count; i++ {
				want = append(want, n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: start.Add(time.Duration(i) * time.Hour)}))
			}
			c := n.client(t)
			snaps, err := c.ListShareSnapshots(context.Background(), "homes")
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(snaps))
			for i, s := range snaps {
				got[i] = s.Name
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("ListShareSnapshots over %d pages, %s: mismatch (-want +got):\n%s", n.Count(apiShare, "list"), order, d)
			}
			if pages := n.Count(apiShare, "list"); pages != 3 {
				t.Errorf("list requests = %d, want 3 pages of %d", pages, sharePageSize)
			}
		})
	}
}

func TestShareListGarbledName(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: n.clock.Now().Add(-time.Hour)})
	n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Name: "GMT+09-2023.13.11-23.23.40"})
	_, err := n.client(t).ListShareSnapshots(context.Background(), "homes")
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), `"GMT+09-2023.13.11-23.23.40"`) {
		t.Errorf("ListShareSnapshots with a garbled name = %v, want ErrProtocol naming it", err)
	}
}

func TestShareListEndsEarly(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: n.clock.Now().Add(-time.Hour)})
	n.InjectFault(dsmfake.Fault{API: apiShare, Method: "list", Body: []byte(`{"success":true,"data":{"snapshots":[],"total":5}}`)})
	_, err := n.client(t).ListShareSnapshots(context.Background(), "homes")
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "0 of 5") {
		t.Errorf("ListShareSnapshots of a truncated list = %v, want ErrProtocol saying 0 of 5", err)
	}
}

func TestShareListOffsetIgnored(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	var page strings.Builder
	page.WriteString(`{"success":true,"data":{"total":1200,"snapshots":[`)
	start := n.clock.Now().Add(-1000 * time.Hour)
	for i := 0; i < sharePageSize; i++ {
		if i > 0 {
			page.WriteString(",")
		}
		page.WriteString(`{"time":"` + start.Add(time.Duration(i)*time.Hour).Format("GMT+00-2006.01.02-15.04.05") + `"}`)
	}
	page.WriteString(`]}}`)
	n.AddShare("homes")
	n.InjectFault(dsmfake.Fault{API: apiShare, Method: "list", Body: []byte(page.String())})
	_, err := n.client(t).ListShareSnapshots(context.Background(), "homes")
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "500 distinct snapshots") {
		t.Errorf("ListShareSnapshots from a NAS repeating its first page = %v, want ErrProtocol", err)
	}
}

func TestLUNCalls(t *testing.T) {
	for _, order := range []dsmfake.Order{dsmfake.OldestFirst, dsmfake.NewestFirst, dsmfake.Shuffled} {
		t.Run(string(order), func(t *testing.T) {
			n := strictNAS(t, dsmfake.Options{ListOrder: order})
			n.AddLUN(dsmfake.LUN{UUID: "lun-1", Name: "LUN-1", Location: "/volume2", Size: 1 << 30, TypeStr: "BLUN"})
			held := n.AddLUNSnapshot("lun-1", dsmfake.LUNSnapshot{Time: n.clock.Now().Add(-time.Hour), Desc: "base",
				AppKeys: []string{"SnapshotReplication-synodr-p"}, TakenBy: "user"})
			c := n.client(t)
			ctx := context.Background()
			luns, err := c.ListLUNs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantLUNs := []LUN{{UUID: "lun-1", Name: "LUN-1", Location: "/volume2", Type: "BLUN", Size: 1 << 30, SnapshotCount: 1}}
			if d := cmp.Diff(wantLUNs, luns); d != "" {
				t.Errorf("ListLUNs mismatch (-want +got):\n%s", d)
			}
			var uuids []string
			for i := 0; i < 3; i++ {
				u, err := c.TakeLUNSnapshot(ctx, "lun-1", TakeLUNOptions{Desc: "d" + strconv.Itoa(i), Lock: i == 1, AppConsistent: i == 2})
				if err != nil {
					t.Fatalf("TakeLUNSnapshot: %v", err)
				}
				uuids = append(uuids, u)
				n.clock.Advance(time.Second)
			}
			snaps, err := c.ListLUNSnapshots(ctx, "lun-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(snaps) != 4 {
				t.Fatalf("ListLUNSnapshots = %d snapshots, want 4", len(snaps))
			}
			if snaps[0].UUID != held || !slices.Equal(snaps[0].AppKeys, []string{"SnapshotReplication-synodr-p"}) {
				t.Errorf("oldest = %+v, want the held base", snaps[0])
			}
			for i, u := range uuids {
				s := snaps[i+1]
				if s.UUID != u || s.Desc != "d"+strconv.Itoa(i) || s.Locked != (i == 1) || s.AppConsistent != (i == 2) || s.TakenBy != takenBy || s.Time.IsZero() {
					t.Errorf("snapshot %d = %+v, want uuid %s", i, s, u)
				}
			}
			if err := c.DeleteLUNSnapshots(ctx, uuids[:2]); err != nil {
				t.Fatalf("DeleteLUNSnapshots: %v", err)
			}
			err = c.DeleteLUNSnapshots(ctx, []string{held, uuids[2], "no-such"})
			var pe *PartialError
			if !errors.As(err, &pe) || !errors.Is(err, ErrProtected) || !errors.Is(err, ErrNotFound) {
				t.Fatalf("DeleteLUNSnapshots(held, ok, unknown) = %v, want *PartialError with ErrProtected and ErrNotFound", err)
			}
			slices.SortFunc(pe.Items, func(a, b ItemError) int { return a.Code - b.Code })
			if d := cmp.Diff([]ItemError{{"no-such", 18990532}, {held, 18990540}}, pe.Items); d != "" {
				t.Errorf("items mismatch (-want +got):\n%s", d)
			}
			if got := n.LUNSnapshots("lun-1"); len(got) != 1 || got[0].UUID != held {
				t.Errorf("left on the NAS: %+v, want only the held base", got)
			}
			if _, err := c.ListLUNSnapshots(ctx, "no-lun"); !errors.Is(err, ErrNotFound) {
				t.Errorf("ListLUNSnapshots(unknown) = %v, want ErrNotFound", err)
			}
			if _, err := c.TakeLUNSnapshot(ctx, "no-lun", TakeLUNOptions{}); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUncertain) {
				t.Errorf("TakeLUNSnapshot(unknown) = %v, want ErrNotFound, not uncertain", err)
			}
		})
	}
}

func TestLUNSnapshotLimit(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	n.AddLUN(dsmfake.LUN{UUID: "lun-1", Name: "LUN-1"})
	for i := 0; i < 256; i++ {
		n.AddLUNSnapshot("lun-1", dsmfake.LUNSnapshot{Time: n.clock.Now().Add(-time.Duration(i+1) * time.Minute)})
	}
	_, err := n.client(t).TakeLUNSnapshot(context.Background(), "lun-1", TakeLUNOptions{})
	if !errors.Is(err, ErrTooManySnapshots) || !strings.Contains(err.Error(), "18990543") {
		t.Errorf("257th LUN snapshot = %v, want ErrTooManySnapshots naming 18990543", err)
	}
}

func TestPlanCalls(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: n.clock.Now().Add(-time.Hour)})
	n.AddLUN(dsmfake.LUN{UUID: "lun-1", Name: "LUN-1"})
	n.AddPlan(dsmfake.Plan{ID: "p-share", TargetType: "share", TargetName: "homes"})
	n.AddPlan(dsmfake.Plan{ID: "p-lun", TargetType: "lun", TargetName: "lun-1", SendEncrypted: true})
	c := n.client(t)
	ctx := context.Background()
	plans, err := c.ListPlans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(plans, func(a, b Plan) int { return strings.Compare(a.ID, b.ID) })
	if len(plans) != 2 {
		t.Fatalf("ListPlans = %+v, want 2 plans", plans)
	}
	if p := plans[0]; p.ID != "p-lun" || p.TargetType != "lun" || p.TargetName != "lun-1" || !p.SendEncrypted || len(p.Raw) == 0 {
		t.Errorf("lun plan = %+v", p)
	}
	if p := plans[1]; p.ID != "p-share" || p.TargetType != "share" || p.TargetName != "homes" || p.SendEncrypted || p.Role != "mainsite" {
		t.Errorf("share plan = %+v", p)
	}
	for _, id := range []string{"p-share", "p-lun"} {
		if err := c.SyncPlan(ctx, id, SyncOptions{LockSnapshot: true, Description: "by snapd"}); err != nil {
			t.Fatalf("SyncPlan(%s): %v", id, err)
		}
		recs := n.SyncRecords(id)
		if len(recs) != 1 || !recs[0].LockSnapshot || recs[0].Description != "by snapd" {
			t.Errorf("SyncRecords(%s) = %+v", id, recs)
		}
	}
	if err := c.SyncPlan(ctx, "p-share", SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range n.Requests() {
		if r.API == apiPlan && r.Method == "sync" {
			want := "false"
			if r.Params.Get("plan_id") == `"p-lun"` {
				want = "true"
			}
			if got := r.Params.Get("is_send_encrypted"); got != want {
				t.Errorf("sync of %s sent is_send_encrypted=%s, want %s", r.Params.Get("plan_id"), got, want)
			}
			if r.Params.Get("nowait") != "true" {
				t.Errorf("sync sent nowait=%q", r.Params.Get("nowait"))
			}
		}
	}
	if last := n.SyncRecords("p-share"); len(last) != 2 || last[1].Description != "" || last[1].LockSnapshot {
		t.Errorf("second sync record = %+v", last)
	}
	if err := c.SyncPlan(ctx, "nope", SyncOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("SyncPlan(unknown) = %v, want ErrNotFound", err)
	}
	if got := n.Count(apiPlan, "sync"); got != 3 {
		t.Errorf("sync requests = %d, want 3 (none for the unknown plan)", got)
	}
}

func TestPlansWithoutPackage(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{NoDRPackage: true})
	c := n.client(t)
	if _, err := c.ListPlans(context.Background()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ListPlans without Snapshot Replication = %v, want ErrUnsupported", err)
	}
	if err := c.SyncPlan(context.Background(), "p", SyncOptions{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SyncPlan without Snapshot Replication = %v, want ErrUnsupported", err)
	}
	if n.Count(apiPlan, "") != 0 {
		t.Errorf("sent %d SYNO.DR.Plan requests to a NAS that does not offer it", n.Count(apiPlan, ""))
	}
}
