package synology

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// noToken is what DSM sends as synotoken when none was asked for.
const noToken = "--------"

// Login logs in now unless the client already has a session. Calls log in by
// themselves when needed, so Login only serves to check credentials early. A 2FA account
// without a device token fails with an error matching ErrOTPRequired.
func (c *Client) Login(ctx context.Context) error {
	_, err := c.current(ctx)
	return err
}

// LoginOTP logs in with a 2FA code and asks DSM for a device token, so that later logins
// need no code. It returns the device id DSM issued ("" if it issued none, as some DSM
// 7.0 builds do) and uses it for this client's later logins.
func (c *Client) LoginOTP(ctx context.Context, otp string) (deviceID string, err error) {
	if otp == "" {
		return "", errors.New("login with 2fa: empty code")
	}
	c.addSecret(otp)
	c.mu.Lock()
	stale := c.sess
	c.mu.Unlock()
	s, err := c.login(ctx, stale, otp)
	if err != nil {
		return "", err
	}
	return s.issued, nil
}

// Close logs out if logged in. The client stays usable: a later call logs in again.
func (c *Client) Close(ctx context.Context) error {
	select {
	case c.loginSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s logout: %w", apiAuth, ctx.Err())
	}
	defer func() { <-c.loginSem }()
	c.mu.Lock()
	s := c.sess
	c.sess = nil
	c.mu.Unlock()
	defer c.tr.CloseIdleConnections()
	if s == nil {
		return nil
	}
	info, v, err := s.pick(apiAuth, "logout")
	if err != nil {
		return err
	}
	r := &request{api: apiAuth, method: "logout", path: info.Path, sid: s.sid, token: s.token, mutating: true,
		form: url.Values{"api": {apiAuth}, "version": {strconv.Itoa(v)}, "method": {"logout"},
			"session": {c.cfg.Session}, "_sid": {s.sid}}}
	hdr, body, err := c.post(ctx, r)
	if err == nil {
		_, err = c.decodeAnswer(r, hdr, body)
	}
	return c.scrub(err)
}

// loginData is the data of a login answer (DSM 6 and 7).
type loginData struct {
	SID      flexString `json:"sid"`
	Token    flexString `json:"synotoken"`
	DeviceID flexString `json:"device_id"` // DSM 7
	DID      flexString `json:"did"`       // DSM 6
}

// doLogin discovers the APIs and logs in. With otp it asks for a device token.
func (c *Client) doLogin(ctx context.Context, otp string) (*session, error) {
	apis, err := c.discover(ctx)
	if err != nil {
		return nil, err
	}
	info := apis[apiAuth]
	v, err := chooseVersion(info, knownVersion(apiAuth, "login"), apiAuth, "login")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	did := c.deviceID
	c.mu.Unlock()
	form := url.Values{
		"api": {apiAuth}, "version": {strconv.Itoa(v)}, "method": {"login"},
		"account": {c.cfg.User}, "passwd": {c.cfg.Password},
		"session": {c.cfg.Session}, "format": {"cookie"}, "enable_syno_token": {"yes"},
	}
	r := &request{api: apiAuth, method: "login", path: info.Path, form: form}
	switch {
	case otp != "":
		form.Set("otp_code", otp)
		form.Set("enable_device_token", "yes")
		form.Set("device_name", c.cfg.DeviceName)
		// A code is good once: a retry after a lost answer would be refused anyway.
		r.mutating = true
	case did != "":
		form.Set("device_id", did)
		form.Set("device_name", c.cfg.DeviceName)
		r.deviceID = did
	}
	hdr, body, err := c.post(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := c.decodeAnswer(r, hdr, body)
	if err != nil {
		return nil, err
	}
	var d loginData
	if err := decodeData(r.api, r.method, data, &d); err != nil {
		return nil, err
	}
	s := &session{sid: string(d.SID), apis: apis}
	if d.Token != noToken {
		s.token = string(d.Token)
	}
	cookies := (&http.Response{Header: hdr}).Cookies()
	if s.sid == "" {
		s.sid = cookieValue(cookies, "id")
	}
	if s.sid == "" {
		return nil, fmt.Errorf("%s login: %w: no session id in the answer", apiAuth, ErrProtocol)
	}
	c.addSecret(s.sid, s.token)
	if otp != "" {
		issued := string(d.DeviceID)
		if issued == "" {
			issued = string(d.DID)
		}
		if issued == "" {
			issued = cookieValue(cookies, "did")
		}
		s.issued = issued
		c.addSecret(issued)
		if issued != "" {
			c.mu.Lock()
			c.deviceID = issued
			c.mu.Unlock()
		} else {
			c.log.Warn().Msg("dsm accepted the 2fa code but issued no device token; the next login will need a code again")
		}
	}
	return s, nil
}

func cookieValue(cookies []*http.Cookie, name string) string {
	for _, ck := range cookies {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
