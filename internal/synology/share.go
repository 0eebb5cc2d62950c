package synology

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// ShareSnapshot is one snapshot of a shared folder.
type ShareSnapshot struct {
	Name      string    // "GMT+09-2023.09.11-23.23.40"
	Time      time.Time // parsed from Name
	Desc      string
	Locked    bool
	Scheduled bool
	WORM      bool
	WORMBegin time.Time // zero if none
	WORMEnd   time.Time // zero if none
	AppKeys   []string  // locked_app_keys when DSM returns it (replication hold)
}

// sharePageSize is how many snapshots one list request asks for.
const sharePageSize = 500

var shareAdditional = []string{"desc", "lock", "schedule_snapshot", "worm_lock", "locked_app_keys"}

type shareList struct {
	Snapshots []shareItem `json:"snapshots"`
	Total     *flexInt    `json:"total"`
}

type shareItem struct {
	Time      flexString  `json:"time"`
	Desc      flexString  `json:"desc"`
	Lock      flexBool    `json:"lock"`
	Schedule  flexBool    `json:"schedule_snapshot"`
	WORM      flexBool    `json:"worm_lock"`
	WORMBegin flexInt     `json:"worm_lock_begin"`
	WORMEnd   flexInt     `json:"worm_lock_end"`
	AppKeys   flexStrings `json:"locked_app_keys"`
}

// decodeSharePage decodes one page of SYNO.Core.Share.Snapshot list. Any name that is
// not a snapshot time is an error: a caller must not prune on a garbled list.
func decodeSharePage(data json.RawMessage) ([]ShareSnapshot, int, error) {
	var l shareList
	if err := decodeData(apiShare, "list", data, &l); err != nil {
		return nil, 0, err
	}
	if l.Total == nil {
		return nil, 0, fmt.Errorf("%s list: %w: no total in the answer", apiShare, ErrProtocol)
	}
	out := make([]ShareSnapshot, 0, len(l.Snapshots))
	for _, it := range l.Snapshots {
		t, err := ParseShareSnapshotTime(string(it.Time))
		if err != nil {
			return nil, 0, fmt.Errorf("%s list: %w: %w", apiShare, ErrProtocol, err)
		}
		out = append(out, ShareSnapshot{
			Name: string(it.Time), Time: t, Desc: string(it.Desc), Locked: bool(it.Lock),
			Scheduled: bool(it.Schedule), WORM: bool(it.WORM),
			WORMBegin: epoch(it.WORMBegin), WORMEnd: epoch(it.WORMEnd), AppKeys: []string(it.AppKeys),
		})
	}
	return out, int(*l.Total), nil
}

// ListShareSnapshots returns every snapshot of the share, oldest first. It pages
// through DSM's list and fails rather than return an incomplete or garbled list.
func (c *Client) ListShareSnapshots(ctx context.Context, share string) ([]ShareSnapshot, error) {
	var all []ShareSnapshot
	seen := map[string]bool{}
	total := 0
	for offset, pages := 0, 0; ; pages++ {
		data, err := c.call(ctx, apiShare, "list", map[string]any{
			"name": share, "additional": shareAdditional, "offset": offset, "limit": sharePageSize,
		}, callOpts{})
		if err != nil {
			return nil, fmt.Errorf("list snapshots of share %q: %w", share, err)
		}
		var page []ShareSnapshot
		page, total, err = decodeSharePage(data)
		if err != nil {
			return nil, fmt.Errorf("list snapshots of share %q: %w", share, err)
		}
		for _, s := range page {
			// Snapshots taken between two pages shift the offsets; skip repeats.
			if !seen[s.Name] {
				seen[s.Name] = true
				all = append(all, s)
			}
		}
		offset += len(page)
		if offset >= total {
			break
		}
		if len(page) == 0 || pages > total/sharePageSize+2 {
			return nil, fmt.Errorf("list snapshots of share %q: %w: DSM ended the list at %d of %d snapshots",
				share, ErrProtocol, offset, total)
		}
	}
	if len(all) < total {
		// Pages overlapped: DSM ignored the offset, or snapshots came and went meanwhile.
		return nil, fmt.Errorf("list snapshots of share %q: %w: %d distinct snapshots in pages of a list of %d",
			share, ErrProtocol, len(all), total)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].Time.Equal(all[j].Time) {
			return all[i].Time.Before(all[j].Time)
		}
		return all[i].Name < all[j].Name
	})
	return all, nil
}

// CreateShareOptions are the attributes of a new share snapshot.
type CreateShareOptions struct {
	Desc     string
	Lock     bool // exempt from DSM's own retention
	WORMDays int  // > 0: immutable for this many days (DSM 7.2+)
}

// CreateShareSnapshot takes a snapshot of the share and returns its name. An error
// matching ErrUncertain means the snapshot may exist anyway.
func (c *Client) CreateShareSnapshot(ctx context.Context, share string, o CreateShareOptions) (string, error) {
	info := map[string]any{"desc": o.Desc, "lock": o.Lock}
	if o.WORMDays > 0 {
		info["worm_lock"] = true
		info["worm_lock_day"] = o.WORMDays
	}
	data, err := c.call(ctx, apiShare, "create", map[string]any{"name": share, "snapinfo": info}, callOpts{mutating: true})
	if err != nil {
		return "", fmt.Errorf("create snapshot of share %q: %w", share, err)
	}
	var name flexString
	if err := decodeData(apiShare, "create", data, &name); err != nil || name == "" {
		if err == nil {
			err = fmt.Errorf("%s create: %w: empty snapshot name", apiShare, ErrProtocol)
		}
		return "", fmt.Errorf("create snapshot of share %q: %w: %w", share, ErrUncertain, err)
	}
	return string(name), nil
}

// DeleteShareSnapshots deletes the named snapshots of the share. Snapshots DSM refused to
// delete come back as a *PartialError (also when all failed; then it wraps the
// *APIError). Callers should list afterwards to learn what happened.
func (c *Client) DeleteShareSnapshots(ctx context.Context, share string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	data, err := c.call(ctx, apiShare, "delete", map[string]any{"name": share, "snapshots": names}, callOpts{mutating: true})
	if err == nil {
		err = itemFailures(apiShare, "delete", data)
	}
	if err != nil {
		return fmt.Errorf("delete snapshots of share %q: %w", share, err)
	}
	return nil
}

// ShareSnapshotAttrs are the attributes to change; nil fields stay as they are.
type ShareSnapshotAttrs struct {
	Desc     *string
	Lock     *bool
	WORMDays int // > 0: make immutable for this many days; immutability cannot be undone
}

// SetShareSnapshot changes attributes of one share snapshot. With nothing to change it
// sends nothing.
func (c *Client) SetShareSnapshot(ctx context.Context, share, name string, a ShareSnapshotAttrs) error {
	info := map[string]any{}
	if a.Desc != nil {
		info["desc"] = *a.Desc
	}
	if a.Lock != nil {
		info["lock"] = *a.Lock
	}
	if a.WORMDays > 0 {
		info["worm_lock"] = true
		info["worm_lock_day"] = a.WORMDays
	}
	if len(info) == 0 {
		return nil
	}
	_, err := c.call(ctx, apiShare, "set", map[string]any{"name": share, "snapshot": name, "snapinfo": info}, callOpts{mutating: true})
	if err != nil {
		return fmt.Errorf("set attributes of snapshot %s of share %q: %w", name, share, err)
	}
	return nil
}

// itemFailures reads per-item failures in the data of a successful batch call: absent,
// null or [] mean none.
func itemFailures(api, method string, data json.RawMessage) error {
	items, err := parseItems(data)
	if err != nil {
		return fmt.Errorf("%s %s: %w: %w: unreadable per-item answer: %v", api, method, ErrUncertain, ErrProtocol, err)
	}
	if len(items) > 0 {
		return &PartialError{API: api, Method: method, Items: items}
	}
	return nil
}
