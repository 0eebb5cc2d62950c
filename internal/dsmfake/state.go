package dsmfake

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The seed and dump schema. Leaf types with their own decoders (duration, stamp) report the
// line and column of a bad value; the structs rely on KnownFields for unknown keys.
type seedFile struct {
	Options *seedOptions `yaml:"options,omitempty"`
	Users   []seedUser   `yaml:"users,omitempty"`
	Shares  []seedShare  `yaml:"shares,omitempty"`
	LUNs    []seedLUN    `yaml:"luns,omitempty"`
	Plans   []seedPlan   `yaml:"plans,omitempty"`
}

type seedOptions struct {
	Profile          string   `yaml:"profile,omitempty"`
	Zone             string   `yaml:"zone,omitempty"`
	Order            string   `yaml:"order,omitempty"`
	Limit            int      `yaml:"limit,omitempty"`
	IdleTimeout      duration `yaml:"idle_timeout,omitempty"`
	Strict           *bool    `yaml:"strict,omitempty"`
	RequireSynoToken *bool    `yaml:"require_syno_token,omitempty"`
	NoDRPackage      *bool    `yaml:"no_dr_package,omitempty"`
	MaxFailedLogins  int      `yaml:"max_failed_logins,omitempty"`
}

type seedUser struct {
	Name     string `yaml:"name"`
	Password string `yaml:"password"`
	OTP      string `yaml:"otp,omitempty"`
}

type seedShare struct {
	Name      string              `yaml:"name"`
	Snapshots []seedShareSnapshot `yaml:"snapshots,omitempty"`
	Generate  *seedGenerate       `yaml:"generate,omitempty"`
	Retention *seedRetention      `yaml:"retention,omitempty"`
}

// seedRetention is DSM's own retention policy of a share or LUN; task_id 0 or -1 = none.
type seedRetention struct {
	TaskID     int `yaml:"task_id"`
	PolicyType int `yaml:"policy_type,omitempty"`
	RetainDays int `yaml:"retain_days,omitempty"`
	Hourly     int `yaml:"hourly,omitempty"`
	Daily      int `yaml:"daily,omitempty"`
	Weekly     int `yaml:"weekly,omitempty"`
	Monthly    int `yaml:"monthly,omitempty"`
	Yearly     int `yaml:"yearly,omitempty"`
	Recently   int `yaml:"recently,omitempty"`
}

// retention checks the block and returns it as a Retention.
func (r *seedRetention) retention() (Retention, error) {
	if r == nil {
		return Retention{}, nil
	}
	if r.TaskID < -1 {
		return Retention{}, fmt.Errorf("retention.task_id %d is below -1", r.TaskID)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"policy_type", r.PolicyType}, {"retain_days", r.RetainDays}, {"hourly", r.Hourly}, {"daily", r.Daily},
		{"weekly", r.Weekly}, {"monthly", r.Monthly}, {"yearly", r.Yearly}, {"recently", r.Recently}} {
		if f.v < 0 {
			return Retention{}, fmt.Errorf("retention.%s %d is negative", f.name, f.v)
		}
	}
	return Retention{TaskID: max(r.TaskID, 0), PolicyType: r.PolicyType, RetainDays: r.RetainDays, Hourly: r.Hourly,
		Daily: r.Daily, Weekly: r.Weekly, Monthly: r.Monthly, Yearly: r.Yearly, Recently: r.Recently}, nil
}

// seedRetentionOf is the dump of a retention policy; nil when none was ever set.
func seedRetentionOf(r Retention) *seedRetention {
	if r == (Retention{}) {
		return nil
	}
	return &seedRetention{TaskID: r.TaskID, PolicyType: r.PolicyType, RetainDays: r.RetainDays, Hourly: r.Hourly,
		Daily: r.Daily, Weekly: r.Weekly, Monthly: r.Monthly, Yearly: r.Yearly, Recently: r.Recently}
}

type seedShareSnapshot struct {
	Name      string   `yaml:"name,omitempty"`
	Time      stamp    `yaml:"time,omitempty"`
	Desc      string   `yaml:"desc,omitempty"`
	Lock      bool     `yaml:"lock,omitempty"`
	Schedule  bool     `yaml:"schedule,omitempty"`
	WORMDays  int      `yaml:"worm_days,omitempty"`
	WORMBegin stamp    `yaml:"worm_begin,omitempty"`
	AppKeys   []string `yaml:"app_keys,omitempty"`
	Hide      bool     `yaml:"hide,omitempty"`
}

// seedGenerate is a compact history: count snapshots, every apart, ending at end (default:
// the NAS clock rounded down to every) or starting at start.
type seedGenerate struct {
	Every     duration `yaml:"every"`
	Count     int      `yaml:"count"`
	Start     stamp    `yaml:"start,omitempty"`
	End       stamp    `yaml:"end,omitempty"`
	Desc      string   `yaml:"desc,omitempty"`
	LockEvery int      `yaml:"lock_every,omitempty"` // every Nth snapshot locked; 0 = none
	Schedule  bool     `yaml:"schedule,omitempty"`
}

type seedLUN struct {
	UUID      string            `yaml:"uuid"`
	Name      string            `yaml:"name,omitempty"`
	Location  string            `yaml:"location,omitempty"`
	Size      int64             `yaml:"size,omitempty"`
	Type      string            `yaml:"type,omitempty"`
	Snapshots []seedLUNSnapshot `yaml:"snapshots,omitempty"`
	Generate  *seedGenerate     `yaml:"generate,omitempty"`
	Retention *seedRetention    `yaml:"retention,omitempty"`
}

type seedLUNSnapshot struct {
	UUID          string   `yaml:"uuid,omitempty"`
	ID            int      `yaml:"id,omitempty"`
	Name          string   `yaml:"name,omitempty"`
	Time          stamp    `yaml:"time"`
	Desc          string   `yaml:"desc,omitempty"`
	Locked        bool     `yaml:"locked,omitempty"`
	WORM          bool     `yaml:"worm,omitempty"`
	AppKeys       []string `yaml:"app_keys,omitempty"`
	TakenBy       string   `yaml:"taken_by,omitempty"`
	AppConsistent bool     `yaml:"app_consistent,omitempty"`
}

type seedPlan struct {
	ID            string     `yaml:"id"`
	TargetType    string     `yaml:"target_type,omitempty"`
	Target        string     `yaml:"target"`
	SendEncrypted bool       `yaml:"send_encrypted,omitempty"`
	Syncs         []seedSync `yaml:"syncs,omitempty"`
}

type seedSync struct {
	Time         stamp  `yaml:"time"`
	LockSnapshot bool   `yaml:"lock_snapshot,omitempty"`
	Description  string `yaml:"description,omitempty"`
	Snapshot     string `yaml:"snapshot,omitempty"`
}

// duration is a Go duration ("90m", "1h30m") or a whole number of days ("7d").
type duration time.Duration

func parseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(d)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (want e.g. 30m, 1h, 7d)", s)
	}
	return d, nil
}

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d column %d: %w", n.Line, n.Column, err)
	}
	*d = duration(v)
	return nil
}

func (d duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// stamp is an RFC 3339 time.
type stamp struct{ time.Time }

func (s *stamp) UnmarshalYAML(n *yaml.Node) error {
	t, err := time.Parse(time.RFC3339, n.Value)
	if err != nil {
		return fmt.Errorf("line %d column %d: bad time %q (want RFC 3339, e.g. 2025-01-31T23:00:00+09:00)", n.Line, n.Column, n.Value)
	}
	s.Time = t
	return nil
}

func (s stamp) MarshalYAML() (any, error) { return s.Time, nil }

func (s stamp) IsZero() bool { return s.Time.IsZero() }

// LoadState adds the state described by a YAML seed (the DumpState schema) to the NAS:
// options present in the seed replace the NAS's, users, shares, LUNs and plans are added
// (replacing ones with the same name). Nothing changes unless the whole seed is valid.
func (n *NAS) LoadState(r io.Reader) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var sf seedFile
	if err := dec.Decode(&sf); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("seed: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	opts, err := sf.options(n.opts)
	if err != nil {
		return err
	}
	// Build into a scratch NAS first so a bad seed changes nothing.
	tmp := New(opts)
	tmp.opts.Now = n.now
	if err := tmp.apply(&sf); err != nil {
		return err
	}
	n.setOptions(opts)
	for k, v := range tmp.users {
		n.users[k] = v
	}
	for k, v := range tmp.shares {
		n.shares[k] = v
	}
	for _, l := range tmp.sortedLUNs() {
		n.lunSeq++
		l.id = n.lunSeq
		n.luns[l.UUID] = l
	}
	for _, p := range tmp.sortedPlans() {
		if old := n.plans[p.ID]; old != nil {
			p.seq = old.seq
		} else {
			p.seq = len(n.plans) + 1
		}
		n.plans[p.ID] = p
	}
	for _, sh := range n.shares {
		if len(sh.snaps) > n.opts.SnapshotLimit {
			n.logf("dsmfake: share %q is seeded with %d snapshots, above the limit of %d: creates answer 3329", sh.name, len(sh.snaps), n.opts.SnapshotLimit)
		}
	}
	for _, l := range n.luns {
		if len(l.snaps) > n.opts.SnapshotLimit {
			n.logf("dsmfake: LUN %s is seeded with %d snapshots, above the limit of %d: take_snapshot answers 18990543", l.UUID, len(l.snaps), n.opts.SnapshotLimit)
		}
	}
	return nil
}

// options merges the seed's options section into cur.
func (sf *seedFile) options(cur Options) (Options, error) {
	o := sf.Options
	if o == nil {
		return cur, nil
	}
	var errs []error
	if o.Profile != "" {
		p, err := ParseProfile(o.Profile)
		errs = append(errs, err)
		cur.Profile = p
	}
	if o.Zone != "" {
		loc, err := time.LoadLocation(o.Zone)
		if err != nil {
			errs = append(errs, fmt.Errorf("options.zone: %w", err))
		}
		cur.Zone = loc
	}
	if o.Order != "" {
		ord, err := ParseOrder(o.Order)
		errs = append(errs, err)
		cur.ListOrder = ord
	}
	if o.Limit < 0 {
		errs = append(errs, fmt.Errorf("options.limit: %d is negative", o.Limit))
	}
	if o.Limit > 0 {
		cur.SnapshotLimit = o.Limit
	}
	if o.IdleTimeout != 0 {
		cur.IdleTimeout = time.Duration(o.IdleTimeout)
	}
	if o.MaxFailedLogins > 0 {
		cur.MaxFailedLogins = o.MaxFailedLogins
	}
	for _, b := range []struct {
		v   *bool
		dst *bool
	}{{o.Strict, &cur.Strict}, {o.RequireSynoToken, &cur.RequireSynoToken}, {o.NoDRPackage, &cur.NoDRPackage}} {
		if b.v != nil {
			*b.dst = *b.v
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cur, fmt.Errorf("seed: %w", err)
	}
	return cur, nil
}

// times expands a history generator into snapshot times, oldest first.
func (g *seedGenerate) times(now time.Time) ([]time.Time, error) {
	every := time.Duration(g.Every)
	switch {
	case every <= 0:
		return nil, errors.New("generate.every must be positive")
	case g.Count <= 0:
		return nil, errors.New("generate.count must be positive")
	case g.Count > 100_000:
		return nil, fmt.Errorf("generate.count %d is more than 100000", g.Count)
	case !g.Start.IsZero() && !g.End.IsZero():
		return nil, errors.New("generate: give start or end, not both")
	case g.LockEvery < 0:
		return nil, errors.New("generate.lock_every must not be negative")
	}
	first := g.Start.Time
	if first.IsZero() {
		end := g.End.Time
		if end.IsZero() {
			end = now.Truncate(every)
		}
		first = end.Add(-time.Duration(g.Count-1) * every)
	}
	out := make([]time.Time, g.Count)
	for i := range out {
		out[i] = first.Add(time.Duration(i) * every).Truncate(time.Second)
	}
	return out, nil
}

// apply adds the seed's users, shares, LUNs and plans to an empty scratch NAS.
func (n *NAS) apply(sf *seedFile) error {
	var errs []error
	for i, u := range sf.Users {
		if u.Name == "" {
			errs = append(errs, fmt.Errorf("seed: users[%d]: name is empty", i))
			continue
		}
		n.users[u.Name] = &account{User: User(u)}
	}
	now := n.now()
	for i, s := range sf.Shares {
		where := fmt.Sprintf("seed: shares[%d]", i)
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is empty", where))
			continue
		}
		sh := n.addShare(s.Name)
		if r, err := s.Retention.retention(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		} else {
			sh.retention = r
		}
		add := func(what string, ss ShareSnapshot) {
			if ss.Name != "" && sh.snaps[ss.Name] != nil {
				errs = append(errs, fmt.Errorf("%s %s: snapshot %s is listed twice", where, what, ss.Name))
				return
			}
			if ss.Name == "" {
				if name := snapshotName(ss.Time, n.opts.Zone); sh.snaps[name] != nil {
					errs = append(errs, fmt.Errorf("%s %s: snapshot %s is listed twice", where, what, name))
					return
				}
			}
			n.addShareSnapshot(sh, ss)
		}
		for j, ss := range s.Snapshots {
			what := fmt.Sprintf("snapshots[%d]", j)
			if ss.Time.IsZero() {
				t, ok := parseSnapshotName(ss.Name)
				if !ok {
					errs = append(errs, fmt.Errorf("%s %s: no time, and name %q is not a GMT±HH-YYYY.MM.DD-hh.mm.ss name", where, what, ss.Name))
					continue
				}
				ss.Time.Time = t
			}
			if ss.WORMDays < 0 {
				errs = append(errs, fmt.Errorf("%s %s: worm_days is negative", where, what))
				continue
			}
			add(what, ShareSnapshot{Name: ss.Name, Time: ss.Time.Time, Desc: ss.Desc, Lock: ss.Lock,
				Schedule: ss.Schedule, WORMDays: ss.WORMDays, WORMBegin: ss.WORMBegin.Time,
				AppKeys: ss.AppKeys, Hide: ss.Hide})
		}
		if s.Generate != nil {
			ts, err := s.Generate.times(now)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
			for k, t := range ts {
				lock := s.Generate.LockEvery > 0 && (k+1)%s.Generate.LockEvery == 0
				add("generate", ShareSnapshot{Time: t, Desc: s.Generate.Desc, Lock: lock, Schedule: s.Generate.Schedule})
			}
		}
	}
	for i, l := range sf.LUNs {
		where := fmt.Sprintf("seed: luns[%d]", i)
		if l.UUID == "" {
			errs = append(errs, fmt.Errorf("%s: uuid is empty", where))
			continue
		}
		if n.luns[l.UUID] != nil {
			errs = append(errs, fmt.Errorf("%s: uuid %s is listed twice", where, l.UUID))
			continue
		}
		ls := n.addLUN(LUN{UUID: l.UUID, Name: l.Name, Location: l.Location, Size: l.Size, TypeStr: l.Type})
		if r, err := l.Retention.retention(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		} else {
			ls.retention = r
		}
		ids := map[int]bool{}
		for j, s := range l.Snapshots {
			what := fmt.Sprintf("%s snapshots[%d]", where, j)
			switch {
			case s.Time.IsZero():
				errs = append(errs, fmt.Errorf("%s: time is missing", what))
				continue
			case s.UUID != "" && ls.snaps[s.UUID] != nil:
				errs = append(errs, fmt.Errorf("%s: uuid %s is listed twice", what, s.UUID))
				continue
			case s.ID < 0:
				errs = append(errs, fmt.Errorf("%s: id %d is negative", what, s.ID))
				continue
			case s.ID != 0 && ids[s.ID]:
				errs = append(errs, fmt.Errorf("%s: id %d is listed twice", what, s.ID))
				continue
			}
			id := n.addLUNSnapshot(ls, LUNSnapshot{UUID: s.UUID, ID: s.ID, Name: s.Name,
				Time: s.Time.Time, Desc: s.Desc, Locked: s.Locked, WORM: s.WORM, AppKeys: s.AppKeys,
				TakenBy: s.TakenBy, AppConsistent: s.AppConsistent})
			ids[ls.snaps[id].ID] = true
		}
		if l.Generate != nil {
			ts, err := l.Generate.times(now)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
			for k, t := range ts {
				lock := l.Generate.LockEvery > 0 && (k+1)%l.Generate.LockEvery == 0
				n.addLUNSnapshot(ls, LUNSnapshot{Time: t, Desc: l.Generate.Desc, Locked: lock})
			}
		}
	}
	for i, p := range sf.Plans {
		where := fmt.Sprintf("seed: plans[%d]", i)
		switch {
		case p.ID == "":
			errs = append(errs, fmt.Errorf("%s: id is empty", where))
			continue
		case p.TargetType != "" && p.TargetType != "share" && p.TargetType != "lun":
			errs = append(errs, fmt.Errorf("%s: target_type %q is not share or lun", where, p.TargetType))
			continue
		case p.Target == "":
			errs = append(errs, fmt.Errorf("%s: target is empty", where))
			continue
		}
		ps := n.addPlan(Plan{ID: p.ID, TargetType: p.TargetType, TargetName: p.Target, SendEncrypted: p.SendEncrypted})
		for j, s := range p.Syncs {
			if s.Time.IsZero() {
				errs = append(errs, fmt.Errorf("%s syncs[%d]: time is missing", where, j))
				continue
			}
			ps.records = append(ps.records, SyncRecord{PlanID: p.ID, Time: s.Time.Time,
				LockSnapshot: s.LockSnapshot, Description: s.Description, Snapshot: s.Snapshot})
		}
	}
	return errors.Join(errs...)
}

// DumpState writes the whole state (options, users, shares, LUNs, their retention policies,
// plans and their syncs) in the seed schema; sessions, faults and counters are not part of it.
func (n *NAS) DumpState(w io.Writer) error {
	n.mu.Lock()
	sf := n.seed()
	n.mu.Unlock()
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(sf); err != nil {
		return fmt.Errorf("dump state: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("dump state: %w", err)
	}
	return nil
}

func (n *NAS) seed() *seedFile {
	o := n.opts
	t, f := true, false
	b := func(v bool) *bool {
		if v {
			return &t
		}
		return &f
	}
	sf := &seedFile{Options: &seedOptions{Profile: string(o.Profile), Zone: o.Zone.String(), Order: string(o.ListOrder),
		Limit: o.SnapshotLimit, IdleTimeout: duration(o.IdleTimeout), Strict: b(o.Strict),
		RequireSynoToken: b(o.RequireSynoToken), NoDRPackage: b(o.NoDRPackage), MaxFailedLogins: o.MaxFailedLogins}}
	for _, u := range n.sortedUsers() {
		sf.Users = append(sf.Users, seedUser(u))
	}
	names := make([]string, 0, len(n.shares))
	for name := range n.shares {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ss := seedShare{Name: name, Retention: seedRetentionOf(n.shares[name].retention)}
		for _, s := range n.shares[name].sorted() {
			d := seedShareSnapshot{Name: s.Name, Time: stamp{s.Time}, Desc: s.Desc, Lock: s.Lock,
				Schedule: s.Schedule, WORMDays: s.WORMDays, AppKeys: s.AppKeys, Hide: s.Hide}
			if s.WORMDays > 0 {
				d.WORMBegin = stamp{s.WORMBegin}
			}
			ss.Snapshots = append(ss.Snapshots, d)
		}
		sf.Shares = append(sf.Shares, ss)
	}
	for _, l := range n.sortedLUNs() {
		sl := seedLUN{UUID: l.UUID, Name: l.Name, Location: l.Location, Size: l.Size, Type: l.TypeStr,
			Retention: seedRetentionOf(l.retention)}
		for _, s := range l.sorted() {
			sl.Snapshots = append(sl.Snapshots, seedLUNSnapshot{UUID: s.UUID, ID: s.ID, Name: s.Name,
				Time: stamp{s.Time}, Desc: s.Desc, Locked: s.Locked, WORM: s.WORM, AppKeys: s.AppKeys,
				TakenBy: s.TakenBy, AppConsistent: s.AppConsistent})
		}
		sf.LUNs = append(sf.LUNs, sl)
	}
	for _, p := range n.sortedPlans() {
		sp := seedPlan{ID: p.ID, TargetType: p.TargetType, Target: p.TargetName, SendEncrypted: p.SendEncrypted}
		for _, r := range p.records {
			sp.Syncs = append(sp.Syncs, seedSync{Time: stamp{r.Time}, LockSnapshot: r.LockSnapshot,
				Description: r.Description, Snapshot: r.Snapshot})
		}
		sf.Plans = append(sf.Plans, sp)
	}
	return sf
}
