package dsmfake

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Profile selects which DSM generation the fake imitates.
type Profile string

// The two DSM generations the fake can imitate.
const (
	DSM7 Profile = "dsm7"
	DSM6 Profile = "dsm6"
)

// Order is the order in which share and LUN snapshot lists are returned.
type Order string

// The list orders the fake can answer in.
const (
	OldestFirst Order = "oldest-first"
	NewestFirst Order = "newest-first"
	Shuffled    Order = "shuffled"
)

// ParseProfile checks a profile name as given on a command line or in a seed file.
func ParseProfile(s string) (Profile, error) {
	switch p := Profile(strings.ToLower(s)); p {
	case DSM7, DSM6:
		return p, nil
	case "":
		return DSM7, nil
	}
	return "", fmt.Errorf("unknown profile %q (want %s or %s)", s, DSM7, DSM6)
}

// ParseOrder checks a list order as given on a command line or in a seed file.
func ParseOrder(s string) (Order, error) {
	switch o := Order(strings.ToLower(s)); o {
	case OldestFirst, NewestFirst, Shuffled:
		return o, nil
	case "":
		return OldestFirst, nil
	}
	return "", fmt.Errorf("unknown order %q (want %s, %s or %s)", s, OldestFirst, NewestFirst, Shuffled)
}

// Options configure a fake NAS. Zero values give a DSM 7, lenient, UTC NAS with a 256 limit.
type Options struct {
	Profile          Profile
	Strict           bool                             // every JSON-API value must be valid JSON (quoted strings)
	Zone             *time.Location                   // zone share snapshot names are generated in (follows DST); nil = UTC
	Now              func() time.Time                 // the NAS clock; nil = time.Now
	IdleTimeout      time.Duration                    // sessions idle longer than this answer 106; 0 = never
	SnapshotLimit    int                              // per share / LUN; 0 = 256
	ListOrder        Order                            // order of share and LUN snapshot lists; "" = OldestFirst
	RequireSynoToken bool                             // answer 119 to session calls without a valid SynoToken
	NoDRPackage      bool                             // SYNO.DR.Plan and SYNO.DisasterRecovery.Retention absent from API Info (calls give 102)
	MaxFailedLogins  int                              // failures from one account before 407; 0 = 5
	Logf             func(format string, args ...any) // loud log of unknown requests etc; nil = log.Printf
	LogRequests      bool                             // also log one line per request through Logf
}

// withDefaults fills the zero values of o.
func (o Options) withDefaults() Options {
	if o.Profile == "" {
		o.Profile = DSM7
	}
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	if o.SnapshotLimit <= 0 {
		o.SnapshotLimit = 256
	}
	if o.ListOrder == "" {
		o.ListOrder = OldestFirst
	}
	if o.MaxFailedLogins <= 0 {
		o.MaxFailedLogins = 5
	}
	if o.Logf == nil {
		o.Logf = log.Printf
	}
	return o
}

// NAS is a fake Synology NAS: an http.Handler that speaks the DSM Web API over in-memory
// state. All its methods are safe for concurrent use.
type NAS struct {
	mu   sync.Mutex
	opts Options
	apis map[string]*apiDef

	users    map[string]*account
	sessions map[string]*session
	devices  map[string]string // device id -> account
	devOrder []string

	shares map[string]*share
	luns   map[string]*lunState
	lunSeq int
	plans  map[string]*planState

	faults []*faultState
	counts map[[2]string]int
	log    []Request
}

// New returns a fake NAS with no users, shares, LUNs or plans.
func New(opts Options) *NAS {
	n := &NAS{
		users:    map[string]*account{},
		sessions: map[string]*session{},
		devices:  map[string]string{},
		shares:   map[string]*share{},
		luns:     map[string]*lunState{},
		plans:    map[string]*planState{},
		counts:   map[[2]string]int{},
	}
	n.setOptions(opts)
	return n
}

// Options returns the options in effect, with defaults filled in.
func (n *NAS) Options() Options {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.opts
}

// SetOptions replaces the options; existing state (and snapshot names) is kept.
func (n *NAS) SetOptions(opts Options) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.setOptions(opts)
}

func (n *NAS) setOptions(opts Options) {
	n.opts = opts.withDefaults()
	n.apis = apiTable(n.opts)
}

// now reads the NAS clock.
func (n *NAS) now() time.Time {
	if n.opts.Now != nil {
		return n.opts.Now()
	}
	return time.Now()
}

// logf logs through the configured Logf.
func (n *NAS) logf(format string, args ...any) {
	n.opts.Logf(format, args...)
}

// DSM error codes the fake answers with.
const (
	codeUnknown      = 100
	codeNoParam      = 101
	codeNoAPI        = 102
	codeNoMethod     = 103
	codeBadVersion   = 104
	codeNoPermission = 105
	codeTimeout      = 106
	codeKicked       = 107
	codeLostParam    = 114
	codeInvalidSID   = 119
	codeInvalidParam = 120

	codeAuthBadPassword = 400
	codeAuthOTPRequired = 403
	codeAuthOTPFailed   = 404
	codeAuthBlocked     = 407

	codeShareNoShare      = 402
	codeShareInvalidValue = 403
	codeShareNoSnapshot   = 3300
	codeShareCollision    = 3301
	codeShareTooMany      = 3329
	codeShareHeld         = 3337
	codeShareWORM         = 3350

	codeLUNNoLUN      = 18990531
	codeLUNNoSnapshot = 18990532
	codeLUNHeld       = 18990540
	codeLUNTooMany    = 18990543

	codePlanNoPlan = 400
)

// apiError is a success:false answer. why is logged (loudly for malformed requests) and
// never sent.
type apiError struct {
	code   int
	errors any
	why    string
	loud   bool
}

// envelope is DSM's answer wrapper.
type envelope struct {
	Data    any       `json:"data,omitempty"`
	Error   *errorOut `json:"error,omitempty"`
	Success bool      `json:"success"`
}

type errorOut struct {
	Code   int `json:"code"`
	Errors any `json:"errors,omitempty"`
}

// handler runs one API method under n.mu.
type handler func(c *call) (any, *apiError)

// apiDef is one entry of the API table.
type apiDef struct {
	name     string
	path     string // as reported by SYNO.API.Info
	min, max int
	json     bool            // requestFormat JSON
	lenient  bool            // values never checked strictly
	session  bool            // needs a live session
	routes   map[string]bool // CGIs that serve it
	methods  map[string]handler
}

// apiTable builds the APIs the profile offers.
func apiTable(o Options) map[string]*apiDef {
	dsm6 := o.Profile == DSM6
	entry := map[string]bool{"entry.cgi": true}
	t := map[string]*apiDef{}
	add := func(d *apiDef) { t[d.name] = d }

	info := &apiDef{name: "SYNO.API.Info", path: "entry.cgi", min: 1, max: 1, json: true, lenient: true,
		routes:  map[string]bool{"entry.cgi": true, "query.cgi": true},
		methods: map[string]handler{"query": infoQuery}}
	if dsm6 {
		info.path, info.json = "query.cgi", false
	}
	add(info)

	auth := &apiDef{name: "SYNO.API.Auth", path: "entry.cgi", min: 1, max: 7,
		routes:  map[string]bool{"entry.cgi": true, "auth.cgi": true},
		methods: map[string]handler{"login": authLogin, "logout": authLogout}}
	if dsm6 {
		auth.path, auth.max = "auth.cgi", 6
		auth.routes = map[string]bool{"auth.cgi": true}
	}
	add(auth)

	add(&apiDef{name: "SYNO.Core.Share.Snapshot", path: "entry.cgi", min: 1, max: 2, json: true, session: true,
		routes: entry, methods: map[string]handler{
			"list": shareList, "create": shareCreate, "set": shareSet, "delete": shareDelete}})
	add(&apiDef{name: "SYNO.Core.ISCSI.LUN", path: "entry.cgi", min: 1, max: 1, json: true, session: true,
		routes: entry, methods: map[string]handler{
			"list": lunList, "list_snapshot": lunListSnapshot, "take_snapshot": lunTakeSnapshot,
			"delete_snapshot": lunDeleteSnapshot}})
	if !o.NoDRPackage {
		add(&apiDef{name: "SYNO.DR.Plan", path: "entry.cgi", min: 1, max: 3, json: true, session: true,
			routes: entry, methods: map[string]handler{"list": planList, "sync": planSync}})
		add(&apiDef{name: "SYNO.DisasterRecovery.Retention", path: "entry.cgi", min: 1, max: 1, json: true, session: true,
			routes: entry, methods: map[string]handler{"get": retentionGet}})
	}
	return t
}

// routeOf maps a URL path to the CGI that serves it, "" for an unknown path.
func routeOf(p string) string {
	switch {
	case p == "/webapi/query.cgi":
		return "query.cgi"
	case p == "/webapi/auth.cgi":
		return "auth.cgi"
	case p == "/webapi/entry.cgi", strings.HasPrefix(p, "/webapi/entry.cgi/"):
		return "entry.cgi"
	}
	return ""
}

// call is the context of one API request.
type call struct {
	n            *NAS
	r            *http.Request
	p            *params
	now          time.Time
	cookies      []*http.Cookie
	itemFailures map[string]int
	cookieSID    bool
}

// reply is a complete HTTP answer, built before anything is written so that a fault can
// still discard it.
type reply struct {
	status  int
	header  http.Header
	body    []byte
	code    int // for the request log
	dropped bool
}

const jsonContentType = `application/json; charset="UTF-8"`

// ServeHTTP answers one DSM Web API request.
func (n *NAS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	form := r.Form
	apiName, method := form.Get("api"), form.Get("method")
	ver, _ := strconv.Atoi(form.Get("version"))

	n.mu.Lock()
	now := n.now()
	rec := Request{Time: now, HTTPMethod: r.Method, Path: r.URL.Path, API: apiName, Method: method,
		Version: ver, Params: redacted(form), Header: r.Header.Clone()}
	n.counts[[2]string{apiName, method}]++
	act := n.fireFaults(apiName, method)
	n.mu.Unlock()

	if act.latency > 0 {
		t := time.NewTimer(act.latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			rec.Code = -1
			n.record(rec)
			return
		case <-t.C:
		}
	}

	var rep reply
	switch {
	case act.terminal != nil:
		rep = faultReply(act.terminal)
	case routeOf(r.URL.Path) == "":
		n.mu.Lock()
		n.logf("dsmfake: UNKNOWN PATH %s %s (%s): answering 404", r.Method, r.URL.Path, forLog(form))
		n.mu.Unlock()
		rep = reply{status: http.StatusNotFound, header: http.Header{"Content-Type": {"text/html"}},
			body: []byte("<html><body><h1>404 Not Found</h1></body></html>\n"), code: -1}
	default:
		n.mu.Lock()
		// The operation happens after any injected latency, so it sees the clock of then.
		c := &call{n: n, r: r, now: n.now(), itemFailures: act.itemFailures}
		data, e := n.dispatch(c, routeOf(r.URL.Path), form)
		rec.Cookie = c.cookieSID
		n.mu.Unlock()
		rep = envelopeReply(data, e, c.cookies)
	}
	if act.dropAfter && rep.code != -1 {
		rep.dropped = true
	}
	if rep.dropped {
		rec.Code = -1
		n.record(rec)
		drop(w)
		return
	}
	rec.Code = rep.code
	n.record(rec)
	for k, vs := range rep.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// envelopeReply encodes a DSM answer.
func envelopeReply(data any, e *apiError, cookies []*http.Cookie) reply {
	env := envelope{Success: e == nil, Data: data}
	code := 0
	if e != nil {
		env.Data = nil
		env.Error = &errorOut{Code: e.code, Errors: e.errors}
		code = e.code
	}
	body, err := json.Marshal(env)
	if err != nil {
		body = []byte(`{"error":{"code":100},"success":false}`)
		code = codeUnknown
	}
	h := http.Header{"Content-Type": {jsonContentType}}
	for _, ck := range cookies {
		h.Add("Set-Cookie", ck.String())
	}
	return reply{status: http.StatusOK, header: h, body: body, code: code}
}

// dispatch validates the request line, finds the session and runs the method.
func (n *NAS) dispatch(c *call, route string, form url.Values) (any, *apiError) {
	apiName, method, verText := c.r.Form.Get("api"), c.r.Form.Get("method"), c.r.Form.Get("version")
	fail := func(e *apiError) (any, *apiError) {
		if e.loud {
			n.logf("dsmfake: REJECTED %s %s: %s (answering %d) [%s]", c.r.Method, c.r.URL.Path, e.why, e.code, forLog(form))
		} else if n.opts.LogRequests && e.why != "" {
			n.logf("dsmfake: %s.%s: %s (answering %d)", apiName, method, e.why, e.code)
		}
		return nil, e
	}
	if apiName == "" || method == "" || verText == "" {
		return fail(&apiError{code: codeNoParam, why: "missing api, method or version", loud: true})
	}
	ver, err := strconv.Atoi(verText)
	if err != nil {
		return fail(&apiError{code: codeNoParam, why: fmt.Sprintf("version %s is not a number", quoteShort(verText)), loud: true})
	}
	def := n.apis[apiName]
	if def == nil || !def.routes[route] {
		return fail(&apiError{code: codeNoAPI, why: fmt.Sprintf("API %s does not exist at %s in profile %s", apiName, route, n.opts.Profile), loud: true})
	}
	if ver < def.min || ver > def.max {
		return fail(&apiError{code: codeBadVersion, why: fmt.Sprintf("%s version %d outside %d-%d", apiName, ver, def.min, def.max), loud: true})
	}
	h := def.methods[method]
	if h == nil {
		return fail(&apiError{code: codeNoMethod, why: fmt.Sprintf("%s has no method %s", apiName, method), loud: true})
	}
	c.p = &params{raw: c.r.Form, json: def.json && !def.lenient, strict: n.opts.Strict}
	if err := c.p.checkStrict(); err != nil {
		return fail(&apiError{code: codeInvalidParam, why: "strict mode: " + err.Error(), loud: true})
	}
	if def.session {
		if e := n.checkSession(c); e != nil {
			return fail(e)
		}
	}
	data, e := h(c)
	if e != nil {
		return fail(e)
	}
	if n.opts.LogRequests {
		n.logf("dsmfake: %s %s.%s v%d ok", c.r.Method, apiName, method, ver)
	}
	return data, nil
}

// infoQuery answers SYNO.API.Info query with query=all or a comma-separated list.
func infoQuery(c *call) (any, *apiError) {
	q := c.p.text("query")
	var s string
	if json.Unmarshal([]byte(q), &s) == nil {
		q = s
	}
	want := map[string]bool{}
	all := q == "" || q == "all"
	for _, name := range strings.Split(q, ",") {
		want[strings.TrimSpace(name)] = true
	}
	out := map[string]any{}
	for name, d := range c.n.apis {
		if !all && !want[name] {
			continue
		}
		e := map[string]any{"path": d.path, "minVersion": d.min, "maxVersion": d.max}
		if d.json {
			e["requestFormat"] = "JSON"
		}
		out[name] = e
	}
	return out, nil
}
