package dsmfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// logSink collects Logf lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func (l *logSink) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// clock is a settable NAS clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is a fake NAS behind a real loopback HTTP server.
type harness struct {
	t   *testing.T
	nas *NAS
	srv *httptest.Server
	log *logSink
	sid string
	tok string
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	sink := &logSink{}
	opts.Logf = sink.logf
	n := New(opts)
	n.AddUser(User{Name: "snapd", Password: "pw"})
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	return &harness{t: t, nas: n, srv: srv, log: sink}
}

// answer is a decoded DSM envelope plus the HTTP details.
type answer struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code   int             `json:"code"`
		Errors json.RawMessage `json:"errors"`
	} `json:"error"`
	status int
	header http.Header
	body   string
}

func (a answer) code() int {
	if a.Error == nil {
		return 0
	}
	return a.Error.Code
}

// data decodes the data member into v.
func (a answer) data(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Data, v); err != nil {
		t.Fatalf("decode data %s: %v", a.Data, err)
	}
}

// do sends a request and decodes the answer.
func (h *harness) do(req *http.Request) answer {
	h.t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &a); err != nil {
			h.t.Fatalf("decode %s: %v", body, err)
		}
	}
	return a
}

// get sends GET <path>?<rawQuery>.
func (h *harness) get(path, rawQuery string) answer {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.srv.URL+path+"?"+rawQuery, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(req)
}

// post sends a form POST.
func (h *harness) post(path string, form url.Values) answer {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return h.do(req)
}

// js JSON-encodes a value as the canonical client does.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// call POSTs an API call to entry.cgi with the harness's session; params are sent as given.
func (h *harness) call(api, method string, version int, params map[string]string) answer {
	h.t.Helper()
	form := url.Values{"api": {api}, "method": {method}, "version": {fmt.Sprint(version)}}
	for k, v := range params {
		form.Set(k, v)
	}
	if h.sid != "" && form.Get("_sid") == "" {
		form.Set("_sid", h.sid)
	}
	return h.post("/webapi/entry.cgi", form)
}

// login logs in as user snapd and keeps the sid and token.
func (h *harness) login() {
	h.t.Helper()
	path := "/webapi/entry.cgi"
	if h.nas.Options().Profile == DSM6 {
		path = "/webapi/auth.cgi"
	}
	a := h.post(path, url.Values{"api": {"SYNO.API.Auth"}, "version": {"6"}, "method": {"login"},
		"account": {"snapd"}, "passwd": {"pw"}, "enable_syno_token": {"yes"}, "format": {"sid"}})
	if !a.Success {
		h.t.Fatalf("login: %s", a.body)
	}
	var d struct {
		SID   string `json:"sid"`
		Token string `json:"synotoken"`
	}
	a.data(h.t, &d)
	h.sid, h.tok = d.SID, d.Token
}

// wantCode fails unless the answer carries the DSM code (0 = success).
func wantCode(t *testing.T, what string, a answer, want int) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s, want 200", what, a.status, a.body)
	}
	if got := a.code(); got != want || a.Success != (want == 0) {
		t.Fatalf("%s = success %v code %d (%s), want code %d", what, a.Success, got, a.body, want)
	}
}
