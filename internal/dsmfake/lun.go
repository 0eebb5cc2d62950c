package dsmfake

import (
	"crypto/rand"
	"fmt"
	"sort"
	"time"
)

// LUN is an iSCSI LUN.
type LUN struct {
	UUID, Name, Location string
	Size                 int64
	TypeStr              string // e.g. "BLUN"
}

// LUNSnapshot is a snapshot of a LUN. LUN snapshots are keyed by UUID.
type LUNSnapshot struct {
	UUID          string // "" = generated
	ID            int    // 0 = generated
	Name          string // "" = "SnapShot-<ID>"
	Time          time.Time
	Desc          string
	Locked        bool     // is_user_locked
	WORM          bool     // is_worm_locked
	AppKeys       []string // locked_app_keys
	TakenBy       string
	AppConsistent bool
}

type lunState struct {
	LUN
	id        int
	nextID    int
	snaps     map[string]*LUNSnapshot
	retention Retention
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// AddLUN adds a LUN (or updates one with the same UUID). Empty fields get defaults.
func (n *NAS) AddLUN(l LUN) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.addLUN(l)
}

func (n *NAS) addLUN(l LUN) *lunState {
	if l.UUID == "" {
		l.UUID = newUUID()
	}
	if l.Location == "" {
		l.Location = "/volume1"
	}
	if l.TypeStr == "" {
		l.TypeStr = "BLUN"
	}
	if l.Size == 0 {
		l.Size = 1 << 30
	}
	if ls := n.luns[l.UUID]; ls != nil {
		if l.Name == "" {
			l.Name = ls.Name
		}
		ls.LUN = l
		return ls
	}
	n.lunSeq++
	if l.Name == "" {
		l.Name = fmt.Sprintf("LUN-%d", n.lunSeq)
	}
	ls := &lunState{LUN: l, id: n.lunSeq, nextID: 1, snaps: map[string]*LUNSnapshot{}}
	n.luns[l.UUID] = ls
	return ls
}

// AddLUNSnapshot adds (or replaces) a snapshot, creating the LUN if needed, and returns its
// UUID. It ignores the snapshot limit.
func (n *NAS) AddLUNSnapshot(lunUUID string, s LUNSnapshot) (uuid string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ls := n.luns[lunUUID]
	if ls == nil {
		ls = n.addLUN(LUN{UUID: lunUUID})
	}
	return n.addLUNSnapshot(ls, s)
}

func (n *NAS) addLUNSnapshot(ls *lunState, s LUNSnapshot) string {
	if s.UUID == "" {
		s.UUID = newUUID()
	}
	if s.ID == 0 {
		s.ID = ls.nextID
	}
	if s.ID >= ls.nextID {
		ls.nextID = s.ID + 1
	}
	if s.Name == "" {
		s.Name = fmt.Sprintf("SnapShot-%d", s.ID)
	}
	if s.Time.IsZero() {
		s.Time = n.now()
	}
	if s.TakenBy == "" {
		s.TakenBy = "user"
	}
	s.AppKeys = append([]string{}, s.AppKeys...)
	ls.snaps[s.UUID] = &s
	return s.UUID
}

// sorted returns the LUN's snapshots oldest first.
func (ls *lunState) sorted() []*LUNSnapshot {
	out := make([]*LUNSnapshot, 0, len(ls.snaps))
	for _, s := range ls.snaps {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// LUNSnapshots returns a LUN's snapshots, oldest first.
func (n *NAS) LUNSnapshots(lunUUID string) []LUNSnapshot {
	n.mu.Lock()
	defer n.mu.Unlock()
	ls := n.luns[lunUUID]
	if ls == nil {
		return nil
	}
	var out []LUNSnapshot
	for _, s := range ls.sorted() {
		c := *s
		c.AppKeys = append([]string{}, s.AppKeys...)
		out = append(out, c)
	}
	return out
}

// sortedLUNs returns the LUNs in creation order.
func (n *NAS) sortedLUNs() []*lunState {
	out := make([]*lunState, 0, len(n.luns))
	for _, l := range n.luns {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// lun finds the LUN named by the src_lun_uuid parameter.
func (c *call) lun() (*lunState, *apiError) {
	id, e := c.p.str("src_lun_uuid")
	if e != nil {
		return nil, e
	}
	ls := c.n.luns[id]
	if ls == nil {
		return nil, &apiError{code: codeLUNNoLUN, why: "no LUN " + quoteShort(id)}
	}
	return ls, nil
}

// lunList implements SYNO.Core.ISCSI.LUN list. Every LUN carries the fields of the
// documented answer; `snapshots` only with additional snapshot_info.
func lunList(c *call) (any, *apiError) {
	types, e := c.p.strings("types")
	if e != nil {
		return nil, e
	}
	add, e := c.p.strings("additional")
	if e != nil {
		return nil, e
	}
	var location string
	if _, e := c.p.decode("location", &location); e != nil {
		return nil, e
	}
	wantType := map[string]bool{}
	for _, t := range types {
		wantType[t] = true
	}
	withSnaps := false
	for _, a := range add {
		withSnaps = withSnaps || a == "snapshot_info"
	}
	luns := []any{}
	for _, ls := range c.n.sortedLUNs() {
		if (len(types) > 0 && !wantType[ls.TypeStr]) || (location != "" && location != ls.Location) {
			continue
		}
		luns = append(luns, lunOut(ls, withSnaps))
	}
	return map[string]any{"luns": luns}, nil
}

func lunOut(ls *lunState, withSnaps bool) map[string]any {
	attribs := []any{}
	for _, a := range []struct {
		name   string
		enable int
	}{{"emulate_3pc", 1}, {"emulate_tpws", 1}, {"emulate_caw", 1}, {"emulate_tpu", 1},
		{"emulate_fua_write", 0}, {"emulate_sync_cache", 0}, {"can_snapshot", 1}} {
		attribs = append(attribs, map[string]any{"dev_attrib": a.name, "enable": a.enable})
	}
	m := map[string]any{
		"allocated_size": 0, "block_size": 512, "create_from": "", "description": "",
		"dev_attribs": attribs, "dev_attribs_bitmap": 31, "dev_config": "",
		"dev_qos":           map[string]any{"dev_limit": 0, "dev_reservation": 0, "dev_weight": 0, "iops_enable": 0},
		"direct_io_pattern": 0, "extent_size": 0,
		"family_config": map[string]any{"parent_lun_name": "", "parent_lun_uuid": "",
			"parent_snapshot_time": 0, "parent_snapshot_uuid": ""},
		"flashcache_id": -1, "flashcache_status": "no_cache", "is_action_locked": false,
		"is_mapped": true, "location": ls.Location, "lun_id": ls.id, "name": ls.Name,
		"restored_time": 0, "retention": nil, "scheduled_task": []any{scheduledTask(ls)}, "size": ls.Size,
		"status": "normal", "type": 263, "type_str": ls.TypeStr, "uuid": ls.UUID, "vpd_unit_sn": ls.UUID,
	}
	if withSnaps {
		snaps := []any{}
		for _, s := range ls.sorted() {
			o := lunSnapOut(ls, s)
			o["status"] = map[string]any{"progress": map[string]any{"percent": -1, "step": "waiting"}, "type": "Healthy"}
			snaps = append(snaps, o)
		}
		m["snapshots"] = snaps
	}
	return m
}

// scheduledTask is the disabled snapshot task DSM lists for every LUN.
func scheduledTask(ls *lunState) map[string]any {
	return map[string]any{
		"general": map[string]any{"snap_rotate": true, "snap_type": "app", "task_enabled": false,
			"task_name": "Task " + ls.Name, "tid": -1, "uuid": ls.UUID},
		"schedule": map[string]any{"date": "2025/3/24", "date_type": 0, "hour": 0, "last_work_hour": 0, "min": 0,
			"monthly_week": []any{}, "next_trigger_time": "", "repeat": 0, "repeat_hour": 0,
			"repeat_hour_store_config": nil, "repeat_min": 0, "repeat_min_store_config": nil,
			"week_name": "0,1,2,3,4,5,6"},
	}
}

// lunSnapOut renders the fields every LUN snapshot listing carries.
func lunSnapOut(ls *lunState, s *LUNSnapshot) map[string]any {
	return map[string]any{
		"create_time": s.Time.Unix(), "description": s.Desc, "is_app_consistent": s.AppConsistent,
		"is_user_locked": s.Locked, "mapped_size": 0, "name": s.Name, "parent_lun_id": ls.id,
		"parent_uuid": ls.UUID, "root_path": ls.Location, "snapshot_id": s.ID,
		"snapshot_time": s.Time.Unix(), "status": "Healthy", "taken_by": s.TakenBy,
		"total_size": ls.Size, "type": 2, "uuid": s.UUID, "version": s.UUID,
	}
}

// lunListSnapshot implements SYNO.Core.ISCSI.LUN list_snapshot. locked_app_keys and
// is_worm_locked (with worm_lock_day) come only when named in additional.
func lunListSnapshot(c *call) (any, *apiError) {
	ls, e := c.lun()
	if e != nil {
		return nil, e
	}
	add, e := c.p.strings("additional")
	if e != nil {
		return nil, e
	}
	want := map[string]bool{}
	for _, a := range add {
		if a != "locked_app_keys" && a != "is_worm_locked" {
			c.n.logf("dsmfake: list_snapshot additional %s is unknown to the fake: ignored", quoteShort(a))
		}
		want[a] = true
	}
	snaps := ordered(ls.sorted(), c.n.opts.ListOrder, func(s *LUNSnapshot) string { return s.UUID })
	out := make([]any, 0, len(snaps))
	for _, s := range snaps {
		o := lunSnapOut(ls, s)
		if want["locked_app_keys"] {
			o["locked_app_keys"] = append([]string{}, s.AppKeys...)
		}
		if want["is_worm_locked"] {
			o["is_worm_locked"] = s.WORM
			o["worm_lock_day"] = "0"
		}
		out = append(out, o)
	}
	return map[string]any{"count": len(out), "snapshots": out}, nil
}

// lunTakeSnapshot implements SYNO.Core.ISCSI.LUN take_snapshot. is_locked defaults to false.
func lunTakeSnapshot(c *call) (any, *apiError) {
	ls, e := c.lun()
	if e != nil {
		return nil, e
	}
	s := LUNSnapshot{Time: c.now.Truncate(time.Second)}
	for _, f := range []struct {
		name string
		dst  any
	}{{"snapshot_name", &s.Name}, {"description", &s.Desc}, {"taken_by", &s.TakenBy},
		{"is_locked", &s.Locked}, {"is_app_consistent", &s.AppConsistent}} {
		if _, e := c.p.decode(f.name, f.dst); e != nil {
			return nil, e
		}
	}
	if len(ls.snaps) >= c.n.opts.SnapshotLimit {
		return nil, &apiError{code: codeLUNTooMany, why: fmt.Sprintf("LUN %s has %d snapshots (limit %d)", ls.UUID, len(ls.snaps), c.n.opts.SnapshotLimit)}
	}
	id := c.n.addLUNSnapshot(ls, s)
	return map[string]any{"snapshot_id": ls.snaps[id].ID, "snapshot_uuid": id}, nil
}

// findLUNSnapshot finds a snapshot of any LUN by UUID.
func (n *NAS) findLUNSnapshot(id string) (*lunState, *LUNSnapshot) {
	for _, ls := range n.luns {
		if s := ls.snaps[id]; s != nil {
			return ls, s
		}
	}
	return nil, nil
}

// lunDeleteSnapshot implements SYNO.Core.ISCSI.LUN delete_snapshot with snapshot_uuids (a
// JSON array) or snapshot_uuid (one). Failures are per item in a success answer; an unknown
// UUID in the single form is a top-level 18990532.
func lunDeleteSnapshot(c *call) (any, *apiError) {
	var ids []string
	single := false
	switch {
	case c.p.has("snapshot_uuids"):
		var e *apiError
		if ids, e = c.p.strings("snapshot_uuids"); e != nil {
			return nil, e
		}
	case c.p.has("snapshot_uuid"):
		id, e := c.p.str("snapshot_uuid")
		if e != nil {
			return nil, e
		}
		ids, single = []string{id}, true
	default:
		return nil, &apiError{code: codeLostParam, why: "missing parameter snapshot_uuids or snapshot_uuid", loud: true}
	}
	failed := []any{}
	for _, id := range ids {
		ls, s := c.n.findLUNSnapshot(id)
		code := 0
		switch {
		case s == nil && single:
			return nil, &apiError{code: codeLUNNoSnapshot, why: "no LUN snapshot " + quoteShort(id)}
		case s == nil:
			code = codeLUNNoSnapshot
		case c.itemFailures[id] != 0:
			code = c.itemFailures[id]
		case s.WORM || len(s.AppKeys) > 0:
			code = codeLUNHeld
		}
		if code != 0 {
			failed = append(failed, map[string]int{id: code})
			continue
		}
		delete(ls.snaps, id)
	}
	return failed, nil
}
