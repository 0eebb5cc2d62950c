package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/synology-snapd/snapd/internal/daemon"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/synology"
)

func cmdValidate(ctx context.Context, a *app, args []string) error {
	fs := a.flags("validate")
	connect := fs.Bool("connect", false, "also log in to each NAS, check that every share, LUN and plan exists, and warn where DSM's own retention also prunes a target")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	credDir := os.Getenv("CREDENTIALS_DIRECTORY")
	var errs []error
	for _, name := range sortedKeys(cfg.NAS) {
		n := cfg.NAS[name]
		if n.PasswordCredential != "" && credDir == "" {
			fmt.Fprintf(a.stderr, "snapd: warning: nas %s: password_credential %q cannot be checked here ($CREDENTIALS_DIRECTORY is not set; systemd sets it for the service)\n", name, n.PasswordCredential)
			continue
		}
		if _, err := n.ReadPassword(credDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return &daemon.ConfigError{Err: err}
	}
	fmt.Fprintf(a.stdout, "%s: %d NAS, %d policies: ok\n", cfg.Path, len(cfg.NAS), len(cfg.Policies))
	if !*connect {
		return nil
	}
	return a.connectCheck(ctx, cfg)
}

// connectCheck logs in to every NAS and checks that what the policies name exists. It
// warns, without failing, where DSM's own retention also prunes a policy's target.
func (a *app) connectCheck(ctx context.Context, cfg *policy.Config) error {
	var problems []string
	for _, name := range sortedKeys(cfg.NAS) {
		n := cfg.NAS[name]
		c, err := a.client(cfg, name, nil)
		if err != nil {
			problems = append(problems, fmt.Sprintf("nas %s: %v", name, err))
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 2*n.Timeout+5*time.Second)
		if strings.HasPrefix(n.URL, "https://") && n.TLS.FingerprintSHA256 == "" && !n.TLS.InsecureSkipVerify {
			if fp, err := c.PeerCertificateSHA256(cctx); err == nil {
				fmt.Fprintf(a.stdout, "nas %s: certificate sha256 fingerprint %s (pin it with tls.fingerprint_sha256)\n", name, fp)
			}
		}
		if err := c.Login(cctx); err != nil {
			problems = append(problems, fmt.Sprintf("nas %s: login: %v", name, err))
			cancel()
			c.Close(ctx)
			continue
		}
		fmt.Fprintf(a.stdout, "nas %s: logged in as %s\n", name, n.User)
		luns, lunErr := c.ListLUNs(cctx)
		plans, planErr := c.ListPlans(cctx)
		dsmRetention := true // false once the NAS turns out not to offer the API
		for _, pn := range sortedKeys(cfg.Policies) {
			p := cfg.Policies[pn]
			if p.NAS != name {
				continue
			}
			retentionKind, retentionName := "", ""
			switch p.Kind {
			case policy.TargetShare:
				if _, err := c.ListShareSnapshots(cctx, p.Target); err != nil {
					problems = append(problems, fmt.Sprintf("policy %s: share %q: %v", pn, p.Target, err))
				} else {
					retentionKind, retentionName = "share", p.Target
				}
			case policy.TargetLUN:
				uuid := "" // DSM names retention targets of LUNs by UUID
				for _, l := range luns {
					if l.UUID == p.Target || (uuid == "" && l.Name == p.Target) {
						uuid = l.UUID
					}
				}
				if lunErr != nil {
					problems = append(problems, fmt.Sprintf("policy %s: list LUNs: %v", pn, lunErr))
				} else if uuid == "" {
					problems = append(problems, fmt.Sprintf("policy %s: no LUN %q on nas %s", pn, p.Target, name))
				} else {
					retentionKind, retentionName = "lun", uuid
				}
			}
			if retentionKind != "" && dsmRetention {
				dsmRetention = a.warnDSMRetention(cctx, c, name, pn, p.Target, retentionKind, retentionName)
			}
			if p.Replication.Plan != "" {
				found := false
				for _, pl := range plans {
					found = found || pl.ID == p.Replication.Plan
				}
				if planErr != nil {
					problems = append(problems, fmt.Sprintf("policy %s: list replication plans: %v", pn, planErr))
				} else if !found {
					problems = append(problems, fmt.Sprintf("policy %s: no replication plan %q on nas %s", pn, p.Replication.Plan, name))
				}
			}
		}
		cancel()
		c.Close(ctx)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	fmt.Fprintln(a.stdout, "every share, LUN and plan exists")
	return nil
}

// warnDSMRetention warns on stderr when DSM's own retention (Snapshot Replication's
// retention policy) is set up on a policy's target: DSM then deletes snapshots by its own
// rules, snapd's included. A failed read is a warning too, as this check only advises.
// target is the policy's target as configured, name is what DSM knows it by (a LUN's
// UUID). It returns false when the NAS does not offer the API, so the caller stops asking.
func (a *app) warnDSMRetention(ctx context.Context, c *synology.Client, nasName, pn, target, kind, name string) bool {
	what := "share " + target
	if kind == "lun" {
		what = "LUN " + target
	}
	r, err := c.DSMRetention(ctx, kind, name)
	switch {
	case errors.Is(err, synology.ErrUnsupported):
		fmt.Fprintf(a.stdout, "nas %s: DSM's own retention: cannot tell: Snapshot Replication not installed\n", nasName)
		return false
	case err != nil:
		fmt.Fprintf(a.stderr, "snapd: warning: policy %s: cannot read DSM's own retention of %s: %v\n", pn, what, err)
	case r.Active:
		fmt.Fprintf(a.stderr, "snapd: warning: policy %s: DSM's own retention also prunes %s (%s); its deletions do not respect snapd's policy\n",
			pn, what, describeDSMRetention(r))
	}
	return true
}

// describeDSMRetention renders DSM's retention rules as "task 3: keep 7 days, hourly 24,
// daily 7, …", leaving out the rules that are 0.
func describeDSMRetention(r synology.DSMRetention) string {
	var rules []string
	if r.RetainDays > 0 {
		rules = append(rules, fmt.Sprintf("keep %d days", r.RetainDays))
	}
	for _, n := range []struct {
		name  string
		count int
	}{{"hourly", r.Hourly}, {"daily", r.Daily}, {"weekly", r.Weekly}, {"monthly", r.Monthly}, {"yearly", r.Yearly}} {
		if n.count > 0 {
			rules = append(rules, fmt.Sprintf("%s %d", n.name, n.count))
		}
	}
	s := fmt.Sprintf("task %d", r.TaskID)
	if len(rules) > 0 {
		s += ": " + strings.Join(rules, ", ")
	}
	return s
}
