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
)

func cmdValidate(ctx context.Context, a *app, args []string) error {
	fs := a.flags("validate")
	connect := fs.Bool("connect", false, "also log in to each NAS and check that every share, LUN and plan exists")
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

// connectCheck logs in to every NAS and checks that what the policies name exists.
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
		for _, pn := range sortedKeys(cfg.Policies) {
			p := cfg.Policies[pn]
			if p.NAS != name {
				continue
			}
			switch p.Kind {
			case policy.TargetShare:
				if _, err := c.ListShareSnapshots(cctx, p.Target); err != nil {
					problems = append(problems, fmt.Sprintf("policy %s: share %q: %v", pn, p.Target, err))
				}
			case policy.TargetLUN:
				found := false
				for _, l := range luns {
					found = found || l.UUID == p.Target || l.Name == p.Target
				}
				if lunErr != nil {
					problems = append(problems, fmt.Sprintf("policy %s: list LUNs: %v", pn, lunErr))
				} else if !found {
					problems = append(problems, fmt.Sprintf("policy %s: no LUN %q on nas %s", pn, p.Target, name))
				}
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
