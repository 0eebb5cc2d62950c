// Package metrics collects snapd's Prometheus metrics and serves them over HTTP.
//
// Times are exported as Unix timestamps (…_timestamp_seconds), not as ages.
// An age gauge is only as fresh as its last update: it freezes when the
// process stalls, and it needs a ticker to keep it moving. A timestamp is set
// once, when the event happens, and `time() - metric` in PromQL yields the age
// exact to the moment a rule is evaluated, which is what an alert wants. This
// follows Prometheus's own convention (process_start_time_seconds).
//
// Every method is safe for concurrent use and does nothing on a nil *Metrics,
// so callers need no checks when metrics are switched off.
package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The outcome label values. A run whose outcome is OutcomeOK counts as a
// success; any other outcome (OutcomeError, or a finer one such as "refused")
// as a failure. API calls are labelled OutcomeOK, OutcomeAPIError or
// OutcomeNetworkError; the DSM error code is deliberately not a label, as it
// would multiply the series by every code a NAS can answer.
const (
	OutcomeOK           = "ok"
	OutcomeError        = "error"
	OutcomeAPIError     = "api_error"
	OutcomeNetworkError = "network_error"
)

// Bucket bounds in seconds. DSM calls take from milliseconds (a list) to the
// request timeout (a batched delete, 30s by default). A fire's delay is mostly
// the policy's jitter and the wait for a free per-NAS slot, minutes at most.
var (
	apiBuckets  = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	fireBuckets = []float64{.01, .1, .5, 1, 5, 15, 30, 60, 300, 900, 3600}
)

// Metrics holds snapd's collectors in a registry of its own, beside the Go
// runtime and process collectors.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	lastRun        *prometheus.GaugeVec
	lastRunSuccess *prometheus.GaugeVec
	runs           *prometheus.CounterVec
	lastCreate     *prometheus.GaugeVec
	lastPrune      *prometheus.GaugeVec
	kept           *prometheus.GaugeVec
	deleted        *prometheus.CounterVec
	refusals       *prometheus.CounterVec
	lastSync       *prometheus.GaugeVec
	newest         *prometheus.GaugeVec
	fireDelay      *prometheus.HistogramVec

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	logins          *prometheus.CounterVec
	relogins        *prometheus.CounterVec
}

// New returns a Metrics with every collector registered.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		m.reg.MustRegister(v)
		return v
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.reg.MustRegister(v)
		return v
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
		m.reg.MustRegister(v)
		return v
	}

	m.lastRun = gauge("snapd_policy_last_run_timestamp_seconds",
		"Unix time at which the policy's last run finished.", "policy")
	m.lastRunSuccess = gauge("snapd_policy_last_run_success",
		"1 if the policy's last run succeeded, 0 if it failed.", "policy")
	m.runs = counter("snapd_policy_runs_total",
		"Finished runs of the policy, by outcome.", "policy", "outcome")
	m.lastCreate = gauge("snapd_policy_last_create_timestamp_seconds",
		"Unix time at which the policy last created a snapshot.", "policy")
	m.lastPrune = gauge("snapd_policy_last_prune_timestamp_seconds",
		"Unix time at which the policy last pruned.", "policy")
	m.kept = gauge("snapd_policy_snapshots_kept",
		"Snapshots the policy's last prune kept.", "policy")
	m.deleted = counter("snapd_policy_snapshots_deleted_total",
		"Snapshots the policy's prunes deleted.", "policy")
	m.refusals = counter("snapd_policy_prune_refusals_total",
		"Prunes refused because they would delete more than max_deletes_per_run.", "policy")
	m.lastSync = gauge("snapd_policy_last_sync_timestamp_seconds",
		"Unix time at which the policy last triggered a replication sync.", "policy")
	m.newest = gauge("snapd_policy_newest_snapshot_timestamp_seconds",
		"Unix time of the newest snapshot of the policy's target in its scope; 0 when there is none.", "policy")
	m.fireDelay = histogram("snapd_schedule_fire_delay_seconds",
		"Delay from a scheduled fire time to the start of its run.", fireBuckets, "policy")

	m.requests = counter("snapd_dsm_requests_total",
		"DSM Web API requests, by outcome: ok, api_error (DSM answered success:false) or network_error.",
		"nas", "api", "method", "outcome")
	m.requestDuration = histogram("snapd_dsm_request_duration_seconds",
		"Duration of DSM Web API requests, whatever their outcome.", apiBuckets, "nas", "api", "method")
	m.logins = counter("snapd_dsm_logins_total",
		"Logins to the NAS, re-logins included.", "nas")
	m.relogins = counter("snapd_dsm_relogins_total",
		"Logins to the NAS forced by an expired or invalidated session.", "nas")

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:            m.reg,
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	return m
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

// RunFinished records the end of one run of a policy. outcome is OutcomeOK for
// a successful run and anything else for a failed one.
func (m *Metrics) RunFinished(policy string, outcome string, at time.Time) {
	if m == nil {
		return
	}
	m.lastRun.WithLabelValues(policy).Set(timestamp(at))
	success := 0.0
	if outcome == OutcomeOK {
		success = 1
	}
	m.lastRunSuccess.WithLabelValues(policy).Set(success)
	m.runs.WithLabelValues(policy, outcome).Inc()
	// Export the usual series at 0 from the first run on, so that increase()
	// and rate() see the first failure, deletion or refusal.
	m.runs.WithLabelValues(policy, OutcomeOK)
	m.runs.WithLabelValues(policy, OutcomeError)
	m.deleted.WithLabelValues(policy)
	m.refusals.WithLabelValues(policy)
}

// SnapshotCreated records that a policy created a snapshot at the given time.
func (m *Metrics) SnapshotCreated(policy string, at time.Time) {
	if m == nil {
		return
	}
	m.lastCreate.WithLabelValues(policy).Set(timestamp(at))
}

// Pruned records a finished prune of a policy: how many snapshots it kept and
// how many it deleted. A negative count is taken as 0.
func (m *Metrics) Pruned(policy string, at time.Time, kept, deleted int) {
	if m == nil {
		return
	}
	m.lastPrune.WithLabelValues(policy).Set(timestamp(at))
	m.kept.WithLabelValues(policy).Set(float64(max(kept, 0)))
	m.deleted.WithLabelValues(policy).Add(float64(max(deleted, 0)))
}

// PruneRefused records a prune refused for deleting too many snapshots.
func (m *Metrics) PruneRefused(policy string) {
	if m == nil {
		return
	}
	m.refusals.WithLabelValues(policy).Inc()
}

// Synced records that a policy triggered a replication sync.
func (m *Metrics) Synced(policy string, at time.Time) {
	if m == nil {
		return
	}
	m.lastSync.WithLabelValues(policy).Set(timestamp(at))
}

// NewestSnapshot records the time of the newest snapshot in the policy's
// scope, as last listed. A zero t, for a target without such a snapshot,
// exports 0, which any staleness alert sees as very old: having no snapshot
// is as bad as having only old ones.
func (m *Metrics) NewestSnapshot(policy string, t time.Time) {
	if m == nil {
		return
	}
	m.newest.WithLabelValues(policy).Set(timestamp(t))
}

// ForgetPolicy drops every series of a policy, for a policy that a reload
// removed: its last values would otherwise be exported for ever and keep its
// alerts firing.
func (m *Metrics) ForgetPolicy(policy string) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"policy": policy}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.lastRun, m.lastRunSuccess, m.runs, m.lastCreate, m.lastPrune, m.kept,
		m.deleted, m.refusals, m.lastSync, m.newest, m.fireDelay,
	} {
		v.DeletePartialMatch(l)
	}
}

// ForgetNAS drops every series of a NAS, for a NAS that a reload removed.
func (m *Metrics) ForgetNAS(nas string) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"nas": nas}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.requests, m.requestDuration, m.logins, m.relogins,
	} {
		v.DeletePartialMatch(l)
	}
}

// ObserveAPI records one DSM Web API request, labelled by the outcome that
// Outcome(err) gives.
func (m *Metrics) ObserveAPI(nas, api, method string, d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := Outcome(err)
	for _, o := range []string{OutcomeOK, OutcomeAPIError, OutcomeNetworkError} {
		c := m.requests.WithLabelValues(nas, api, method, o)
		if o == outcome {
			c.Inc()
		}
	}
	m.requestDuration.WithLabelValues(nas, api, method).Observe(max(d, 0).Seconds())
}

// Login records a login to a NAS; relogin says it replaced a session that had
// expired or been invalidated.
func (m *Metrics) Login(nas string, relogin bool) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(nas).Inc()
	c := m.relogins.WithLabelValues(nas)
	if relogin {
		c.Inc()
	}
}

// FireLatency records how long after its scheduled time a policy's run
// started. A negative d is taken as 0.
func (m *Metrics) FireLatency(policy string, d time.Duration) {
	if m == nil {
		return
	}
	m.fireDelay.WithLabelValues(policy).Observe(max(d, 0).Seconds())
}

// Outcome classifies the error of a DSM request: nil is OutcomeOK; an error
// from the transport (anything wrapping a net.Error, which every error of
// http.Client.Do does, a context deadline or cancellation, or a connection
// cut short mid-answer) is OutcomeNetworkError; anything else, such as DSM's
// success:false, is OutcomeAPIError. A client that turns an HTTP 5xx answer
// into an error of its own should wrap a net.Error if it wants it counted as a
// network error.
func Outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return OutcomeNetworkError
	}
	return OutcomeAPIError
}

// timestamp is t in Unix seconds with sub-second precision, 0 for the zero time.
func timestamp(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
