package dsmfake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func loginForm(account, passwd string, extra ...string) url.Values {
	f := url.Values{"api": {"SYNO.API.Auth"}, "version": {"6"}, "method": {"login"},
		"account": {account}, "passwd": {passwd}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

func TestLoginAnswers(t *testing.T) {
	tests := []struct {
		name     string
		profile  Profile
		path     string
		form     url.Values
		wantCode int
		wantKeys []string
		cookie   bool
		realTok  bool
	}{
		{"dsm7 plain", DSM7, "/webapi/entry.cgi", loginForm("snapd", "pw"), 0,
			[]string{"account", "device_id", "ik_message", "is_portal_port", "sid", "synotoken"}, false, false},
		{"dsm7 auth.cgi, cookie, token", DSM7, "/webapi/auth.cgi",
			loginForm("snapd", "pw", "format", "cookie", "enable_syno_token", "yes"), 0,
			[]string{"account", "device_id", "ik_message", "is_portal_port", "sid", "synotoken"}, true, true},
		{"dsm6", DSM6, "/webapi/auth.cgi", loginForm("snapd", "pw", "enable_syno_token", "yes"), 0,
			[]string{"is_portal_port", "sid", "synotoken"}, false, true},
		{"dsm6 auth on entry.cgi", DSM6, "/webapi/entry.cgi", loginForm("snapd", "pw"), 102, nil, false, false},
		{"bad password", DSM7, "/webapi/entry.cgi", loginForm("snapd", "nope"), 400, nil, false, false},
		{"unknown account", DSM7, "/webapi/entry.cgi", loginForm("root", "pw"), 400, nil, false, false},
		{"version 8", DSM7, "/webapi/entry.cgi", func() url.Values { f := loginForm("snapd", "pw"); f.Set("version", "8"); return f }(), 104, nil, false, false},
		{"dsm6 version 7", DSM6, "/webapi/auth.cgi", func() url.Values { f := loginForm("snapd", "pw"); f.Set("version", "7"); return f }(), 104, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Profile: tt.profile})
			a := h.post(tt.path, tt.form)
			wantCode(t, "login", a, tt.wantCode)
			if tt.wantCode != 0 {
				return
			}
			var d map[string]any
			a.data(t, &d)
			if len(d) != len(tt.wantKeys) {
				t.Errorf("login data = %v, want keys %v", d, tt.wantKeys)
			}
			for _, k := range tt.wantKeys {
				if _, ok := d[k]; !ok {
					t.Errorf("login data lacks %q: %v", k, d)
				}
			}
			sid, _ := d["sid"].(string)
			tok, _ := d["synotoken"].(string)
			if sid == "" {
				t.Fatalf("login sid empty")
			}
			if (tok != "--------") != tt.realTok || tok == "" {
				t.Errorf("synotoken = %q, want real token %v", tok, tt.realTok)
			}
			setCookie := a.header.Get("Set-Cookie")
			if tt.cookie {
				for _, part := range []string{"id=" + sid, "Max-Age=604800", "Path=/", "HttpOnly"} {
					if !strings.Contains(setCookie, part) {
						t.Errorf("Set-Cookie = %q, lacks %q", setCookie, part)
					}
				}
			} else if setCookie != "" {
				t.Errorf("Set-Cookie = %q without format=cookie", setCookie)
			}
			if got := h.nas.Sessions(); got != 1 {
				t.Errorf("Sessions() = %d, want 1", got)
			}
		})
	}
}

func TestLoginBlockedAfterFailures(t *testing.T) {
	h := newHarness(t, Options{MaxFailedLogins: 3, LogRequests: true})
	for range 3 {
		wantCode(t, "bad login", h.post("/webapi/entry.cgi", loginForm("snapd", "wrong-s3cret")), 400)
	}
	wantCode(t, "good login after 3 failures", h.post("/webapi/entry.cgi", loginForm("snapd", "pw")), 407)
	// A malformed request is logged loudly with its parameters: the password must not show.
	wantCode(t, "login without version", h.post("/webapi/entry.cgi", url.Values{"api": {"SYNO.API.Auth"}, "method": {"login"},
		"account": {"snapd"}, "passwd": {"wrong-s3cret"}, "otp_code": {"987654"}}), 101)
	h.nas.ResetLoginFailures()
	wantCode(t, "good login after reset", h.post("/webapi/entry.cgi", loginForm("snapd", "pw")), 0)
	for _, r := range h.nas.Requests() {
		if p := r.Params.Get("passwd"); p != "***" {
			t.Fatalf("request log passwd = %q, want ***", p)
		}
	}
	if !h.log.contains("missing api") {
		t.Errorf("malformed login not logged:\n%s", h.log.all())
	}
	if l := h.log.all(); strings.Contains(l, "wrong-s3cret") || strings.Contains(l, "987654") {
		t.Errorf("a password reached the log:\n%s", h.log.all())
	}
}

func TestLogin2FA(t *testing.T) {
	for _, profile := range []Profile{DSM7, DSM6} {
		t.Run(string(profile), func(t *testing.T) {
			h := newHarness(t, Options{Profile: profile})
			h.nas.AddUser(User{Name: "otp", Password: "pw", OTP: "123456"})
			path := "/webapi/entry.cgi"
			devKey := "device_id"
			if profile == DSM6 {
				path, devKey = "/webapi/auth.cgi", "did"
			}
			a := h.post(path, loginForm("otp", "pw", "otp_code", ""))
			wantCode(t, "2FA login without code", a, 403)
			var challenge struct {
				Token string              `json:"token"`
				Types []map[string]string `json:"types"`
			}
			if err := json.Unmarshal(a.Error.Errors, &challenge); err != nil || challenge.Token == "" ||
				len(challenge.Types) != 1 || challenge.Types[0]["type"] != "otp" {
				t.Fatalf("403 errors = %s (%v), want {token, types:[{type:otp}]}", a.Error.Errors, err)
			}
			wantCode(t, "wrong OTP", h.post(path, loginForm("otp", "pw", "otp_code", "000000")), 404)
			wantCode(t, "OTP, wrong password", h.post(path, loginForm("otp", "bad", "otp_code", "123456")), 400)
			wantCode(t, "OTP without device token", h.post(path, loginForm("otp", "pw", "otp_code", "123456")), 0)
			if got := h.nas.IssuedDeviceIDs(); len(got) != 0 {
				t.Fatalf("IssuedDeviceIDs() = %v without enable_device_token", got)
			}
			a = h.post(path, loginForm("otp", "pw", "otp_code", "123456", "enable_device_token", "yes", "device_name", "snapd"))
			wantCode(t, "OTP with device token", a, 0)
			var d map[string]any
			a.data(t, &d)
			dev, _ := d[devKey].(string)
			ids := h.nas.IssuedDeviceIDs()
			if dev == "" || len(ids) != 1 || ids[0] != dev {
				t.Fatalf("login data %s = %q, IssuedDeviceIDs() = %v", devKey, dev, ids)
			}
			if c := a.header.Get("Set-Cookie"); !strings.Contains(c, "did="+dev) {
				t.Errorf("Set-Cookie = %q, want did=%s", c, dev)
			}
			wantCode(t, "device id skips OTP", h.post(path, loginForm("otp", "pw", "device_id", dev)), 0)
			wantCode(t, "unknown device id", h.post(path, loginForm("otp", "pw", "device_id", "nope")), 403)
			wantCode(t, "device id, wrong password", h.post(path, loginForm("otp", "bad", "device_id", dev)), 400)
			for _, r := range h.nas.Requests() {
				if c := r.Params.Get("otp_code"); c != "" && c != "***" {
					t.Fatalf("request log otp_code = %q", c)
				}
			}
		})
	}
}

func TestSessions(t *testing.T) {
	h := newHarness(t, Options{})
	h.nas.AddShare("s")
	list := func(sid string) answer {
		return h.call("SYNO.Core.Share.Snapshot", "list", 2, map[string]string{"name": `"s"`, "_sid": sid})
	}
	wantCode(t, "no sid", h.call("SYNO.Core.Share.Snapshot", "list", 2, map[string]string{"name": `"s"`}), 119)
	wantCode(t, "unknown sid", list("nope"), 119)

	tests := []struct {
		name string
		kill func()
		want int
	}{
		{"expired", h.nas.ExpireSessions, 106},
		{"kicked", h.nas.KickSessions, 107},
		{"stale", h.nas.StaleSessions, 105},
		{"forgotten", h.nas.ForgetSessions, 119},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.login()
			wantCode(t, "list with live sid", list(h.sid), 0)
			if got := h.nas.Sessions(); got != 1 {
				t.Fatalf("Sessions() = %d, want 1", got)
			}
			tt.kill()
			wantCode(t, "list after "+tt.name, list(h.sid), tt.want)
			if got := h.nas.Sessions(); got != 0 {
				t.Fatalf("Sessions() = %d after %s, want 0", got, tt.name)
			}
		})
	}

	t.Run("cookie", func(t *testing.T) {
		h.login()
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/webapi/entry.cgi?api=SYNO.Core.Share.Snapshot&version=2&method=list&name=%22s%22", nil)
		req.AddCookie(&http.Cookie{Name: "id", Value: h.sid})
		wantCode(t, "list with cookie id", h.do(req), 0)
		reqs := h.nas.Requests()
		if last := reqs[len(reqs)-1]; !last.Cookie {
			t.Errorf("Request.Cookie = false for a cookie-only request")
		}
	})

	t.Run("logout", func(t *testing.T) {
		h.nas.ForgetSessions()
		h.login()
		wantCode(t, "logout without sid", h.post("/webapi/entry.cgi", url.Values{"api": {"SYNO.API.Auth"}, "version": {"7"}, "method": {"logout"}}), 0)
		wantCode(t, "list after sid-less logout", list(h.sid), 0)
		wantCode(t, "logout", h.post("/webapi/entry.cgi", url.Values{"api": {"SYNO.API.Auth"}, "version": {"7"}, "method": {"logout"}, "_sid": {h.sid}}), 0)
		wantCode(t, "list after logout", list(h.sid), 119)
		if got := h.nas.Sessions(); got != 0 {
			t.Errorf("Sessions() = %d after logout, want 0", got)
		}
	})
}

func TestIdleTimeout(t *testing.T) {
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	h := newHarness(t, Options{Now: clk.now, IdleTimeout: 15 * time.Minute})
	h.nas.AddShare("s")
	h.login()
	list := func() answer {
		return h.call("SYNO.Core.Share.Snapshot", "list", 2, map[string]string{"name": `"s"`})
	}
	for range 3 {
		clk.add(14 * time.Minute)
		wantCode(t, "list within the idle timeout", list(), 0)
	}
	clk.add(16 * time.Minute)
	if got := h.nas.Sessions(); got != 0 {
		t.Errorf("Sessions() = %d after idling, want 0", got)
	}
	wantCode(t, "list after idling", list(), 106)
	clk.add(-30 * time.Minute)
	wantCode(t, "an expired session stays expired", list(), 106)
}

func TestRequireSynoToken(t *testing.T) {
	h := newHarness(t, Options{RequireSynoToken: true})
	h.nas.AddShare("s")
	h.login()
	base := "api=SYNO.Core.Share.Snapshot&version=2&method=list&name=%22s%22&_sid=" + h.sid
	wantCode(t, "no token", h.get("/webapi/entry.cgi", base), 119)
	wantCode(t, "wrong token", h.get("/webapi/entry.cgi", base+"&SynoToken=x"), 119)
	wantCode(t, "token param", h.get("/webapi/entry.cgi", base+"&SynoToken="+url.QueryEscape(h.tok)), 0)
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/webapi/entry.cgi?"+base, nil)
	req.Header.Set("X-SYNO-TOKEN", h.tok)
	wantCode(t, "token header", h.do(req), 0)

	a := h.post("/webapi/entry.cgi", loginForm("snapd", "pw"))
	var d struct {
		SID string `json:"sid"`
	}
	a.data(t, &d)
	req, _ = http.NewRequest(http.MethodGet, h.srv.URL+"/webapi/entry.cgi?api=SYNO.Core.Share.Snapshot&version=2&method=list&name=%22s%22&_sid="+d.SID, nil)
	req.Header.Set("X-SYNO-TOKEN", "--------")
	wantCode(t, "session without a token", h.do(req), 119)
}
