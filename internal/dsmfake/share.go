package dsmfake

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ShareSnapshot is a snapshot of a shared folder. Share snapshots are keyed by name.
type ShareSnapshot struct {
	Name      string    // "" = generate from Time in Options.Zone
	Time      time.Time // when it was taken (used to generate Name if empty)
	Desc      string
	Lock      bool
	Schedule  bool      // schedule_snapshot
	WORMDays  int       // > 0: WORM locked from WORMBegin for this many days
	WORMBegin time.Time // start of the WORM period; zero = Time
	AppKeys   []string  // replication holds (locked_app_keys)
	Hide      bool
}

// wormEnd is the end of the WORM period (zero when the snapshot never had one).
func (s *ShareSnapshot) wormEnd() time.Time {
	if s.WORMDays <= 0 {
		return time.Time{}
	}
	return s.WORMBegin.Add(time.Duration(s.WORMDays) * 24 * time.Hour)
}

// wormActive reports whether deletion is still refused because of WORM.
func (s *ShareSnapshot) wormActive(now time.Time) bool {
	return s.WORMDays > 0 && now.Before(s.wormEnd())
}

type shareSnap struct {
	ShareSnapshot
	ruuid string
}

type share struct {
	name      string
	snaps     map[string]*shareSnap
	retention Retention
}

// sorted returns the snapshots oldest first.
func (sh *share) sorted() []*shareSnap {
	out := make([]*shareSnap, 0, len(sh.snaps))
	for _, s := range sh.snaps {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// AddShare adds an empty shared folder (no-op if it exists).
func (n *NAS) AddShare(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.addShare(name)
}

func (n *NAS) addShare(name string) *share {
	sh := n.shares[name]
	if sh == nil {
		sh = &share{name: name, snaps: map[string]*shareSnap{}}
		n.shares[name] = sh
	}
	return sh
}

// AddShareSnapshot adds (or replaces) a snapshot, creating the share if needed, and returns
// its name. It ignores the snapshot limit.
func (n *NAS) AddShareSnapshot(share string, s ShareSnapshot) (name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addShareSnapshot(n.addShare(share), s)
}

func (n *NAS) addShareSnapshot(sh *share, s ShareSnapshot) string {
	if s.Time.IsZero() {
		if t, ok := parseSnapshotName(s.Name); ok {
			s.Time = t
		} else {
			s.Time = n.now()
		}
	}
	if s.Name == "" {
		s.Name = snapshotName(s.Time, n.opts.Zone)
	}
	if s.WORMDays > 0 && s.WORMBegin.IsZero() {
		s.WORMBegin = s.Time
	}
	s.AppKeys = append([]string{}, s.AppKeys...)
	sh.snaps[s.Name] = &shareSnap{ShareSnapshot: s, ruuid: newUUID()}
	return s.Name
}

// ShareSnapshots returns a share's snapshots, oldest first.
func (n *NAS) ShareSnapshots(share string) []ShareSnapshot {
	n.mu.Lock()
	defer n.mu.Unlock()
	sh := n.shares[share]
	if sh == nil {
		return nil
	}
	var out []ShareSnapshot
	for _, s := range sh.sorted() {
		c := s.ShareSnapshot
		c.AppKeys = append([]string{}, c.AppKeys...)
		out = append(out, c)
	}
	return out
}

// share finds the share named by the `name` parameter.
func (c *call) share() (*share, *apiError) {
	name, e := c.p.str("name")
	if e != nil {
		return nil, e
	}
	sh := c.n.shares[name]
	if sh == nil {
		return nil, &apiError{code: codeShareNoShare, why: "no share " + quoteShort(name)}
	}
	return sh, nil
}

// attr is the value a list filter compares against.
func (s *shareSnap) attr(name string, now time.Time) (string, bool) {
	switch name {
	case "hide":
		return strconv.FormatBool(s.Hide), true
	case "desc":
		return s.Desc, true
	case "lock":
		return strconv.FormatBool(s.Lock), true
	case "schedule_snapshot":
		return strconv.FormatBool(s.Schedule), true
	case "worm_lock":
		return strconv.FormatBool(s.wormActive(now)), true
	case "time":
		return s.Name, true
	}
	return "", false
}

// filterRule is one entry of a list filter: "[!]attr==value" (exact) or "[!]attr=value"
// (contains).
type filterRule struct {
	neg, exact  bool
	attr, value string
}

func parseFilter(rules []string) ([]filterRule, error) {
	var out []filterRule
	for _, r := range rules {
		f := filterRule{}
		s := r
		if strings.HasPrefix(s, "!") {
			f.neg, s = true, s[1:]
		}
		if a, v, ok := strings.Cut(s, "=="); ok {
			f.exact, f.attr, f.value = true, a, v
		} else if a, v, ok := strings.Cut(s, "="); ok {
			f.attr, f.value = a, v
		} else {
			return nil, fmt.Errorf("filter rule %s has no = or ==", quoteShort(r))
		}
		out = append(out, f)
	}
	return out, nil
}

func (f filterRule) match(s *shareSnap, now time.Time) bool {
	v, _ := s.attr(f.attr, now)
	m := strings.Contains(v, f.value)
	if f.exact {
		m = v == f.value
	}
	return m != f.neg
}

// knownShareAdditional are the `additional` names the fake understands for share lists.
var knownShareAdditional = map[string]bool{"desc": true, "lock": true, "schedule_snapshot": true,
	"worm_lock": true, "ruuid": true, "snap_size": true, "locked_app_keys": true}

// shareList implements SYNO.Core.Share.Snapshot list.
func shareList(c *call) (any, *apiError) {
	sh, e := c.share()
	if e != nil {
		return nil, e
	}
	var filter struct {
		Attr []string `json:"attr"`
	}
	if _, e := c.p.decode("filter", &filter); e != nil {
		return nil, e
	}
	rules, err := parseFilter(filter.Attr)
	if err != nil {
		return nil, &apiError{code: codeInvalidParam, why: err.Error(), loud: true}
	}
	for _, r := range rules {
		if _, ok := (&shareSnap{}).attr(r.attr, c.now); !ok {
			c.n.logf("dsmfake: share list filter on unknown attribute %s: it compares as empty", quoteShort(r.attr))
		}
	}
	addList, e := c.p.strings("additional")
	if e != nil {
		return nil, e
	}
	add := map[string]bool{}
	for _, a := range addList {
		if !knownShareAdditional[a] {
			c.n.logf("dsmfake: share list additional %s is unknown to the fake: ignored", quoteShort(a))
		}
		add[a] = true
	}
	offset, e := c.p.intOr("offset", 0)
	if e != nil {
		return nil, e
	}
	limit, e := c.p.intOr("limit", -1)
	if e != nil {
		return nil, e
	}
	var match []*shareSnap
	for _, s := range sh.sorted() {
		ok := true
		for _, r := range rules {
			ok = ok && r.match(s, c.now)
		}
		if ok {
			match = append(match, s)
		}
	}
	match = ordered(match, c.n.opts.ListOrder, func(s *shareSnap) string { return s.Name })
	total := len(match)
	if offset < 0 {
		offset = 0
	}
	if offset > len(match) {
		offset = len(match)
	}
	match = match[offset:]
	if limit > 0 && limit < len(match) {
		match = match[:limit]
	}
	out := make([]any, 0, len(match))
	for _, s := range match {
		out = append(out, shareSnapOut(s, add, len(addList) > 0, c.now))
	}
	return map[string]any{"snapshots": out, "total": total}, nil
}

// shareSnapOut renders one list entry: `time` always, the rest only when asked for.
func shareSnapOut(s *shareSnap, add map[string]bool, anyAdditional bool, now time.Time) map[string]any {
	m := map[string]any{"time": s.Name}
	if add["desc"] {
		m["desc"] = s.Desc
	}
	if add["lock"] {
		m["lock"] = s.Lock
	}
	if anyAdditional {
		m["schedule_snapshot"] = s.Schedule
	}
	if add["worm_lock"] {
		m["worm_lock"] = s.wormActive(now)
		if s.WORMDays > 0 {
			m["worm_lock_begin"] = strconv.FormatInt(s.WORMBegin.Unix(), 10)
			m["worm_lock_end"] = strconv.FormatInt(s.wormEnd().Unix(), 10)
			m["worm_lock_day"] = strconv.Itoa(s.WORMDays)
		}
	}
	if add["ruuid"] {
		m["ruuid"] = s.ruuid
	}
	if add["snap_size"] {
		m["snap_size"] = "0"
	}
	if add["locked_app_keys"] {
		m["locked_app_keys"] = append([]string{}, s.AppKeys...)
	}
	return m
}

// snapinfo is the patch object of create and set.
type snapinfo struct {
	Desc        *string `json:"desc"`
	Lock        *bool   `json:"lock"`
	WormLock    *bool   `json:"worm_lock"`
	WormLockDay *int    `json:"worm_lock_day"`
}

var knownSnapinfo = map[string]bool{"desc": true, "lock": true, "worm_lock": true, "worm_lock_day": true}

// snapinfo decodes the snapinfo parameter; present reports whether it was sent.
func (c *call) snapinfo() (info snapinfo, present bool, _ *apiError) {
	ok, e := c.p.decode("snapinfo", &info)
	if e != nil || !ok {
		return info, ok, e
	}
	var keys map[string]json.RawMessage
	if _, e := c.p.decode("snapinfo", &keys); e == nil {
		for k := range keys {
			if !knownSnapinfo[k] {
				c.n.logf("dsmfake: snapinfo field %s is unknown to the fake: ignored", quoteShort(k))
			}
		}
	}
	if info.WormLock != nil && *info.WormLock && (info.WormLockDay == nil || *info.WormLockDay < 1) {
		return info, true, &apiError{code: codeShareInvalidValue, why: "worm_lock without worm_lock_day >= 1", loud: true}
	}
	return info, true, nil
}

// shareCreate implements SYNO.Core.Share.Snapshot create. The fake never advances its clock:
// a second create on one share in the same second collides (3301).
func shareCreate(c *call) (any, *apiError) {
	sh, e := c.share()
	if e != nil {
		return nil, e
	}
	info, _, e := c.snapinfo()
	if e != nil {
		return nil, e
	}
	if len(sh.snaps) >= c.n.opts.SnapshotLimit {
		return nil, &apiError{code: codeShareTooMany, why: fmt.Sprintf("share %s has %d snapshots (limit %d)", quoteShort(sh.name), len(sh.snaps), c.n.opts.SnapshotLimit)}
	}
	t := c.now.Truncate(time.Second)
	name := snapshotName(t, c.n.opts.Zone)
	if sh.snaps[name] != nil {
		return nil, &apiError{code: codeShareCollision, why: "snapshot " + name + " already exists (same second)"}
	}
	s := ShareSnapshot{Name: name, Time: t, Lock: true}
	if info.Desc != nil {
		s.Desc = *info.Desc
	}
	if info.Lock != nil {
		s.Lock = *info.Lock
	}
	if info.WormLock != nil && *info.WormLock {
		s.WORMDays, s.WORMBegin = *info.WormLockDay, t
	}
	return c.n.addShareSnapshot(sh, s), nil
}

// shareSet implements SYNO.Core.Share.Snapshot set: a patch of desc, lock and WORM inside
// snapinfo. An active WORM period can be extended, never shortened or removed (3350).
func shareSet(c *call) (any, *apiError) {
	sh, e := c.share()
	if e != nil {
		return nil, e
	}
	name, e := c.p.str("snapshot")
	if e != nil {
		return nil, e
	}
	info, present, e := c.snapinfo()
	if e != nil {
		return nil, e
	}
	if !present {
		return nil, &apiError{code: codeLostParam, why: "set without snapinfo (desc and lock must be inside it)", loud: true}
	}
	s := sh.snaps[name]
	if s == nil {
		return nil, &apiError{code: codeShareNoSnapshot, why: "no snapshot " + quoteShort(name) + " in share " + quoteShort(sh.name)}
	}
	if info.WormLock != nil {
		active := s.wormActive(c.now)
		if *info.WormLock {
			newEnd := c.now.Add(time.Duration(*info.WormLockDay) * 24 * time.Hour)
			if active && newEnd.Before(s.wormEnd()) {
				return nil, &apiError{code: codeShareWORM, why: "WORM period of " + name + " cannot be shortened"}
			}
		} else if active {
			return nil, &apiError{code: codeShareWORM, why: "WORM lock of " + name + " cannot be removed"}
		}
	}
	if info.Desc != nil {
		s.Desc = *info.Desc
	}
	if info.Lock != nil {
		s.Lock = *info.Lock
	}
	if info.WormLock != nil && *info.WormLock {
		s.WORMDays, s.WORMBegin = *info.WormLockDay, c.now.Truncate(time.Second)
	}
	return nil, nil
}

// shareDelete implements SYNO.Core.Share.Snapshot delete: it deletes what it can. All
// deleted: {"success":true}; some failed: success with per-item {"<name>":code} data; all
// failed: success:false with the first failure's code and the per-item list in errors.
func shareDelete(c *call) (any, *apiError) {
	sh, e := c.share()
	if e != nil {
		return nil, e
	}
	names, e := c.p.strings("snapshots")
	if e != nil {
		return nil, e
	}
	if !c.p.has("snapshots") {
		return nil, &apiError{code: codeLostParam, why: "missing parameter snapshots", loud: true}
	}
	var failed []any
	first := 0
	for _, name := range names {
		code := 0
		s := sh.snaps[name]
		switch {
		case s == nil:
			code = codeShareNoSnapshot
		case c.itemFailures[name] != 0:
			code = c.itemFailures[name]
		case s.wormActive(c.now):
			code = codeShareWORM
		case len(s.AppKeys) > 0:
			code = codeShareHeld
		}
		if code == 0 {
			delete(sh.snaps, name)
			continue
		}
		if first == 0 {
			first = code
		}
		failed = append(failed, map[string]int{name: code})
	}
	switch {
	case len(failed) == 0:
		return nil, nil
	case len(failed) == len(names):
		return nil, &apiError{code: first, errors: failed, why: fmt.Sprintf("no snapshot deleted: %v", failed)}
	}
	return failed, nil
}
