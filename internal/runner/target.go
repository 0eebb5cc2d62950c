package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/synology"
)

// Forever stands in for the end of a WORM lock whose end DSM does not report (LUNs
// only say is_worm_locked), so such a snapshot stays protected.
var Forever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Snap is one snapshot of a target as snapd sees it, share or LUN alike.
type Snap struct {
	ID        string    // share snapshot name or LUN snapshot UUID
	Name      string    // display name (the share snapshot name, or the LUN snapshot's name)
	Time      time.Time // when it was taken
	Desc      string
	Owner     string // policy named by the ownership tag; "" = not snapd's
	Locked    bool
	WORMUntil time.Time // zero = not WORM
	AppKeys   []string  // replication and other application holds
}

// target is one share or LUN on one NAS, behind the two DSM APIs.
type target struct {
	nas    string
	kind   policy.TargetKind
	name   string // share name, or the LUN name or UUID as configured
	client *synology.Client

	mu      sync.Mutex
	lunUUID string // resolved once per target
}

// String names the target the way log lines and the journal do: "share:homes".
func (t *target) String() string { return string(t.kind) + ":" + t.name }

func (t *target) resolveLUN(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lunUUID != "" {
		return t.lunUUID, nil
	}
	luns, err := t.client.ListLUNs(ctx)
	if err != nil {
		return "", fmt.Errorf("list LUNs to find %q: %w", t.name, err)
	}
	for _, l := range luns {
		if l.UUID == t.name || l.Name == t.name {
			t.lunUUID = l.UUID
			return l.UUID, nil
		}
	}
	return "", fmt.Errorf("no LUN named %q on NAS %s", t.name, t.nas)
}

// list returns every snapshot of the target, oldest first. Any error means the list is
// incomplete and nothing may be pruned from it.
func (t *target) list(ctx context.Context) ([]Snap, error) {
	var out []Snap
	switch t.kind {
	case policy.TargetShare:
		ss, err := t.client.ListShareSnapshots(ctx, t.name)
		if err != nil {
			return nil, fmt.Errorf("list snapshots of share %q: %w", t.name, err)
		}
		out = make([]Snap, 0, len(ss))
		for _, s := range ss {
			sn := Snap{ID: s.Name, Name: s.Name, Time: s.Time, Desc: s.Desc, Locked: s.Locked, AppKeys: s.AppKeys}
			if s.WORM {
				sn.WORMUntil = s.WORMEnd
				if sn.WORMUntil.IsZero() {
					sn.WORMUntil = Forever
				}
			}
			out = append(out, sn)
		}
	case policy.TargetLUN:
		uuid, err := t.resolveLUN(ctx)
		if err != nil {
			return nil, err
		}
		ls, err := t.client.ListLUNSnapshots(ctx, uuid)
		if err != nil {
			return nil, fmt.Errorf("list snapshots of LUN %q: %w", t.name, err)
		}
		out = make([]Snap, 0, len(ls))
		for _, s := range ls {
			sn := Snap{ID: s.UUID, Name: s.Name, Time: s.Time, Desc: s.Desc, Locked: s.Locked, AppKeys: s.AppKeys}
			if s.WORM {
				sn.WORMUntil = Forever
			}
			out = append(out, sn)
		}
	default:
		return nil, fmt.Errorf("unknown target kind %q", t.kind)
	}
	for i := range out {
		if p, ok := policy.Owner(out[i].Desc); ok {
			out[i].Owner = p
		}
	}
	slices.SortStableFunc(out, func(a, b Snap) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// create takes one snapshot and returns its ID (share snapshot name or LUN snapshot UUID).
func (t *target) create(ctx context.Context, desc string, o policy.SnapshotOptions) (string, error) {
	switch t.kind {
	case policy.TargetShare:
		return t.client.CreateShareSnapshot(ctx, t.name, synology.CreateShareOptions{Desc: desc, Lock: o.Lock, WORMDays: o.ImmutableDays})
	case policy.TargetLUN:
		uuid, err := t.resolveLUN(ctx)
		if err != nil {
			return "", err
		}
		return t.client.TakeLUNSnapshot(ctx, uuid, synology.TakeLUNOptions{Desc: desc, Lock: o.Lock, AppConsistent: o.AppAware})
	}
	return "", fmt.Errorf("unknown target kind %q", t.kind)
}

// remove deletes the given snapshots in one batched call.
func (t *target) remove(ctx context.Context, ids []string) error {
	switch t.kind {
	case policy.TargetShare:
		return t.client.DeleteShareSnapshots(ctx, t.name, ids)
	case policy.TargetLUN:
		return t.client.DeleteLUNSnapshots(ctx, ids)
	}
	return fmt.Errorf("unknown target kind %q", t.kind)
}

// targetLocks serialises operations on one target and spaces creates on it by more
// than a second, so two snapshots never share a name-second. It outlives reloads.
type targetLocks struct {
	mu    sync.Mutex
	locks map[string]*targetLock
}

type targetLock struct {
	ch         chan struct{} // a one-slot semaphore, so waiting honours ctx
	lastCreate time.Time
}

func newTargetLocks() *targetLocks { return &targetLocks{locks: map[string]*targetLock{}} }

func (l *targetLocks) get(key string) *targetLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	tl, ok := l.locks[key]
	if !ok {
		tl = &targetLock{ch: make(chan struct{}, 1)}
		l.locks[key] = tl
	}
	return tl
}

// acquire waits for the target; the returned func releases it.
func (l *targetLocks) acquire(ctx context.Context, key string) (*targetLock, func(), error) {
	tl := l.get(key)
	select {
	case tl.ch <- struct{}{}:
		return tl, func() { <-tl.ch }, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}
