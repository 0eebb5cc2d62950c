package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/synology-snapd/snapd/internal/control"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/runner"
	"github.com/synology-snapd/snapd/internal/state"
	"github.com/synology-snapd/snapd/internal/synology"
)

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func cmdNAS(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("nas needs a subcommand: luns, plans, snapshots, set, create, delete")
	}
	sub, args := args[0], args[1:]
	fs := a.flags("nas " + sub)
	nasName := fs.String("nas", "", "NAS name from the config (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	share := fs.String("share", "", "shared folder")
	lun := fs.String("lun", "", "LUN name or UUID")
	var snaps multi
	desc := fs.String("desc", "", "description")
	lock := fs.Bool("lock", false, "lock the snapshot")
	unlock := fs.Bool("unlock", false, "unlock the snapshot (set)")
	immutable := fs.Int("immutable-days", 0, "make the share snapshot WORM-immutable for this many days")
	force := fs.Bool("force", false, "delete: also delete locked snapshots")
	switch sub {
	case "luns", "plans":
	case "snapshots", "create":
	case "set":
		fs.Var(&snaps, "snapshot", "snapshot name")
	case "delete":
		fs.Var(&snaps, "snapshot", "snapshot name or LUN snapshot UUID (repeatable; more may follow as arguments)")
	default:
		return usagef("unknown nas subcommand %q (luns, plans, snapshots, set, create, delete)", sub)
	}
	if err := a.parse(fs, args, sub == "delete"); err != nil {
		return err
	}
	snaps = append(snaps, a.args...)
	if *nasName == "" {
		return usagef("--nas is required")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	c, err := a.client(cfg, *nasName, nil)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	needTarget := func(shareOnly bool) error {
		if (*share == "") == (*lun == "") {
			if shareOnly {
				return usagef("--share is required")
			}
			return usagef("exactly one of --share and --lun is required")
		}
		if shareOnly && *lun != "" {
			return usagef("only share snapshots have settable attributes")
		}
		return nil
	}
	switch sub {
	case "luns":
		luns, err := c.ListLUNs(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return a.printJSON(luns)
		}
		w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tUUID\tSIZE\tTYPE\tSNAPSHOTS")
		for _, l := range luns {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\n", l.Name, l.UUID, l.Size, l.Type, l.SnapshotCount)
		}
		return w.Flush()
	case "plans":
		plans, err := c.ListPlans(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return a.printJSON(plans)
		}
		w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tSOURCE\tROLE\tMODE\tLAST SYNC\tOK\tNEXT")
		for _, p := range plans {
			fmt.Fprintf(w, "%s\t%s:%s\t%s\t%s\t%s\t%v\t%s\n", p.ID, p.TargetType, p.TargetName, p.Role, p.Mode, fmtTime(p.LastSync), p.LastSyncOK, fmtTime(p.NextTrigger))
		}
		return w.Flush()
	case "snapshots":
		if err := needTarget(false); err != nil {
			return err
		}
		return a.nasSnapshots(ctx, cfg, c, *nasName, *share, *lun, *asJSON)
	case "create":
		if err := needTarget(false); err != nil {
			return err
		}
		if *lun != "" && *immutable > 0 {
			return usagef("--immutable-days applies to share snapshots only")
		}
		start := time.Now()
		var id string
		if *share != "" {
			id, err = c.CreateShareSnapshot(ctx, *share, synology.CreateShareOptions{Desc: *desc, Lock: *lock, WORMDays: *immutable})
		} else {
			uuid, rerr := lunUUID(ctx, c, *lun)
			if rerr != nil {
				return rerr
			}
			id, err = c.TakeLUNSnapshot(ctx, uuid, synology.TakeLUNOptions{Desc: *desc, Lock: *lock})
		}
		a.journalNAS(ctx, cfg, state.Entry{Time: time.Now(), NAS: *nasName, Target: targetName(*share, *lun), Action: runner.ActionCreate, Snapshot: id, Outcome: outcome(err), Error: errText(err), DurationMS: time.Since(start).Milliseconds()})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "created %s\n", id)
		return nil
	case "set":
		if err := needTarget(true); err != nil {
			return err
		}
		if len(snaps) != 1 {
			return usagef("set needs exactly one --snapshot")
		}
		if *lock && *unlock {
			return usagef("--lock and --unlock contradict each other")
		}
		var attrs synology.ShareSnapshotAttrs
		fs.Visit(func(f *flagT) {
			switch f.Name {
			case "desc":
				attrs.Desc = desc
			case "lock":
				attrs.Lock = lock
			case "unlock":
				v := !*unlock
				attrs.Lock = &v
			}
		})
		attrs.WORMDays = *immutable
		if attrs.Desc == nil && attrs.Lock == nil && attrs.WORMDays == 0 {
			return usagef("nothing to set: give --desc, --lock, --unlock or --immutable-days")
		}
		start := time.Now()
		err := c.SetShareSnapshot(ctx, *share, snaps[0], attrs)
		a.journalNAS(ctx, cfg, state.Entry{Time: time.Now(), NAS: *nasName, Target: targetName(*share, ""), Action: runner.ActionSet, Snapshot: snaps[0], Outcome: outcome(err), Error: errText(err), DurationMS: time.Since(start).Milliseconds()})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "updated %s\n", snaps[0])
		return nil
	case "delete":
		if err := needTarget(false); err != nil {
			return err
		}
		if len(snaps) == 0 {
			return usagef("delete needs at least one --snapshot")
		}
		return a.nasDelete(ctx, cfg, c, *nasName, *share, *lun, snaps, *force)
	}
	return nil
}

type flagT = flag.Flag

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func targetName(share, lun string) string {
	if share != "" {
		return "share:" + share
	}
	return "lun:" + lun
}

func outcome(err error) string {
	if err != nil {
		return runner.OutcomeError
	}
	return runner.OutcomeOK
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func lunUUID(ctx context.Context, c *synology.Client, lun string) (string, error) {
	luns, err := c.ListLUNs(ctx)
	if err != nil {
		return "", err
	}
	for _, l := range luns {
		if l.UUID == lun || l.Name == lun {
			return l.UUID, nil
		}
	}
	return "", fmt.Errorf("no LUN %q", lun)
}

// journalNAS journals a `nas` command's action like the daemon's own: through the
// daemon when it runs, else into the state database.
func (a *app) journalNAS(ctx context.Context, cfg *policy.Config, e state.Entry) {
	raw, _ := json.Marshal([]state.Entry{e})
	asked, err := a.askDaemon(ctx, control.Request{Cmd: "append", Args: raw}, nil)
	if !asked {
		db, oerr := a.openState(cfg)
		if oerr != nil {
			err = oerr
		} else {
			_, err = db.Append(e)
			db.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "snapd: warning: not journaled: %v\n", err)
	}
}

// nasSnap is one row of `nas snapshots --json`.
type nasSnap struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Time      time.Time  `json:"time"`
	Desc      string     `json:"desc"`
	Locked    bool       `json:"locked"`
	WORMUntil *time.Time `json:"worm_until"`
	Held      []string   `json:"replication_hold"`
	Policy    string     `json:"policy"`  // owning policy from the tag, "" = none
	Covered   bool       `json:"covered"` // a configured policy with that name targets it
}

func (a *app) nasSnapshots(ctx context.Context, cfg *policy.Config, c *synology.Client, nasName, share, lun string, asJSON bool) error {
	var rows []nasSnap
	add := func(id, name string, t time.Time, desc string, locked bool, worm time.Time, held []string) {
		r := nasSnap{ID: id, Name: name, Time: t, Desc: desc, Locked: locked, Held: held}
		if held == nil {
			r.Held = []string{}
		}
		if !worm.IsZero() {
			r.WORMUntil = &worm
		}
		if p, ok := policy.Owner(desc); ok {
			r.Policy = p
			if pp, ok := cfg.Policies[p]; ok && pp.NAS == nasName && (pp.Target == share || pp.Target == lun) {
				r.Covered = true
			}
		}
		rows = append(rows, r)
	}
	if share != "" {
		ss, err := c.ListShareSnapshots(ctx, share)
		if err != nil {
			return err
		}
		for _, s := range ss {
			var w time.Time
			if s.WORM {
				w = s.WORMEnd
			}
			add(s.Name, s.Name, s.Time, s.Desc, s.Locked, w, s.AppKeys)
		}
	} else {
		uuid, err := lunUUID(ctx, c, lun)
		if err != nil {
			return err
		}
		ls, err := c.ListLUNSnapshots(ctx, uuid)
		if err != nil {
			return err
		}
		for _, s := range ls {
			var w time.Time
			if s.WORM {
				w = runner.Forever
			}
			add(s.UUID, s.Name, s.Time, s.Desc, s.Locked, w, s.AppKeys)
		}
	}
	if asJSON {
		if rows == nil {
			rows = []nasSnap{}
		}
		return a.printJSON(rows)
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tTIME\tLOCKED\tWORM UNTIL\tHELD\tPOLICY\tDESCRIPTION")
	for _, r := range rows {
		worm, held, pol := "-", "-", "-"
		if r.WORMUntil != nil {
			worm = r.WORMUntil.Format("2006-01-02")
		}
		if len(r.Held) > 0 {
			held = "yes"
		}
		if r.Policy != "" {
			pol = r.Policy
			if !r.Covered {
				pol += " (no such policy here)"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\t%s\t%s\n", r.Name, r.Time.Format("2006-01-02 15:04:05 -07:00"), r.Locked, worm, held, pol, r.Desc)
	}
	return w.Flush()
}

// nasDelete deletes named snapshots, refusing WORM-locked and replication-held ones,
// and locked ones unless forced.
func (a *app) nasDelete(ctx context.Context, cfg *policy.Config, c *synology.Client, nasName, share, lun string, names []string, force bool) error {
	type info struct {
		locked, held bool
		worm         time.Time
	}
	known := map[string]info{}
	var uuid string
	if share != "" {
		ss, err := c.ListShareSnapshots(ctx, share)
		if err != nil {
			return err
		}
		for _, s := range ss {
			in := info{locked: s.Locked, held: len(s.AppKeys) > 0}
			if s.WORM {
				in.worm = s.WORMEnd
				if in.worm.IsZero() {
					in.worm = runner.Forever
				}
			}
			known[s.Name] = in
		}
	} else {
		var err error
		if uuid, err = lunUUID(ctx, c, lun); err != nil {
			return err
		}
		ls, err := c.ListLUNSnapshots(ctx, uuid)
		if err != nil {
			return err
		}
		for _, s := range ls {
			in := info{locked: s.Locked, held: len(s.AppKeys) > 0}
			if s.WORM {
				in.worm = runner.Forever
			}
			known[s.UUID] = in
			known[s.Name] = in
		}
	}
	now := time.Now()
	var refusals []string
	for _, n := range names {
		in, ok := known[n]
		switch {
		case !ok:
			refusals = append(refusals, fmt.Sprintf("%s: no such snapshot", n))
		case in.worm.After(now):
			refusals = append(refusals, fmt.Sprintf("%s: WORM-locked until %s; DSM will not delete it before then", n, in.worm.Format(time.RFC3339)))
		case in.held:
			refusals = append(refusals, fmt.Sprintf("%s: held by replication (or another application); release it in DSM first", n))
		case in.locked && !force:
			refusals = append(refusals, fmt.Sprintf("%s: locked; use --force to delete it anyway", n))
		}
	}
	if len(refusals) > 0 {
		return fmt.Errorf("refusing to delete:\n  %s", strings.Join(refusals, "\n  "))
	}
	start := time.Now()
	var err error
	if share != "" {
		err = c.DeleteShareSnapshots(ctx, share, names)
	} else {
		err = c.DeleteLUNSnapshots(ctx, names)
	}
	var still map[string]bool
	if share != "" {
		if ss, lerr := c.ListShareSnapshots(ctx, share); lerr == nil {
			still = map[string]bool{}
			for _, s := range ss {
				still[s.Name] = true
			}
		}
	} else if ls, lerr := c.ListLUNSnapshots(ctx, uuid); lerr == nil {
		still = map[string]bool{}
		for _, s := range ls {
			still[s.UUID] = true
		}
	}
	var failed []string
	for _, n := range names {
		e := state.Entry{Time: time.Now(), NAS: nasName, Target: targetName(share, lun), Action: runner.ActionDelete, Snapshot: n, Outcome: runner.OutcomeOK, DurationMS: time.Since(start).Milliseconds()}
		switch {
		case still == nil:
			e.Outcome, e.Error = runner.OutcomeError, "outcome unknown: could not list afterwards"
		case still[n]:
			e.Outcome, e.Error = runner.OutcomeError, "still present after delete"
		}
		if e.Outcome != runner.OutcomeOK {
			failed = append(failed, n)
		} else {
			fmt.Fprintf(a.stdout, "deleted %s\n", n)
		}
		a.journalNAS(ctx, cfg, e)
	}
	if len(failed) > 0 {
		return errors.Join(fmt.Errorf("not deleted: %s", strings.Join(failed, ", ")), err)
	}
	return nil
}
