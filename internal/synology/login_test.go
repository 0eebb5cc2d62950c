package synology

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

func TestLoginProfiles(t *testing.T) {
	tests := []struct {
		name         string
		opts         dsmfake.Options
		authPath     string
		authVersion  int
		wantTokenHdr bool
	}{
		{"dsm7", dsmfake.Options{}, "/webapi/entry.cgi", 7, true},
		{"dsm7 SynoToken enforced", dsmfake.Options{RequireSynoToken: true}, "/webapi/entry.cgi", 7, true},
		{"dsm6", dsmfake.Options{Profile: dsmfake.DSM6}, "/webapi/auth.cgi", 6, true},
		{"dsm6 strict SynoToken enforced", dsmfake.Options{Profile: dsmfake.DSM6, Strict: true, RequireSynoToken: true}, "/webapi/auth.cgi", 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNAS(t, tt.opts)
			n.AddShare("homes")
			var logins []bool
			c := n.client(t, func(cfg *Config) { cfg.OnLogin = func(re bool) { logins = append(logins, re) } })
			ctx := context.Background()
			if err := c.Login(ctx); err != nil {
				t.Fatalf("Login: %v", err)
			}
			if err := c.Login(ctx); err != nil {
				t.Fatalf("second Login: %v", err)
			}
			if _, err := c.ListShareSnapshots(ctx, "homes"); err != nil {
				t.Fatalf("ListShareSnapshots after login: %v", err)
			}
			if got := n.Count(apiAuth, "login"); got != 1 {
				t.Errorf("logins = %d, want 1", got)
			}
			if len(logins) != 1 || logins[0] {
				t.Errorf("OnLogin calls = %v, want [false]", logins)
			}
			for _, r := range n.Requests() {
				switch {
				case r.API == apiInfoName:
					if r.Path != "/webapi/query.cgi" || r.HTTPMethod != "POST" {
						t.Errorf("SYNO.API.Info asked by %s %s, want POST /webapi/query.cgi", r.HTTPMethod, r.Path)
					}
				case r.API == apiAuth && r.Method == "login":
					if r.Path != tt.authPath || r.Version != tt.authVersion {
						t.Errorf("login at %s v%d, want %s v%d", r.Path, r.Version, tt.authPath, tt.authVersion)
					}
					want := map[string]string{"account": testUser, "session": "snapd", "format": "cookie", "enable_syno_token": "yes"}
					for k, v := range want {
						if got := r.Params.Get(k); got != v {
							t.Errorf("login param %s = %q, want %q", k, got, v)
						}
					}
				default:
					if r.Params.Get("_sid") == "" || !r.Cookie && r.Header.Get("Cookie") == "" {
						t.Errorf("%s %s: _sid param %q, cookie header %q; want both", r.API, r.Method, r.Params.Get("_sid"), r.Header.Get("Cookie"))
					}
					if !strings.Contains(r.Header.Get("Cookie"), "id="+r.Params.Get("_sid")) {
						t.Errorf("%s %s: cookie %q does not carry id=<sid>", r.API, r.Method, r.Header.Get("Cookie"))
					}
					if tok := r.Params.Get("SynoToken"); tok == "" || tok != r.Header.Get("X-SYNO-TOKEN") {
						t.Errorf("%s %s: SynoToken param %q, header %q; want the same token in both", r.API, r.Method, tok, r.Header.Get("X-SYNO-TOKEN"))
					}
					if r.HTTPMethod != "POST" || r.Path != "/webapi/entry.cgi" {
						t.Errorf("%s %s sent as %s %s, want POST /webapi/entry.cgi", r.API, r.Method, r.HTTPMethod, r.Path)
					}
					if r.Code != 0 {
						t.Errorf("%s %s answered code %d", r.API, r.Method, r.Code)
					}
				}
			}
			if err := c.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if n.Sessions() != 0 || n.Count(apiAuth, "logout") != 1 {
				t.Errorf("after Close: %d live sessions, %d logouts; want 0 and 1", n.Sessions(), n.Count(apiAuth, "logout"))
			}
			if err := c.Close(ctx); err != nil || n.Count(apiAuth, "logout") != 1 {
				t.Errorf("second Close = %v with %d logouts, want nil and no new logout", err, n.Count(apiAuth, "logout"))
			}
		})
	}
}

func TestLoginRefused(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	c := n.client(t, func(cfg *Config) { cfg.Password = "wrong-password-42" })
	err := c.Login(context.Background())
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Login with a wrong password = %v, want ErrAuth", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 400 || ae.API != apiAuth || ae.Method != "login" {
		t.Errorf("Login error = %#v, want *APIError SYNO.API.Auth login 400", err)
	}
	if got := n.Count(apiAuth, "login"); got != 1 {
		t.Errorf("login attempts = %d, want 1 (never retry 400)", got)
	}
	if strings.Contains(err.Error(), "wrong-password-42") {
		t.Errorf("error shows the password: %v", err)
	}
	// A refused login on a call is not retried either.
	n.ResetCounts()
	if _, err := c.ListLUNs(context.Background()); !errors.Is(err, ErrAuth) || n.Count(apiAuth, "login") != 1 {
		t.Errorf("ListLUNs with a wrong password = %v after %d logins, want ErrAuth after 1", err, n.Count(apiAuth, "login"))
	}
}

func TestLoginBlocked(t *testing.T) {
	n := newNAS(t, dsmfake.Options{MaxFailedLogins: 1})
	bad := n.client(t, func(cfg *Config) { cfg.Password = "nope-nope" })
	_ = bad.Login(context.Background())
	err := n.client(t).Login(context.Background())
	var ae *APIError
	if !errors.Is(err, ErrAuth) || !errors.As(err, &ae) || ae.Code != 407 {
		t.Errorf("Login after too many failures = %v, want ErrAuth with code 407", err)
	}
}

func TestTwoFactor(t *testing.T) {
	for _, profile := range []dsmfake.Profile{dsmfake.DSM7, dsmfake.DSM6} {
		t.Run(string(profile), func(t *testing.T) {
			n := newNAS(t, dsmfake.Options{Profile: profile, Strict: true})
			n.AddUser(dsmfake.User{Name: testUser, Password: testPassword, OTP: "123456"})
			n.AddShare("homes")
			ctx := context.Background()
			c := n.client(t)
			err := c.Login(ctx)
			if !errors.Is(err, ErrOTPRequired) {
				t.Fatalf("Login of a 2FA account = %v, want ErrOTPRequired", err)
			}
			if _, err := c.ListShareSnapshots(ctx, "homes"); !errors.Is(err, ErrOTPRequired) {
				t.Errorf("ListShareSnapshots of a 2FA account = %v, want ErrOTPRequired", err)
			}
			if _, err := c.LoginOTP(ctx, "654321"); !errors.Is(err, ErrOTPInvalid) {
				t.Errorf("LoginOTP(wrong code) = %v, want ErrOTPInvalid", err)
			}
			id, err := c.LoginOTP(ctx, "123456")
			if err != nil {
				t.Fatalf("LoginOTP: %v", err)
			}
			if issued := n.IssuedDeviceIDs(); id == "" || len(issued) != 1 || issued[0] != id {
				t.Fatalf("LoginOTP = %q, NAS issued %v", id, issued)
			}
			if _, err := c.ListShareSnapshots(ctx, "homes"); err != nil {
				t.Errorf("ListShareSnapshots after LoginOTP: %v", err)
			}
			// The same client re-logs in with the device id after a session loss.
			n.ForgetSessions()
			if _, err := c.ListShareSnapshots(ctx, "homes"); err != nil {
				t.Errorf("ListShareSnapshots after session loss: %v", err)
			}
			// A new client with the stored device id needs no code.
			n.ResetCounts()
			c2 := n.client(t, func(cfg *Config) { cfg.DeviceID = id })
			if err := c2.Login(ctx); err != nil {
				t.Fatalf("Login with device id: %v", err)
			}
			for _, r := range n.Requests() {
				if r.Method == "login" {
					if r.Params.Get("device_id") != id || !strings.Contains(r.Header.Get("Cookie"), "did="+id) {
						t.Errorf("device login sent device_id=%q, cookie %q; want the device id in both", r.Params.Get("device_id"), r.Header.Get("Cookie"))
					}
					if r.Params.Get("otp_code") != "" {
						t.Errorf("device login sent an otp_code")
					}
				}
			}
			n.assertNoSecret(t, "logs", n.logs.String())
		})
	}
}

func TestLoginOTPEmpty(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	if _, err := n.client(t).LoginOTP(context.Background(), ""); err == nil {
		t.Error("LoginOTP(\"\") = nil error, want one")
	}
	if n.Count("", "") != 0 {
		t.Errorf("LoginOTP(\"\") sent %d requests, want none", n.Count("", ""))
	}
}

func TestSessionExpiryRelogsInOnce(t *testing.T) {
	kills := []struct {
		name string
		kill func(*dsmfake.NAS)
	}{
		{"expired 106", (*dsmfake.NAS).ExpireSessions},
		{"kicked 107", (*dsmfake.NAS).KickSessions},
		{"forgotten 119", (*dsmfake.NAS).ForgetSessions},
		{"stale 105", (*dsmfake.NAS).StaleSessions},
	}
	for _, k := range kills {
		t.Run(k.name, func(t *testing.T) {
			n := newNAS(t, dsmfake.Options{Strict: true, RequireSynoToken: true})
			n.AddShare("homes")
			n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: n.clock.Now().Add(-time.Hour)})
			var mu sync.Mutex
			var logins []bool
			c := n.client(t, func(cfg *Config) {
				cfg.OnLogin = func(re bool) { mu.Lock(); logins = append(logins, re); mu.Unlock() }
			})
			ctx := context.Background()
			if _, err := c.ListShareSnapshots(ctx, "homes"); err != nil {
				t.Fatal(err)
			}
			k.kill(n.NAS)
			if _, err := c.ListShareSnapshots(ctx, "homes"); err != nil {
				t.Fatalf("ListShareSnapshots after the session died: %v", err)
			}
			name, err := c.CreateShareSnapshot(ctx, "homes", CreateShareOptions{Desc: "x"})
			if err != nil || name == "" {
				t.Fatalf("CreateShareSnapshot = %q, %v", name, err)
			}
			n.clock.Advance(time.Second)
			k.kill(n.NAS)
			// A mutation rejected for its session is safe to retry: DSM did not run it.
			if _, err := c.CreateShareSnapshot(ctx, "homes", CreateShareOptions{Desc: "y"}); err != nil {
				t.Fatalf("CreateShareSnapshot after the session died: %v", err)
			}
			if got := n.Count(apiAuth, "login"); got != 3 {
				t.Errorf("logins = %d, want 3 (one, then one per session loss)", got)
			}
			if got := n.Count(apiInfoName, "query"); got != 3 {
				t.Errorf("SYNO.API.Info queries = %d, want 3 (one per session)", got)
			}
			if got := len(n.ShareSnapshots("homes")); got != 3 {
				t.Errorf("snapshots = %d, want 3", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(logins) != 3 || logins[0] || !logins[1] || !logins[2] {
				t.Errorf("OnLogin calls = %v, want [false true true]", logins)
			}
		})
	}
}

func TestSessionSecondFailureSurfaced(t *testing.T) {
	for _, code := range []int{105, 106, 107, 119, 150} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			n := newNAS(t, dsmfake.Options{})
			n.AddShare("homes")
			c := n.client(t)
			ctx := context.Background()
			if err := c.Login(ctx); err != nil {
				t.Fatal(err)
			}
			n.InjectFault(dsmfake.Fault{API: apiShare, Method: "list", Code: code})
			_, err := c.ListShareSnapshots(ctx, "homes")
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != code {
				t.Fatalf("ListShareSnapshots with a persistent %d = %v, want that *APIError", code, err)
			}
			want := ErrSessionExpired
			if code == 105 {
				want = ErrPermission
			}
			if !errors.Is(err, want) {
				t.Errorf("error %v does not match %v", err, want)
			}
			if got := n.Count(apiAuth, "login"); got != 2 {
				t.Errorf("logins = %d, want 2 (first, and one re-login)", got)
			}
			if got := n.Count(apiShare, "list"); got != 2 {
				t.Errorf("list requests = %d, want 2 (no loop)", got)
			}
		})
	}
}

// DSM 7.0.1 answers a 2FA login with an empty device_id, and "--------" means no token.
func TestLoginAnswerWithoutTokenOrDeviceID(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	n.AddShare("homes")
	n.InjectFault(dsmfake.Fault{API: apiAuth, Method: "login", Times: 1,
		Body: []byte(`{"success":true,"data":{"account":"x","device_id":"","ik_message":"","is_portal_port":false,"sid":"stale-sid-1","synotoken":"--------"}}`)})
	c := n.client(t)
	ctx := context.Background()
	id, err := c.LoginOTP(ctx, "123456")
	if err != nil || id != "" {
		t.Fatalf("LoginOTP = %q, %v; want \"\", nil", id, err)
	}
	if _, err := c.ListShareSnapshots(ctx, "homes"); err != nil {
		t.Fatalf("ListShareSnapshots: %v", err)
	}
	var first *dsmfake.Request
	for _, r := range n.Requests() {
		if r.API == apiShare {
			first = &r
			break
		}
	}
	if first == nil || first.Params.Get("_sid") != "stale-sid-1" {
		t.Fatalf("first list request = %+v, want it sent with the answered sid", first)
	}
	if first.Params.Has("SynoToken") || first.Header.Get("X-SYNO-TOKEN") != "" {
		t.Errorf("the placeholder token was sent: param %q, header %q", first.Params.Get("SynoToken"), first.Header.Get("X-SYNO-TOKEN"))
	}
	if got := n.Count(apiAuth, "login"); got != 2 {
		t.Errorf("logins = %d, want 2 (the faked one, then one after 119)", got)
	}
}

func TestLoginAnswerWithoutSID(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	n.InjectFault(dsmfake.Fault{API: apiAuth, Method: "login", Body: []byte(`{"success":true,"data":{"synotoken":"--------"}}`)})
	err := n.client(t).Login(context.Background())
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "no session id") {
		t.Errorf("Login answered without a sid = %v, want ErrProtocol", err)
	}
}
