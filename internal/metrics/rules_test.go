package metrics

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRuleFilesUseRealMetrics checks that every snapd_ metric the sample
// alert rules and their promtool test name is one that snapd exports, so a
// renamed metric cannot leave the documented alerts silently matching nothing.
func TestRuleFilesUseRealMetrics(t *testing.T) {
	m := New()
	m.RunFinished("homes", OutcomeOK, t0)
	m.SnapshotCreated("homes", t0)
	m.Pruned("homes", t0, 1, 1)
	m.Synced("homes", t0)
	m.NewestSnapshot("homes", t0)
	m.FireLatency("homes", time.Second)
	m.ObserveAPI("primary", "a", "b", time.Second, nil)
	m.Login("primary", true)
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mf := range mfs {
		exported[mf.GetName()] = true
	}

	name := regexp.MustCompile(`snapd_[a-z_]+`)
	for _, file := range []string{"testdata/snapd.rules.yml", "testdata/snapd.rules.test.yml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		found := name.FindAllString(string(b), -1)
		if len(found) == 0 {
			t.Errorf("%s names no snapd_ metric", file)
		}
		for _, n := range found {
			base := n
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if s, ok := strings.CutSuffix(n, suffix); ok && exported[s] {
					base = s
				}
			}
			if !exported[base] {
				t.Errorf("%s uses %s, which snapd does not export", file, n)
			}
		}
	}
}

// TestRuleFilesPromtool checks the sample rules' syntax and runs their unit
// test with promtool, where it is installed.
func TestRuleFilesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "snapd.rules.yml"},
		{"test", "rules", "snapd.rules.test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "testdata"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
