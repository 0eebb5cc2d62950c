package dsmfake

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	const api = "SYNO.Core.Share.Snapshot"
	tests := []struct {
		name      string
		fault     Fault
		check     func(t *testing.T, resp *http.Response, body string, err error)
		wantSnaps int // snapshots on the share after the create
		wantCode  int // Request.Code logged
	}{
		{"dsm code with errors", Fault{API: api, Method: "create", Code: 3328, Errors: []any{map[string]any{"code": 1}}},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err != nil || resp.StatusCode != 200 || body != `{"error":{"code":3328,"errors":[{"code":1}]},"success":false}` {
					t.Errorf("answer = %v %q, want the 3328 envelope", err, body)
				}
			}, 0, 3328},
		{"http 500", Fault{API: api, HTTPStatus: 500},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err != nil || resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
					!strings.Contains(body, "<html>") {
					t.Errorf("answer = %v %d %q, want an HTML 500", err, resp.StatusCode, body)
				}
			}, 0, -1},
		{"http 503", Fault{HTTPStatus: 503, Method: "create"},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err != nil || resp.StatusCode != 503 {
					t.Errorf("answer = %v %v, want 503", err, resp)
				}
			}, 0, -1},
		{"garbage body", Fault{API: api, Body: []byte(`{"success":tr`)},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err != nil || resp.StatusCode != 200 || body != `{"success":tr` ||
					resp.Header.Get("Content-Type") != jsonContentType {
					t.Errorf("answer = %v %q, want the truncated JSON", err, body)
				}
			}, 0, -1},
		{"html body", Fault{API: api, Body: []byte("<html>login</html>"), ContentType: "text/html"},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err != nil || body != "<html>login</html>" || resp.Header.Get("Content-Type") != "text/html" {
					t.Errorf("answer = %v %q", err, body)
				}
			}, 0, -1},
		{"redirect", Fault{API: api, Redirect: "https://nas.example:5001/"},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err != nil || resp.StatusCode != 302 || resp.Header.Get("Location") != "https://nas.example:5001/" {
					t.Errorf("answer = %v %v, want 302", err, resp)
				}
			}, 0, -1},
		{"drop", Fault{API: api, Method: "create", Drop: true},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err == nil {
					t.Errorf("answer = %d %q, want a transport error", resp.StatusCode, body)
				}
			}, 0, -1},
		{"drop after", Fault{API: api, Method: "create", DropAfter: true},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err == nil {
					t.Errorf("answer = %d %q, want a transport error", resp.StatusCode, body)
				}
			}, 1, -1},
		{"latency only", Fault{API: api, Latency: 50 * time.Millisecond},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err != nil || !strings.Contains(body, `"success":true`) {
					t.Errorf("answer = %v %q, want success", err, body)
				}
			}, 1, 0},
		{"other method", Fault{API: api, Method: "list", Code: 100},
			func(t *testing.T, resp *http.Response, body string, err error) {
				if err != nil || !strings.Contains(body, `"success":true`) {
					t.Errorf("answer = %v %q, want success", err, body)
				}
			}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.nas.AddShare("s")
			h.login()
			h.nas.InjectFault(tt.fault)
			form := url.Values{"api": {api}, "version": {"1"}, "method": {"create"}, "name": {`"s"`}, "_sid": {h.sid}}
			client := h.srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			start := time.Now()
			resp, err := client.PostForm(h.srv.URL+"/webapi/entry.cgi", form)
			body := ""
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(b)
			}
			tt.check(t, resp, body, err)
			if tt.fault.Latency > 0 && time.Since(start) < tt.fault.Latency {
				t.Errorf("answered after %v, want at least %v", time.Since(start), tt.fault.Latency)
			}
			if got := len(h.nas.ShareSnapshots("s")); got != tt.wantSnaps {
				t.Errorf("%d snapshots after the faulted create, want %d", got, tt.wantSnaps)
			}
			reqs := h.nas.Requests()
			if last := reqs[len(reqs)-1]; last.Code != tt.wantCode || last.Method != "create" {
				t.Errorf("last Request = %s code %d, want create code %d", last.Method, last.Code, tt.wantCode)
			}
			if got := h.nas.Count(api, "create"); got != 1 {
				t.Errorf("Count(create) = %d, want 1", got)
			}
		})
	}
}

func TestFaultSkipTimesAndClear(t *testing.T) {
	h := newHarness(t, Options{})
	h.nas.AddShare("s")
	h.login()
	list := func() int {
		return h.call("SYNO.Core.Share.Snapshot", "list", 2, map[string]string{"name": `"s"`}).code()
	}
	h.nas.InjectFault(Fault{API: "SYNO.Core.Share.Snapshot", Method: "list", Skip: 1, Times: 2, Code: 117})
	var got []int
	for range 5 {
		got = append(got, list())
	}
	if want := []int{0, 117, 117, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("codes with Skip 1 Times 2 = %v, want %v", got, want)
	}
	h.nas.InjectFault(Fault{Code: 118})
	if c := list(); c != 118 {
		t.Errorf("code with a catch-all fault = %d, want 118", c)
	}
	if c := list(); c != 118 {
		t.Errorf("Times 0 fault stopped firing: code %d", c)
	}
	h.nas.ClearFaults()
	if c := list(); c != 0 {
		t.Errorf("code after ClearFaults = %d, want 0", c)
	}
	if got, want := h.nas.Count("SYNO.Core.Share.Snapshot", "list"), 8; got != want {
		t.Errorf("Count(list) = %d, want %d", got, want)
	}
	if got := h.nas.Count("", ""); got != 9 { // and the login
		t.Errorf("Count(any) = %d, want 9", got)
	}
	h.nas.ResetCounts()
	if got := h.nas.Count("", ""); got != 0 || len(h.nas.Requests()) != 0 {
		t.Errorf("after ResetCounts: Count %d, %d requests", got, len(h.nas.Requests()))
	}
}

func TestFaultLatencyHonoursContext(t *testing.T) {
	h := newHarness(t, Options{})
	h.nas.InjectFault(Fault{API: "SYNO.API.Info", Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+"/webapi/query.cgi?api=SYNO.API.Info&version=1&method=query&query=all", nil)
	start := time.Now()
	_, err := h.srv.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do = %v, want deadline exceeded", err)
	}
	// The handler must notice the closed connection and give up, logging the request as -1.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if reqs := h.nas.Requests(); len(reqs) == 1 {
			if reqs[0].Code != -1 {
				t.Errorf("Request.Code = %d, want -1", reqs[0].Code)
			}
			if time.Since(start) > 4*time.Second {
				t.Errorf("handler gave up after %v", time.Since(start))
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the handler is still waiting an hour after the client left")
}

func TestRequestLogRedacts(t *testing.T) {
	h := newHarness(t, Options{})
	h.nas.AddUser(User{Name: "u", Password: "hunter2", OTP: "424242"})
	h.post("/webapi/entry.cgi", loginForm("u", "hunter2", "otp_code", "424242", "password", "x"))
	r := h.nas.Requests()[0]
	for _, k := range []string{"passwd", "otp_code", "password"} {
		if r.Params.Get(k) != "***" {
			t.Errorf("Request.Params[%s] = %q, want ***", k, r.Params.Get(k))
		}
	}
	if r.Params.Get("account") != "u" || r.API != "SYNO.API.Auth" || r.Method != "login" || r.Version != 6 || r.HTTPMethod != "POST" || r.Path != "/webapi/entry.cgi" {
		t.Errorf("Request = %+v", r)
	}
}
