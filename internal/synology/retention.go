package synology

import (
	"context"
	"encoding/json"
	"fmt"
)

// DSMRetention is DSM's own snapshot retention policy on a share or LUN (Snapshot
// Replication's "retention policy"). When Active, DSM prunes the target's snapshots by
// itself, whatever snapd's policy says.
type DSMRetention struct {
	Active     bool // a retention task is set up (tid is not -1)
	TaskID     int  // DSM's tid; -1 when no task is set up
	RetainDays int  // retainDay
	Hourly     int
	Daily      int
	Weekly     int
	Monthly    int
	Yearly     int
}

type retentionData struct {
	TID        *flexInt `json:"tid"`
	RetainDays flexInt  `json:"retainDay"`
	Hourly     flexInt  `json:"hourly"`
	Daily      flexInt  `json:"daily"`
	Weekly     flexInt  `json:"weekly"`
	Monthly    flexInt  `json:"monthly"`
	Yearly     flexInt  `json:"yearly"`
}

// decodeRetention decodes SYNO.DisasterRecovery.Retention get. tid is required, as it
// is the one field that says whether a task exists; the counts may be numbers or strings.
func decodeRetention(data json.RawMessage) (DSMRetention, error) {
	var d retentionData
	if err := decodeData(apiRetention, "get", data, &d); err != nil {
		return DSMRetention{}, err
	}
	if d.TID == nil {
		return DSMRetention{}, fmt.Errorf("%s get: %w: no tid in the answer", apiRetention, ErrProtocol)
	}
	tid := int(*d.TID)
	return DSMRetention{Active: tid != -1, TaskID: tid, RetainDays: int(d.RetainDays), Hourly: int(d.Hourly),
		Daily: int(d.Daily), Weekly: int(d.Weekly), Monthly: int(d.Monthly), Yearly: int(d.Yearly)}, nil
}

// DSMRetention reads DSM's own retention policy of a share (kind "share", name the share
// name) or a LUN (kind "lun", name the LUN's UUID). Without Snapshot Replication
// installed the error matches ErrUnsupported; an unknown share or LUN matches ErrNotFound.
func (c *Client) DSMRetention(ctx context.Context, kind, name string) (DSMRetention, error) {
	if kind != "share" && kind != "lun" {
		return DSMRetention{}, fmt.Errorf("read dsm retention of %s %q: kind must be share or lun", kind, name)
	}
	data, err := c.call(ctx, apiRetention, "get", map[string]any{"type": kind, "name": name}, callOpts{})
	if err == nil {
		var r DSMRetention
		if r, err = decodeRetention(data); err == nil {
			return r, nil
		}
	}
	return DSMRetention{}, fmt.Errorf("read dsm retention of %s %q: %w", kind, name, err)
}
