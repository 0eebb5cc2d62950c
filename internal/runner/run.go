package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/state"
	"github.com/synology-snapd/snapd/internal/synology"
)

// Steps says which parts of a policy run to do.
type Steps struct {
	Create bool
	Sync   bool
	Prune  bool
	DryRun bool // prune: plan and report, delete nothing
	Force  bool // prune: ignore max_deletes_per_run
}

// ScheduledSteps are the steps a scheduled run of p performs: create, then replication
// and prune when they are `after_snapshot`.
func ScheduledSteps(p *policy.Policy) Steps {
	return Steps{
		Create: true,
		Sync:   p.Replication.Plan != "" && p.Replication.When.Kind == policy.AfterSnapshot,
		Prune:  p.Prune.Kind == policy.AfterSnapshot,
	}
}

// Result is what one run did.
type Result struct {
	Policy  string        `json:"policy"`
	Target  string        `json:"target"`
	Created string        `json:"created,omitempty"`
	Synced  bool          `json:"synced,omitempty"`
	Plan    *PlanResult   `json:"plan,omitempty"`
	Deleted []string      `json:"deleted,omitempty"`
	Failed  []string      `json:"failed,omitempty"` // planned deletions still present afterwards
	Refused bool          `json:"refused,omitempty"`
	Entries []state.Entry `json:"-"`
}

// Run performs one run of a policy. fire is the schedule instant it serves (zero for a
// one-off). It holds the target for the whole run, so runs and one-off commands on one
// share or LUN never interleave.
func (r *Runner) Run(ctx context.Context, name string, steps Steps, fire time.Time) (*Result, error) {
	p, err := r.policy(name)
	if err != nil {
		return nil, err
	}
	t, err := r.targetOf(p)
	if err != nil {
		return nil, err
	}
	tl, release, err := r.Shared.locks.acquire(ctx, targetKey(p))
	if err != nil {
		return nil, err
	}
	defer release()
	if r.Journal != nil && !steps.DryRun && !r.Shared.isSettled(targetKey(p)) {
		// Settle what an earlier interrupted action left open on this target first, so
		// its outcome is known before this run decides anything.
		if _, err := r.reconcileTarget(ctx, targetKey(p)); err != nil {
			r.Log.Warn().Err(err).Str("policy", p.Name).Msg("an interrupted action could not be reconciled yet")
		}
	}

	start := r.now()
	res := &Result{Policy: p.Name, Target: t.String()}
	rec := state.RunRecord{Policy: p.Name, Start: start, Scheduled: fire}
	if last, ok, err := r.Journal.LastRun(p.Name); err == nil && ok {
		rec.NewestSnapshot = last.NewestSnapshot
	}
	runErr := r.run(ctx, p, t, tl, steps, res, &rec)
	rec.End = r.now()
	rec.Outcome = OutcomeOK
	switch {
	case errors.Is(runErr, ErrRefused):
		rec.Outcome = OutcomeRefused
	case runErr != nil:
		rec.Outcome = OutcomeError
	}
	rec.Error = errString(runErr)
	if steps.DryRun {
		return res, runErr
	}
	if err := r.Journal.SetLastRun(rec); err != nil {
		r.Log.Error().Err(err).Str("policy", p.Name).Msg("cannot record the run")
	}
	if r.Metrics != nil {
		r.Metrics.RunFinished(p.Name, rec.Outcome, rec.End)
		if !rec.NewestSnapshot.IsZero() {
			r.Metrics.NewestSnapshot(p.Name, rec.NewestSnapshot)
		}
	}
	return res, runErr
}

func (r *Runner) run(ctx context.Context, p *policy.Policy, t *target, tl *targetLock, steps Steps, res *Result, rec *state.RunRecord) error {
	var snaps []Snap // the list after the create; reused by prune
	if steps.Create {
		id, list, err := r.create(ctx, p, t, tl, rec.NewestSnapshot)
		if err != nil {
			return err // no replication and no prune after a failed create
		}
		res.Created, snaps = id, list
		for _, s := range list {
			if s.ID == id {
				rec.NewestSnapshot = s.Time
			}
		}
	}
	var errs []error
	if steps.Sync {
		if err := r.sync(ctx, p, t); err != nil {
			errs = append(errs, err)
		} else {
			res.Synced = true
		}
	}
	if steps.Prune {
		if err := r.prune(ctx, p, t, snaps, steps, res); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// create takes the policy's snapshot and confirms it by listing. A create whose outcome
// is uncertain (the connection dropped after the request was sent) is resolved by
// listing, never by a blind second create. It returns the new snapshot's ID and the
// target's list that confirmed it.
func (r *Runner) create(ctx context.Context, p *policy.Policy, t *target, tl *targetLock, lastNewest time.Time) (string, []Snap, error) {
	spacing := r.CreateSpacing
	if spacing == 0 {
		spacing = 1100 * time.Millisecond
	}
	if wait := spacing - r.now().Sub(tl.lastCreate); wait > 0 && !tl.lastCreate.IsZero() {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return "", nil, ctx.Err()
		}
	}
	desc := policy.Describe(p.Snapshot.Description, p.Name)
	e := entryFor(p, t, ActionCreate)
	start := r.now()
	intent, err := r.Journal.BeginIntent(state.Intent{Time: start, Policy: p.Name, NAS: p.NAS, Target: p.Target, Kind: string(p.Kind), Action: ActionCreate, Desc: desc})
	if err != nil {
		return "", nil, fmt.Errorf("journal intent: %w", err)
	}
	finish := func(id string, err error) {
		e.Snapshot, e.Outcome, e.Error = id, outcomeOf(err), errString(err)
		e.Time = r.now()
		e.DurationMS = e.Time.Sub(start).Milliseconds()
		if cerr := r.Journal.CompleteIntent(intent, e); cerr != nil {
			r.Log.Error().Err(cerr).Msg("cannot complete the journal intent")
		}
		r.logEntry(e)
	}

	for attempt := 1; ; attempt++ {
		id, err := t.create(ctx, desc, p.Snapshot)
		tl.lastCreate = r.now()
		if err == nil {
			list, lerr := t.list(ctx)
			if lerr != nil {
				// The NAS said yes; the snapshot exists, but without a list nothing may be pruned.
				finish(id, nil)
				r.noteCreated(p)
				return id, nil, fmt.Errorf("confirm snapshot %s: %w", id, lerr)
			}
			if !containsID(list, id) {
				err := fmt.Errorf("snapshot %s reported created but not listed on %s", id, t)
				finish(id, err)
				return "", nil, err
			}
			finish(id, nil)
			r.noteCreated(p)
			return id, list, nil
		}
		if !errors.Is(err, synology.ErrUncertain) || attempt > 1 {
			finish("", err)
			return "", nil, fmt.Errorf("create snapshot of %s: %w", t, err)
		}
		// The request may have landed: look before trying again.
		list, lerr := t.list(ctx)
		if lerr != nil {
			// Whether it landed is unknown: the intent stays open and is settled before
			// the next run on this target (or at the next start).
			err = fmt.Errorf("create snapshot of %s: outcome unknown (%v) and the list failed: %w", t, err, lerr)
			r.Log.Error().Str("policy", p.Name).Str("target", t.String()).Err(err).Msg("create outcome unknown; will reconcile")
			r.Shared.setSettled(targetKey(p), false)
			return "", nil, err
		}
		if s, ok := landed(list, desc, start, lastNewest); ok {
			r.Log.Warn().Str("policy", p.Name).Str("target", t.String()).Str("snapshot", s.ID).Msg("uncertain create had landed")
			finish(s.ID, nil)
			r.noteCreated(p)
			return s.ID, list, nil
		}
		r.Log.Warn().Str("policy", p.Name).Str("target", t.String()).Err(err).Msg("create did not land; trying once more")
	}
}

func (r *Runner) noteCreated(p *policy.Policy) {
	if r.Metrics != nil {
		r.Metrics.SnapshotCreated(p.Name, r.now())
	}
}

// createSkew is how far a NAS clock may lag ours and a snapshot still count as the one
// an interrupted create made.
const createSkew = 5 * time.Minute

// landed finds the snapshot an interrupted create made: it carries the run's tagged
// description, is newer than the policy's last known snapshot, and is no older than the
// attempt (less the allowed clock skew).
func landed(list []Snap, desc string, attempt, lastNewest time.Time) (Snap, bool) {
	for i := len(list) - 1; i >= 0; i-- {
		s := list[i]
		if s.Desc != desc || !s.Time.After(lastNewest) || s.Time.Before(attempt.Add(-createSkew)) {
			continue
		}
		return s, true
	}
	return Snap{}, false
}

func containsID(list []Snap, id string) bool {
	for _, s := range list {
		if s.ID == id {
			return true
		}
	}
	return false
}

// sync triggers the policy's replication plan.
func (r *Runner) sync(ctx context.Context, p *policy.Policy, t *target) error {
	if p.Replication.Plan == "" {
		return fmt.Errorf("policy %s has no replication plan", p.Name)
	}
	e := entryFor(p, t, ActionSync)
	e.Snapshot = p.Replication.Plan
	start := r.now()
	intent, err := r.Journal.BeginIntent(state.Intent{Time: start, Policy: p.Name, NAS: p.NAS, Target: p.Target, Kind: string(p.Kind), Action: ActionSync, Snapshots: []string{p.Replication.Plan}})
	if err != nil {
		return fmt.Errorf("journal intent: %w", err)
	}
	err = t.client.SyncPlan(ctx, p.Replication.Plan, synology.SyncOptions{LockSnapshot: p.Replication.LockSnapshot, Description: "snapd " + p.Name})
	if err != nil {
		err = fmt.Errorf("sync replication plan %s: %w", p.Replication.Plan, err)
	}
	e.Outcome, e.Error = outcomeOf(err), errString(err)
	e.Time = r.now()
	e.DurationMS = e.Time.Sub(start).Milliseconds()
	if cerr := r.Journal.CompleteIntent(intent, e); cerr != nil {
		r.Log.Error().Err(cerr).Msg("cannot complete the journal intent")
	}
	r.logEntry(e)
	if err == nil && r.Metrics != nil {
		r.Metrics.Synced(p.Name, e.Time)
	}
	return err
}

// Sync runs the policy's replication now.
func (r *Runner) Sync(ctx context.Context, name string) (*Result, error) {
	return r.Run(ctx, name, Steps{Sync: true}, time.Time{})
}
