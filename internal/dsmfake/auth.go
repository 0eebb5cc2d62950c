package dsmfake

import (
	"crypto/rand"
	"net/http"
	"sort"
	"time"
)

// User is an account on the fake NAS.
type User struct {
	Name, Password string
	OTP            string // non-empty: account has 2FA; this is the one currently valid code
}

type account struct {
	User
	failures int
}

type sessionState int

const (
	sessionLive sessionState = iota
	sessionExpired
	sessionKicked
	sessionStale
)

type session struct {
	sid, account, token string
	last                time.Time
	state               sessionState
}

const noSynoToken = "--------"

// AddUser adds an account, replacing one with the same name.
func (n *NAS) AddUser(u User) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.users[u.Name] = &account{User: u}
}

// ResetLoginFailures forgets failed logins, unblocking accounts that answered 407.
func (n *NAS) ResetLoginFailures() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range n.users {
		a.failures = 0
	}
}

// ExpireSessions makes every live sid answer 106 from now on.
func (n *NAS) ExpireSessions() { n.setSessions(sessionExpired) }

// KickSessions makes every live sid answer 107 from now on.
func (n *NAS) KickSessions() { n.setSessions(sessionKicked) }

// StaleSessions makes every live sid answer 105 from now on, as after a NAS reboot.
func (n *NAS) StaleSessions() { n.setSessions(sessionStale) }

// ForgetSessions drops every session: their sids answer 119 from now on.
func (n *NAS) ForgetSessions() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sessions = map[string]*session{}
}

func (n *NAS) setSessions(st sessionState) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range n.sessions {
		if s.state == sessionLive {
			s.state = st
		}
	}
}

// Sessions returns the number of live sessions (logins minus logouts minus killed).
func (n *NAS) Sessions() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.now()
	live := 0
	for _, s := range n.sessions {
		if s.state == sessionLive && !n.idle(s, now) {
			live++
		}
	}
	return live
}

// IssuedDeviceIDs returns the device ids handed out at 2FA logins, oldest first.
func (n *NAS) IssuedDeviceIDs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.devOrder...)
}

// idle reports whether the session has been unused for longer than the idle timeout.
func (n *NAS) idle(s *session, now time.Time) bool {
	return n.opts.IdleTimeout > 0 && now.Sub(s.last) > n.opts.IdleTimeout
}

// sid returns the session id of the request: the _sid parameter, else the id cookie.
func (c *call) sid() string {
	if sid := c.r.Form.Get("_sid"); sid != "" {
		return sid
	}
	if ck, err := c.r.Cookie("id"); err == nil {
		c.cookieSID = true
		return ck.Value
	}
	return ""
}

// checkSession finds the request's session (param _sid, else cookie id) and enforces the
// SynoToken when asked to.
func (n *NAS) checkSession(c *call) *apiError {
	sid := c.sid()
	if sid == "" {
		return &apiError{code: codeInvalidSID, why: "no _sid parameter and no id cookie"}
	}
	s := n.sessions[sid]
	if s == nil {
		return &apiError{code: codeInvalidSID, why: "unknown sid"}
	}
	if s.state == sessionLive && n.idle(s, c.now) {
		s.state = sessionExpired
	}
	switch s.state {
	case sessionExpired:
		return &apiError{code: codeTimeout, why: "session timed out"}
	case sessionKicked:
		return &apiError{code: codeKicked, why: "session kicked"}
	case sessionStale:
		return &apiError{code: codeNoPermission, why: "stale session"}
	}
	if n.opts.RequireSynoToken {
		tok := c.r.Form.Get("SynoToken")
		if tok == "" {
			tok = c.r.Header.Get("X-SYNO-TOKEN")
		}
		if s.token == noSynoToken || tok != s.token {
			return &apiError{code: codeInvalidSID, why: "missing or wrong SynoToken"}
		}
	}
	s.last = c.now
	return nil
}

// authLogin implements SYNO.API.Auth login; its parameters are raw, never JSON.
func authLogin(c *call) (any, *apiError) {
	n := c.n
	p := c.p
	name, passwd := p.text("account"), p.text("passwd")
	a := n.users[name]
	if a != nil && a.failures >= n.opts.MaxFailedLogins {
		return nil, &apiError{code: codeAuthBlocked, why: "account " + name + " blocked after failed logins"}
	}
	if a == nil || name == "" || passwd != a.Password {
		if a != nil {
			a.failures++
		}
		return nil, &apiError{code: codeAuthBadPassword, why: "bad account or password for " + quoteShort(name)}
	}
	dsm6 := n.opts.Profile == DSM6
	deviceID := ""
	if a.OTP != "" {
		dev := p.text("device_id")
		if dev == "" {
			dev = p.text("did")
		}
		if dev == "" || n.devices[dev] != name {
			otp := p.text("otp_code")
			if otp == "" {
				return nil, &apiError{code: codeAuthOTPRequired, why: "2FA code required for " + name,
					errors: map[string]any{"token": rand.Text(), "types": []any{map[string]any{"type": "otp"}}}}
			}
			if otp != a.OTP {
				return nil, &apiError{code: codeAuthOTPFailed, why: "wrong 2FA code for " + name}
			}
			if p.text("enable_device_token") == "yes" {
				deviceID = rand.Text()
				n.devices[deviceID] = name
				n.devOrder = append(n.devOrder, deviceID)
				c.cookies = append(c.cookies, &http.Cookie{Name: "did", Value: deviceID, Path: "/",
					MaxAge: 30 * 24 * 3600, HttpOnly: true})
			}
		}
	}
	a.failures = 0
	s := &session{sid: rand.Text(), account: name, token: noSynoToken, last: c.now}
	if p.text("enable_syno_token") == "yes" {
		s.token = rand.Text()
	}
	n.sessions[s.sid] = s
	if p.text("format") == "cookie" {
		c.cookies = append(c.cookies, &http.Cookie{Name: "id", Value: s.sid, Path: "/", MaxAge: 604800, HttpOnly: true})
	}
	out := map[string]any{"is_portal_port": false, "sid": s.sid, "synotoken": s.token}
	if dsm6 {
		if deviceID != "" {
			out["did"] = deviceID
		}
	} else {
		out["account"] = name
		out["device_id"] = deviceID
		out["ik_message"] = ""
	}
	return out, nil
}

// authLogout implements SYNO.API.Auth logout. Like DSM it answers success even without a
// sid, and then logs nothing out.
func authLogout(c *call) (any, *apiError) {
	delete(c.n.sessions, c.sid())
	return nil, nil
}

// sortedUsers returns the accounts by name.
func (n *NAS) sortedUsers() []User {
	out := make([]User, 0, len(n.users))
	for _, a := range n.users {
		out = append(out, a.User)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
