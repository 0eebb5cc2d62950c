package dsmfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// pyQuote encodes a JSON array the way the Python library puts it on the wire: json.dumps
// separators (", ") and urlencode's quote_plus.
func pyQuote(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = `"` + s + `"`
	}
	return url.QueryEscape("[" + strings.Join(q, ", ") + "]")
}

// expand replaces an abbreviated "%5B<first> … <last>%5D" array in a §9.3 line by the full
// array, after checking that the shown ends match what the full array encodes to.
func expand(t *testing.T, line, param string, full []string) string {
	t.Helper()
	start := strings.Index(line, param+"=")
	end := strings.Index(line[start:], "&")
	shown := line[start+len(param)+1 : start+end]
	head, tail, ok := strings.Cut(shown, " … ")
	enc := pyQuote(full)
	if !ok || !strings.HasPrefix(enc, head) || !strings.HasSuffix(enc, tail) {
		t.Fatalf("expansion of %s = %s does not match the shown %s", param, enc, shown)
	}
	return line[:start+len(param)+1] + enc + line[start+end:]
}

// pythonWire are the requests of DSM-API.md §9.3, byte for byte.
var pythonWire = []struct {
	name, fixture, query string
}{
	{"list_snapshots", "list_snapshots.json", `api=SYNO.Core.Share.Snapshot&version=2&method=list&name=my+share&filter=%7B%22attr%22%3A+%5B%22%21hide%3D%3Dtrue%22%5D%7D&additional=%5B%22desc%22%2C+%22lock%22%2C+%22worm_lock%22%5D&offset=0&limit=-1&_sid=SID123`},
	{"list_snapshots_lun", "list_snapshots_lun.json", `api=SYNO.Core.ISCSI.LUN&version=1&method=list_snapshot&src_lun_uuid=lun-uuid-1&additional=%5B%22locked_app_keys%22%2C+%22is_worm_locked%22%5D&_sid=SID123`},
	{"list_luns", "list_luns.json", `api=SYNO.Core.ISCSI.LUN&version=1&method=list&types=%5B%22BLOCK%22%2C+%22FILE%22%2C+ … %22BLUN_THICK_SINK%22%5D&additional=%5B%22is_action_locked%22%2C+ … %22snapshot_info%22%5D&_sid=SID123`},
	{"list_replication_plans", "list_replication_plans.json", `api=SYNO.DR.Plan&version=1&method=list&additional=%5B%22sync_policy%22%2C+%22sync_report%22%2C+ … %22retention_lock_report%22%5D&_sid=SID123`},
	{"create_snapshot", "create_snapshot.json", `api=SYNO.Core.Share.Snapshot&version=1&method=create&snapinfo=%7B%22desc%22%3A+%22d+%5C%22q%5C%22%22%2C+%22lock%22%3A+true%2C+%22worm_lock%22%3A+true%2C+%22worm_lock_day%22%3A+7%7D&name=my+share&_sid=SID123`},
	{"delete_snapshots", "delete_snapshots.json", `api=SYNO.Core.Share.Snapshot&version=1&method=delete&name=my+share&snapshots=%5B%22GMT%2B09-2023.09.11-23.23.40%22%5D&_sid=SID123`},
	{"set_snapshot_attr", "set_snapshot_attr.json", `api=SYNO.Core.Share.Snapshot&version=1&method=set&snapinfo=%7B%22desc%22%3A+%22x%22%2C+%22lock%22%3A+false%2C+%22worm_lock%22%3A+true%2C+%22worm_lock_day%22%3A+3%7D&name=my+share&snapshot=GMT%2B09-2023.09.11-23.23.40&_sid=SID123`},
	{"sync_replication list", "", `api=SYNO.DR.Plan&version=1&method=list&additional=%5B%22sync_policy%22%5D&_sid=SID123`},
	{"sync_replication", "sync_replication.json", `api=SYNO.DR.Plan&version=1&method=sync&nowait=true&auto_remove=true&plan_id=p-1&is_snapshot_locked=true&is_send_encrypted=false&sync_description=Snap+by+API&_sid=SID123`},
	{"create_snapshot_lun", "create_snapshot_lun.json", `api=SYNO.Core.ISCSI.LUN&version=1&method=take_snapshot&taken_by=user&src_lun_uuid=lun-uuid-1&description=lun+snap&is_locked=true&is_app_consistent=false&_sid=SID123`},
	{"delete_snapshots_lun", "delete_snapshots_lun.json", `api=SYNO.Core.ISCSI.LUN&version=1&method=delete_snapshot&snapshot_uuids=%5B%22s-uuid-1%22%2C+%22s-uuid-2%22%5D&_sid=SID123`},
}

// The arrays §9.3 abbreviates, as given in §3.3 and §3.4.
var (
	s1LUNTypes      = []string{"BLOCK", "FILE", "THIN", "ADV", "SINK", "CINDER", "CINDER_BLUN", "CINDER_BLUN_THICK", "BLUN", "BLUN_THICK", "BLUN_SINK", "BLUN_THICK_SINK"}
	s1LUNAdditional = []string{"is_action_locked", "is_mapped", "extent_size", "allocated_size", "status", "allow_bkpobj", "flashcache_status", "family_config", "snapshot_info"}
	s1DRAdditional  = []string{"sync_policy", "sync_report", "main_site_info", "dr_site_info", "can_do", "op_info", "last_op_info", "topology", "testfailover_info", "retention_lock_report"}
)

// pythonLogin is the §9.2 login form, in the library's order.
const pythonLogin = "api=SYNO.API.Auth&version=7&method=login&enable_syno_token=yes&client=browser&account=snapd&enable_device_token=no&logintype=local&otp_code=&rememberme=0&passwd=pw&session=webui&format=cookie"

func newPythonHarness(t *testing.T, strict bool) *harness {
	t.Helper()
	h := newHarness(t, Options{Strict: strict})
	f, err := os.Open("testdata/python-wire.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := h.nas.LoadState(f); err != nil {
		t.Fatalf("LoadState(python-wire.yaml): %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/webapi/auth.cgi", strings.NewReader(pythonLogin))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a := h.do(req)
	wantCode(t, "python login", a, 0)
	var d struct {
		SID   string `json:"sid"`
		Token string `json:"synotoken"`
	}
	a.data(t, &d)
	if d.Token == "--------" || d.Token == "" {
		t.Fatalf("python login synotoken = %q, want a real token", d.Token)
	}
	h.sid, h.tok = d.SID, d.Token
	for range 2 {
		a := h.get("/webapi/query.cgi", "api=SYNO.API.Info&version=1&method=query&query=all")
		wantCode(t, "python Info", a, 0)
		var info map[string]struct {
			Path string `json:"path"`
		}
		a.data(t, &info)
		for _, api := range []string{"SYNO.Core.Share.Snapshot", "SYNO.Core.ISCSI.LUN", "SYNO.DR.Plan"} {
			if info[api].Path == "" {
				t.Fatalf("Info has no path for %s", api)
			}
		}
	}
	return h
}

// pythonGet sends one §9.3 line as the library does: GET, X-SYNO-TOKEN header, no cookie.
func (h *harness) pythonGet(query string) answer {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.srv.URL+"/webapi/entry.cgi?"+strings.Replace(query, "_sid=SID123", "_sid="+h.sid, 1), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("X-SYNO-TOKEN", h.tok)
	return h.do(req)
}

func expandedQuery(t *testing.T, q string) string {
	switch {
	case strings.Contains(q, "method=list&types="):
		q = expand(t, q, "types", s1LUNTypes)
		q = expand(t, q, "additional", s1LUNAdditional)
	case strings.Contains(q, "SYNO.DR.Plan") && strings.Contains(q, " … "):
		q = expand(t, q, "additional", s1DRAdditional)
	}
	return q
}

func TestPythonWire(t *testing.T) {
	for _, tt := range pythonWire {
		t.Run(tt.name, func(t *testing.T) {
			h := newPythonHarness(t, false)
			q := expandedQuery(t, tt.query)
			a := h.pythonGet(q)
			wantCode(t, tt.name, a, 0)
			if h.log.contains("REJECTED") {
				t.Errorf("lenient fake logged a rejection:\n%s", h.log.all())
			}
			if tt.fixture == "" {
				return
			}
			b, err := os.ReadFile(filepath.Join("testdata/fixtures", tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatalf("fixture %s: %v", tt.fixture, err)
			}
			if err := json.Unmarshal([]byte(a.body), &got); err != nil {
				t.Fatal(err)
			}
			for _, d := range shapeDiff("$", want, got) {
				t.Errorf("%s: %s", tt.name, d)
			}
		})
	}

	t.Run("effects", func(t *testing.T) {
		h := newPythonHarness(t, false)
		a := h.pythonGet(pythonWire[4].query)
		var name string
		a.data(t, &name)
		snaps := h.nas.ShareSnapshots("my share")
		if len(snaps) != 2 || snaps[1].Name != name || snaps[1].Desc != `d "q"` || !snaps[1].Lock || snaps[1].WORMDays != 7 {
			t.Errorf("after create: %+v", snaps)
		}
		h.pythonGet(pythonWire[10].query)
		if got := h.nas.LUNSnapshots("lun-uuid-1"); len(got) != 0 {
			t.Errorf("after delete_snapshots_lun: %+v", got)
		}
		h.pythonGet(pythonWire[9].query)
		if got := h.nas.LUNSnapshots("lun-uuid-1"); len(got) != 1 || got[0].Desc != "lun snap" || !got[0].Locked || got[0].TakenBy != "user" {
			t.Errorf("after create_snapshot_lun: %+v", got)
		}
		h.pythonGet(pythonWire[8].query)
		if recs := h.nas.SyncRecords("p-1"); len(recs) != 2 || recs[1].Description != "Snap by API" || !recs[1].LockSnapshot {
			t.Errorf("after sync: %+v", recs)
		}
	})

	t.Run("strict mode rejects raw strings", func(t *testing.T) {
		h := newPythonHarness(t, true)
		wantCode(t, "strict list_snapshots", h.pythonGet(pythonWire[0].query), 120)
		if !h.log.contains("REJECTED") {
			t.Errorf("strict rejection not logged:\n%s", h.log.all())
		}
	})
}

// shapeDiff compares the JSON shapes of want and got: same object keys, same scalar types,
// array elements shaped like want's first element. A null in want matches anything.
func shapeDiff(path string, want, got any) []string {
	if want == nil {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want object", path, got)}
		}
		var out []string
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := g[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			out = append(out, shapeDiff(path+"."+k, w[k], g[k])...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: not in the fixture", path, k))
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want array", path, got)}
		}
		if len(w) == 0 {
			if len(g) != 0 {
				return []string{fmt.Sprintf("%s: got %d elements, want an empty array", path, len(g))}
			}
			return nil
		}
		if len(g) == 0 {
			return []string{fmt.Sprintf("%s: got an empty array, want elements", path)}
		}
		var out []string
		for i, e := range g {
			out = append(out, shapeDiff(fmt.Sprintf("%s[%d]", path, i), w[0], e)...)
		}
		return out
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			return []string{fmt.Sprintf("%s: got %T (%v), want %T (%v)", path, got, got, want, want)}
		}
		return nil
	}
}

func TestShapeDiff(t *testing.T) {
	tests := []struct {
		want, got string
		diffs     int
	}{
		{`{"a":"1","b":[{"c":true}]}`, `{"a":"2","b":[{"c":false},{"c":true}]}`, 0},
		{`{"a":"1"}`, `{"a":1}`, 1},
		{`{"a":"1"}`, `{"a":"1","b":2}`, 1},
		{`{"a":"1","b":2}`, `{"a":"1"}`, 1},
		{`{"a":[{"c":true}]}`, `{"a":[{"c":"x"}]}`, 1},
		{`{"a":[]}`, `{"a":[1]}`, 1},
		{`{"a":null}`, `{"a":[1]}`, 0},
	}
	for _, tt := range tests {
		var w, g any
		_ = json.Unmarshal([]byte(tt.want), &w)
		_ = json.Unmarshal([]byte(tt.got), &g)
		if d := shapeDiff("$", w, g); len(d) != tt.diffs {
			t.Errorf("shapeDiff(%s, %s) = %v, want %d differences", tt.want, tt.got, d, tt.diffs)
		}
	}
}
