package daemon

import (
	"context"
	"strings"
	"time"

	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/runner"
	"github.com/synology-snapd/snapd/internal/scheduler"
	"github.com/synology-snapd/snapd/internal/state"
)

// Job names: a policy's main run is named after the policy; a prune or replication on
// its own schedule gets a suffix.
const (
	pruneSuffix = "#prune"
	syncSuffix  = "#sync"
)

// oneOff carries a one-off command's steps into a triggered job and its result out.
type oneOff struct {
	steps runner.Steps
	res   *runner.Result
	err   error
}

type oneOffKey struct{}

func (d *daemon) schedOptions(cfg *policy.Config) scheduler.Options {
	limits := make(map[string]int, len(cfg.NAS))
	for name, n := range cfg.NAS {
		limits[name] = n.MaxConcurrent
	}
	return scheduler.Options{
		Location:    cfg.Location,
		GroupLimits: limits,
		OnSkip:      d.onSkip,
		OnFire:      d.onFire,
		Logger:      d.log,
	}
}

func (d *daemon) jobs(cfg *policy.Config) []scheduler.Job {
	var jobs []scheduler.Job
	for _, p := range cfg.Policies {
		jobs = append(jobs, scheduler.Job{Name: p.Name, Group: p.NAS, Schedule: p.Schedule, Jitter: p.Jitter, Run: d.runFunc(p.Name, runner.ScheduledSteps(p))})
		if p.Prune.Kind == policy.OnSchedule {
			jobs = append(jobs, scheduler.Job{Name: p.Name + pruneSuffix, Group: p.NAS, Schedule: p.Prune.Schedule, Jitter: p.Jitter, Run: d.runFunc(p.Name, runner.Steps{Prune: true})})
		}
		if p.Replication.Plan != "" && p.Replication.When.Kind == policy.OnSchedule {
			jobs = append(jobs, scheduler.Job{Name: p.Name + syncSuffix, Group: p.NAS, Schedule: p.Replication.When.Schedule, Jitter: p.Jitter, Run: d.runFunc(p.Name, runner.Steps{Sync: true})})
		}
	}
	return jobs
}

// runFunc is a job's body: a scheduled run with steps, or, when triggered by a one-off
// command, that command's steps.
func (d *daemon) runFunc(policyName string, steps runner.Steps) func(ctx context.Context, fire time.Time) error {
	return func(ctx context.Context, fire time.Time) error {
		oo, _ := ctx.Value(oneOffKey{}).(*oneOff)
		if oo != nil {
			steps = oo.steps
		}
		res, err := d.runner().Run(ctx, policyName, steps, fire)
		if oo != nil {
			oo.res, oo.err = res, err
		}
		if !steps.DryRun {
			d.setErr(policyName, err)
			d.statusChanged() // STATUS= follows the runs: their outcomes and the next fire
		}
		return err
	}
}

func (d *daemon) onFire(job string, fire time.Time) {
	if err := d.db.SetLastScheduled(job, fire); err != nil {
		d.log.Error().Err(err).Str("policy", job).Msg("cannot record the schedule fire")
	}
	if d.metrics != nil {
		d.metrics.FireLatency(job, time.Since(fire))
	}
}

func (d *daemon) onSkip(job string, fire time.Time) {
	cfg := d.config()
	name := policyOf(job)
	e := state.Entry{Time: time.Now(), Policy: name, Action: runner.ActionSkipped, Outcome: runner.OutcomeOK, Error: "previous run still going"}
	if p, ok := cfg.Policies[name]; ok {
		e.NAS, e.Target = p.NAS, string(p.Kind)+":"+p.Target
	}
	if _, err := d.db.Append(e); err != nil {
		d.log.Error().Err(err).Msg("cannot write the journal")
	}
	d.log.Warn().Str("action", runner.ActionSkipped).Str("policy", name).Str("job", job).Time("fire", fire).Msg("previous run still going; skipped this fire")
}

// policyOf maps a job name back to its policy.
func policyOf(job string) string {
	for _, suf := range []string{pruneSuffix, syncSuffix} {
		if n, ok := strings.CutSuffix(job, suf); ok {
			return n
		}
	}
	return job
}
