package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

var t0 = time.Date(2024, 3, 31, 1, 30, 0, 500_000_000, time.UTC) // 1711848600.5

func TestPolicyMetrics(t *testing.T) {
	m := New()
	m.RunFinished("homes", OutcomeOK, t0)
	m.SnapshotCreated("homes", t0.Add(-time.Minute))
	m.Pruned("homes", t0.Add(-30*time.Second), 12, 3)
	m.Pruned("homes", t0.Add(-20*time.Second), 10, 2)
	m.Synced("homes", t0.Add(-10*time.Second))
	m.NewestSnapshot("homes", t0.Add(-time.Minute))
	m.PruneRefused("homes")
	m.RunFinished("vms", "refused", t0)
	m.NewestSnapshot("vms", time.Time{})

	want := `
# HELP snapd_policy_last_run_timestamp_seconds Unix time at which the policy's last run finished.
# TYPE snapd_policy_last_run_timestamp_seconds gauge
snapd_policy_last_run_timestamp_seconds{policy="homes"} 1.7118486005e+09
snapd_policy_last_run_timestamp_seconds{policy="vms"} 1.7118486005e+09
# HELP snapd_policy_last_run_success 1 if the policy's last run succeeded, 0 if it failed.
# TYPE snapd_policy_last_run_success gauge
snapd_policy_last_run_success{policy="homes"} 1
snapd_policy_last_run_success{policy="vms"} 0
# HELP snapd_policy_runs_total Finished runs of the policy, by outcome.
# TYPE snapd_policy_runs_total counter
snapd_policy_runs_total{outcome="error",policy="homes"} 0
snapd_policy_runs_total{outcome="ok",policy="homes"} 1
snapd_policy_runs_total{outcome="error",policy="vms"} 0
snapd_policy_runs_total{outcome="ok",policy="vms"} 0
snapd_policy_runs_total{outcome="refused",policy="vms"} 1
# HELP snapd_policy_last_create_timestamp_seconds Unix time at which the policy last created a snapshot.
# TYPE snapd_policy_last_create_timestamp_seconds gauge
snapd_policy_last_create_timestamp_seconds{policy="homes"} 1.7118485405e+09
# HELP snapd_policy_last_prune_timestamp_seconds Unix time at which the policy last pruned.
# TYPE snapd_policy_last_prune_timestamp_seconds gauge
snapd_policy_last_prune_timestamp_seconds{policy="homes"} 1.7118485805e+09
# HELP snapd_policy_snapshots_kept Snapshots the policy's last prune kept.
# TYPE snapd_policy_snapshots_kept gauge
snapd_policy_snapshots_kept{policy="homes"} 10
# HELP snapd_policy_snapshots_deleted_total Snapshots the policy's prunes deleted.
# TYPE snapd_policy_snapshots_deleted_total counter
snapd_policy_snapshots_deleted_total{policy="homes"} 5
snapd_policy_snapshots_deleted_total{policy="vms"} 0
# HELP snapd_policy_prune_refusals_total Prunes refused because they would delete more than max_deletes_per_run.
# TYPE snapd_policy_prune_refusals_total counter
snapd_policy_prune_refusals_total{policy="homes"} 1
snapd_policy_prune_refusals_total{policy="vms"} 0
# HELP snapd_policy_last_sync_timestamp_seconds Unix time at which the policy last triggered a replication sync.
# TYPE snapd_policy_last_sync_timestamp_seconds gauge
snapd_policy_last_sync_timestamp_seconds{policy="homes"} 1.7118485905e+09
# HELP snapd_policy_newest_snapshot_timestamp_seconds Unix time of the newest snapshot of the policy's target in its scope; 0 when there is none.
# TYPE snapd_policy_newest_snapshot_timestamp_seconds gauge
snapd_policy_newest_snapshot_timestamp_seconds{policy="homes"} 1.7118485405e+09
snapd_policy_newest_snapshot_timestamp_seconds{policy="vms"} 0
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), policyMetricNames...); err != nil {
		t.Error(err)
	}
}

var policyMetricNames = []string{
	"snapd_policy_last_run_timestamp_seconds", "snapd_policy_last_run_success", "snapd_policy_runs_total",
	"snapd_policy_last_create_timestamp_seconds", "snapd_policy_last_prune_timestamp_seconds",
	"snapd_policy_snapshots_kept", "snapd_policy_snapshots_deleted_total", "snapd_policy_prune_refusals_total",
	"snapd_policy_last_sync_timestamp_seconds", "snapd_policy_newest_snapshot_timestamp_seconds",
	"snapd_schedule_fire_delay_seconds",
}

func TestLastRunSuccess(t *testing.T) {
	tests := []struct {
		outcomes []string
		want     float64
	}{
		{[]string{OutcomeOK}, 1},
		{[]string{OutcomeError}, 0},
		{[]string{"refused"}, 0},
		{[]string{"OK"}, 0},
		{[]string{OutcomeError, OutcomeOK}, 1},
		{[]string{OutcomeOK, OutcomeError}, 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.outcomes, ","), func(t *testing.T) {
			m := New()
			for _, o := range tt.outcomes {
				m.RunFinished("homes", o, t0)
			}
			if got := testutil.ToFloat64(m.lastRunSuccess.WithLabelValues("homes")); got != tt.want {
				t.Errorf("RunFinished(%v): last_run_success = %v, want %v", tt.outcomes, got, tt.want)
			}
		})
	}
}

func TestPrunedNegative(t *testing.T) {
	m := New()
	m.Pruned("homes", t0, -1, -5)
	if got := testutil.ToFloat64(m.kept.WithLabelValues("homes")); got != 0 {
		t.Errorf("Pruned(kept -1): snapshots_kept = %v, want 0", got)
	}
	if got := testutil.ToFloat64(m.deleted.WithLabelValues("homes")); got != 0 {
		t.Errorf("Pruned(deleted -5): snapshots_deleted_total = %v, want 0", got)
	}
}

func TestForget(t *testing.T) {
	m := New()
	for _, p := range []string{"homes", "vms"} {
		m.RunFinished(p, OutcomeOK, t0)
		m.SnapshotCreated(p, t0)
		m.Pruned(p, t0, 1, 1)
		m.PruneRefused(p)
		m.Synced(p, t0)
		m.NewestSnapshot(p, t0)
		m.FireLatency(p, time.Second)
	}
	for _, n := range []string{"primary", "backup"} {
		m.ObserveAPI(n, "SYNO.Core.Share.Snapshot", "list", time.Second, nil)
		m.Login(n, true)
	}
	policySeries := testutil.CollectAndCount(m.reg, policyMetricNames...)
	nasSeries := testutil.CollectAndCount(m.reg, nasMetricNames...)

	m.ForgetPolicy("homes")
	m.ForgetNAS("primary")

	if got, want := testutil.CollectAndCount(m.reg, policyMetricNames...), policySeries/2; got != want {
		t.Errorf("after ForgetPolicy(homes): %d policy series, want %d", got, want)
	}
	if got, want := testutil.CollectAndCount(m.reg, nasMetricNames...), nasSeries/2; got != want {
		t.Errorf("after ForgetNAS(primary): %d NAS series, want %d", got, want)
	}
	text := exposition(t, m)
	for _, gone := range []string{`policy="homes"`, `nas="primary"`} {
		if strings.Contains(text, gone) {
			t.Errorf("after Forget: exposition still has %s:\n%s", gone, text)
		}
	}
	for _, kept := range []string{`policy="vms"`, `nas="backup"`} {
		if !strings.Contains(text, kept) {
			t.Errorf("after Forget: exposition lost %s", kept)
		}
	}
}

var nasMetricNames = []string{
	"snapd_dsm_requests_total", "snapd_dsm_request_duration_seconds", "snapd_dsm_logins_total", "snapd_dsm_relogins_total",
}

// apiError stands for the DSM client's typed error for success:false answers.
type apiError struct{ code int }

func (e *apiError) Error() string { return fmt.Sprintf("dsm error %d", e.code) }

func TestOutcome(t *testing.T) {
	// A real transport error: a connection refused by a closed port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := http.Get("http://" + addr + "/webapi/entry.cgi")
	if refused == nil {
		t.Fatalf("GET on closed port %s succeeded", addr)
	}

	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, OutcomeOK},
		{"connection refused", refused, OutcomeNetworkError},
		{"wrapped refused", fmt.Errorf("list snapshots of %q: %w", "homes", refused), OutcomeNetworkError},
		{"url error", &url.Error{Op: "Post", URL: "https://nas", Err: errors.New("tls: bad certificate")}, OutcomeNetworkError},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), OutcomeNetworkError},
		{"canceled", context.Canceled, OutcomeNetworkError},
		{"body cut short", fmt.Errorf("read answer: %w", io.ErrUnexpectedEOF), OutcomeNetworkError},
		{"dsm answer", fmt.Errorf("create snapshot: %w", &apiError{105}), OutcomeAPIError},
		{"bad json", errors.New("decode answer: invalid character '<'"), OutcomeAPIError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Outcome(tt.err); got != tt.want {
				t.Errorf("Outcome(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestObserveAPI(t *testing.T) {
	m := New()
	const api, method = "SYNO.Core.Share.Snapshot", "create"
	m.ObserveAPI("primary", api, method, 20*time.Millisecond, nil)
	m.ObserveAPI("primary", api, method, 2*time.Second, &apiError{3300})
	m.ObserveAPI("primary", api, method, 30*time.Second, context.DeadlineExceeded)
	m.ObserveAPI("primary", api, method, -time.Second, nil)

	want := `
# HELP snapd_dsm_requests_total DSM Web API requests, by outcome: ok, api_error (DSM answered success:false) or network_error.
# TYPE snapd_dsm_requests_total counter
snapd_dsm_requests_total{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",outcome="api_error"} 1
snapd_dsm_requests_total{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",outcome="network_error"} 1
snapd_dsm_requests_total{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",outcome="ok"} 2
# HELP snapd_dsm_request_duration_seconds Duration of DSM Web API requests, whatever their outcome.
# TYPE snapd_dsm_request_duration_seconds histogram
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="0.01"} 1
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="0.025"} 2
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="0.05"} 2
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="0.1"} 2
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="0.25"} 2
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="0.5"} 2
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="1"} 2
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="2.5"} 3
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="5"} 3
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="10"} 3
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="30"} 4
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="60"} 4
snapd_dsm_request_duration_seconds_bucket{api="SYNO.Core.Share.Snapshot",method="create",nas="primary",le="+Inf"} 4
snapd_dsm_request_duration_seconds_sum{api="SYNO.Core.Share.Snapshot",method="create",nas="primary"} 32.02
snapd_dsm_request_duration_seconds_count{api="SYNO.Core.Share.Snapshot",method="create",nas="primary"} 4
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "snapd_dsm_requests_total", "snapd_dsm_request_duration_seconds"); err != nil {
		t.Error(err)
	}
}

func TestLogin(t *testing.T) {
	m := New()
	m.Login("primary", false)
	m.Login("primary", true)
	m.Login("primary", false)
	m.Login("backup", false)
	want := `
# HELP snapd_dsm_logins_total Logins to the NAS, re-logins included.
# TYPE snapd_dsm_logins_total counter
snapd_dsm_logins_total{nas="backup"} 1
snapd_dsm_logins_total{nas="primary"} 3
# HELP snapd_dsm_relogins_total Logins to the NAS forced by an expired or invalidated session.
# TYPE snapd_dsm_relogins_total counter
snapd_dsm_relogins_total{nas="backup"} 0
snapd_dsm_relogins_total{nas="primary"} 1
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "snapd_dsm_logins_total", "snapd_dsm_relogins_total"); err != nil {
		t.Error(err)
	}
}

func TestFireLatency(t *testing.T) {
	m := New()
	for _, d := range []time.Duration{-time.Second, 50 * time.Millisecond, 7 * time.Second, 2 * time.Hour} {
		m.FireLatency("homes", d)
	}
	text := exposition(t, m)
	for _, want := range []string{
		`snapd_schedule_fire_delay_seconds_bucket{policy="homes",le="0.01"} 1`,
		`snapd_schedule_fire_delay_seconds_bucket{policy="homes",le="0.1"} 2`,
		`snapd_schedule_fire_delay_seconds_bucket{policy="homes",le="5"} 2`,
		`snapd_schedule_fire_delay_seconds_bucket{policy="homes",le="15"} 3`,
		`snapd_schedule_fire_delay_seconds_bucket{policy="homes",le="3600"} 3`,
		`snapd_schedule_fire_delay_seconds_bucket{policy="homes",le="+Inf"} 4`,
		`snapd_schedule_fire_delay_seconds_sum{policy="homes"} 7207.05`,
		`snapd_schedule_fire_delay_seconds_count{policy="homes"} 4`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("FireLatency exposition lacks %q:\n%s", want, text)
		}
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.RunFinished("homes", OutcomeOK, t0)
	m.SnapshotCreated("homes", t0)
	m.Pruned("homes", t0, 1, 1)
	m.PruneRefused("homes")
	m.Synced("homes", t0)
	m.NewestSnapshot("homes", t0)
	m.ForgetPolicy("homes")
	m.ForgetNAS("primary")
	m.ObserveAPI("primary", "a", "b", time.Second, nil)
	m.Login("primary", true)
	m.FireLatency("homes", time.Second)
	if m.Handler() == nil {
		t.Error("(*Metrics)(nil).Handler() = nil, want a handler")
	}
}

// exposition returns what m's handler answers a scrape in the text format.
func exposition(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", rec.Code)
	}
	return rec.Body.String()
}

// TestLint runs promlint, Prometheus's own naming checker, over snapd's metrics.
func TestLint(t *testing.T) {
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
	n := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "snapd_") {
			mfs[n] = mf
			n++
		}
	}
	if n != len(policyMetricNames)+len(nasMetricNames) {
		t.Errorf("gathered %d snapd_ families, want %d", n, len(policyMetricNames)+len(nasMetricNames))
	}
	problems, err := promlint.NewWithMetricFamilies(mfs[:n]).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
