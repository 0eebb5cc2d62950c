package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/synology-snapd/snapd/internal/control"
	"github.com/synology-snapd/snapd/internal/daemon"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/state"
)

// status asks the daemon, or reads the journal directly when none runs.
func (a *app) status(ctx context.Context, cfg *policy.Config) (daemon.StatusReport, error) {
	var rep daemon.StatusReport
	asked, err := a.askDaemon(ctx, control.Request{Cmd: "status"}, &rep)
	if asked {
		return rep, err
	}
	db, err := a.readState(cfg)
	if err != nil {
		return rep, err
	}
	runs := map[string]state.RunRecord{}
	if db != nil {
		defer db.Close()
		if runs, err = db.LastRuns(); err != nil {
			return rep, err
		}
	}
	now := time.Now()
	return daemon.Status(cfg, runs, func(p *policy.Policy) (time.Time, bool) { return p.Schedule.Next(now), false }, now), nil
}

func cmdStatus(ctx context.Context, a *app, args []string) error {
	fs := a.flags("status")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	rep, err := a.status(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(rep)
	}
	if !rep.Daemon {
		fmt.Fprintln(a.stdout, "daemon: not running")
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "POLICY\tNAS\tTARGET\tLAST RUN\tOUTCOME\tNEXT RUN\tNEWEST SNAPSHOT AGE")
	for _, p := range rep.Policies {
		last, outcome, next, age := "never", "-", "-", "-"
		if p.LastRun != nil {
			last = p.LastRun.In(cfg.Location).Format("2006-01-02 15:04:05")
			outcome = p.LastOutcome
		}
		if p.Running {
			outcome = "running"
		}
		if p.NextRun != nil {
			next = p.NextRun.In(cfg.Location).Format("2006-01-02 15:04:05")
		}
		if p.NewestAgeS != nil {
			age = (time.Duration(*p.NewestAgeS) * time.Second).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.NAS, p.Target, last, outcome, next, age)
	}
	return w.Flush()
}

func cmdJournal(ctx context.Context, a *app, args []string) error {
	fs := a.flags("journal")
	pol := fs.String("policy", "", "only this policy")
	since := fs.String("since", "", "only entries newer than a duration ago (36h, 7d) or a time")
	limit := fs.Int("limit", 0, "only the newest N entries (0 = all)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit must be >= 0")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	f := daemon.JournalArgs{Policy: *pol, Limit: *limit}
	if *since != "" {
		if f.Since, err = parseSince(*since, cfg.Location, time.Now()); err != nil {
			return usagef("--since: %v", err)
		}
	}
	var es []state.Entry
	raw, _ := json.Marshal(f)
	asked, err := a.askDaemon(ctx, control.Request{Cmd: "journal", Args: raw}, &es)
	if !asked {
		db, err := a.readState(cfg)
		if err != nil {
			return err
		}
		if db != nil {
			defer db.Close()
			if es, err = db.Entries(state.Filter{Policy: f.Policy, Since: f.Since, Limit: f.Limit}); err != nil {
				return err
			}
		}
	} else if err != nil {
		return err
	}
	out := bufio.NewWriter(a.stdout)
	defer out.Flush()
	if *asJSON {
		enc := json.NewEncoder(out)
		for _, e := range es {
			if err := enc.Encode(journalJSON(e)); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tTIME\tPOLICY\tACTION\tSNAPSHOT\tOUTCOME\tERROR")
	for _, e := range es {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.In(cfg.Location).Format("2006-01-02 15:04:05"), e.Policy, e.Action, e.Snapshot, e.Outcome, e.Error)
	}
	return w.Flush()
}

// journalJSON is the documented `journal --json` shape: every field always present.
func journalJSON(e state.Entry) map[string]any {
	return map[string]any{
		"seq": e.Seq, "time": e.Time, "policy": e.Policy, "nas": e.NAS, "target": e.Target,
		"action": e.Action, "snapshot": e.Snapshot, "outcome": e.Outcome, "error": e.Error,
		"duration_ms": e.DurationMS, "count": e.Count,
	}
}

// interval is the longest gap between consecutive fires of s over the coming fires, so
// a weekday-only schedule is judged by its weekend gap.
func interval(s cron.Schedule, now time.Time) time.Duration {
	var longest time.Duration
	t := s.Next(now.Add(-7 * 24 * time.Hour))
	for range 50 {
		n := s.Next(t)
		if n.IsZero() {
			break
		}
		if d := n.Sub(t); d > longest {
			longest = d
		}
		t = n
	}
	return longest
}

// cmdCheck is a monitoring plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
func cmdCheck(ctx context.Context, a *app, args []string) error {
	fs := a.flags("check")
	if err := a.parse(fs, args, false); err != nil {
		return exitError{3, err}
	}
	cfg, err := a.config()
	if err != nil {
		fmt.Fprintf(a.stdout, "SNAPD UNKNOWN - %v\n", firstLineOf(err.Error()))
		return exitError{3, nil}
	}
	now := time.Now()
	rep, err := a.status(ctx, cfg)
	if err != nil {
		fmt.Fprintf(a.stdout, "SNAPD UNKNOWN - %v\n", firstLineOf(err.Error()))
		return exitError{3, nil}
	}
	runs := map[string]daemon.PolicyStatus{}
	for _, p := range rep.Policies {
		runs[p.Name] = p
	}
	r, done, err := a.directRunner(cfg, nil, sortedKeys(cfg.NAS)...)
	if err != nil {
		fmt.Fprintf(a.stdout, "SNAPD UNKNOWN - %v\n", firstLineOf(err.Error()))
		return exitError{3, nil}
	}
	defer done()
	code := 0
	var problems, perf []string
	// The worst state wins: CRITICAL over WARNING over UNKNOWN over OK.
	rank := map[int]int{0: 0, 3: 1, 1: 2, 2: 3}
	raise := func(c int, msg string) {
		if rank[c] > rank[code] {
			code = c
		}
		problems = append(problems, msg)
	}
	for _, name := range sortedKeys(cfg.Policies) {
		p := cfg.Policies[name]
		iv := interval(p.Schedule, now)
		pr, err := r.Plan(ctx, name, now)
		if err != nil {
			raise(3, fmt.Sprintf("%s: cannot list snapshots: %v", name, firstLineOf(err.Error())))
			continue
		}
		var newest time.Time
		for _, s := range pr.Snapshots {
			if s.Owned && s.Time.After(newest) && !s.Time.After(now.Add(5*time.Minute)) {
				newest = s.Time
			}
		}
		switch {
		case newest.IsZero():
			raise(1, fmt.Sprintf("%s: no snapshot of its own yet", name))
		default:
			age := now.Sub(newest)
			perf = append(perf, fmt.Sprintf("'%s_age'=%ds;%d;%d", name, int64(age.Seconds()), int64(2*iv.Seconds()), int64(3*iv.Seconds())))
			if age > 3*iv {
				raise(2, fmt.Sprintf("%s: newest snapshot is %s old (schedule every %s)", name, age.Round(time.Second), iv))
			} else if age > 2*iv {
				raise(1, fmt.Sprintf("%s: newest snapshot is %s old (schedule every %s)", name, age.Round(time.Second), iv))
			}
		}
		if st, ok := runs[name]; ok && st.LastOutcome != "" && st.LastOutcome != "ok" {
			raise(1, fmt.Sprintf("%s: last run %s: %s", name, st.LastOutcome, firstLineOf(st.LastError)))
		}
	}
	label := []string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}[code]
	summary := fmt.Sprintf("%d policies fine", len(cfg.Policies))
	if len(problems) > 0 {
		summary = strings.Join(problems, "; ")
	}
	fmt.Fprintf(a.stdout, "SNAPD %s - %s | %s\n", label, summary, strings.Join(perf, " "))
	return exitError{code, nil}
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
