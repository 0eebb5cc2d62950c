package daemon

import (
	"testing"
	"time"

	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/state"
)

func testConfig(t *testing.T) *policy.Config {
	t.Helper()
	cfg, err := policy.Parse("test.yaml", []byte(`timezone: UTC
nas:
  n1: {url: "https://nas:5001", user: u, password: p, tls: {insecure_skip_verify: true}}
policies:
  homes:
    share: homes
    schedule: "0 * * * *"
    retention: {keep_last: 3}
    replication: {plan: p1}
  media:
    share: media
    schedule: "@daily"
    retention: {keep_last: 3}
    prune: never
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestStepsFor(t *testing.T) {
	cfg := testConfig(t)
	homes, media := cfg.Policies["homes"], cfg.Policies["media"]
	for _, c := range []struct {
		cmd  string
		p    *policy.Policy
		args RunArgs
		want string // Create Sync Prune DryRun Force as 0/1
		err  bool
	}{
		{"snapshot", homes, RunArgs{}, "11100", false},
		{"snapshot", homes, RunArgs{NoPrune: true}, "11000", false},
		{"snapshot", media, RunArgs{}, "10000", false}, // prune: never, no plan
		{"prune", homes, RunArgs{DryRun: true}, "00110", false},
		{"prune", homes, RunArgs{Force: true}, "00101", false},
		{"sync", homes, RunArgs{}, "01000", false},
		{"sync", media, RunArgs{}, "", true},
		{"bogus", homes, RunArgs{}, "", true},
	} {
		s, err := StepsFor(c.cmd, c.p, c.args)
		if (err != nil) != c.err {
			t.Errorf("StepsFor(%s, %s, %+v) error = %v, want error %v", c.cmd, c.p.Name, c.args, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		b := func(v bool) byte {
			if v {
				return '1'
			}
			return '0'
		}
		got := string([]byte{b(s.Create), b(s.Sync), b(s.Prune), b(s.DryRun), b(s.Force)})
		if got != c.want {
			t.Errorf("StepsFor(%s, %s, %+v) = %s, want %s", c.cmd, c.p.Name, c.args, got, c.want)
		}
	}
}

func TestStatus(t *testing.T) {
	cfg := testConfig(t)
	now := time.Date(2026, 11, 29, 12, 30, 0, 0, time.UTC)
	newest := now.Add(-90 * time.Minute)
	runs := map[string]state.RunRecord{
		"homes": {Policy: "homes", End: now.Add(-30 * time.Minute), Outcome: "error", Error: "boom", NewestSnapshot: newest},
	}
	rep := Status(cfg, runs, func(p *policy.Policy) (time.Time, bool) { return p.Schedule.Next(now), p.Name == "media" }, now)
	if len(rep.Policies) != 2 || rep.Policies[0].Name != "homes" || rep.Policies[1].Name != "media" {
		t.Fatalf("Status policies = %+v, want homes then media", rep.Policies)
	}
	h, m := rep.Policies[0], rep.Policies[1]
	if h.LastOutcome != "error" || h.LastError != "boom" || h.NewestAgeS == nil || *h.NewestAgeS != 5400 {
		t.Errorf("homes = %+v, want error boom with newest age 5400 s", h)
	}
	if h.NextRun == nil || !h.NextRun.Equal(time.Date(2026, 11, 29, 13, 0, 0, 0, time.UTC)) || h.Target != "share:homes" {
		t.Errorf("homes next run / target = %v %q", h.NextRun, h.Target)
	}
	if m.LastRun != nil || m.NewestSnapshot != nil || !m.Running {
		t.Errorf("media = %+v, want never run, running", m)
	}
}

func TestPolicyOf(t *testing.T) {
	for in, want := range map[string]string{"homes": "homes", "homes#prune": "homes", "homes#sync": "homes", "a#b": "a#b"} {
		if got := policyOf(in); got != want {
			t.Errorf("policyOf(%q) = %q, want %q", in, got, want)
		}
	}
}
