package dsmfake

import (
	"slices"
	"sort"
	"time"
)

// Plan is a Snapshot Replication (DR) plan protecting one share or LUN.
type Plan struct {
	ID            string
	TargetType    string // "share" or "lun"
	TargetName    string // share name or LUN uuid
	SendEncrypted bool
}

// SyncRecord is one accepted SYNO.DR.Plan sync call.
type SyncRecord struct {
	PlanID       string
	Time         time.Time
	LockSnapshot bool   // is_snapshot_locked
	Description  string // sync_description
	Snapshot     string // share snapshot name or LUN snapshot uuid the sync now holds; "" if none
}

type planState struct {
	Plan
	seq              int
	mainNode, drNode string
	records          []SyncRecord
}

// holdKey is the locked_app_keys entry a plan puts on the snapshot it replicated last.
func holdKey(planID string) string { return "SnapshotReplication-synodr-" + planID }

// AddPlan adds (or replaces) a DR plan.
func (n *NAS) AddPlan(p Plan) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.addPlan(p)
}

func (n *NAS) addPlan(p Plan) *planState {
	if p.TargetType == "" {
		p.TargetType = "share"
	}
	if old := n.plans[p.ID]; old != nil {
		old.Plan = p
		return old
	}
	ps := &planState{Plan: p, seq: len(n.plans) + 1, mainNode: newUUID(), drNode: newUUID()}
	n.plans[p.ID] = ps
	return ps
}

// SyncRecords returns the syncs accepted for a plan, oldest first.
func (n *NAS) SyncRecords(planID string) []SyncRecord {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ps := n.plans[planID]; ps != nil {
		return slices.Clone(ps.records)
	}
	return nil
}

func (n *NAS) sortedPlans() []*planState {
	out := make([]*planState, 0, len(n.plans))
	for _, p := range n.plans {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// targetType is DSM's number: 2 = share, 1 = LUN.
func (ps *planState) targetType() int {
	if ps.TargetType == "lun" {
		return 1
	}
	return 2
}

// targetName is what DSM shows as the target: the share name or the LUN's name.
func (n *NAS) targetName(ps *planState) string {
	if ps.TargetType == "lun" {
		if l := n.luns[ps.TargetName]; l != nil {
			return l.Name
		}
	}
	return ps.TargetName
}

// planList implements SYNO.DR.Plan list; the enrichment blocks named in additional are
// nested under each plan's `additional`.
func planList(c *call) (any, *apiError) {
	add, e := c.p.strings("additional")
	if e != nil {
		return nil, e
	}
	plans := []any{}
	for _, ps := range c.n.sortedPlans() {
		extra := map[string]any{}
		for _, a := range add {
			v, ok := c.n.planBlock(ps, a, c.now)
			if !ok {
				c.n.logf("dsmfake: DR plan additional %s is unknown to the fake: ignored", quoteShort(a))
				continue
			}
			extra[a] = v
		}
		plans = append(plans, map[string]any{
			"additional": extra, "dr_site": ps.drNode, "is_to_local": false, "main_site": ps.mainNode,
			"plan_id": ps.ID, "role": 1, "role_str": "mainsite", "solution_type": 1, "sync_mode": 2,
			"target_id": ps.TargetName, "target_type": ps.targetType(),
		})
	}
	return map[string]any{"plans": plans}, nil
}

func opInfo() map[string]any {
	return map[string]any{"op_progress": map[string]any{"percentage": -1}, "op_status": 1}
}

// planBlock renders one `additional` block of a plan.
func (n *NAS) planBlock(ps *planState, name string, now time.Time) (any, bool) {
	switch name {
	case "sync_policy":
		return n.syncPolicy(ps, now), true
	case "sync_report":
		return n.syncReport(ps), true
	case "main_site_info":
		return n.siteInfo(ps, 1), true
	case "dr_site_info":
		return n.siteInfo(ps, 2), true
	case "can_do":
		return map[string]any{"can_cleanup_testfailover": false, "can_delete": true, "can_edit": true,
			"can_export": false, "can_failover": false, "can_import": false, "can_switchover": true,
			"can_sync": true, "can_testfailover": true, "candidate_reprotect_new_mainsite": nil}, true
	case "op_info":
		return opInfo(), true
	case "last_op_info":
		var last int64
		if len(ps.records) > 0 {
			last = ps.records[len(ps.records)-1].Time.Unix()
		}
		return map[string]any{"err_code": 0, "is_success": true, "op_status": 16, "update_time": last}, true
	case "topology":
		return n.topology(ps, now), true
	case "testfailover_info":
		return nil, true
	case "retention_lock_report":
		first, last := "", ""
		if len(ps.records) > 0 {
			first, last = ps.records[0].Snapshot, ps.records[len(ps.records)-1].Snapshot
		}
		return map[string]any{"first_snapshot": first, "last_snapshot": last, "retain_first": false}, true
	}
	return nil, false
}

func (n *NAS) syncPolicy(ps *planState, now time.Time) map[string]any {
	next := now.In(n.opts.Zone).Truncate(time.Hour)
	next = time.Date(next.Year(), next.Month(), next.Day()+1, 0, 0, 0, 0, n.opts.Zone)
	window := []any{}
	for range 7 {
		window = append(window, 16777215)
	}
	return map[string]any{
		"enabled": true, "is_app_aware": false, "is_send_encrypted": ps.SendEncrypted,
		"is_sync_local_snapshots": false, "mode": 2, "next_trigger_time": next.Unix(),
		"notify_time_in_min": 720, "readable_next_trigger_time": next.Format(time.ANSIC),
		"schedule": map[string]any{"date_type": 0, "hour": 0, "last_work_hour": 0, "min": 0,
			"repeat_hour": 0, "repeat_min": 0, "week_name": "0,1,2,3,4,5,6"},
		"sync_window":   map[string]any{"enabled": false, "window": window},
		"worm_lock_day": 7, "worm_lock_enable": false, "worm_lock_notify_time": 0,
	}
}

// syncReport lists the ten most recent syncs as DSM's recent_records.
func (n *NAS) syncReport(ps *planState) map[string]any {
	recs := ps.records
	if len(recs) > 10 {
		recs = recs[len(recs)-10:]
	}
	out := []any{}
	for _, r := range recs {
		t := r.Time.Unix()
		readable := r.Time.In(n.opts.Zone).Format(time.ANSIC)
		out = append(out, map[string]any{
			"begin_time": t, "current_speed": 0, "data_size_byte": 0, "dr_site": ps.drNode,
			"elapsed_time": 0, "extra": map[string]any{"site_task": map[string]any{"site_id": ps.drNode, "task_op": 2}},
			"finish_time": t, "is_done": true, "is_stopped": false, "is_success": true, "main_site": ps.mainNode,
			"readable_begin_time": readable, "readable_finish_time": readable, "snapshot_version": r.Snapshot,
			"sync_size_byte": 0, "total_size_byte": 0, "update_time": t, "version": 3,
		})
	}
	return map[string]any{"fail_sync_count": 0, "recent_records": out, "success_sync_count": len(ps.records),
		"syncing_record": nil, "total_success_sync_size_byte": 0, "total_success_sync_time_sec": 0}
}

// siteInfo renders main_site_info (role 1) or dr_site_info (role 2).
func (n *NAS) siteInfo(ps *planState, role int) map[string]any {
	host, node, target := "synology", ps.mainNode, ps.TargetName
	if role == 2 {
		host, node, target = "synology-dr", ps.drNode, ps.TargetName+"-1"
	}
	return map[string]any{"hostname": host, "node_id": node, "op_info": opInfo(), "plan_id": ps.ID,
		"role": role, "status": 1, "target_id": target, "target_name": target}
}

func (n *NAS) topology(ps *planState, now time.Time) map[string]any {
	site := func(role int) map[string]any {
		info := n.siteInfo(ps, role)
		remote := ps.TargetName + "-1"
		if role == 2 {
			remote = ps.TargetName
		}
		return map[string]any{"addr": "", "hostname": info["hostname"], "node_id": info["node_id"], "status": 1,
			"plans": []any{map[string]any{
				"additional":  map[string]any{"sync_policy": n.syncPolicy(ps, now)},
				"is_to_local": false, "plan_id": ps.ID, "remote_target_name": remote, "role": role,
				"status": 1, "target_id": ps.TargetName, "target_name": n.targetName(ps)}}}
	}
	return map[string]any{
		"links":  []any{map[string]any{"dr_site": ps.drNode, "main_site": ps.mainNode, "plan_id": ps.ID}},
		"sites":  []any{site(1), site(2)},
		"target": map[string]any{"target_id": ps.TargetName, "target_type": ps.targetType()},
	}
}

// planSync implements SYNO.DR.Plan sync. The fake replicates instantly: the newest snapshot
// of the plan's target becomes held by the plan (locked_app_keys) and the snapshot it held
// before is released, as Snapshot Replication keeps its last common base.
func planSync(c *call) (any, *apiError) {
	id, e := c.p.str("plan_id")
	if e != nil {
		return nil, e
	}
	ps := c.n.plans[id]
	if ps == nil {
		return nil, &apiError{code: codePlanNoPlan, why: "no DR plan " + quoteShort(id)}
	}
	rec := SyncRecord{PlanID: id, Time: c.now.Truncate(time.Second)}
	var e2 *apiError
	if rec.LockSnapshot, e2 = c.p.boolOr("is_snapshot_locked", true); e2 != nil {
		return nil, e2
	}
	for _, name := range []string{"nowait", "auto_remove", "is_send_encrypted"} {
		if _, e := c.p.boolOr(name, false); e != nil {
			return nil, e
		}
	}
	if _, e := c.p.decode("sync_description", &rec.Description); e != nil {
		return nil, e
	}
	rec.Snapshot = c.n.moveHold(ps)
	ps.records = append(ps.records, rec)
	return nil, nil
}

// moveHold puts the plan's hold on the newest snapshot of its target and takes it off every
// other one; it returns the held snapshot's name or uuid.
func (n *NAS) moveHold(ps *planState) string {
	key := holdKey(ps.ID)
	without := func(keys []string) []string {
		return slices.DeleteFunc(keys, func(k string) bool { return k == key })
	}
	switch ps.TargetType {
	case "lun":
		ls := n.luns[ps.TargetName]
		if ls == nil || len(ls.snaps) == 0 {
			return ""
		}
		snaps := ls.sorted()
		for _, s := range snaps {
			s.AppKeys = without(s.AppKeys)
		}
		newest := snaps[len(snaps)-1]
		newest.AppKeys = append(newest.AppKeys, key)
		return newest.UUID
	default:
		sh := n.shares[ps.TargetName]
		if sh == nil || len(sh.snaps) == 0 {
			return ""
		}
		snaps := sh.sorted()
		for _, s := range snaps {
			s.AppKeys = without(s.AppKeys)
		}
		newest := snaps[len(snaps)-1]
		newest.AppKeys = append(newest.AppKeys, key)
		return newest.Name
	}
}
