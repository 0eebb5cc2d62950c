package synology

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

// Passwords, sids, tokens and device ids never appear in an error, a log line or a URL.
func TestSecretsStaySecret(t *testing.T) {
	n := newNAS(t, dsmfake.Options{RequireSynoToken: true})
	n.AddUser(dsmfake.User{Name: "otp-user", Password: testPassword, OTP: "246810"})
	n.AddShare("homes")
	ctx := context.Background()
	c := n.client(t, func(cfg *Config) { cfg.Timeout = 300 * time.Millisecond })
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	var sid, token string
	for _, r := range n.Requests() {
		if r.Params.Get("_sid") != "" {
			sid, token = r.Params.Get("_sid"), r.Params.Get("SynoToken")
		}
	}
	if _, err := c.ListShareSnapshots(ctx, "homes"); err != nil {
		t.Fatal(err)
	}
	for _, r := range n.Requests() {
		if r.Params.Get("_sid") != "" {
			sid, token = r.Params.Get("_sid"), r.Params.Get("SynoToken")
		}
	}
	if sid == "" || token == "" {
		t.Fatalf("no sid (%q) or token seen", sid)
	}
	var errs []error
	try := func(f dsmfake.Fault, call func() error) {
		n.ClearFaults()
		f.Times = 1
		n.InjectFault(f)
		errs = append(errs, call())
	}
	list := func() error { _, err := c.ListShareSnapshots(ctx, "homes"); return err }
	create := func() error { _, err := c.CreateShareSnapshot(ctx, "homes", CreateShareOptions{}); return err }
	try(dsmfake.Fault{API: apiShare, Redirect: "https://" + sid + ".example/webapi/entry.cgi?_sid=" + sid + "&SynoToken=" + token}, create)
	try(dsmfake.Fault{API: apiShare, Redirect: "https://nas.example/" + sid + "/" + token}, list)
	try(dsmfake.Fault{API: apiShare, Body: []byte("<html>session " + sid + " token " + token + " " + testPassword + "</html>")}, create)
	try(dsmfake.Fault{API: apiShare, Body: []byte(`{"success":false,"error":{"code":100,"errors":{"sid":"` + sid + `"}}}`)}, list)
	try(dsmfake.Fault{API: apiShare, HTTPStatus: 500}, create)
	try(dsmfake.Fault{API: apiShare, DropAfter: true}, create)
	try(dsmfake.Fault{API: apiShare, Latency: time.Second}, create)
	try(dsmfake.Fault{API: apiShare, Code: 119}, list)
	n.ClearFaults()
	n.ForgetSessions()
	n.InjectFault(dsmfake.Fault{API: apiAuth, Method: "login", HTTPStatus: 502})
	errs = append(errs, list())
	n.ClearFaults()
	otp := n.client(t, func(cfg *Config) { cfg.User = "otp-user" })
	errs = append(errs, otp.Login(ctx))
	_, err := otp.LoginOTP(ctx, "135790")
	errs = append(errs, err)
	did, err := otp.LoginOTP(ctx, "246810")
	if err != nil || did == "" {
		t.Fatalf("LoginOTP = %q, %v", did, err)
	}
	n.InjectFault(dsmfake.Fault{API: apiShare, Body: []byte("<html>" + did + "</html>"), Times: 1})
	_, err = otp.ListShareSnapshots(ctx, "homes")
	errs = append(errs, err)
	bad := n.client(t, func(cfg *Config) { cfg.Password = "wrong-but-secret" })
	errs = append(errs, bad.Login(ctx))
	errs = append(errs, c.Close(ctx))

	n.mu.Lock()
	urls := append([]string(nil), n.urls...)
	n.mu.Unlock()
	secrets := append(n.secrets(), sid, token, did, "wrong-but-secret", "246810")
	for _, err := range errs {
		if err == nil {
			continue
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error shows a secret (%.3s…): %v", s, err)
			}
		}
	}
	logs := n.logs.String()
	if !strings.Contains(logs, "retrying") || !strings.Contains(logs, "logging in again") {
		t.Errorf("the debug log lacks the retry and re-login lines the test means to check:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log shows a secret (%.3s…)", s)
		}
		for _, u := range urls {
			if strings.Contains(u, s) {
				t.Errorf("request URL %q carries a secret", u)
			}
		}
	}
	if len(urls) == 0 {
		t.Error("no URL recorded")
	}
}
