package dsmfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

type listedSnap struct {
	Time          string   `json:"time"`
	Desc          *string  `json:"desc"`
	Lock          *bool    `json:"lock"`
	Schedule      *bool    `json:"schedule_snapshot"`
	WormLock      *bool    `json:"worm_lock"`
	WormLockBegin *string  `json:"worm_lock_begin"`
	WormLockEnd   *string  `json:"worm_lock_end"`
	WormLockDay   *string  `json:"worm_lock_day"`
	AppKeys       []string `json:"locked_app_keys"`
}

type listAnswer struct {
	Snapshots []listedSnap `json:"snapshots"`
	Total     int          `json:"total"`
}

func (h *harness) list(share string, extra map[string]string) listAnswer {
	h.t.Helper()
	p := map[string]string{"name": js(share), "additional": js([]string{"desc", "lock", "schedule_snapshot", "worm_lock"}),
		"offset": "0", "limit": "-1"}
	for k, v := range extra {
		p[k] = v
	}
	a := h.call("SYNO.Core.Share.Snapshot", "list", 2, p)
	wantCode(h.t, "list "+share, a, 0)
	var l listAnswer
	a.data(h.t, &l)
	return l
}

func names(l listAnswer) []string {
	var out []string
	for _, s := range l.Snapshots {
		out = append(out, s.Time)
	}
	return out
}

// seedFive adds five hourly snapshots to share "s"; the third is hidden.
func seedFive(n *NAS) []string {
	base := time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)
	var out []string
	for i := range 5 {
		out = append(out, n.AddShareSnapshot("s", ShareSnapshot{Time: base.Add(time.Duration(i) * time.Hour),
			Desc: fmt.Sprintf("snap %d", i), Lock: i%2 == 0, Hide: i == 2}))
	}
	return out
}

func TestShareListOrderAndPaging(t *testing.T) {
	h := newHarness(t, Options{Strict: true})
	all := seedFive(h.nas)
	h.login()
	rev := slices.Clone(all)
	slices.Reverse(rev)

	tests := []struct {
		name      string
		order     Order
		extra     map[string]string
		want      []string
		wantTotal int
	}{
		{"oldest first", OldestFirst, nil, all, 5},
		{"newest first", NewestFirst, nil, rev, 5},
		{"offset and limit", OldestFirst, map[string]string{"offset": "1", "limit": "2"}, all[1:3], 5},
		{"newest first paged", NewestFirst, map[string]string{"offset": "3", "limit": "10"}, rev[3:], 5},
		{"offset past the end", OldestFirst, map[string]string{"offset": "9"}, nil, 5},
		{"limit absent means all", OldestFirst, map[string]string{"limit": "-1"}, all, 5},
		{"hidden filtered", OldestFirst, map[string]string{"filter": js(map[string]any{"attr": []string{"!hide==true"}})},
			[]string{all[0], all[1], all[3], all[4]}, 4},
		{"desc contains", OldestFirst, map[string]string{"filter": js(map[string]any{"attr": []string{"desc=snap 1"}})},
			[]string{all[1]}, 1},
		{"locked only", OldestFirst, map[string]string{"filter": js(map[string]any{"attr": []string{"lock==true"}})},
			[]string{all[0], all[2], all[4]}, 3},
		{"empty filter", OldestFirst, map[string]string{"filter": js(map[string]any{"attr": []string{}})}, all, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := h.nas.Options()
			o.ListOrder = tt.order
			h.nas.SetOptions(o)
			l := h.list("s", tt.extra)
			if got := names(l); !slices.Equal(got, tt.want) || l.Total != tt.wantTotal {
				t.Errorf("list(%v) = %v total %d, want %v total %d", tt.extra, got, l.Total, tt.want, tt.wantTotal)
			}
		})
	}

	t.Run("shuffled is a stable permutation", func(t *testing.T) {
		o := h.nas.Options()
		o.ListOrder = Shuffled
		h.nas.SetOptions(o)
		first := names(h.list("s", nil))
		if slices.Equal(first, all) || slices.Equal(first, rev) {
			t.Errorf("shuffled list = %v, neither order expected", first)
		}
		sorted := slices.Clone(first)
		slices.Sort(sorted)
		if !slices.Equal(sorted, all) {
			t.Errorf("shuffled list = %v, not a permutation of %v", first, all)
		}
		var paged []string
		for off := 0; off < 5; off += 2 {
			paged = append(paged, names(h.list("s", map[string]string{"offset": fmt.Sprint(off), "limit": "2"}))...)
		}
		if !slices.Equal(paged, first) {
			t.Errorf("paged shuffled list = %v, want %v", paged, first)
		}
	})

	t.Run("bad filter", func(t *testing.T) {
		a := h.call("SYNO.Core.Share.Snapshot", "list", 2, map[string]string{"name": `"s"`,
			"filter": js(map[string]any{"attr": []string{"hide"}})})
		wantCode(t, "list with a filter rule without =", a, 120)
	})
}

func TestShareListAdditional(t *testing.T) {
	h := newHarness(t, Options{})
	h.nas.AddShareSnapshot("s", ShareSnapshot{Name: "GMT+09-2023.09.11-23.23.40", Desc: "d", Lock: true,
		WORMDays: 1, WORMBegin: time.Unix(1694442321, 0), AppKeys: []string{"k"}})
	h.login()
	raw := func(add any) map[string]json.RawMessage {
		p := map[string]string{"name": `"s"`}
		if add != nil {
			p["additional"] = js(add)
		}
		a := h.call("SYNO.Core.Share.Snapshot", "list", 2, p)
		wantCode(t, "list", a, 0)
		var d struct {
			Snapshots []map[string]json.RawMessage `json:"snapshots"`
		}
		a.data(t, &d)
		return d.Snapshots[0]
	}
	keys := func(m map[string]json.RawMessage) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	tests := []struct {
		name string
		add  any
		want []string
	}{
		{"absent", nil, []string{"time"}},
		{"empty", []string{}, []string{"time"}},
		{"desc", []string{"desc"}, []string{"desc", "schedule_snapshot", "time"}},
		{"worm", []string{"worm_lock"}, []string{"schedule_snapshot", "time", "worm_lock", "worm_lock_begin", "worm_lock_day", "worm_lock_end"}},
		{"holds", []string{"locked_app_keys"}, []string{"locked_app_keys", "schedule_snapshot", "time"}},
		{"s4 fields", []string{"ruuid", "snap_size"}, []string{"ruuid", "schedule_snapshot", "snap_size", "time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keys(raw(tt.add)); !slices.Equal(got, tt.want) {
				t.Errorf("list additional %v keys = %v, want %v", tt.add, got, tt.want)
			}
		})
	}
	m := raw([]string{"worm_lock", "snap_size"})
	for k, want := range map[string]string{"worm_lock_begin": `"1694442321"`, "worm_lock_end": `"1694528721"`,
		"worm_lock_day": `"1"`, "worm_lock": "false", "snap_size": `"0"`} {
		if string(m[k]) != want {
			t.Errorf("list %s = %s, want %s", k, m[k], want)
		}
	}
}

func TestShareCreate(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	ny, _ := time.LoadLocation("America/New_York")
	india, _ := time.LoadLocation("Asia/Kolkata")
	tests := []struct {
		name string
		zone *time.Location
		at   time.Time
		want string
	}{
		{"utc", nil, time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC), "GMT+00-2025.01.02-03.04.05"},
		{"tokyo", tokyo, time.Date(2023, 9, 11, 14, 23, 40, 0, time.UTC), "GMT+09-2023.09.11-23.23.40"},
		{"new york winter", ny, time.Date(2026, 1, 31, 1, 0, 1, 0, time.UTC), "GMT-05-2026.01.30-20.00.01"},
		{"new york summer", ny, time.Date(2026, 7, 16, 14, 15, 1, 0, time.UTC), "GMT-04-2026.07.16-10.15.01"},
		{"india", india, time.Date(2026, 7, 16, 0, 0, 0, 0, time.UTC), "GMT+0530-2026.07.16-05.30.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(tt.at)
			h := newHarness(t, Options{Zone: tt.zone, Now: clk.now, Strict: true})
			h.nas.AddShare("s")
			h.login()
			a := h.call("SYNO.Core.Share.Snapshot", "create", 1, map[string]string{"name": `"s"`,
				"snapinfo": js(map[string]any{"desc": "d"})})
			wantCode(t, "create", a, 0)
			var name string
			a.data(t, &name)
			if name != tt.want {
				t.Errorf("create at %v = %q, want %q", tt.at, name, tt.want)
			}
			if back, ok := parseSnapshotName(name); !ok || !back.Equal(tt.at.Truncate(time.Second)) {
				t.Errorf("parseSnapshotName(%q) = %v, %v, want %v", name, back, ok, tt.at)
			}
			got := h.nas.ShareSnapshots("s")
			if len(got) != 1 || !got[0].Lock || got[0].Desc != "d" {
				t.Errorf("ShareSnapshots = %+v, want one locked snapshot (lock defaults to true)", got)
			}
			wantCode(t, "second create in the same second", h.call("SYNO.Core.Share.Snapshot", "create", 1,
				map[string]string{"name": `"s"`, "snapinfo": js(map[string]any{"lock": false})}), 3301)
			clk.add(time.Second)
			wantCode(t, "create a second later", h.call("SYNO.Core.Share.Snapshot", "create", 1,
				map[string]string{"name": `"s"`, "snapinfo": js(map[string]any{"lock": false})}), 0)
			if got := h.nas.ShareSnapshots("s"); len(got) != 2 || got[1].Lock {
				t.Errorf("ShareSnapshots = %+v, want a second unlocked snapshot", got)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		clk := newClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		h := newHarness(t, Options{Now: clk.now, SnapshotLimit: 3})
		h.nas.AddShare("s")
		h.login()
		create := func(p map[string]string) answer {
			clk.add(time.Second)
			return h.call("SYNO.Core.Share.Snapshot", "create", 1, p)
		}
		wantCode(t, "unknown share", create(map[string]string{"name": `"nope"`}), 402)
		wantCode(t, "no name", create(map[string]string{}), 114)
		wantCode(t, "worm without days", create(map[string]string{"name": `"s"`, "snapinfo": js(map[string]any{"worm_lock": true})}), 403)
		wantCode(t, "snapinfo not an object", create(map[string]string{"name": `"s"`, "snapinfo": `[1]`}), 120)
		for i := range 3 {
			wantCode(t, fmt.Sprint("create ", i), create(map[string]string{"name": `"s"`}), 0)
		}
		wantCode(t, "create over the limit", create(map[string]string{"name": `"s"`}), 3329)
	})

	t.Run("worm", func(t *testing.T) {
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		h := newHarness(t, Options{Now: func() time.Time { return at }})
		h.nas.AddShare("s")
		h.login()
		wantCode(t, "create WORM", h.call("SYNO.Core.Share.Snapshot", "create", 1, map[string]string{"name": `"s"`,
			"snapinfo": js(map[string]any{"desc": "w", "lock": true, "worm_lock": true, "worm_lock_day": 7})}), 0)
		l := h.list("s", nil)
		s := l.Snapshots[0]
		if s.WormLock == nil || !*s.WormLock || *s.WormLockDay != "7" ||
			*s.WormLockBegin != fmt.Sprint(at.Unix()) || *s.WormLockEnd != fmt.Sprint(at.Unix()+7*86400) {
			t.Errorf("WORM snapshot listed as %+v", s)
		}
	})
}

func TestShareSet(t *testing.T) {
	clk := newClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, Options{Now: clk.now})
	name := h.nas.AddShareSnapshot("s", ShareSnapshot{Time: clk.now().Add(-time.Hour), Desc: "old", Lock: true})
	h.login()
	set := func(info any) answer {
		p := map[string]string{"name": `"s"`, "snapshot": js(name)}
		if info != nil {
			p["snapinfo"] = js(info)
		}
		return h.call("SYNO.Core.Share.Snapshot", "set", 1, p)
	}
	get := func() ShareSnapshot { return h.nas.ShareSnapshots("s")[0] }

	wantCode(t, "set desc", set(map[string]any{"desc": "new"}), 0)
	if s := get(); s.Desc != "new" || !s.Lock {
		t.Errorf("after set desc: %+v, want desc new and lock unchanged", s)
	}
	wantCode(t, "set lock", set(map[string]any{"lock": false}), 0)
	if s := get(); s.Desc != "new" || s.Lock {
		t.Errorf("after set lock: %+v, want desc unchanged and unlocked", s)
	}
	wantCode(t, "bare desc without snapinfo", h.call("SYNO.Core.Share.Snapshot", "set", 1,
		map[string]string{"name": `"s"`, "snapshot": js(name), "desc": `"x"`}), 114)
	wantCode(t, "unknown snapshot", h.call("SYNO.Core.Share.Snapshot", "set", 1,
		map[string]string{"name": `"s"`, "snapshot": `"GMT+00-2000.01.01-00.00.00"`, "snapinfo": `{"lock":true}`}), 3300)
	wantCode(t, "worm on", set(map[string]any{"worm_lock": true, "worm_lock_day": 3}), 0)
	if s := get(); s.WORMDays != 3 || !s.WORMBegin.Equal(clk.now()) {
		t.Errorf("after set worm: %+v", s)
	}
	wantCode(t, "worm off", set(map[string]any{"worm_lock": false}), 3350)
	wantCode(t, "worm shortened", set(map[string]any{"worm_lock": true, "worm_lock_day": 1}), 3350)
	wantCode(t, "worm extended", set(map[string]any{"worm_lock": true, "worm_lock_day": 5}), 0)
	clk.add(6 * 24 * time.Hour)
	wantCode(t, "worm off after the period", set(map[string]any{"worm_lock": false}), 0)
}

func TestShareDelete(t *testing.T) {
	clk := newClock(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	setup := func(t *testing.T) (*harness, map[string]string) {
		h := newHarness(t, Options{Now: clk.now})
		base := clk.now().Add(-10 * 24 * time.Hour)
		snaps := map[string]string{
			"plain":       h.nas.AddShareSnapshot("s", ShareSnapshot{Time: base}),
			"locked":      h.nas.AddShareSnapshot("s", ShareSnapshot{Time: base.Add(time.Hour), Lock: true}),
			"worm":        h.nas.AddShareSnapshot("s", ShareSnapshot{Time: base.Add(2 * time.Hour), WORMDays: 30}),
			"worm-over":   h.nas.AddShareSnapshot("s", ShareSnapshot{Time: base.Add(3 * time.Hour), WORMDays: 2}),
			"held":        h.nas.AddShareSnapshot("s", ShareSnapshot{Time: base.Add(4 * time.Hour), AppKeys: []string{"SnapshotReplication-synodr-p"}}),
			"injected":    h.nas.AddShareSnapshot("s", ShareSnapshot{Time: base.Add(5 * time.Hour)}),
			"nonexistent": "GMT+00-2000.01.01-00.00.00",
		}
		h.login()
		return h, snaps
	}
	del := func(h *harness, names ...string) answer {
		return h.call("SYNO.Core.Share.Snapshot", "delete", 1, map[string]string{"name": `"s"`, "snapshots": js(names)})
	}
	left := func(h *harness) int { return len(h.nas.ShareSnapshots("s")) }

	t.Run("all deletable", func(t *testing.T) {
		h, s := setup(t)
		a := del(h, s["plain"], s["locked"], s["worm-over"])
		wantCode(t, "delete", a, 0)
		if a.Data != nil || a.body != `{"success":true}` {
			t.Errorf("delete answer = %s, want {\"success\":true}", a.body)
		}
		if got := left(h); got != 3 {
			t.Errorf("%d snapshots left, want 3", got)
		}
	})
	t.Run("some fail", func(t *testing.T) {
		h, s := setup(t)
		h.nas.InjectFault(Fault{API: "SYNO.Core.Share.Snapshot", Method: "delete", ItemFailures: map[string]int{s["injected"]: 3328}})
		a := del(h, s["plain"], s["worm"], s["held"], s["nonexistent"], s["injected"])
		wantCode(t, "partial delete", a, 0)
		want := fmt.Sprintf(`[{%q:3350},{%q:3337},{%q:3300},{%q:3328}]`, s["worm"], s["held"], s["nonexistent"], s["injected"])
		if string(a.Data) != want {
			t.Errorf("partial delete data = %s, want %s", a.Data, want)
		}
		if got := left(h); got != 5 {
			t.Errorf("%d snapshots left, want 5", got)
		}
	})
	t.Run("all fail", func(t *testing.T) {
		h, s := setup(t)
		a := del(h, s["held"], s["worm"])
		wantCode(t, "failed delete", a, 3337)
		want := fmt.Sprintf(`[{%q:3337},{%q:3350}]`, s["held"], s["worm"])
		if string(a.Error.Errors) != want {
			t.Errorf("failed delete errors = %s, want %s", a.Error.Errors, want)
		}
		if got := left(h); got != 6 {
			t.Errorf("%d snapshots left, want 6", got)
		}
	})
	t.Run("missing snapshots", func(t *testing.T) {
		h, _ := setup(t)
		wantCode(t, "delete without snapshots", h.call("SYNO.Core.Share.Snapshot", "delete", 1, map[string]string{"name": `"s"`}), 114)
		wantCode(t, "delete in unknown share", h.call("SYNO.Core.Share.Snapshot", "delete", 1,
			map[string]string{"name": `"x"`, "snapshots": `[]`}), 402)
	})
}
