package synology

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Plan is a Snapshot Replication plan.
type Plan struct {
	ID            string
	TargetType    string          // "share" or "lun"
	TargetName    string          // target_id: the share name for share plans
	Role          string          // "mainsite" or "drsite"
	Mode          string          // DSM's sync mode number, as text
	SendEncrypted bool            // sync_policy.is_send_encrypted
	LastSync      time.Time       // end of the newest finished sync record; zero if none
	LastSyncOK    bool            // whether that sync succeeded
	NextTrigger   time.Time       // next scheduled sync; zero if none
	Raw           json.RawMessage // the plan as DSM sent it
}

type planItem struct {
	ID         flexString `json:"plan_id"`
	TargetID   flexString `json:"target_id"`
	TargetType flexString `json:"target_type"`
	Role       flexString `json:"role"`
	RoleStr    flexString `json:"role_str"`
	SyncMode   flexString `json:"sync_mode"`
	Additional struct {
		SyncPolicy *struct {
			SendEncrypted flexBool   `json:"is_send_encrypted"`
			Mode          flexString `json:"mode"`
			NextTrigger   flexInt    `json:"next_trigger_time"`
		} `json:"sync_policy"`
		SyncReport *struct {
			Records []struct {
				Begin   flexInt   `json:"begin_time"`
				Finish  flexInt   `json:"finish_time"`
				Done    *flexBool `json:"is_done"`
				Success flexBool  `json:"is_success"`
			} `json:"recent_records"`
		} `json:"sync_report"`
		MainSite *struct {
			TargetName flexString `json:"target_name"`
		} `json:"main_site_info"`
	} `json:"additional"`
}

var planAdditional = []string{"sync_policy", "sync_report", "main_site_info"}

// decodePlans decodes SYNO.DR.Plan list (key "plans", or "plan_list" on some builds).
func decodePlans(data json.RawMessage) ([]Plan, error) {
	var l struct {
		Plans    []json.RawMessage `json:"plans"`
		PlanList []json.RawMessage `json:"plan_list"`
	}
	if err := decodeData(apiPlan, "list", data, &l); err != nil {
		return nil, err
	}
	if l.Plans == nil {
		l.Plans = l.PlanList
	}
	out := make([]Plan, 0, len(l.Plans))
	for _, raw := range l.Plans {
		var it planItem
		if err := json.Unmarshal(raw, &it); err != nil {
			return nil, fmt.Errorf("%s list: %w: decode plan: %v", apiPlan, ErrProtocol, err)
		}
		if it.ID == "" {
			return nil, fmt.Errorf("%s list: %w: plan without plan_id", apiPlan, ErrProtocol)
		}
		p := Plan{ID: string(it.ID), TargetName: string(it.TargetID), Mode: string(it.SyncMode), Raw: raw}
		switch it.TargetType {
		case "2", "share":
			p.TargetType = "share"
		case "1", "lun":
			p.TargetType = "lun"
		default:
			p.TargetType = string(it.TargetType)
		}
		switch {
		case it.RoleStr != "":
			p.Role = string(it.RoleStr)
		case it.Role == "1":
			p.Role = "mainsite"
		case it.Role == "2":
			p.Role = "drsite"
		default:
			p.Role = string(it.Role)
		}
		a := it.Additional
		if p.TargetName == "" && a.MainSite != nil {
			p.TargetName = string(a.MainSite.TargetName)
		}
		if sp := a.SyncPolicy; sp != nil {
			p.SendEncrypted = bool(sp.SendEncrypted)
			p.NextTrigger = epoch(sp.NextTrigger)
			if p.Mode == "" {
				p.Mode = string(sp.Mode)
			}
		}
		if sr := a.SyncReport; sr != nil {
			for _, r := range sr.Records {
				if r.Done != nil && !*r.Done {
					continue // still running
				}
				t := epoch(r.Finish)
				if t.IsZero() {
					t = epoch(r.Begin)
				}
				if t.After(p.LastSync) {
					p.LastSync, p.LastSyncOK = t, bool(r.Success)
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// ListPlans returns the NAS's Snapshot Replication plans. Without the package installed
// the error matches ErrUnsupported.
func (c *Client) ListPlans(ctx context.Context) ([]Plan, error) {
	data, err := c.call(ctx, apiPlan, "list", map[string]any{"additional": planAdditional}, callOpts{})
	if err == nil {
		var plans []Plan
		if plans, err = decodePlans(data); err == nil {
			return plans, nil
		}
	}
	return nil, fmt.Errorf("list replication plans: %w", err)
}

// SyncOptions qualify a replication sync.
type SyncOptions struct {
	LockSnapshot bool
	Description  string
}

// SyncPlan starts a sync of the plan without waiting for it to finish. It first reads
// the plan, as DSM wants the plan's is_send_encrypted repeated in the request.
func (c *Client) SyncPlan(ctx context.Context, planID string, o SyncOptions) error {
	plans, err := c.ListPlans(ctx)
	if err != nil {
		return fmt.Errorf("sync plan %s: %w", planID, err)
	}
	var plan *Plan
	for i := range plans {
		if plans[i].ID == planID {
			plan = &plans[i]
		}
	}
	if plan == nil {
		return fmt.Errorf("sync plan %s: %w: no such replication plan", planID, ErrNotFound)
	}
	params := map[string]any{
		"plan_id": planID, "nowait": true, "auto_remove": true,
		"is_snapshot_locked": o.LockSnapshot, "is_send_encrypted": plan.SendEncrypted,
	}
	if o.Description != "" {
		params["sync_description"] = o.Description
	}
	if _, err := c.call(ctx, apiPlan, "sync", params, callOpts{mutating: true}); err != nil {
		return fmt.Errorf("sync plan %s: %w", planID, err)
	}
	return nil
}
