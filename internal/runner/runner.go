// Package runner carries out policy runs against a NAS (create, replicate, prune) and
// journals every action, for the daemon and the one-off commands alike.
package runner

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/synology-snapd/snapd/internal/metrics"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/state"
	"github.com/synology-snapd/snapd/internal/synology"
)

// ErrRefused is returned when a prune would delete more than max_deletes_per_run
// snapshots and was not forced.
var ErrRefused = errors.New("prune refused")

// ErrUnknownPolicy is returned for a policy name the configuration does not define.
var ErrUnknownPolicy = errors.New("unknown policy")

// Journal is where a runner records actions: the state database itself, or the daemon
// over its control socket when a one-off command runs beside it.
type Journal interface {
	Append(e ...state.Entry) ([]uint64, error)
	BeginIntent(in state.Intent) (uint64, error)
	CompleteIntent(id uint64, e ...state.Entry) error
	PendingIntents() ([]state.Intent, error)
	LastRun(policy string) (state.RunRecord, bool, error)
	SetLastRun(r state.RunRecord) error
}

// Shared holds what outlives a configuration reload: NAS sessions and target locks.
type Shared struct {
	mu      sync.Mutex
	clients map[string]*synology.Client
	locks   *targetLocks
	targets map[string]*target
	// settled says, per target, whether it is known to have no open intent, so a run
	// needs no scan of the intents; allSettled covers the targets not in it once a
	// Reconcile of everything has succeeded.
	settled    map[string]bool
	allSettled bool
}

// NewShared returns an empty Shared.
func NewShared() *Shared {
	return &Shared{clients: map[string]*synology.Client{}, locks: newTargetLocks(), targets: map[string]*target{}, settled: map[string]bool{}}
}

// SetClient installs the client for a NAS, replacing (and returning) any previous one.
func (s *Shared) SetClient(nas string, c *synology.Client) (old *synology.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old = s.clients[nas]
	s.clients[nas] = c
	for k, t := range s.targets {
		if t.nas == nas && t.client != c {
			delete(s.targets, k)
		}
	}
	return old
}

func (s *Shared) isSettled(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.settled[key]; ok {
		return v
	}
	return s.allSettled
}

func (s *Shared) setSettled(key string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settled[key] = ok
}

// Client returns the client for a NAS, or nil.
func (s *Shared) Client(nas string) *synology.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients[nas]
}

// Clients returns every client by NAS name.
func (s *Shared) Clients() map[string]*synology.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]*synology.Client, len(s.clients))
	for k, v := range s.clients {
		m[k] = v
	}
	return m
}

func (s *Shared) target(nas string, kind policy.TargetKind, name string) (*target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[nas]
	if c == nil {
		return nil, fmt.Errorf("no client for NAS %q", nas)
	}
	key := nas + "/" + string(kind) + ":" + name
	t, ok := s.targets[key]
	if !ok || t.client != c {
		t = &target{nas: nas, kind: kind, name: name, client: c}
		s.targets[key] = t
	}
	return t, nil
}

// Runner runs the policies of one configuration.
type Runner struct {
	Config  *policy.Config
	Shared  *Shared
	Journal Journal
	Log     zerolog.Logger
	Metrics *metrics.Metrics // may be nil
	Now     func() time.Time // nil = time.Now
	// CreateSpacing is the least time between two creates on one target; 0 = 1.1s.
	CreateSpacing time.Duration
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) policy(name string) (*policy.Policy, error) {
	p, ok := r.Config.Policies[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownPolicy, name)
	}
	return p, nil
}

func (r *Runner) targetOf(p *policy.Policy) (*target, error) {
	return r.Shared.target(p.NAS, p.Kind, p.Target)
}

func targetKey(p *policy.Policy) string { return p.NAS + "/" + string(p.Kind) + ":" + p.Target }

// emit journals entries and logs each one.
func (r *Runner) emit(es ...state.Entry) error {
	for i := range es {
		if es[i].Time.IsZero() {
			es[i].Time = r.now()
		}
	}
	_, err := r.Journal.Append(es...)
	for _, e := range es {
		r.logEntry(e)
	}
	if err != nil {
		r.Log.Error().Err(err).Msg("cannot write the journal")
	}
	return err
}

func (r *Runner) logEntry(e state.Entry) {
	var ev *zerolog.Event
	switch e.Outcome {
	case OutcomeOK:
		ev = r.Log.Info()
	case OutcomeRefused:
		ev = r.Log.Warn()
	default:
		ev = r.Log.Error()
	}
	if e.Action == "run.skipped" || e.Action == "run.missed" {
		ev = r.Log.Warn()
	}
	ev = ev.Str("action", e.Action).Str("outcome", e.Outcome)
	if e.Policy != "" {
		ev = ev.Str("policy", e.Policy)
	}
	if e.NAS != "" {
		ev = ev.Str("nas", e.NAS)
	}
	if e.Target != "" {
		ev = ev.Str("target", e.Target)
	}
	if e.Snapshot != "" {
		ev = ev.Str("snapshot", e.Snapshot)
	}
	if e.Count != 0 {
		ev = ev.Int("count", e.Count)
	}
	if e.DurationMS != 0 {
		ev = ev.Int64("duration_ms", e.DurationMS)
	}
	if e.Error != "" {
		ev = ev.Str("error", e.Error)
	}
	ev.Msg(e.Action + " " + e.Outcome)
}

func entryFor(p *policy.Policy, t *target, action string) state.Entry {
	return state.Entry{Policy: p.Name, NAS: p.NAS, Target: t.String(), Action: action}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func outcomeOf(err error) string {
	if err == nil {
		return OutcomeOK
	}
	return OutcomeError
}

// Journal outcomes and actions (SPEC §3).
const (
	OutcomeOK      = "ok"
	OutcomeError   = "error"
	OutcomeRefused = "refused"

	ActionCreate  = "snapshot.create"
	ActionDelete  = "snapshot.delete"
	ActionSet     = "snapshot.set"
	ActionSync    = "replication.sync"
	ActionPlan    = "prune.plan"
	ActionSkipped = "run.skipped"
	ActionMissed  = "run.missed"
)
