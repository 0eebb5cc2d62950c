package synology

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// LUN is an iSCSI LUN.
type LUN struct {
	UUID, Name, Location, Type string
	Size                       int64
	SnapshotCount              int
}

var lunTypes = []string{"BLOCK", "FILE", "THIN", "ADV", "SINK", "CINDER", "CINDER_BLUN",
	"CINDER_BLUN_THICK", "BLUN", "BLUN_THICK", "BLUN_SINK", "BLUN_THICK_SINK"}

type lunItem struct {
	UUID      flexString        `json:"uuid"`
	Name      flexString        `json:"name"`
	Location  flexString        `json:"location"`
	TypeStr   flexString        `json:"type_str"`
	Type      flexString        `json:"type"`
	Size      flexInt           `json:"size"`
	Snapshots []json.RawMessage `json:"snapshots"`
}

func decodeLUNs(data json.RawMessage) ([]LUN, error) {
	var l struct {
		LUNs *[]lunItem `json:"luns"`
	}
	if err := decodeData(apiLUN, "list", data, &l); err != nil {
		return nil, err
	}
	if l.LUNs == nil {
		return nil, fmt.Errorf("%s list: %w: no luns in the answer", apiLUN, ErrProtocol)
	}
	out := make([]LUN, 0, len(*l.LUNs))
	for _, it := range *l.LUNs {
		typ := string(it.TypeStr)
		if typ == "" {
			typ = string(it.Type)
		}
		out = append(out, LUN{UUID: string(it.UUID), Name: string(it.Name), Location: string(it.Location),
			Type: typ, Size: int64(it.Size), SnapshotCount: len(it.Snapshots)})
	}
	return out, nil
}

// ListLUNs returns the NAS's iSCSI LUNs.
func (c *Client) ListLUNs(ctx context.Context) ([]LUN, error) {
	data, err := c.call(ctx, apiLUN, "list", map[string]any{"types": lunTypes, "additional": []string{"snapshot_info"}}, callOpts{})
	if err == nil {
		var luns []LUN
		if luns, err = decodeLUNs(data); err == nil {
			return luns, nil
		}
	}
	return nil, fmt.Errorf("list luns: %w", err)
}

// LUNSnapshot is one snapshot of a LUN.
type LUNSnapshot struct {
	UUID, Name, Desc, TakenBy, Status string
	ID                                int
	Time                              time.Time // create_time
	Locked                            bool      // is_user_locked
	WORM                              bool      // is_worm_locked
	AppKeys                           []string  // locked_app_keys
	AppConsistent                     bool
}

type lunSnapItem struct {
	UUID          flexString  `json:"uuid"`
	Name          flexString  `json:"name"`
	Desc          flexString  `json:"description"`
	TakenBy       flexString  `json:"taken_by"`
	Status        lunStatus   `json:"status"`
	ID            flexInt     `json:"snapshot_id"`
	CreateTime    flexInt     `json:"create_time"`
	SnapshotTime  flexInt     `json:"snapshot_time"`
	Locked        flexBool    `json:"is_user_locked"`
	WORM          flexBool    `json:"is_worm_locked"`
	AppKeys       flexStrings `json:"locked_app_keys"`
	AppConsistent flexBool    `json:"is_app_consistent"`
}

// lunStatus is a string in list_snapshot and {"type":"Healthy",...} inside list.
type lunStatus string

func (s *lunStatus) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '{' {
		var o struct {
			Type flexString `json:"type"`
		}
		err := json.Unmarshal(b, &o)
		*s = lunStatus(o.Type)
		return err
	}
	var f flexString
	err := json.Unmarshal(b, &f)
	*s = lunStatus(f)
	return err
}

// decodeLUNSnapshots decodes SYNO.Core.ISCSI.LUN list_snapshot, oldest first. A list
// shorter than DSM's count is an error.
func decodeLUNSnapshots(data json.RawMessage) ([]LUNSnapshot, error) {
	var l struct {
		Count     *flexInt       `json:"count"`
		Snapshots *[]lunSnapItem `json:"snapshots"`
	}
	if err := decodeData(apiLUN, "list_snapshot", data, &l); err != nil {
		return nil, err
	}
	if l.Snapshots == nil {
		return nil, fmt.Errorf("%s list_snapshot: %w: no snapshots in the answer", apiLUN, ErrProtocol)
	}
	if l.Count != nil && int(*l.Count) > len(*l.Snapshots) {
		return nil, fmt.Errorf("%s list_snapshot: %w: %d snapshots listed of %d", apiLUN, ErrProtocol, len(*l.Snapshots), *l.Count)
	}
	out := make([]LUNSnapshot, 0, len(*l.Snapshots))
	for _, it := range *l.Snapshots {
		if it.UUID == "" {
			return nil, fmt.Errorf("%s list_snapshot: %w: snapshot %q has no uuid", apiLUN, ErrProtocol, it.Name)
		}
		t := it.CreateTime
		if t == 0 {
			t = it.SnapshotTime
		}
		out = append(out, LUNSnapshot{
			UUID: string(it.UUID), Name: string(it.Name), Desc: string(it.Desc), TakenBy: string(it.TakenBy),
			Status: string(it.Status), ID: int(it.ID), Time: epoch(t), Locked: bool(it.Locked),
			WORM: bool(it.WORM), AppKeys: []string(it.AppKeys), AppConsistent: bool(it.AppConsistent),
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// ListLUNSnapshots returns the snapshots of a LUN, oldest first.
func (c *Client) ListLUNSnapshots(ctx context.Context, lunUUID string) ([]LUNSnapshot, error) {
	data, err := c.call(ctx, apiLUN, "list_snapshot", map[string]any{
		"src_lun_uuid": lunUUID, "additional": []string{"locked_app_keys", "is_worm_locked"},
	}, callOpts{})
	if err == nil {
		var snaps []LUNSnapshot
		if snaps, err = decodeLUNSnapshots(data); err == nil {
			return snaps, nil
		}
	}
	return nil, fmt.Errorf("list snapshots of lun %s: %w", lunUUID, err)
}

// TakeLUNOptions are the attributes of a new LUN snapshot.
type TakeLUNOptions struct {
	Desc          string
	Lock          bool
	AppConsistent bool
}

// takenBy is what DSM shows as the snapshot's creator.
const takenBy = "snapd"

// TakeLUNSnapshot snapshots a LUN and returns the new snapshot's UUID. An error matching
// ErrUncertain means the snapshot may exist anyway.
func (c *Client) TakeLUNSnapshot(ctx context.Context, lunUUID string, o TakeLUNOptions) (string, error) {
	data, err := c.call(ctx, apiLUN, "take_snapshot", map[string]any{
		"src_lun_uuid": lunUUID, "description": o.Desc, "taken_by": takenBy,
		"is_locked": o.Lock, "is_app_consistent": o.AppConsistent,
	}, callOpts{mutating: true})
	if err != nil {
		return "", fmt.Errorf("snapshot lun %s: %w", lunUUID, err)
	}
	var d struct {
		UUID flexString `json:"snapshot_uuid"`
	}
	if err := decodeData(apiLUN, "take_snapshot", data, &d); err != nil || d.UUID == "" {
		if err == nil {
			err = fmt.Errorf("%s take_snapshot: %w: no snapshot_uuid in the answer", apiLUN, ErrProtocol)
		}
		return "", fmt.Errorf("snapshot lun %s: %w: %w", lunUUID, ErrUncertain, err)
	}
	return string(d.UUID), nil
}

// DeleteLUNSnapshots deletes LUN snapshots by UUID. Snapshots DSM refused to delete come
// back as a *PartialError. Callers should list afterwards to learn what happened.
func (c *Client) DeleteLUNSnapshots(ctx context.Context, uuids []string) error {
	if len(uuids) == 0 {
		return nil
	}
	data, err := c.call(ctx, apiLUN, "delete_snapshot", map[string]any{"snapshot_uuids": uuids}, callOpts{mutating: true})
	if err == nil {
		err = itemFailures(apiLUN, "delete_snapshot", data)
	}
	if err != nil {
		return fmt.Errorf("delete lun snapshots: %w", err)
	}
	return nil
}
