package synology

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// session is one DSM login and what SYNO.API.Info said at that time.
type session struct {
	sid    string
	token  string // SynoToken; "" when DSM gave none
	issued string // device id DSM issued at this login, if any
	apis   map[string]apiInfo
}

type apiInfo struct {
	Path       string     `json:"path"`
	Min        flexInt    `json:"minVersion"`
	Max        flexInt    `json:"maxVersion"`
	JSONFormat flexString `json:"requestFormat"`
}

// wanted lists the APIs the client asks SYNO.API.Info about.
var wanted = []string{apiAuth, apiShare, apiLUN, apiPlan, apiRetention}

// knownVersion is the highest version of each call this client speaks.
func knownVersion(api, method string) int {
	switch {
	case api == apiAuth:
		return 7
	case api == apiShare && method == "list":
		return 2
	}
	return 1
}

// pick returns the path, version and encoding for a call, from SYNO.API.Info.
func (s *session) pick(api, method string) (apiInfo, int, error) {
	info, ok := s.apis[api]
	if !ok || info.Path == "" {
		return info, 0, fmt.Errorf("%s %s: %w: the nas does not offer %s (package not installed?)", api, method, ErrUnsupported, api)
	}
	v, err := chooseVersion(info, knownVersion(api, method), api, method)
	return info, v, err
}

func chooseVersion(info apiInfo, known int, api, method string) (int, error) {
	v := min(known, int(info.Max))
	if v < 1 || v < int(info.Min) {
		return 0, fmt.Errorf("%s %s: %w: the nas offers versions %d–%d, this client speaks up to %d",
			api, method, ErrUnsupported, info.Min, info.Max, known)
	}
	return v, nil
}

// discover asks SYNO.API.Info where the APIs live.
func (c *Client) discover(ctx context.Context) (map[string]apiInfo, error) {
	r := &request{api: apiInfoName, method: "query", path: "query.cgi", form: url.Values{
		"api": {apiInfoName}, "version": {"1"}, "method": {"query"}, "query": {strings.Join(wanted, ",")},
	}}
	hdr, body, err := c.post(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := c.decodeAnswer(r, hdr, body)
	if err != nil {
		return nil, err
	}
	apis := map[string]apiInfo{}
	if err := decodeData(r.api, r.method, data, &apis); err != nil {
		return nil, err
	}
	if _, ok := apis[apiAuth]; !ok {
		return nil, fmt.Errorf("%s query: %w: %s is not listed", apiInfoName, ErrProtocol, apiAuth)
	}
	return apis, nil
}

// decodeAnswer parses a DSM answer; garbage in answer to a mutation is uncertain.
func (c *Client) decodeAnswer(r *request, hdr http.Header, body []byte) (json.RawMessage, error) {
	data, err := decodeEnvelope(r.api, r.method, body)
	if err != nil && errors.Is(err, ErrProtocol) {
		if ct := hdr.Get("Content-Type"); ct != "" {
			err = fmt.Errorf("%w (content type %s)", err, ct)
		}
		err = c.uncertain(r, err)
	}
	return data, err
}

// current returns the live session, logging in if there is none.
func (c *Client) current(ctx context.Context) (*session, error) {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	return c.login(ctx, nil, "")
}

// login logs in, unless another caller already replaced stale while this one waited:
// concurrent callers whose session expired share one fresh login. A non-empty otp
// always logs in.
func (c *Client) login(ctx context.Context, stale *session, otp string) (*session, error) {
	select {
	case c.loginSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%s login: %w", apiAuth, ctx.Err())
	}
	defer func() { <-c.loginSem }()
	c.mu.Lock()
	cur := c.sess
	c.mu.Unlock()
	if otp == "" && cur != nil && cur != stale {
		return cur, nil
	}
	start := time.Now()
	s, err := c.doLogin(ctx, otp)
	err = c.scrub(err)
	if c.cfg.Observe != nil {
		c.cfg.Observe(apiAuth, "login", time.Since(start), err)
	}
	c.mu.Lock()
	if err != nil {
		if c.sess == stale {
			c.sess = nil
		}
		c.mu.Unlock()
		return nil, err
	}
	c.sess = s
	c.mu.Unlock()
	relogin := stale != nil
	c.log.Info().Bool("relogin", relogin).Msg("logged in to dsm")
	if c.cfg.OnLogin != nil {
		c.cfg.OnLogin(relogin)
	}
	return s, nil
}

// callOpts qualify a call.
type callOpts struct {
	mutating bool // never retried after a transport failure; outcome may be uncertain
}

// call runs one API call on the session, logging in first if needed, and once more after
// a session error; it returns the answer's data.
func (c *Client) call(ctx context.Context, api, method string, params map[string]any, o callOpts) (json.RawMessage, error) {
	start := time.Now()
	data, err := c.callSession(ctx, api, method, params, o)
	err = c.scrub(err)
	if c.cfg.Observe != nil {
		c.cfg.Observe(api, method, time.Since(start), err)
	}
	if err != nil {
		c.log.Debug().Str("api", api).Str("method", method).Dur("took", time.Since(start)).Str("err", err.Error()).Msg("dsm call failed")
	} else {
		c.log.Debug().Str("api", api).Str("method", method).Dur("took", time.Since(start)).Msg("dsm call")
	}
	return data, err
}

func (c *Client) callSession(ctx context.Context, api, method string, params map[string]any, o callOpts) (json.RawMessage, error) {
	s, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	data, err := c.callOnce(ctx, s, api, method, params, o)
	var ae *APIError
	if err == nil || !errors.As(err, &ae) || !sessionCode(ae.Code) {
		return data, err
	}
	c.log.Warn().Str("api", api).Str("method", method).Int("code", ae.Code).Msg("dsm session rejected, logging in again")
	if s, err = c.login(ctx, s, ""); err != nil {
		return nil, fmt.Errorf("%s %s: log in again after DSM error %d: %w", api, method, ae.Code, err)
	}
	return c.callOnce(ctx, s, api, method, params, o)
}

func (c *Client) callOnce(ctx context.Context, s *session, api, method string, params map[string]any, o callOpts) (json.RawMessage, error) {
	info, v, err := s.pick(api, method)
	if err != nil {
		return nil, err
	}
	r := &request{api: api, method: method, path: info.Path, sid: s.sid, token: s.token, mutating: o.mutating,
		form: url.Values{"api": {api}, "version": {strconv.Itoa(v)}, "method": {method}}}
	if err := encodeParams(r.form, params, strings.EqualFold(string(info.JSONFormat), "JSON")); err != nil {
		return nil, fmt.Errorf("%s: %w", r.name(), err)
	}
	r.form.Set("_sid", s.sid)
	if s.token != "" {
		r.form.Set("SynoToken", s.token)
	}
	hdr, body, err := c.post(ctx, r)
	if err != nil {
		return nil, err
	}
	return c.decodeAnswer(r, hdr, body)
}
