package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/synology-snapd/snapd/internal/control"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/runner"
	"github.com/synology-snapd/snapd/internal/scheduler"
	"github.com/synology-snapd/snapd/internal/state"
)

// PolicyStatus is one row of `snapd status --json`.
type PolicyStatus struct {
	Name           string     `json:"name"`
	NAS            string     `json:"nas"`
	Target         string     `json:"target"`
	Schedule       string     `json:"schedule"`
	LastRun        *time.Time `json:"last_run"`
	LastOutcome    string     `json:"last_outcome"`
	LastError      string     `json:"last_error,omitempty"`
	NextRun        *time.Time `json:"next_run"`
	NewestSnapshot *time.Time `json:"newest_snapshot"`
	NewestAgeS     *int64     `json:"newest_age_s"`
	Running        bool       `json:"running"`
}

// StatusReport is `snapd status --json`.
type StatusReport struct {
	Daemon   bool           `json:"daemon"` // whether a daemon answered
	Policies []PolicyStatus `json:"policies"`
}

// Status reports every policy of cfg from the journal's last runs. next gives the next
// fire of a policy (the daemon's scheduler, or the schedule itself when no daemon runs).
func Status(cfg *policy.Config, runs map[string]state.RunRecord, next func(p *policy.Policy) (time.Time, bool), now time.Time) StatusReport {
	var rep StatusReport
	names := make([]string, 0, len(cfg.Policies))
	for n := range cfg.Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := cfg.Policies[n]
		ps := PolicyStatus{Name: n, NAS: p.NAS, Target: string(p.Kind) + ":" + p.Target, Schedule: p.Spec}
		if r, ok := runs[n]; ok {
			end := r.End
			ps.LastRun, ps.LastOutcome, ps.LastError = &end, r.Outcome, r.Error
			if !r.NewestSnapshot.IsZero() {
				t := r.NewestSnapshot
				age := int64(now.Sub(t).Seconds())
				ps.NewestSnapshot, ps.NewestAgeS = &t, &age
			}
		}
		if t, running := next(p); !t.IsZero() {
			ps.NextRun, ps.Running = &t, running
		} else {
			ps.Running = running
		}
		rep.Policies = append(rep.Policies, ps)
	}
	return rep
}

// JournalArgs are the arguments of `journal` over the control socket.
type JournalArgs struct {
	Policy string    `json:"policy,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Limit  int       `json:"limit,omitempty"`
}

// RunArgs are the arguments of `snapshot`, `prune` and `sync` over the control socket.
type RunArgs struct {
	NoPrune bool `json:"no_prune,omitempty"`
	DryRun  bool `json:"dry_run,omitempty"`
	Force   bool `json:"force,omitempty"`
}

// RunReply is the answer to `snapshot`, `prune` and `sync`.
type RunReply struct {
	Result  *runner.Result `json:"result,omitempty"`
	Entries []state.Entry  `json:"entries,omitempty"`
}

// DeviceTokenArgs stores a 2FA device token.
type DeviceTokenArgs struct {
	NAS   string `json:"nas"`
	Token string `json:"token"`
}

// StepsFor maps a one-off command to the steps of a run.
func StepsFor(cmd string, p *policy.Policy, a RunArgs) (runner.Steps, error) {
	switch cmd {
	case "snapshot":
		s := runner.ScheduledSteps(p)
		if a.NoPrune {
			s.Prune = false
		}
		return s, nil
	case "prune":
		return runner.Steps{Prune: true, DryRun: a.DryRun, Force: a.Force}, nil
	case "sync":
		if p.Replication.Plan == "" {
			return runner.Steps{}, fmt.Errorf("policy %s has no replication plan", p.Name)
		}
		return runner.Steps{Sync: true}, nil
	}
	return runner.Steps{}, fmt.Errorf("unknown command %q", cmd)
}

func reply(v any, err error, exit int) control.Response {
	var r control.Response
	if v != nil {
		b, merr := json.Marshal(v)
		if merr != nil {
			return control.Response{Error: merr.Error(), Exit: 1}
		}
		r.Data = b
	}
	if err != nil {
		r.Error, r.Exit = err.Error(), exit
	}
	return r
}

// handle answers the CLI's one-off commands while the daemon runs, through the same
// runner and the same journal, and through the scheduler so that a command never runs
// a policy at the same time as the daemon's own run of it.
func (d *daemon) handle(ctx context.Context, req control.Request) control.Response {
	switch req.Cmd {
	case "status":
		runs, err := d.db.LastRuns()
		if err != nil {
			return reply(nil, err, 1)
		}
		running := map[string]bool{}
		nexts := map[string]time.Time{}
		for _, e := range d.sched.Entries() {
			nexts[e.Name] = e.Next
			running[policyOf(e.Name)] = running[policyOf(e.Name)] || e.Running
		}
		rep := Status(d.config(), runs, func(p *policy.Policy) (time.Time, bool) { return nexts[p.Name], running[p.Name] }, time.Now())
		rep.Daemon = true
		return reply(rep, nil, 0)
	case "journal":
		var a JournalArgs
		if err := unmarshalArgs(req.Args, &a); err != nil {
			return reply(nil, err, 2)
		}
		es, err := d.db.Entries(state.Filter{Policy: a.Policy, Since: a.Since, Limit: a.Limit})
		return reply(es, err, 1)
	case "append":
		var es []state.Entry
		if err := unmarshalArgs(req.Args, &es); err != nil {
			return reply(nil, err, 2)
		}
		_, err := d.db.Append(es...)
		return reply(nil, err, 1)
	case "device-token":
		var a DeviceTokenArgs
		if err := unmarshalArgs(req.Args, &a); err != nil {
			return reply(nil, err, 2)
		}
		tok, _, err := d.db.DeviceToken(a.NAS)
		return reply(tok, err, 1)
	case "set-device-token":
		var a DeviceTokenArgs
		if err := unmarshalArgs(req.Args, &a); err != nil {
			return reply(nil, err, 2)
		}
		return reply(nil, d.db.SetDeviceToken(a.NAS, a.Token), 1)
	case "snapshot", "prune", "sync":
		var a RunArgs
		if err := unmarshalArgs(req.Args, &a); err != nil {
			return reply(nil, err, 2)
		}
		p, ok := d.config().Policies[req.Policy]
		if !ok {
			return reply(nil, fmt.Errorf("%w %q", runner.ErrUnknownPolicy, req.Policy), 2)
		}
		steps, err := StepsFor(req.Cmd, p, a)
		if err != nil {
			return reply(nil, err, 2)
		}
		if steps.DryRun {
			// Read-only: it needs no slot, and the target lock orders it after a run.
			res, err := d.runner().Run(ctx, p.Name, steps, time.Time{})
			return reply(RunReply{Result: res}, err, 1)
		}
		oo := &oneOff{steps: steps}
		// A run in flight is waited for, not overlapped.
		for {
			err = d.sched.Trigger(context.WithValue(ctx, oneOffKey{}, oo), p.Name)
			if !errors.Is(err, scheduler.ErrRunning) {
				break
			}
			select {
			case <-ctx.Done():
				return reply(nil, fmt.Errorf("policy %s stayed busy: %w", p.Name, ctx.Err()), 1)
			case <-time.After(100 * time.Millisecond):
			}
		}
		if oo.err != nil {
			err = oo.err
		}
		return reply(RunReply{Result: oo.res}, err, 1)
	}
	return reply(nil, fmt.Errorf("unknown control command %q", req.Cmd), 2)
}

func unmarshalArgs(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("bad arguments: %w", err)
	}
	return nil
}
