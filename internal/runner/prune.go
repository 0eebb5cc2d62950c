package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/state"
)

// PlanResult is a retention plan for one target, in the `plan --json` shape.
type PlanResult struct {
	Policy    string        `json:"policy"`
	Target    string        `json:"target"`
	At        time.Time     `json:"at"`
	Snapshots []PlannedSnap `json:"snapshots"`
	Deletes   int           `json:"deletes"`
	Refused   bool          `json:"refused"`
	Max       int           `json:"max_deletes_per_run"`
	decisions []policy.Decision
}

// PlannedSnap is one snapshot's decision.
type PlannedSnap struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Time      time.Time  `json:"time"`
	Action    string     `json:"action"` // keep | delete
	Reasons   []string   `json:"reasons"`
	Locked    bool       `json:"locked"`
	WORMUntil *time.Time `json:"worm_until"`
	Held      bool       `json:"held"`
	Owned     bool       `json:"owned"`
	Desc      string     `json:"desc"`
}

// makePlan applies the policy's retention to a target's list.
func makePlan(p *policy.Policy, t *target, list []Snap, loc *time.Location, at time.Time) *PlanResult {
	in := make([]policy.Snapshot, len(list))
	byID := make(map[string]Snap, len(list))
	for i, s := range list {
		in[i] = policy.Snapshot{ID: s.ID, Time: s.Time, Owned: s.Owner == p.Name, Locked: s.Locked, WORMUntil: s.WORMUntil, Held: len(s.AppKeys) > 0}
		byID[s.ID] = s
	}
	pl := policy.PlanRetention(in, p.Retention, loc, at)
	out := &PlanResult{Policy: p.Name, Target: t.String(), At: at, Deletes: pl.Deletes, Refused: pl.Refused, Max: p.Retention.MaxDeletesPerRun, decisions: pl.Decisions}
	out.Snapshots = make([]PlannedSnap, 0, len(pl.Decisions))
	for _, d := range pl.Decisions {
		s := byID[d.ID]
		ps := PlannedSnap{ID: d.ID, Name: s.Name, Time: d.Time, Action: "keep", Reasons: d.Reasons.Strings(), Locked: s.Locked, Held: len(s.AppKeys) > 0, Owned: s.Owner == p.Name, Desc: s.Desc}
		if ps.Reasons == nil {
			ps.Reasons = []string{}
		}
		if d.Delete {
			ps.Action = "delete"
		}
		if !s.WORMUntil.IsZero() {
			w := s.WORMUntil
			ps.WORMUntil = &w
		}
		out.Snapshots = append(out.Snapshots, ps)
	}
	return out
}

// deletions returns the IDs the plan deletes, oldest first.
func (pr *PlanResult) deletions() []string {
	var ids []string
	for i := len(pr.decisions) - 1; i >= 0; i-- { // oldest first
		if d := pr.decisions[i]; d.Delete {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// Plan lists a policy's target and returns the retention decisions at `at`. It changes
// nothing and journals nothing.
func (r *Runner) Plan(ctx context.Context, name string, at time.Time) (*PlanResult, error) {
	p, err := r.policy(name)
	if err != nil {
		return nil, err
	}
	t, err := r.targetOf(p)
	if err != nil {
		return nil, err
	}
	list, err := t.list(ctx)
	if err != nil {
		return nil, err
	}
	return makePlan(p, t, list, r.Config.Location, at), nil
}

// Prune applies retention now.
func (r *Runner) Prune(ctx context.Context, name string, dryRun, force bool) (*Result, error) {
	return r.Run(ctx, name, Steps{Prune: true, DryRun: dryRun, Force: force}, time.Time{})
}

// prune plans from list (or a fresh list when nil), deletes the plan's deletions in one
// batched call, lists again and journals what really happened to each snapshot.
func (r *Runner) prune(ctx context.Context, p *policy.Policy, t *target, list []Snap, steps Steps, res *Result) error {
	if list == nil {
		var err error
		if list, err = t.list(ctx); err != nil {
			if !steps.DryRun {
				e := entryFor(p, t, ActionPlan)
				e.Outcome, e.Error = OutcomeError, err.Error()
				r.emit(e)
			}
			return err
		}
	}
	at := r.now()
	plan := makePlan(p, t, list, r.Config.Location, at)
	res.Plan = plan
	ids := plan.deletions()
	res.Refused = plan.Refused && !steps.Force
	if steps.DryRun {
		if res.Refused {
			return fmt.Errorf("%w: %d deletions exceed max_deletes_per_run %d (use --force)", ErrRefused, plan.Deletes, plan.Max)
		}
		return nil
	}
	kept := len(list) - len(ids)
	e := entryFor(p, t, ActionPlan)
	e.Count = len(ids)
	e.Outcome = OutcomeOK
	if res.Refused {
		e.Outcome = OutcomeRefused
		e.Error = fmt.Sprintf("%d deletions exceed max_deletes_per_run %d", plan.Deletes, plan.Max)
		r.emit(e)
		if r.Metrics != nil {
			r.Metrics.PruneRefused(p.Name)
		}
		return fmt.Errorf("%w: %s (use --force)", ErrRefused, e.Error)
	}
	r.emit(e)
	if len(ids) == 0 {
		if r.Metrics != nil {
			r.Metrics.Pruned(p.Name, r.now(), kept, 0)
		}
		return nil
	}

	start := r.now()
	intent, err := r.Journal.BeginIntent(state.Intent{Time: start, Policy: p.Name, NAS: p.NAS, Target: p.Target, Kind: string(p.Kind), Action: ActionDelete, Snapshots: ids})
	if err != nil {
		return fmt.Errorf("journal intent: %w", err)
	}
	delErr := t.remove(ctx, ids)
	after, listErr := t.list(ctx)
	if listErr != nil {
		// Without the truth from the NAS the intent stays open; the next run on this
		// target (or the next start) journals what really happened.
		r.Shared.setSettled(targetKey(p), false)
		r.Log.Error().Str("policy", p.Name).Str("target", t.String()).Err(listErr).Int("count", len(ids)).Msg("deletions sent but their outcome is unknown; will reconcile")
		return fmt.Errorf("list %s after deleting: %w", t, listErr)
	}
	entries := deleteOutcomes(p, t, ids, after, delErr)
	now := r.now()
	for i := range entries {
		entries[i].Time = now
		entries[i].DurationMS = now.Sub(start).Milliseconds()
	}
	if err := r.Journal.CompleteIntent(intent, entries...); err != nil {
		r.Log.Error().Err(err).Msg("cannot complete the journal intent")
	}
	var failed []error
	for _, e := range entries {
		r.logEntry(e)
		if e.Outcome == OutcomeOK {
			res.Deleted = append(res.Deleted, e.Snapshot)
		} else {
			res.Failed = append(res.Failed, e.Snapshot)
			failed = append(failed, fmt.Errorf("%s: %s", e.Snapshot, e.Error))
		}
	}
	if r.Metrics != nil {
		r.Metrics.Pruned(p.Name, now, len(after), len(res.Deleted))
	}
	if len(failed) > 0 {
		return fmt.Errorf("prune %s: %d of %d deletions failed: %w", t, len(failed), len(ids), errors.Join(failed...))
	}
	return nil
}

// deleteOutcomes journals, per planned deletion, whether the snapshot is really gone:
// the NAS's list after the call is the truth, whatever the delete call answered.
func deleteOutcomes(p *policy.Policy, t *target, ids []string, after []Snap, delErr error) []state.Entry {
	present := make(map[string]bool, len(after))
	for _, s := range after {
		present[s.ID] = true
	}
	out := make([]state.Entry, 0, len(ids))
	for _, id := range ids {
		e := entryFor(p, t, ActionDelete)
		e.Snapshot = id
		switch {
		case present[id]:
			e.Outcome = OutcomeError
			e.Error = "still present after delete"
			if delErr != nil {
				e.Error += ": " + delErr.Error()
			}
		default:
			e.Outcome = OutcomeOK
		}
		out = append(out, e)
	}
	return out
}
