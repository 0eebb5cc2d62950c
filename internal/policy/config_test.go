package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// TestSampleConfigsLoad loads every file in configs/: samples are documentation,
// and documentation that does not load is wrong.
func TestSampleConfigsLoad(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no sample configs found in configs/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatalf("Load(%s) = %v, want no error", f, err)
			}
			if len(cfg.Policies) == 0 || len(cfg.NAS) == 0 {
				t.Errorf("Load(%s): %d NAS, %d policies, want some of each", f, len(cfg.NAS), len(cfg.Policies))
			}
			for name, p := range cfg.Policies {
				if p.Schedule == nil {
					t.Errorf("Load(%s): policy %s has no parsed schedule", f, name)
				}
				if cfg.NAS[p.NAS] == nil {
					t.Errorf("Load(%s): policy %s names NAS %q, which is not defined", f, name, p.NAS)
				}
			}
		})
	}
}

// TestInvalidConfigs checks that every file under testdata/invalid fails with
// exactly the lines kept in NAME.err (go test -run TestInvalidConfigs -update
// rewrites them), and that each line is a *ConfigError.
func TestInvalidConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no files in testdata/invalid")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			cfg, err := Load(f)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, nil; want an error", f, cfg)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run with -update to create it)", rerr)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("Load(%s) error mismatch (-want +got):\n%s", f, d)
			}
			for _, e := range cfgUnjoin(err) {
				var ce *ConfigError
				if !errors.As(e, &ce) {
					t.Errorf("Load(%s): %q is a %T, want *ConfigError", f, e, e)
					continue
				}
				if ce.File != f {
					t.Errorf("Load(%s): ConfigError.File = %q, want %q", f, ce.File, f)
				}
			}
		})
	}
}

// cfgUnjoin returns the errors inside an errors.Join, or err alone.
func cfgUnjoin(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return []error{err}
}

const cfgMinimal = `
nas:
  nas1:
    url: https://nas1.lan:5001
    user: bot
    password_env: NAS1_PASSWORD
policies:
  homes:
    share: homes
    schedule: "0 * * * *"
    retention: {daily: 7}
`

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse("minimal.yaml", []byte(cfgMinimal))
	if err != nil {
		t.Fatalf("Parse(minimal) = %v", err)
	}
	sched := func(spec string) cron.Schedule {
		s, err := cron.ParseStandard(spec)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := &Config{
		Path:     "minimal.yaml",
		Location: time.Local,
		Log:      LogConfig{Level: "info", Format: "auto"},
		Journal:  JournalConfig{Retention: 90 * 24 * time.Hour},
		NAS: map[string]*NAS{"nas1": {
			Name: "nas1", URL: "https://nas1.lan:5001", User: "bot", PasswordEnv: "NAS1_PASSWORD",
			Timeout: 30 * time.Second, MaxConcurrent: 2,
		}},
		Policies: map[string]*Policy{"homes": {
			Name: "homes", NAS: "nas1", Kind: TargetShare, Target: "homes",
			Spec: "0 * * * *", Schedule: sched("0 * * * *"), CatchUp: true,
			Retention: Retention{Daily: 7, Pick: PickOldest, Scope: ScopeOwn, MinKeep: 1, MaxDeletesPerRun: 50},
			Prune:     When{Kind: AfterSnapshot},
			Replication: Replication{
				When: When{Kind: AfterSnapshot}, LockSnapshot: true,
			},
		}},
	}
	opts := cmp.Options{
		cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() }),
		cmpopts.IgnoreFields(Policy{}, "Schedule"),
	}
	if d := cmp.Diff(want, cfg, opts); d != "" {
		t.Errorf("Parse(minimal) mismatch (-want +got):\n%s", d)
	}
	if got := cfg.Policies["homes"].Schedule; got == nil {
		t.Fatalf("Parse(minimal): homes has no schedule")
	}
}

// TestParseMerge checks that defaults are merged under each policy key by key,
// nested blocks included, and that a policy's own keys win.
func TestParseMerge(t *testing.T) {
	const doc = `
timezone: America/New_York
nas:
  a: {url: "https://a.lan", user: u, password_file: pw}
  b: {url: "https://b.lan", user: u, password_credential: b-pw}
defaults:
  nas: a
  schedule: "@daily"
  jitter: 1m
  catch_up: false
  snapshot: {description: nightly, lock: true}
  retention: {keep_last: 2, daily: 7, weekly: 4, pick: newest, max_deletes_per_run: 0}
  prune: never
  replication: {when: "0 3 * * *", lock_snapshot: false}
policies:
  inherits:
    share: s1
  overrides:
    nas: b
    lun: "3f1c2a9e-0000-4000-8000-000000000001"
    schedule: "CRON_TZ=UTC 30 2 * * *"
    jitter: 0s
    catch_up: true
    snapshot: {lock: false}
    retention: {daily: 14, within: 36h, scope: all, min_keep: 3}
    prune: after_snapshot
    replication: {plan: "plan-1", lock_snapshot: true}
`
	cfg, err := Parse("dir/merge.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("Parse(merge) = %v", err)
	}
	if cfg.Location.String() != "America/New_York" {
		t.Errorf("Location = %v, want America/New_York", cfg.Location)
	}
	if got, want := cfg.NAS["a"].PasswordFile, filepath.Join("dir", "pw"); got != want {
		t.Errorf("NAS a PasswordFile = %q, want %q (relative to the config file)", got, want)
	}
	in, ov := cfg.Policies["inherits"], cfg.Policies["overrides"]
	type view struct {
		NAS, Spec   string
		Jitter      time.Duration
		CatchUp     bool
		Snapshot    SnapshotOptions
		Retention   Retention
		Prune       WhenKind
		ReplWhen    WhenKind
		ReplSpec    string
		ReplPlan    string
		LockReplSnp bool
	}
	v := func(p *Policy) view {
		return view{p.NAS, p.Spec, p.Jitter, p.CatchUp, p.Snapshot, p.Retention, p.Prune.Kind,
			p.Replication.When.Kind, p.Replication.When.Spec, p.Replication.Plan, p.Replication.LockSnapshot}
	}
	wantIn := view{
		NAS: "a", Spec: "@daily", Jitter: time.Minute, CatchUp: false,
		Snapshot:  SnapshotOptions{Description: "nightly", Lock: true},
		Retention: Retention{KeepLast: 2, Daily: 7, Weekly: 4, Pick: PickNewest, Scope: ScopeOwn, MinKeep: 1, MaxDeletesPerRun: 0},
		Prune:     Never, ReplWhen: OnSchedule, ReplSpec: "0 3 * * *", LockReplSnp: false,
	}
	wantOv := view{
		NAS: "b", Spec: "CRON_TZ=UTC 30 2 * * *", Jitter: 0, CatchUp: true,
		Snapshot:  SnapshotOptions{Description: "nightly", Lock: false},
		Retention: Retention{KeepLast: 2, Within: 36 * time.Hour, Daily: 14, Weekly: 4, Pick: PickNewest, Scope: ScopeAll, MinKeep: 3, MaxDeletesPerRun: 0},
		Prune:     AfterSnapshot, ReplWhen: OnSchedule, ReplSpec: "0 3 * * *", ReplPlan: "plan-1", LockReplSnp: true,
	}
	if d := cmp.Diff(wantIn, v(in)); d != "" {
		t.Errorf("policy inherits (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantOv, v(ov)); d != "" {
		t.Errorf("policy overrides (-want +got):\n%s", d)
	}
	if ov.Kind != TargetLUN || ov.Target != "3f1c2a9e-0000-4000-8000-000000000001" {
		t.Errorf("overrides target = %s %q, want lun 3f1c2a9e-…", ov.Kind, ov.Target)
	}

	// Schedules run in the configured zone unless they carry their own CRON_TZ.
	at := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	if got, want := in.Schedule.Next(at), time.Date(2024, 6, 2, 4, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("inherits.Schedule.Next(%v) = %v, want %v (midnight New York)", at, got, want)
	}
	if got, want := ov.Schedule.Next(at), time.Date(2024, 6, 2, 2, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("overrides.Schedule.Next(%v) = %v, want %v", at, got, want)
	}
	if got, want := in.Replication.When.Schedule.Next(at), time.Date(2024, 6, 2, 7, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("inherits replication Next(%v) = %v, want %v", at, got, want)
	}
}

func TestParseNormalises(t *testing.T) {
	const doc = `
nas:
  n:
    url: https://n.lan:5001
    user: u
    password: "0123"
    tls:
      fingerprint_sha256: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
      ca_file: ca.pem
      server_name: diskstation
policies:
  p:
    share: 2024
    schedule: "@hourly"
    retention: {keep_last: 0x10}
    snapshot: {lock: yes}
`
	cfg, err := Parse("/etc/synology-snapd/config.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	n := cfg.NAS["n"]
	if got, want := n.TLS.FingerprintSHA256, strings.Repeat("abcdef0123456789", 4); got != want {
		t.Errorf("FingerprintSHA256 = %q, want %q", got, want)
	}
	if got, want := n.TLS.CAFile, "/etc/synology-snapd/ca.pem"; got != want {
		t.Errorf("CAFile = %q, want %q", got, want)
	}
	if n.Password != "0123" {
		t.Errorf("Password = %q, want the text as written", n.Password)
	}
	p := cfg.Policies["p"]
	if p.Target != "2024" || p.Retention.KeepLast != 16 || !p.Snapshot.Lock {
		t.Errorf("policy p = target %q keep_last %d lock %v, want 2024, 16, true", p.Target, p.Retention.KeepLast, p.Snapshot.Lock)
	}
}

func TestParseWarnings(t *testing.T) {
	const doc = `
nas:
  plain: {url: "http://n.lan:5000", user: u, password_env: PW}
  unverified: {url: "https://m.lan", user: u, password_env: PW, tls: {insecure_skip_verify: true}}
policies:
  p: {share: s, schedule: "@hourly", nas: plain, retention: {keep_last: 1}}
`
	cfg, err := Parse("w.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	want := []string{
		"w.yaml:3:11: nas.plain.url: plain http sends the DSM password in clear text; use https",
		"w.yaml:4:71: nas.unverified.tls.insecure_skip_verify: the NAS certificate is not verified; pin it with fingerprint_sha256 instead (`snapd validate --connect` prints it)",
	}
	if d := cmp.Diff(want, cfg.Warnings); d != "" {
		t.Errorf("Warnings (-want +got):\n%s", d)
	}
}

// TestLoadPasswordPermissions checks the warning for an inline password in a file
// that group or others can read, and its absence for a private file.
func TestLoadPasswordPermissions(t *testing.T) {
	const doc = `
nas:
  n: {url: "https://n.lan", user: u, password: hunter2}
policies:
  p: {share: s, schedule: "@hourly", retention: {keep_last: 1}}
`
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o640, true}, {0o604, true}, {0o644, true}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			if err != nil {
				t.Fatalf("Load = %v", err)
			}
			got := strings.Join(cfg.Warnings, "\n")
			if !tc.warn {
				if got != "" {
					t.Errorf("Load(mode %v) warnings = %q, want none", tc.mode, got)
				}
				return
			}
			wantPrefix := path + ":3:38: nas.n.password: inline password in a file readable by group or others (mode 0" + cfgOctal(tc.mode) + ")"
			if !strings.HasPrefix(got, wantPrefix) {
				t.Errorf("Load(mode %v) warnings = %q, want prefix %q", tc.mode, got, wantPrefix)
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("Load(mode %v) warning %q reveals the password", tc.mode, got)
			}
		})
	}
}

func cfgOctal(m os.FileMode) string {
	const digits = "01234567"
	p := uint32(m.Perm())
	return string([]byte{digits[p>>6&7], digits[p>>3&7], digits[p&7]})
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

// TestDuplicateMapKeys checks that yaml.v3's duplicate detection reaches the
// nas and policies maps as well as structs, and that every duplicate is reported.
func TestDuplicateMapKeys(t *testing.T) {
	const doc = `nas:
  n: {url: "https://n.lan", user: u, password_env: PW}
  n: {url: "https://m.lan", user: u, password_env: PW}
policies:
  p: {share: s, schedule: "@hourly", retention: {keep_last: 1}}
  q: {share: s, schedule: "@hourly", retention: {keep_last: 1}}
  p: {share: t, schedule: "@hourly", retention: {keep_last: 1, keep_last: 2}}
`
	_, err := Parse("d.yaml", []byte(doc))
	want := []string{
		`d.yaml:3:3: nas.n: duplicate key "n" (first set at line 2)`,
		`d.yaml:7:3: policies.p: duplicate key "p" (first set at line 5)`,
		`d.yaml:7:64: policies.p.retention.keep_last: duplicate key "keep_last" (first set at line 7)`,
	}
	var got []string
	if err != nil {
		got = strings.Split(err.Error(), "\n")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Parse(duplicates) errors (-want +got):\n%s", d)
	}
}

// TestYAMLReportsDuplicateMapKeys pins the yaml.v3 behaviour the loader relies on:
// its decoder refuses duplicate keys in maps (nas:, policies:) as well as in
// structs, so a duplicate never silently replaces an entry.
func TestYAMLReportsDuplicateMapKeys(t *testing.T) {
	for _, doc := range []string{
		"nas: {n: {user: a}, n: {user: b}}",
		"policies: {p: {share: a}, p: {share: b}}",
		"policies: {p: {share: a, share: b}}",
	} {
		var raw cfgDoc
		dec := yaml.NewDecoder(strings.NewReader(doc))
		dec.KnownFields(true)
		err := dec.Decode(&raw)
		if err == nil || !strings.Contains(err.Error(), "already defined") {
			t.Errorf("yaml.v3 Decode(%q) = %v, want a duplicate key error", doc, err)
		}
	}
}

func TestConfigErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    ConfigError
		want string
	}{
		{ConfigError{File: "config.yaml", Line: 12, Column: 7, Path: "policies.homes.retention.daily", Msg: "must be >= 0"},
			"config.yaml:12:7: policies.homes.retention.daily: must be >= 0"},
		{ConfigError{File: "config.yaml", Line: 3, Msg: "bad YAML: x"}, "config.yaml:3: bad YAML: x"},
		{ConfigError{File: "config.yaml", Msg: "file is empty"}, "config.yaml: file is empty"},
		{ConfigError{File: "c.yaml", Path: "policies", Msg: "none"}, "c.yaml: policies: none"},
		{ConfigError{Line: 2, Column: 1, Msg: "m"}, "2:1: m"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("(%+v).Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
}

// TestErrorsAreSeparate checks that a file with several problems reports each as
// its own *ConfigError, sorted by line, with the key path set.
func TestErrorsAreSeparate(t *testing.T) {
	const doc = `nas:
  n: {url: "https://n.lan", user: u, password_env: PW, max_concurrent: 0}
policies:
  p:
    share: s
    schedule: "@hourly"
    retention:
      daily: -1
      hourly: 2
      dayly: 3
`
	_, err := Parse("c.yaml", []byte(doc))
	errs := cfgUnjoin(err)
	want := []ConfigError{
		{File: "c.yaml", Line: 2, Column: 56, Path: "nas.n.max_concurrent", Msg: "must be >= 1"},
		{File: "c.yaml", Line: 8, Column: 7, Path: "policies.p.retention.daily", Msg: "must be >= 0"},
		{File: "c.yaml", Line: 10, Column: 7, Path: "policies.p.retention.dayly", Msg: `unknown key "dayly" (did you mean "daily"?)`},
	}
	var got []ConfigError
	for _, e := range errs {
		var ce *ConfigError
		if !errors.As(e, &ce) {
			t.Fatalf("error %q is a %T, want *ConfigError", e, e)
		}
		got = append(got, *ce)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Parse errors (-want +got):\n%s", d)
	}
}

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../../configs/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(cfgMinimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want exactly one of config and error", cfg, err)
		}
		if err != nil {
			for _, e := range cfgUnjoin(err) {
				var ce *ConfigError
				if !errors.As(e, &ce) {
					t.Fatalf("Parse error %q is a %T, want *ConfigError", e, e)
				}
			}
			return
		}
		for name, p := range cfg.Policies {
			if p.Schedule == nil || cfg.NAS[p.NAS] == nil {
				t.Fatalf("Parse accepted policy %q without a schedule or NAS: %+v", name, p)
			}
		}
	})
}

// TestParseNullIsUnset checks that a key set to null inherits from defaults,
// as if it were left out.
func TestParseNullIsUnset(t *testing.T) {
	const doc = `
nas: {n: {url: "https://n.lan", user: u, password_env: PW}}
log: ~
defaults: {retention: {weekly: 5}, catch_up: false}
policies:
  p: {share: s, schedule: "@daily", retention: ~, catch_up: ~, snapshot: ~}
`
	cfg, err := Parse("n.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	p := cfg.Policies["p"]
	if p.Retention.Weekly != 5 || p.CatchUp || cfg.Log.Level != "info" {
		t.Errorf("Parse: weekly %d, catch_up %v, log level %q; want 5, false, info", p.Retention.Weekly, p.CatchUp, cfg.Log.Level)
	}
}
