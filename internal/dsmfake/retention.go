package dsmfake

import (
	"fmt"
	"strings"
)

// Retention is DSM's own snapshot retention policy on a share or LUN, as Snapshot
// Replication keeps it. A TaskID of 0 or less means no retention task is set up: the
// NAS then answers tid -1 and DSM's default counts, whatever the other fields say.
type Retention struct {
	TaskID     int // tid of the retention task; ≤ 0 = none
	PolicyType int // policyType
	RetainDays int // retainDay
	Hourly     int
	Daily      int
	Weekly     int
	Monthly    int
	Yearly     int
	Recently   int // keep the most recent N
}

// active reports whether a retention task is set up.
func (r Retention) active() bool { return r.TaskID > 0 }

// defaultRetention is what DSM answers for a target without a retention task (the
// DSM-API.md §6 sample): the form's default counts under tid -1.
var defaultRetention = Retention{TaskID: -1, RetainDays: 7, Hourly: 24, Daily: 7, Weekly: 2, Monthly: 1}

// SetRetention sets DSM's own retention policy of a share (kind "share", by name) or a
// LUN (kind "lun", by UUID), creating the share or LUN if needed. A TaskID ≤ 0 (the zero
// Retention) removes the task. Any other kind panics.
func (n *NAS) SetRetention(kind, name string, r Retention) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r.TaskID < 0 {
		r.TaskID = 0
	}
	switch kind {
	case "share":
		n.addShare(name).retention = r
	case "lun":
		ls := n.luns[name]
		if ls == nil {
			ls = n.addLUN(LUN{UUID: name})
		}
		ls.retention = r
	default:
		panic(fmt.Sprintf("dsmfake: SetRetention kind %q, want share or lun", kind))
	}
}

// retentionGet implements SYNO.DisasterRecovery.Retention get: params type ("share" or
// "lun", any case) and name (the share name or the LUN UUID).
func retentionGet(c *call) (any, *apiError) {
	kind, e := c.p.str("type")
	if e != nil {
		return nil, e
	}
	name, e := c.p.str("name")
	if e != nil {
		return nil, e
	}
	var r Retention
	switch strings.ToLower(kind) {
	case "share":
		sh := c.n.shares[name]
		if sh == nil {
			return nil, &apiError{code: codeShareNoShare, why: "no share " + quoteShort(name)}
		}
		r = sh.retention
	case "lun":
		ls := c.n.luns[name]
		if ls == nil {
			return nil, &apiError{code: codeLUNNoLUN, why: "no LUN " + quoteShort(name)}
		}
		r = ls.retention
	default:
		return nil, &apiError{code: codeInvalidParam, why: fmt.Sprintf("retention type %s is not share or lun", quoteShort(kind)), loud: true}
	}
	var schedule any
	if r.active() {
		schedule = map[string]any{"date_type": 0, "hour": 0, "min": 0, "repeat_hour": 0, "repeat_min": 0,
			"week_name": "0,1,2,3,4,5,6"}
	} else {
		r = defaultRetention
	}
	return map[string]any{
		"tid": r.TaskID, "policyType": r.PolicyType, "retainDay": r.RetainDays, "hourly": r.Hourly,
		"daily": r.Daily, "weekly": r.Weekly, "monthly": r.Monthly, "yearly": r.Yearly,
		"recently": r.Recently, "schedule": schedule, "name": name,
	}, nil
}
