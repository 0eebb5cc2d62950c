package dsmfake

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRoutes(t *testing.T) {
	h := newHarness(t, Options{})
	h.login()
	tests := []struct {
		name, path string
		wantStatus int
		wantCode   int
	}{
		{"query.cgi serves Info", "/webapi/query.cgi?api=SYNO.API.Info&version=1&method=query&query=all", 200, 0},
		{"entry.cgi serves Info", "/webapi/entry.cgi?api=SYNO.API.Info&version=1&method=query&query=all", 200, 0},
		{"entry.cgi serves shares", "/webapi/entry.cgi?api=SYNO.Core.Share.Snapshot&version=2&method=list&name=%22s%22&_sid=" + h.sid, 200, 402},
		{"entry.cgi/<API> serves shares", "/webapi/entry.cgi/SYNO.Core.Share.Snapshot?api=SYNO.Core.Share.Snapshot&version=2&method=list&name=%22s%22&_sid=" + h.sid, 200, 402},
		{"query.cgi does not serve shares", "/webapi/query.cgi?api=SYNO.Core.Share.Snapshot&version=2&method=list&name=%22s%22&_sid=" + h.sid, 200, 102},
		{"auth.cgi does not serve Info", "/webapi/auth.cgi?api=SYNO.API.Info&version=1&method=query&query=all", 200, 102},
		{"unknown path", "/webapi/nothing.cgi?api=SYNO.API.Info&version=1&method=query", 404, 0},
		{"root", "/", 404, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, q, _ := strings.Cut(tt.path, "?")
			a := h.get(path, q)
			if a.status != tt.wantStatus {
				t.Fatalf("GET %s: status %d, want %d", tt.path, a.status, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			if ct := a.header.Get("Content-Type"); ct != `application/json; charset="UTF-8"` {
				t.Errorf("Content-Type = %q", ct)
			}
			wantCode(t, "GET "+tt.path, a, tt.wantCode)
		})
	}
	if !h.log.contains("UNKNOWN PATH GET /webapi/nothing.cgi") {
		t.Errorf("unknown path not logged loudly; log:\n%s", h.log.all())
	}
}

func TestGetAndPostAreMerged(t *testing.T) {
	h := newHarness(t, Options{})
	h.login()
	h.nas.AddShare("s")
	// api and version in the query string, the rest in the body.
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/webapi/entry.cgi?api=SYNO.Core.Share.Snapshot&version=1",
		strings.NewReader(url.Values{"method": {"create"}, "name": {`"s"`}, "_sid": {h.sid}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a := h.do(req)
	wantCode(t, "create split over query and body", a, 0)
	if got := len(h.nas.ShareSnapshots("s")); got != 1 {
		t.Fatalf("ShareSnapshots = %d, want 1", got)
	}
}

func TestRequestLineErrors(t *testing.T) {
	h := newHarness(t, Options{})
	h.login()
	tests := []struct {
		name  string
		query string
		want  int
		log   string
	}{
		{"no api", "version=1&method=query", 101, "missing api"},
		{"no method", "api=SYNO.API.Info&version=1", 101, "missing api"},
		{"no version", "api=SYNO.API.Info&method=query", 101, "missing api"},
		{"bad version", "api=SYNO.API.Info&method=query&version=x", 101, "not a number"},
		{"unknown api", "api=SYNO.Nope&method=list&version=1", 102, "SYNO.Nope does not exist"},
		{"unknown method", "api=SYNO.Core.Share.Snapshot&method=frob&version=1&_sid=" + h.sid, 103, "has no method frob"},
		{"version too high", "api=SYNO.Core.Share.Snapshot&method=list&version=3&_sid=" + h.sid, 104, "version 3 outside 1-2"},
		{"version too low", "api=SYNO.Core.ISCSI.LUN&method=list&version=0&_sid=" + h.sid, 104, "outside 1-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.query, h.get("/webapi/entry.cgi", tt.query), tt.want)
			if !h.log.contains(tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, h.log.all())
			}
		})
	}
	if strings.Contains(h.log.all(), h.sid) {
		t.Errorf("a log line carries the sid:\n%s", h.log.all())
	}
}

func TestInfo(t *testing.T) {
	type entry struct {
		Path          string `json:"path"`
		MinVersion    int    `json:"minVersion"`
		MaxVersion    int    `json:"maxVersion"`
		RequestFormat string `json:"requestFormat"`
	}
	tests := []struct {
		name string
		opts Options
		want map[string]entry
	}{
		{"dsm7", Options{}, map[string]entry{
			"SYNO.API.Info":                   {"entry.cgi", 1, 1, "JSON"},
			"SYNO.API.Auth":                   {"entry.cgi", 1, 7, ""},
			"SYNO.Core.Share.Snapshot":        {"entry.cgi", 1, 2, "JSON"},
			"SYNO.Core.ISCSI.LUN":             {"entry.cgi", 1, 1, "JSON"},
			"SYNO.DR.Plan":                    {"entry.cgi", 1, 3, "JSON"},
			"SYNO.DisasterRecovery.Retention": {"entry.cgi", 1, 1, "JSON"},
		}},
		{"dsm6", Options{Profile: DSM6}, map[string]entry{
			"SYNO.API.Info":                   {"query.cgi", 1, 1, ""},
			"SYNO.API.Auth":                   {"auth.cgi", 1, 6, ""},
			"SYNO.Core.Share.Snapshot":        {"entry.cgi", 1, 2, "JSON"},
			"SYNO.Core.ISCSI.LUN":             {"entry.cgi", 1, 1, "JSON"},
			"SYNO.DR.Plan":                    {"entry.cgi", 1, 3, "JSON"},
			"SYNO.DisasterRecovery.Retention": {"entry.cgi", 1, 1, "JSON"},
		}},
		{"no DR package", Options{NoDRPackage: true}, map[string]entry{
			"SYNO.API.Info":            {"entry.cgi", 1, 1, "JSON"},
			"SYNO.API.Auth":            {"entry.cgi", 1, 7, ""},
			"SYNO.Core.Share.Snapshot": {"entry.cgi", 1, 2, "JSON"},
			"SYNO.Core.ISCSI.LUN":      {"entry.cgi", 1, 1, "JSON"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts)
			for _, q := range []string{"all", `"all"`, "SYNO.API.Info,SYNO.API.Auth,SYNO.Core.Share.Snapshot,SYNO.Core.ISCSI.LUN,SYNO.DR.Plan,SYNO.DisasterRecovery.Retention,SYNO.Nope"} {
				a := h.get("/webapi/query.cgi", "api=SYNO.API.Info&version=1&method=query&query="+url.QueryEscape(q))
				wantCode(t, "Info query="+q, a, 0)
				var got map[string]entry
				a.data(t, &got)
				if len(got) != len(tt.want) {
					t.Errorf("Info(%s) has %d APIs (%v), want %d", q, len(got), got, len(tt.want))
				}
				for name, w := range tt.want {
					if got[name] != w {
						t.Errorf("Info(%s)[%s] = %+v, want %+v", q, name, got[name], w)
					}
				}
			}
			h.login()
			if tt.opts.NoDRPackage {
				wantCode(t, "DR list without package", h.call("SYNO.DR.Plan", "list", 1, nil), 102)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	o := New(Options{}).Options()
	if o.Profile != DSM7 || o.Zone != time.UTC || o.SnapshotLimit != 256 || o.ListOrder != OldestFirst ||
		o.MaxFailedLogins != 5 || o.Logf == nil || o.Strict || o.IdleTimeout != 0 {
		t.Errorf("New(Options{}).Options() = %+v", o)
	}
	h := newHarness(t, Options{Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }})
	for i := range 256 {
		h.nas.AddShareSnapshot("s", ShareSnapshot{Time: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC)})
		h.nas.AddLUNSnapshot("l", LUNSnapshot{Time: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC)})
	}
	h.login()
	wantCode(t, "share create at 256", h.call("SYNO.Core.Share.Snapshot", "create", 1, map[string]string{"name": `"s"`}), 3329)
	wantCode(t, "LUN take_snapshot at 256", h.call("SYNO.Core.ISCSI.LUN", "take_snapshot", 1, map[string]string{"src_lun_uuid": `"l"`}), 18990543)
	for i, p := range []string{"dsm7", "DSM6", ""} {
		if _, err := ParseProfile(p); err != nil {
			t.Errorf("ParseProfile(%q) = %v", p, err)
		}
		if _, err := ParseOrder([]string{"oldest-first", "Newest-First", "shuffled"}[i]); err != nil {
			t.Errorf("ParseOrder = %v", err)
		}
	}
	if _, err := ParseProfile("dsm5"); err == nil {
		t.Errorf("ParseProfile(dsm5) = nil error")
	}
	if _, err := ParseOrder("random"); err == nil {
		t.Errorf("ParseOrder(random) = nil error")
	}
}

func TestConcurrentClients(t *testing.T) {
	clk := newClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, Options{Now: clk.now})
	h.login()
	const workers = 8
	errs := make(chan error, workers)
	for w := range workers {
		share := fmt.Sprint("share-", w)
		h.nas.AddShare(share)
		go func() {
			for i := range 10 {
				form := url.Values{"api": {"SYNO.Core.Share.Snapshot"}, "version": {"1"}, "method": {"create"},
					"name": {js(share)}, "_sid": {h.sid}}
				if i%2 == 1 {
					form.Set("method", "list")
					form.Set("version", "2")
				}
				resp, err := h.srv.Client().PostForm(h.srv.URL+"/webapi/entry.cgi", form)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				clk.add(time.Second)
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for w := range workers {
		total += len(h.nas.ShareSnapshots(fmt.Sprint("share-", w)))
	}
	// Each worker advances the shared clock after each of its requests, so its creates never
	// collide.
	if total != workers*5 {
		t.Errorf("%d snapshots after concurrent creates, want %d", total, workers*5)
	}
	if got := h.nas.Count("SYNO.Core.Share.Snapshot", ""); got != workers*10 {
		t.Errorf("Count = %d, want %d", got, workers*10)
	}
}
