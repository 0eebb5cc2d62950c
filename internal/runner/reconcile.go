package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/state"
)

// Reconcile settles the intents a crash left open: it asks the NAS what became of each
// action and journals that. Intents whose NAS cannot be reached stay open; they are
// tried again before the next run on their target, and at the next start. It returns
// how many intents it settled.
func (r *Runner) Reconcile(ctx context.Context) (int, error) {
	pending, err := r.Journal.PendingIntents()
	if err != nil {
		return 0, err
	}
	keys := map[string]bool{}
	var order []string
	for _, in := range pending {
		k := intentKey(in)
		if !keys[k] {
			keys[k] = true
			order = append(order, k)
		}
	}
	settled := 0
	var errs []error
	for _, k := range order {
		_, release, err := r.Shared.locks.acquire(ctx, k)
		if err != nil {
			return settled, err
		}
		n, err := r.reconcileTarget(ctx, k)
		release()
		settled += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		// Every target without an open intent at the scan is settled; one left open
		// since then is marked unsettled by the run that left it.
		r.Shared.mu.Lock()
		r.Shared.allSettled = true
		r.Shared.mu.Unlock()
	}
	return settled, errors.Join(errs...)
}

func intentKey(in state.Intent) string { return in.NAS + "/" + in.Kind + ":" + in.Target }

// reconcileTarget settles the open intents of one target. The caller holds the target's
// lock, so none of them is in flight.
func (r *Runner) reconcileTarget(ctx context.Context, key string) (int, error) {
	pending, err := r.Journal.PendingIntents()
	if err != nil {
		return 0, err
	}
	settled := 0
	var errs []error
	for _, in := range pending {
		if intentKey(in) != key {
			continue
		}
		entries, err := r.settle(ctx, in)
		if err != nil {
			errs = append(errs, fmt.Errorf("intent %d (%s on %s): %w", in.ID, in.Action, in.Target, err))
			continue
		}
		if err := r.Journal.CompleteIntent(in.ID, entries...); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			r.logEntry(e)
		}
		r.Log.Info().Str("policy", in.Policy).Str("action", in.Action).Uint64("intent", in.ID).Msg("reconciled an interrupted action")
		settled++
	}
	r.Shared.setSettled(key, len(errs) == 0)
	return settled, errors.Join(errs...)
}

func (r *Runner) settle(ctx context.Context, in state.Intent) ([]state.Entry, error) {
	t, err := r.Shared.target(in.NAS, policy.TargetKind(in.Kind), in.Target)
	if err != nil {
		return nil, err
	}
	base := state.Entry{Time: r.now(), Policy: in.Policy, NAS: in.NAS, Target: t.String(), Action: in.Action}
	switch in.Action {
	case ActionCreate:
		list, err := t.list(ctx)
		if err != nil {
			return nil, err
		}
		lastNewest := in.Time.Add(-createSkew)
		if last, ok, err := r.Journal.LastRun(in.Policy); err == nil && ok && last.NewestSnapshot.After(lastNewest) {
			lastNewest = last.NewestSnapshot
		}
		if s, ok := landed(list, in.Desc, in.Time, lastNewest); ok {
			base.Snapshot, base.Outcome = s.ID, OutcomeOK
		} else {
			base.Outcome, base.Error = OutcomeError, "interrupted; the snapshot did not land"
		}
		return []state.Entry{base}, nil
	case ActionDelete:
		list, err := t.list(ctx)
		if err != nil {
			return nil, err
		}
		p := &policy.Policy{Name: in.Policy, NAS: in.NAS}
		es := deleteOutcomes(p, t, in.Snapshots, list, errors.New("interrupted"))
		for i := range es {
			es[i].Time = base.Time
		}
		return es, nil
	default:
		base.Outcome = OutcomeError
		base.Error = "interrupted; outcome unknown"
		if len(in.Snapshots) > 0 {
			base.Snapshot = in.Snapshots[0]
		}
		return []state.Entry{base}, nil
	}
}
