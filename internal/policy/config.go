package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// cfgMaxSize bounds what Load reads: a configuration is a few kilobytes, and
// yaml.v3's duplicate-key check is quadratic in the size of a mapping.
const cfgMaxSize = 1 << 20

// ConfigError is one problem in a configuration file. Load and Parse return all of
// a file's problems at once, as an errors.Join of *ConfigError sorted by position.
type ConfigError struct {
	File   string // the path given to Load or Parse
	Line   int    // 1-based; 0 when the problem has no position (an empty file)
	Column int    // 1-based; 0 when unknown (yaml.v3 gives no column for syntax errors)
	Path   string // dotted key path, e.g. policies.homes.retention.daily; "" for the whole file
	Msg    string
}

// Error formats the problem as "config.yaml:12:7: policies.homes.retention.daily: must be >= 0",
// leaving out the parts that are unknown.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File != "" {
			b.WriteString(":")
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads the configuration file at path and returns it parsed, defaulted and
// validated, as Parse does. On top of Parse it warns (Config.Warnings) when the file
// holds an inline `password:` and is readable by group or others. An unreadable file
// is returned as the wrapped *fs.PathError, not as a ConfigError.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, cfgMaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > cfgMaxSize {
		return nil, &ConfigError{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", cfgMaxSize)}
	}
	cfg, l, err := cfgParse(path, data)
	if err != nil {
		return nil, err
	}
	if mode := fi.Mode().Perm(); mode&0o044 != 0 {
		for _, name := range cfgSortedKeys(cfg.NAS) {
			if cfg.NAS[name].Password == "" {
				continue
			}
			line, col := cfgPos(l.root, "nas", name, "password")
			w := &ConfigError{File: path, Line: line, Column: col, Path: "nas." + name + ".password",
				Msg: fmt.Sprintf("inline password in a file readable by group or others (mode %#o): chmod 600 the file, or use password_credential, password_file or password_env", mode)}
			cfg.Warnings = append(cfg.Warnings, w.Error())
		}
	}
	return cfg, nil
}

// Parse parses, defaults and validates a configuration read from path. path is
// used in error messages and to resolve relative password_file and tls.ca_file
// paths (against the file's directory, as Prometheus does), and is not read.
//
// The file is strict: an unknown key, a value of the wrong type, a duplicate key,
// a bad name, duration, cron expression or enum value, and every contradiction
// listed below is an error with the file, line, column and key path. All of a
// file's errors are returned together, joined, sorted by position.
//
// Defaults, for every key the file leaves out:
//
//	timezone                  the host's local zone (time.Local)
//	state_dir                 "" (the caller applies $STATE_DIRECTORY, then /var/lib/synology-snapd);
//	                          when set, it must be absolute
//	log.level, log.format     info, auto
//	journal.retention         90d (must be > 0)
//	metrics.listen            "" (off)
//	nas.N.timeout             30s (must be > 0)
//	nas.N.max_concurrent      2 (must be >= 1)
//	policy nas                the only NAS, when exactly one is defined
//	jitter                    0s
//	catch_up                  true
//	snapshot                  description "", lock false, immutable_days 0, app_aware false
//	retention                 all counts 0 and within 0s (at least one must be set, here or in
//	                          defaults), pick oldest, scope own, min_keep 1 (must be >= 1: the
//	                          newest snapshot is never deleted anyway), max_deletes_per_run 50
//	                          (0 = no limit)
//	prune                     after_snapshot (or never, or a cron expression)
//	replication               plan "" (none), when after_snapshot (or a cron expression),
//	                          lock_snapshot true
//
// `defaults:` may hold nas, schedule, jitter, catch_up, snapshot, retention, prune
// and replication.when and replication.lock_snapshot; not share, lun or
// replication.plan, which name one target. Defaults are merged under each policy
// key by key, nested blocks included: a policy that sets only retention.daily keeps
// the other retention keys of `defaults:`. A key set to null (`daily: ~`) counts
// as not set.
//
// Names of NAS and policies match [a-z0-9][a-z0-9_.-]* and have at most 64
// characters. Durations take Go syntax plus d (24h) and w (7d). Cron expressions
// are parsed by scheduler.Parse in the configured time zone, and one that never
// fires (0 0 30 2 *) is an error. Integers must be written as integers (7.5 and
// "7" are errors); booleans are true or false (yes/no and on/off are also taken,
// as yaml.v3 does for booleans); string values keep their text as written.
//
// Errors beyond the value checks: a policy naming an unknown NAS; share and lun
// both set or neither; immutable_days > 0 on a LUN; app_aware on a share; a
// retention that keeps nothing (as restic refuses an empty policy); a description
// holding "[snapd:", snapd's ownership tag; a NAS url that is not http(s)://host,
// or that holds credentials, a query or a fragment; tls settings with an http://
// url; no password source or more than one; a fingerprint that is not 64 hex
// digits once colons are removed; insecure_skip_verify together with ca_file or
// fingerprint_sha256 (the pin is verified on its own and replaces CA checks); a
// relative state_dir; an empty file, a second YAML document, no NAS or no policies.
//
// Warnings (Config.Warnings), not errors: a plain http:// NAS url, which sends the
// password in clear text, and insecure_skip_verify without a pin.
func Parse(path string, data []byte) (*Config, error) {
	cfg, _, err := cfgParse(path, data)
	return cfg, err
}

// cfgLoader gathers a file's errors while it is decoded and resolved.
type cfgLoader struct {
	file    string
	root    *yaml.Node // the document's top node
	entries []cfgEntry
	errs    []*ConfigError
	warns   []*ConfigError
	// broken holds paths whose value failed to decode and so reads as unset;
	// whole-policy checks depending on them keep quiet (see errDeps).
	broken [][]string
}

func cfgParse(path string, data []byte) (*Config, *cfgLoader, error) {
	l := &cfgLoader{file: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return nil, l, l.joined(&ConfigError{File: path, Msg: "file is empty: it must define nas and policies"})
	case err != nil:
		return nil, l, l.joined(l.syntaxError(err))
	}
	if len(doc.Content) != 1 || doc.Content[0].ShortTag() == "!!null" {
		return nil, l, l.joined(&ConfigError{File: path, Msg: "file is empty: it must define nas and policies"})
	}
	l.root = doc.Content[0]
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.errs = append(l.errs, l.syntaxError(err))
	case len(extra.Content) == 1 && extra.Content[0].ShortTag() != "!!null":
		n := extra.Content[0]
		l.errs = append(l.errs, &ConfigError{File: path, Line: n.Line, Column: n.Column,
			Msg: "a second YAML document is not allowed: keep the whole configuration in one"})
	}

	l.entries = cfgIndexTree(l.root)
	l.checkDuplicates()

	var raw cfgDoc
	rd := yaml.NewDecoder(bytes.NewReader(data))
	rd.KnownFields(true)
	if err := rd.Decode(&raw); err != nil {
		l.decodeError(err)
	}
	cfg := l.resolve(&raw)
	if len(l.errs) > 0 {
		return nil, l, l.joined()
	}
	cfgSortByPos(l.warns)
	for _, w := range l.warns {
		cfg.Warnings = append(cfg.Warnings, w.Error())
	}
	return cfg, l, nil
}

// joined sorts the errors by position, drops repeats (a value reached through
// several aliases fails once per use) and joins them.
func (l *cfgLoader) joined(extra ...*ConfigError) error {
	all := append(l.errs, extra...)
	cfgSortByPos(all)
	var errs []error
	seen := map[string]bool{}
	for _, e := range all {
		if s := e.Error(); !seen[s] {
			seen[s] = true
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

func (l *cfgLoader) markBroken(path []string) {
	l.broken = append(l.broken, path)
}

// errAt records an error at the key path (or its nearest written ancestor).
func (l *cfgLoader) errAt(path []string, format string, args ...any) {
	line, col := cfgPos(l.root, path...)
	l.errs = append(l.errs, &ConfigError{File: l.file, Line: line, Column: col, Path: cfgJoin(path), Msg: fmt.Sprintf(format, args...)})
}

// warnAt records a warning at the key path.
func (l *cfgLoader) warnAt(path []string, format string, args ...any) {
	line, col := cfgPos(l.root, path...)
	l.warns = append(l.warns, &ConfigError{File: l.file, Line: line, Column: col, Path: cfgJoin(path), Msg: fmt.Sprintf(format, args...)})
}

// errDeps records an error found by combining several keys (deps), unless one of
// them, or a block around or inside one of them, failed to decode: then the finding
// may only be an echo of that failure, which is reported already.
func (l *cfgLoader) errDeps(deps [][]string, path []string, format string, args ...any) {
	for _, b := range l.broken {
		for _, d := range deps {
			if cfgHasPrefix(b, d) || cfgHasPrefix(d, b) {
				return
			}
		}
	}
	l.errAt(path, format, args...)
}

func cfgHasPrefix(p, prefix []string) bool {
	return len(p) >= len(prefix) && slices.Equal(p[:len(prefix)], prefix)
}

func cfgSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// cfgSortByPos sorts findings by line and column, keeping the order of those at
// the same place.
func cfgSortByPos(es []*ConfigError) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Column < es[j].Column
	})
}
