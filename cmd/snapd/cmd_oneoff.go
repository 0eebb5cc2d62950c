package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/synology-snapd/snapd/internal/control"
	"github.com/synology-snapd/snapd/internal/daemon"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/runner"
)

func cmdSnapshot(ctx context.Context, a *app, args []string) error {
	fs := a.flags("snapshot")
	pol := fs.String("policy", "", "policy to run (required)")
	noPrune := fs.Bool("no-prune", false, "do not prune after the snapshot")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	return a.oneOff(ctx, "snapshot", *pol, daemon.RunArgs{NoPrune: *noPrune}, *asJSON)
}

func cmdPrune(ctx context.Context, a *app, args []string) error {
	fs := a.flags("prune")
	pol := fs.String("policy", "", "policy to prune (required)")
	dry := fs.Bool("dry-run", false, "print what a real run would delete; delete nothing")
	force := fs.Bool("force", false, "delete even more than max_deletes_per_run")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	return a.oneOff(ctx, "prune", *pol, daemon.RunArgs{DryRun: *dry, Force: *force}, *asJSON)
}

func cmdSync(ctx context.Context, a *app, args []string) error {
	fs := a.flags("sync")
	pol := fs.String("policy", "", "policy whose replication plan to sync (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	return a.oneOff(ctx, "sync", *pol, daemon.RunArgs{}, *asJSON)
}

// oneOff runs snapshot, prune or sync through a running daemon (so it never overlaps the
// daemon's own run of the policy), or directly on the journal when none runs. Both take
// the same code path in the runner and write the same journal entries.
func (a *app) oneOff(ctx context.Context, cmd, name string, ra daemon.RunArgs, asJSON bool) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	p, err := a.policyArg(cfg, name)
	if err != nil {
		return err
	}
	steps, err := daemon.StepsFor(cmd, p, ra)
	if err != nil {
		return usageError{err}
	}
	raw, _ := json.Marshal(ra)
	var rep daemon.RunReply
	asked, runErr := a.askDaemon(ctx, control.Request{Cmd: cmd, Policy: p.Name, Args: raw}, &rep)
	res := rep.Result
	if !asked {
		db, err := a.openState(cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		r, done, err := a.directRunner(cfg, db, p.NAS)
		if err != nil {
			return err
		}
		defer done()
		res, runErr = r.Run(ctx, p.Name, steps, time.Time{})
	}
	if res != nil {
		if asJSON {
			if err := a.printJSON(res); err != nil {
				return err
			}
		} else {
			a.printResult(res, steps)
		}
	}
	return runErr
}

func (a *app) printResult(res *runner.Result, steps runner.Steps) {
	w := a.stdout
	if res.Created != "" {
		fmt.Fprintf(w, "created %s on %s\n", res.Created, res.Target)
	}
	if res.Synced {
		fmt.Fprintf(w, "replication sync triggered for %s\n", res.Policy)
	}
	if res.Plan != nil {
		if steps.DryRun {
			printPlan(w, res.Plan, false)
			fmt.Fprintf(w, "dry run: would delete %d of %d snapshots\n", res.Plan.Deletes, len(res.Plan.Snapshots))
			if res.Refused {
				fmt.Fprintf(w, "a real run would be refused: %d deletions exceed max_deletes_per_run %d\n", res.Plan.Deletes, res.Plan.Max)
			}
			return
		}
		if res.Refused {
			fmt.Fprintf(w, "prune refused: %d deletions exceed max_deletes_per_run %d (use --force)\n", res.Plan.Deletes, res.Plan.Max)
		}
		for _, id := range res.Deleted {
			fmt.Fprintf(w, "deleted %s\n", id)
		}
		for _, id := range res.Failed {
			fmt.Fprintf(w, "NOT deleted %s\n", id)
		}
		fmt.Fprintf(w, "pruned %s: %d deleted, %d kept\n", res.Target, len(res.Deleted), len(res.Plan.Snapshots)-len(res.Deleted))
	}
}

func cmdPlan(ctx context.Context, a *app, args []string) error {
	fs := a.flags("plan")
	pol := fs.String("policy", "", "only this policy (default: all)")
	atFlag := fs.String("at", "", "evaluate at this time (RFC 3339 or 'YYYY-MM-DD HH:MM' in the config's zone; default now)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	at := time.Now()
	if *atFlag != "" {
		if at, err = parseTime(*atFlag, cfg.Location); err != nil {
			return usagef("--at: %v", err)
		}
	}
	var pols []*policy.Policy
	if *pol != "" {
		p, err := a.policyArg(cfg, *pol)
		if err != nil {
			return err
		}
		pols = []*policy.Policy{p}
	} else {
		for _, n := range sortedKeys(cfg.Policies) {
			pols = append(pols, cfg.Policies[n])
		}
	}
	nasSet := map[string]bool{}
	var nasNames []string
	for _, p := range pols {
		if !nasSet[p.NAS] {
			nasSet[p.NAS] = true
			nasNames = append(nasNames, p.NAS)
		}
	}
	r, done, err := a.directRunner(cfg, nil, nasNames...)
	if err != nil {
		return err
	}
	defer done()
	var errs []string
	for _, p := range pols {
		pr, err := r.Plan(ctx, p.Name, at)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", p.Name, err))
			continue
		}
		if *asJSON {
			if err := json.NewEncoder(a.stdout).Encode(pr); err != nil {
				return err
			}
			continue
		}
		printPlan(a.stdout, pr, true)
	}
	if len(errs) > 0 {
		return fmt.Errorf("plan: %s", strings.Join(errs, "; "))
	}
	return nil
}

func printPlan(w0 interface{ Write([]byte) (int, error) }, pr *runner.PlanResult, header bool) {
	if header {
		fmt.Fprintf(w0, "policy %s, %s, at %s: %d to delete of %d\n", pr.Policy, pr.Target, pr.At.Format(time.RFC3339), pr.Deletes, len(pr.Snapshots))
	}
	w := tabwriter.NewWriter(w0, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ACTION\tSNAPSHOT\tTIME\tREASONS")
	for _, s := range pr.Snapshots {
		name := s.Name
		if name == "" {
			name = s.ID
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Action, name, s.Time.Format("2006-01-02 15:04:05 -07:00"), strings.Join(s.Reasons, ","))
	}
	w.Flush()
	if pr.Refused {
		fmt.Fprintf(w0, "a prune now would be refused: %d deletions exceed max_deletes_per_run %d\n", pr.Deletes, pr.Max)
	}
}
