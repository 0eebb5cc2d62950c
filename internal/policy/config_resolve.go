package policy

import (
	"encoding/hex"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/synology-snapd/snapd/internal/scheduler"
)

// Defaults of keys the file leaves out; Parse's doc comment lists them for users.
const (
	cfgDefaultLogLevel         = "info"
	cfgDefaultLogFormat        = "auto"
	cfgDefaultJournalRetention = 90 * 24 * time.Hour
	cfgDefaultTimeout          = 30 * time.Second
	cfgDefaultMaxConcurrent    = 2
	cfgDefaultCatchUp          = true
	cfgDefaultPick             = PickOldest
	cfgDefaultScope            = ScopeOwn
	cfgDefaultMinKeep          = 1
	cfgDefaultMaxDeletes       = 50
	cfgDefaultLockSnapshot     = true
)

var (
	cfgNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	cfgEnvRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

const cfgMaxNameLen = 64

// cfgOwnTag is the start of the ownership tag snapd appends to descriptions.
const cfgOwnTag = "[snapd:"

// cfgFireRef is a fixed instant from which a schedule must fire within the
// five years cron.SpecSchedule searches; a fixed one keeps Parse deterministic.
var cfgFireRef = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func (l *cfgLoader) resolve(raw *cfgDoc) *Config {
	cfg := &Config{
		Path:     l.file,
		Location: time.Local,
		NAS:      map[string]*NAS{},
		Policies: map[string]*Policy{},
	}
	if tz, ok := raw.Timezone.get(); ok {
		if tz == "" {
			l.errAt(cfgPath("timezone"), "must not be empty: leave timezone out for the host's local zone")
		} else if loc, err := time.LoadLocation(tz); err != nil {
			l.errAt(cfgPath("timezone"), "unknown time zone %q: use an IANA name such as Europe/Berlin", tz)
		} else {
			cfg.Location = loc
		}
	}
	if dir, ok := raw.StateDir.get(); ok && dir != "" {
		if !filepath.IsAbs(dir) {
			l.errAt(cfgPath("state_dir"), "must be an absolute path, not %q", dir)
		}
		cfg.StateDir = filepath.Clean(dir)
	}
	l.resolveGlobals(raw, cfg)

	nasNames := map[string]bool{}
	for _, name := range cfgSortedKeys(raw.NAS) {
		n := raw.NAS[name]
		nasNames[name] = true
		if n == nil {
			n = &cfgNASDoc{}
		}
		np := cfgPath("nas", name)
		l.checkName(np, "NAS", name)
		cfg.NAS[name] = l.resolveNAS(np, name, n)
	}
	if len(raw.NAS) == 0 {
		l.errDeps([][]string{cfgPath("nas")}, cfgPath("nas"), "no NAS defined: add one under nas:")
	}

	def := raw.Defaults
	if def == nil {
		def = &cfgDefaultsDoc{}
	}
	dp := cfgPath("defaults")
	l.checkCommon(dp, &def.cfgCommonDoc, cfg.Location)
	if def.Replication != nil {
		l.checkWhen(cfgPath("defaults", "replication", "when"), def.Replication.When, false, cfg.Location)
	}
	if ref, ok := def.NAS.get(); ok && !nasNames[ref] {
		l.errDeps([][]string{cfgPath("defaults", "nas"), cfgPath("nas", ref)}, cfgPath("defaults", "nas"),
			"unknown NAS %q (defined: %s)", ref, cfgList(nasNames))
	}

	for _, name := range cfgSortedKeys(raw.Policies) {
		pol := raw.Policies[name]
		if pol == nil {
			pol = &cfgPolicyDoc{}
		}
		pp := cfgPath("policies", name)
		l.checkName(pp, "policy", name)
		l.checkCommon(pp, &pol.cfgCommonDoc, cfg.Location)
		if pol.Replication != nil {
			l.checkWhen(cfgAppend(pp, "replication", "when"), pol.Replication.When, false, cfg.Location)
		}
		cfg.Policies[name] = l.resolvePolicy(pp, name, pol, def, nasNames, cfg.Location)
	}
	if len(raw.Policies) == 0 {
		l.errDeps([][]string{cfgPath("policies")}, cfgPath("policies"), "no policies defined: add one under policies:")
	}
	return cfg
}

// cfgPath builds a key path.
func cfgPath(elems ...string) []string { return elems }

func (l *cfgLoader) resolveGlobals(raw *cfgDoc, cfg *Config) {
	cfg.Log = LogConfig{Level: cfgDefaultLogLevel, Format: cfgDefaultLogFormat}
	if raw.Log != nil {
		if v, ok := raw.Log.Level.get(); ok {
			cfg.Log.Level = v
			l.checkEnum(cfgPath("log", "level"), v, "trace", "debug", "info", "warn", "error")
		}
		if v, ok := raw.Log.Format.get(); ok {
			cfg.Log.Format = v
			l.checkEnum(cfgPath("log", "format"), v, "auto", "journald", "json", "console")
		}
	}
	cfg.Journal.Retention = cfgDefaultJournalRetention
	if raw.Journal != nil {
		if v, ok := raw.Journal.Retention.get(); ok {
			cfg.Journal.Retention = v
			if v <= 0 {
				l.errAt(cfgPath("journal", "retention"), "must be > 0")
			}
		}
	}
	if raw.Metrics != nil {
		if v, ok := raw.Metrics.Listen.get(); ok && v != "" {
			cfg.Metrics.Listen = v
			if _, port, err := net.SplitHostPort(v); err != nil || !cfgValidPort(port) {
				l.errAt(cfgPath("metrics", "listen"), "must be host:port (such as 127.0.0.1:9711) or \"\" for off, not %q", v)
			}
		}
	}
}

func (l *cfgLoader) checkName(path []string, what, name string) {
	if !cfgNameRe.MatchString(name) || len(name) > cfgMaxNameLen {
		l.errAt(path, "bad %s name %q: use a-z, 0-9, _, . and -, starting with a letter or digit, at most %d characters", what, name, cfgMaxNameLen)
	}
}

func (l *cfgLoader) checkEnum(path []string, v string, valid ...string) bool {
	for _, s := range valid {
		if v == s {
			return true
		}
	}
	l.errAt(path, "must be one of %s, not %q", strings.Join(valid, ", "), v)
	return false
}

func (l *cfgLoader) resolveNAS(np []string, name string, raw *cfgNASDoc) *NAS {
	n := &NAS{Name: name, Timeout: cfgDefaultTimeout, MaxConcurrent: cfgDefaultMaxConcurrent}
	at := func(elems ...string) []string { return cfgAppend(np, elems...) }

	https := false
	if v, ok := raw.URL.get(); !ok {
		l.errDeps([][]string{at("url")}, np, "url is required, such as https://nas.example.lan:5001")
	} else {
		n.URL = v
		u, err := url.Parse(v)
		switch {
		case err != nil:
			l.errAt(at("url"), "bad url %q: %v", v, cfgURLErr(err))
		case u.Scheme != "http" && u.Scheme != "https":
			l.errAt(at("url"), "must start with https:// or http://, not %q", v)
		case u.Host == "" || u.Hostname() == "":
			l.errAt(at("url"), "has no host: %q", v)
		case u.User != nil:
			l.errAt(at("url"), "must not hold credentials: set user and a password source instead")
		case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
			l.errAt(at("url"), "must not have a query or fragment: %q", v)
		case u.Port() != "" && !cfgValidPort(u.Port()):
			l.errAt(at("url"), "bad port in %q", v)
		default:
			https = u.Scheme == "https"
			if !https {
				l.warnAt(at("url"), "plain http sends the DSM password in clear text; use https")
			}
		}
	}
	if v, ok := raw.User.get(); !ok {
		l.errDeps([][]string{at("user")}, np, "user is required")
	} else if v == "" {
		l.errAt(at("user"), "must not be empty")
	} else {
		n.User = v
	}
	l.resolvePassword(np, raw, n)

	if raw.TLS != nil {
		t := raw.TLS
		tp := at("tls")
		set := false
		if v, ok := t.CAFile.get(); ok && v != "" {
			n.TLS.CAFile = cfgResolvePath(l.file, v)
			set = true
		}
		if v, ok := t.FingerprintSHA256.get(); ok && v != "" {
			fp := strings.ToLower(strings.ReplaceAll(v, ":", ""))
			if b, err := hex.DecodeString(fp); err != nil || len(b) != 32 {
				l.errAt(cfgAppend(tp, "fingerprint_sha256"), "must be 64 hexadecimal digits, colons optional (as `openssl x509 -noout -fingerprint -sha256` prints)")
			}
			n.TLS.FingerprintSHA256 = fp
			set = true
		}
		if v, ok := t.ServerName.get(); ok && v != "" {
			n.TLS.ServerName = v
			set = true
		}
		if v, ok := t.InsecureSkipVerify.get(); ok && v {
			n.TLS.InsecureSkipVerify = true
			set = true
			switch {
			case n.TLS.CAFile != "":
				l.errAt(cfgAppend(tp, "insecure_skip_verify"), "contradicts ca_file: a CA bundle is only used when the certificate is verified; remove one of them")
			case n.TLS.FingerprintSHA256 != "":
				l.errAt(cfgAppend(tp, "insecure_skip_verify"), "contradicts fingerprint_sha256: the pinned certificate is checked by itself, without CA verification; remove insecure_skip_verify")
			default:
				l.warnAt(cfgAppend(tp, "insecure_skip_verify"), "the NAS certificate is not verified; pin it with fingerprint_sha256 instead (`snapd validate --connect` prints it)")
			}
		}
		if set && n.URL != "" && !https && strings.HasPrefix(n.URL, "http://") {
			l.errAt(tp, "tls settings need an https:// url")
		}
	}
	if v, ok := raw.Timeout.get(); ok {
		n.Timeout = v
		if v <= 0 {
			l.errAt(at("timeout"), "must be > 0")
		}
	}
	if v, ok := raw.MaxConcurrent.get(); ok {
		n.MaxConcurrent = v
		if v < 1 {
			l.errAt(at("max_concurrent"), "must be >= 1")
		}
	}
	return n
}

// resolvePassword checks that exactly one password source is set and well formed.
func (l *cfgLoader) resolvePassword(np []string, raw *cfgNASDoc, n *NAS) {
	type source struct {
		key string
		v   *cfgString
	}
	sources := []source{
		{"password", raw.Password},
		{"password_credential", raw.PasswordCredential},
		{"password_file", raw.PasswordFile},
		{"password_env", raw.PasswordEnv},
	}
	var set []string
	var deps [][]string
	for _, s := range sources {
		deps = append(deps, cfgAppend(np, s.key))
		v, ok := s.v.get()
		if !ok {
			continue
		}
		set = append(set, s.key)
		sp := cfgAppend(np, s.key)
		if v == "" {
			l.errAt(sp, "must not be empty")
			continue
		}
		switch s.key {
		case "password":
			n.Password = v
		case "password_credential":
			n.PasswordCredential = v
			if strings.ContainsRune(v, '/') || v == "." || v == ".." {
				l.errAt(sp, "must be a credential name (as in LoadCredential=NAME:...), not a path: %q", v)
			}
		case "password_file":
			n.PasswordFile = cfgResolvePath(l.file, v)
		case "password_env":
			n.PasswordEnv = v
			if !cfgEnvRe.MatchString(v) {
				l.errAt(sp, "must be an environment variable name, not %q", v)
			}
		}
	}
	switch {
	case len(set) == 0:
		l.errDeps(deps, np, "no password source: set one of password_credential, password_file, password_env or password")
	case len(set) > 1:
		l.errAt(cfgAppend(np, set[1]), "only one password source is allowed, found %s", strings.Join(set, " and "))
	}
}

// cfgResolvePath makes a path from the configuration relative to the file's directory.
func cfgResolvePath(configFile, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(filepath.Dir(configFile), path)
}

func cfgValidPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

// cfgURLErr drops url.Error's repetition of the URL.
func cfgURLErr(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// checkCommon checks the values of the keys that defaults and policies share, in
// the block where they are written, so a bad default is reported once.
func (l *cfgLoader) checkCommon(bp []string, c *cfgCommonDoc, loc *time.Location) {
	at := func(elems ...string) []string { return cfgAppend(bp, elems...) }
	if v, ok := c.Schedule.get(); ok {
		l.parseCron(at("schedule"), v, loc)
	}
	if v, ok := c.Jitter.get(); ok && v < 0 {
		l.errAt(at("jitter"), "must be >= 0")
	}
	if s := c.Snapshot; s != nil {
		if v, ok := s.Description.get(); ok && strings.Contains(v, cfgOwnTag) {
			l.errAt(at("snapshot", "description"), "must not contain %q: snapd appends that ownership tag itself", cfgOwnTag)
		}
		if v, ok := s.ImmutableDays.get(); ok && v < 0 {
			l.errAt(at("snapshot", "immutable_days"), "must be >= 0")
		}
	}
	if r := c.Retention; r != nil {
		rp := at("retention")
		for _, f := range []struct {
			key string
			v   *cfgInt
		}{
			{"keep_last", r.KeepLast}, {"hourly", r.Hourly}, {"daily", r.Daily}, {"weekly", r.Weekly},
			{"monthly", r.Monthly}, {"yearly", r.Yearly}, {"max_deletes_per_run", r.MaxDeletesPerRun},
		} {
			if v, ok := f.v.get(); ok && v < 0 {
				l.errAt(cfgAppend(rp, f.key), "must be >= 0")
			}
		}
		if v, ok := r.Within.get(); ok && v < 0 {
			l.errAt(cfgAppend(rp, "within"), "must be >= 0")
		}
		if v, ok := r.MinKeep.get(); ok && v < 1 {
			l.errAt(cfgAppend(rp, "min_keep"), "must be >= 1 (the newest snapshot is never deleted anyway)")
		}
		if v, ok := r.Pick.get(); ok {
			l.checkEnum(cfgAppend(rp, "pick"), v, string(PickOldest), string(PickNewest))
		}
		if v, ok := r.Scope.get(); ok {
			l.checkEnum(cfgAppend(rp, "scope"), v, string(ScopeOwn), string(ScopeAll))
		}
	}
	l.checkWhen(at("prune"), c.Prune, true, loc)
}

// parseCron parses a schedule as the scheduler will, and refuses one that never fires.
func (l *cfgLoader) parseCron(path []string, spec string, loc *time.Location) cron.Schedule {
	s, err := scheduler.Parse(spec, loc)
	if err != nil {
		l.errAt(path, "%v", err)
		return nil
	}
	if s.Next(cfgFireRef).IsZero() {
		l.errAt(path, "cron expression %q never fires", spec)
		return nil
	}
	return s
}

// checkWhen checks a prune: or replication.when: value.
func (l *cfgLoader) checkWhen(path []string, w *cfgString, allowNever bool, loc *time.Location) {
	v, ok := w.get()
	if !ok {
		return
	}
	switch {
	case v == string(AfterSnapshot):
	case v == string(Never) && allowNever:
	case v == string(Never):
		l.errAt(path, "must be after_snapshot or a cron expression (leave replication.plan empty for no replication)")
	default:
		if _, err := scheduler.Parse(v, loc); err != nil {
			alts := "after_snapshot or a cron expression"
			if allowNever {
				alts = "after_snapshot, never or a cron expression"
			}
			l.errAt(path, "must be %s: %v", alts, err)
			return
		}
		l.parseCron(path, v, loc)
	}
}

// resolveWhen turns a checked prune:/when: value into a When.
func cfgResolveWhen(v string, loc *time.Location) When {
	switch v {
	case "", string(AfterSnapshot):
		return When{Kind: AfterSnapshot}
	case string(Never):
		return When{Kind: Never}
	}
	s, _ := scheduler.Parse(v, loc)
	return When{Kind: OnSchedule, Spec: v, Schedule: s}
}

func (l *cfgLoader) resolvePolicy(pp []string, name string, pol *cfgPolicyDoc, def *cfgDefaultsDoc, nasNames map[string]bool, loc *time.Location) *Policy {
	at := func(elems ...string) []string { return cfgAppend(pp, elems...) }
	c, d := &pol.cfgCommonDoc, &def.cfgCommonDoc
	str := func(pv, dv *cfgString) (string, bool) {
		if v, ok := pv.get(); ok {
			return v, true
		}
		return dv.get()
	}
	out := &Policy{Name: name, CatchUp: cfgDefaultCatchUp}

	// Which NAS.
	if ref, ok := c.NAS.get(); ok {
		out.NAS = ref
		if !nasNames[ref] {
			l.errDeps([][]string{at("nas"), cfgPath("nas", ref)}, at("nas"), "unknown NAS %q (defined: %s)", ref, cfgList(nasNames))
		}
	} else if ref, ok := d.NAS.get(); ok {
		out.NAS = ref // checked once, at defaults.nas
	} else if len(nasNames) == 1 {
		for n := range nasNames {
			out.NAS = n
		}
	} else if len(nasNames) > 1 {
		l.errDeps([][]string{at("nas"), cfgPath("defaults", "nas")}, pp, "nas is required when several NAS are defined (%s)", cfgList(nasNames))
	}

	// Which target.
	share, hasShare := pol.Share.get()
	lun, hasLUN := pol.LUN.get()
	targetDeps := [][]string{at("share"), at("lun")}
	switch {
	case hasShare && hasLUN:
		l.errDeps(targetDeps, at("lun"), "share and lun are mutually exclusive: a policy snapshots one target")
	case hasShare:
		out.Kind, out.Target = TargetShare, share
		if share == "" {
			l.errAt(at("share"), "must not be empty")
		}
	case hasLUN:
		out.Kind, out.Target = TargetLUN, lun
		if lun == "" {
			l.errAt(at("lun"), "must not be empty")
		}
	default:
		l.errDeps(targetDeps, pp, "one of share or lun is required")
	}

	// When.
	if v, ok := str(c.Schedule, d.Schedule); ok {
		out.Spec = v
		out.Schedule, _ = scheduler.Parse(v, loc)
	} else {
		l.errDeps([][]string{at("schedule"), cfgPath("defaults", "schedule")}, pp, "schedule is required (here or in defaults)")
	}
	if v, ok := c.Jitter.get(); ok {
		out.Jitter = v
	} else if v, ok := d.Jitter.get(); ok {
		out.Jitter = v
	}
	if v, ok := c.CatchUp.get(); ok {
		out.CatchUp = v
	} else if v, ok := d.CatchUp.get(); ok {
		out.CatchUp = v
	}
	v, _ := str(c.Prune, d.Prune)
	out.Prune = cfgResolveWhen(v, loc)

	l.resolveSnapshot(pp, out, c.Snapshot, d.Snapshot)
	l.resolveRetention(pp, out, c.Retention, d.Retention)

	out.Replication = Replication{When: When{Kind: AfterSnapshot}, LockSnapshot: cfgDefaultLockSnapshot}
	var pr *cfgReplicationDoc
	if pol.Replication != nil {
		pr = pol.Replication
	} else {
		pr = &cfgReplicationDoc{}
	}
	dr := def.Replication
	if dr == nil {
		dr = &cfgReplicationWhenDoc{}
	}
	out.Replication.Plan, _ = pr.Plan.get()
	w, _ := str(pr.When, dr.When)
	out.Replication.When = cfgResolveWhen(w, loc)
	if v, ok := pr.LockSnapshot.get(); ok {
		out.Replication.LockSnapshot = v
	} else if v, ok := dr.LockSnapshot.get(); ok {
		out.Replication.LockSnapshot = v
	}
	return out
}

func (l *cfgLoader) resolveSnapshot(pp []string, out *Policy, ps, ds *cfgSnapshotDoc) {
	if ps == nil {
		ps = &cfgSnapshotDoc{}
	}
	if ds == nil {
		ds = &cfgSnapshotDoc{}
	}
	o := &out.Snapshot
	if v, ok := ps.Description.get(); ok {
		o.Description = v
	} else if v, ok := ds.Description.get(); ok {
		o.Description = v
	}
	if v, ok := ps.Lock.get(); ok {
		o.Lock = v
	} else if v, ok := ds.Lock.get(); ok {
		o.Lock = v
	}
	immutableOwn := false
	if v, ok := ps.ImmutableDays.get(); ok {
		o.ImmutableDays, immutableOwn = v, true
	} else if v, ok := ds.ImmutableDays.get(); ok {
		o.ImmutableDays = v
	}
	appAwareOwn := false
	if v, ok := ps.AppAware.get(); ok {
		o.AppAware, appAwareOwn = v, true
	} else if v, ok := ds.AppAware.get(); ok {
		o.AppAware = v
	}
	deps := [][]string{cfgAppend(pp, "share"), cfgAppend(pp, "lun")}
	if out.Kind == TargetLUN && o.ImmutableDays > 0 {
		if immutableOwn {
			l.errDeps(deps, cfgAppend(pp, "snapshot", "immutable_days"), "immutable (WORM) snapshots exist for shares only, not for a LUN")
		} else {
			l.errDeps(deps, cfgAppend(pp, "lun"), "defaults.snapshot.immutable_days = %d applies here, but immutable (WORM) snapshots exist for shares only: set snapshot.immutable_days: 0 in this policy", o.ImmutableDays)
		}
	}
	if out.Kind == TargetShare && o.AppAware {
		if appAwareOwn {
			l.errDeps(deps, cfgAppend(pp, "snapshot", "app_aware"), "application-aware snapshots exist for LUNs only, not for a share")
		} else {
			l.errDeps(deps, cfgAppend(pp, "share"), "defaults.snapshot.app_aware applies here, but application-aware snapshots exist for LUNs only: set snapshot.app_aware: false in this policy")
		}
	}
}

func (l *cfgLoader) resolveRetention(pp []string, out *Policy, pr, dr *cfgRetentionDoc) {
	own := pr != nil
	if pr == nil {
		pr = &cfgRetentionDoc{}
	}
	if dr == nil {
		dr = &cfgRetentionDoc{}
	}
	r := Retention{Pick: cfgDefaultPick, Scope: cfgDefaultScope, MinKeep: cfgDefaultMinKeep, MaxDeletesPerRun: cfgDefaultMaxDeletes}
	num := func(dst *int, pv, dv *cfgInt) {
		if v, ok := pv.get(); ok {
			*dst = v
		} else if v, ok := dv.get(); ok {
			*dst = v
		}
	}
	num(&r.KeepLast, pr.KeepLast, dr.KeepLast)
	num(&r.Hourly, pr.Hourly, dr.Hourly)
	num(&r.Daily, pr.Daily, dr.Daily)
	num(&r.Weekly, pr.Weekly, dr.Weekly)
	num(&r.Monthly, pr.Monthly, dr.Monthly)
	num(&r.Yearly, pr.Yearly, dr.Yearly)
	num(&r.MinKeep, pr.MinKeep, dr.MinKeep)
	num(&r.MaxDeletesPerRun, pr.MaxDeletesPerRun, dr.MaxDeletesPerRun)
	if v, ok := pr.Within.get(); ok {
		r.Within = v
	} else if v, ok := dr.Within.get(); ok {
		r.Within = v
	}
	if v, ok := pr.Pick.get(); ok {
		r.Pick = Pick(v)
	} else if v, ok := dr.Pick.get(); ok {
		r.Pick = Pick(v)
	}
	if v, ok := pr.Scope.get(); ok {
		r.Scope = Scope(v)
	} else if v, ok := dr.Scope.get(); ok {
		r.Scope = Scope(v)
	}
	out.Retention = r
	if r.KeepLast <= 0 && r.Within <= 0 && r.Hourly <= 0 && r.Daily <= 0 && r.Weekly <= 0 && r.Monthly <= 0 && r.Yearly <= 0 {
		at := pp
		if own {
			at = cfgAppend(pp, "retention")
		}
		l.errDeps([][]string{cfgAppend(pp, "retention"), cfgPath("defaults", "retention")}, at,
			"retention keeps nothing: set at least one of keep_last, within, hourly, daily, weekly, monthly, yearly (here or in defaults.retention)")
	}
}

// cfgList lists names sorted, for messages.
func cfgList(names map[string]bool) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(cfgSortedKeys(names), ", ")
}
