// Package policy loads and validates snapd's YAML configuration and decides, by
// grandfather-father-son retention, which snapshots of a target to keep.
package policy

import (
	"time"

	"github.com/robfig/cron/v3"
)

// Config is a loaded, validated and defaulted configuration file. Every field is
// resolved: defaults are merged under each policy and zero values mean what the
// documentation says they mean.
type Config struct {
	Path     string         // the file it was loaded from
	Location *time.Location // `timezone:`; time.Local when unset
	StateDir string         // `state_dir:`; "" when unset (the caller applies $STATE_DIRECTORY and the default)
	Log      LogConfig
	Journal  JournalConfig
	Metrics  MetricsConfig
	NAS      map[string]*NAS    // keyed by name
	Policies map[string]*Policy // keyed by name
	Warnings []string           // non-fatal findings, e.g. a world-readable file holding a password
}

// LogConfig is the `log:` block.
type LogConfig struct {
	Level  string // trace | debug | info | warn | error
	Format string // auto | journald | json | console
}

// JournalConfig is the `journal:` block.
type JournalConfig struct {
	Retention time.Duration // entries older than this are compacted away; default 90d
}

// MetricsConfig is the `metrics:` block.
type MetricsConfig struct {
	Listen string // host:port of the Prometheus endpoint; "" = off
}

// NAS is one DSM endpoint.
type NAS struct {
	Name               string
	URL                string
	User               string
	Password           string // inline `password:`, discouraged
	PasswordCredential string // systemd credential name, read from $CREDENTIALS_DIRECTORY
	PasswordFile       string
	PasswordEnv        string
	TLS                TLS
	Timeout            time.Duration // per HTTP request; default 30s
	MaxConcurrent      int           // policies run against this NAS at once; default 2
}

// TLS holds a NAS's certificate verification options.
type TLS struct {
	CAFile             string
	FingerprintSHA256  string // normalised: lower-case hex, no colons
	ServerName         string
	InsecureSkipVerify bool
}

// TargetKind says whether a policy snapshots a shared folder or an iSCSI LUN.
type TargetKind string

// The kinds of target.
const (
	TargetShare TargetKind = "share"
	TargetLUN   TargetKind = "lun"
)

// Policy is one resolved policy.
type Policy struct {
	Name        string
	NAS         string     // key into Config.NAS
	Kind        TargetKind // share or lun
	Target      string     // share name, or LUN name or UUID
	Spec        string     // the schedule as written
	Schedule    cron.Schedule
	Jitter      time.Duration
	CatchUp     bool
	Snapshot    SnapshotOptions
	Retention   Retention
	Prune       When // after_snapshot, never, or a cron schedule
	Replication Replication
}

// SnapshotOptions say how a policy's snapshots are created.
type SnapshotOptions struct {
	Description   string // the user's text; snapd appends the ownership tag
	Lock          bool
	ImmutableDays int // > 0: WORM-immutable (shares only)
	AppAware      bool
}

// Replication is a policy's Snapshot Replication plan.
type Replication struct {
	Plan         string // DR plan id; "" = none
	When         When
	LockSnapshot bool
}

// WhenKind says when a follow-up action (prune, replication) runs.
type WhenKind string

// The kinds of When.
const (
	AfterSnapshot WhenKind = "after_snapshot"
	Never         WhenKind = "never"
	OnSchedule    WhenKind = "schedule"
)

// When is a resolved `prune:` or `replication.when:` value.
type When struct {
	Kind     WhenKind
	Spec     string        // when Kind is OnSchedule
	Schedule cron.Schedule // when Kind is OnSchedule
}

// Pick says which snapshot represents a retention period.
type Pick string

// The values of Pick.
const (
	PickOldest Pick = "oldest"
	PickNewest Pick = "newest"
)

// Scope says which snapshots retention counts and may delete.
type Scope string

// The values of Scope.
const (
	ScopeOwn Scope = "own"
	ScopeAll Scope = "all"
)

// Retention is a policy's resolved GFS retention. Zero counts mean the rule is off.
type Retention struct {
	KeepLast         int
	Within           time.Duration
	Hourly           int
	Daily            int
	Weekly           int
	Monthly          int
	Yearly           int
	Pick             Pick  // default oldest
	Scope            Scope // default own
	MinKeep          int   // default 1
	MaxDeletesPerRun int   // default 50; 0 = no limit
}
