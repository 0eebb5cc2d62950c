package policy

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// The cfg…Doc types mirror the YAML file. Every field is a pointer so that a key the
// file leaves out stays nil and defaults can be merged under it. None of these
// structs has an UnmarshalYAML method: yaml.v3 skips its unknown-key check for a
// struct that decodes itself, so only the leaf scalars below have one.

type cfgDoc struct {
	Timezone *cfgString               `yaml:"timezone"`
	StateDir *cfgString               `yaml:"state_dir"`
	Log      *cfgLogDoc               `yaml:"log"`
	Journal  *cfgJournalDoc           `yaml:"journal"`
	Metrics  *cfgMetricsDoc           `yaml:"metrics"`
	NAS      map[string]*cfgNASDoc    `yaml:"nas"`
	Defaults *cfgDefaultsDoc          `yaml:"defaults"`
	Policies map[string]*cfgPolicyDoc `yaml:"policies"`
}

type cfgLogDoc struct {
	Level  *cfgString `yaml:"level"`
	Format *cfgString `yaml:"format"`
}

type cfgJournalDoc struct {
	Retention *cfgDuration `yaml:"retention"`
}

type cfgMetricsDoc struct {
	Listen *cfgString `yaml:"listen"`
}

type cfgNASDoc struct {
	URL                *cfgString   `yaml:"url"`
	User               *cfgString   `yaml:"user"`
	Password           *cfgString   `yaml:"password"`
	PasswordCredential *cfgString   `yaml:"password_credential"`
	PasswordFile       *cfgString   `yaml:"password_file"`
	PasswordEnv        *cfgString   `yaml:"password_env"`
	TLS                *cfgTLSDoc   `yaml:"tls"`
	Timeout            *cfgDuration `yaml:"timeout"`
	MaxConcurrent      *cfgInt      `yaml:"max_concurrent"`
}

type cfgTLSDoc struct {
	CAFile             *cfgString `yaml:"ca_file"`
	FingerprintSHA256  *cfgString `yaml:"fingerprint_sha256"`
	ServerName         *cfgString `yaml:"server_name"`
	InsecureSkipVerify *cfgBool   `yaml:"insecure_skip_verify"`
}

// cfgCommonDoc holds the keys that both `defaults:` and a policy may set.
type cfgCommonDoc struct {
	NAS       *cfgString       `yaml:"nas"`
	Schedule  *cfgString       `yaml:"schedule"`
	Jitter    *cfgDuration     `yaml:"jitter"`
	CatchUp   *cfgBool         `yaml:"catch_up"`
	Snapshot  *cfgSnapshotDoc  `yaml:"snapshot"`
	Retention *cfgRetentionDoc `yaml:"retention"`
	Prune     *cfgString       `yaml:"prune"`
}

// cfgDefaultsDoc is `defaults:`. It has no share, lun or replication plan: those
// name one target, and a default for them would point every policy at it.
type cfgDefaultsDoc struct {
	cfgCommonDoc `yaml:",inline"`
	Replication  *cfgReplicationWhenDoc `yaml:"replication"`
}

type cfgPolicyDoc struct {
	cfgCommonDoc `yaml:",inline"`
	Share        *cfgString         `yaml:"share"`
	LUN          *cfgString         `yaml:"lun"`
	Replication  *cfgReplicationDoc `yaml:"replication"`
}

type cfgSnapshotDoc struct {
	Description   *cfgString `yaml:"description"`
	Lock          *cfgBool   `yaml:"lock"`
	ImmutableDays *cfgInt    `yaml:"immutable_days"`
	AppAware      *cfgBool   `yaml:"app_aware"`
}

type cfgRetentionDoc struct {
	KeepLast         *cfgInt      `yaml:"keep_last"`
	Within           *cfgDuration `yaml:"within"`
	Hourly           *cfgInt      `yaml:"hourly"`
	Daily            *cfgInt      `yaml:"daily"`
	Weekly           *cfgInt      `yaml:"weekly"`
	Monthly          *cfgInt      `yaml:"monthly"`
	Yearly           *cfgInt      `yaml:"yearly"`
	Pick             *cfgString   `yaml:"pick"`
	Scope            *cfgString   `yaml:"scope"`
	MinKeep          *cfgInt      `yaml:"min_keep"`
	MaxDeletesPerRun *cfgInt      `yaml:"max_deletes_per_run"`
}

// cfgReplicationWhenDoc is the part of `replication:` that `defaults:` may hold.
type cfgReplicationWhenDoc struct {
	When         *cfgString `yaml:"when"`
	LockSnapshot *cfgBool   `yaml:"lock_snapshot"`
}

type cfgReplicationDoc struct {
	Plan                  *cfgString `yaml:"plan"`
	cfgReplicationWhenDoc `yaml:",inline"`
}

// cfgLeafError reports a bad scalar as a *yaml.TypeError, which makes yaml.v3 go on
// decoding the rest of the file (any other error type aborts the whole decode). The
// "LINE:COLUMN: " prefix is read back by cfgLoader.decodeError to find the key path.
func cfgLeafError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("%d:%d: %s", n.Line, n.Column, fmt.Sprintf(format, args...))}}
}

// cfgKindName names what a node holds, for "must be X, not Y" messages.
func cfgKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!str":
		return fmt.Sprintf("%q", n.Value)
	}
	return n.ShortTag()
}

// cfgString is a scalar taken as written, whatever YAML would resolve it to, so that
// a share named 2024 or a password of 0123 keeps its exact text.
type cfgString struct {
	v  string
	ok bool
}

func (s *cfgString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return cfgLeafError(n, "must be a string, not %s", cfgKindName(n))
	}
	s.v, s.ok = n.Value, true
	return nil
}

// get reports the value and whether the file set it validly.
func (s *cfgString) get() (string, bool) {
	if s == nil || !s.ok {
		return "", false
	}
	return s.v, true
}

// cfgInt is an integer; unlike yaml.v3's own int decoding it refuses 7.5 instead of
// truncating it.
type cfgInt struct {
	v  int
	ok bool
}

func (i *cfgInt) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return cfgLeafError(n, "must be an integer, not %s", cfgKindName(n))
	}
	var v int
	if err := n.Decode(&v); err != nil {
		return cfgLeafError(n, "integer %s is out of range", n.Value)
	}
	i.v, i.ok = v, true
	return nil
}

func (i *cfgInt) get() (int, bool) {
	if i == nil || !i.ok {
		return 0, false
	}
	return i.v, true
}

// cfgBool is true or false (yaml.v3 also takes yes/no and on/off for a typed bool).
type cfgBool struct {
	v  bool
	ok bool
}

func (b *cfgBool) UnmarshalYAML(n *yaml.Node) error {
	var v bool
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		return cfgLeafError(n, "must be true or false, not %s", cfgKindName(n))
	}
	b.v, b.ok = v, true
	return nil
}

func (b *cfgBool) get() (bool, bool) {
	if b == nil || !b.ok {
		return false, false
	}
	return b.v, true
}

// cfgDuration is a duration in ParseDuration's syntax.
type cfgDuration struct {
	v  time.Duration
	ok bool
}

func (d *cfgDuration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return cfgLeafError(n, "must be a duration such as 30s, 36h or 7d, not %s", cfgKindName(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return cfgLeafError(n, "%v", err)
	}
	d.v, d.ok = v, true
	return nil
}

func (d *cfgDuration) get() (time.Duration, bool) {
	if d == nil || !d.ok {
		return 0, false
	}
	return d.v, true
}
