package synology

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// request is one DSM call on the wire.
type request struct {
	api, method string
	path        string // from SYNO.API.Info, relative to /webapi/
	form        url.Values
	sid, token  string
	deviceID    string // sent as the did cookie at login
	mutating    bool
}

func (r *request) name() string { return r.api + " " + r.method }

// encodeParams turns call parameters into form values. For JSON-format APIs every value
// is a JSON text (strings quoted), as the DSM web UI sends them; otherwise strings go raw
// and other values as JSON.
func encodeParams(form url.Values, params map[string]any, jsonFormat bool) error {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := params[k]
		if s, ok := v.(string); ok && !jsonFormat {
			form.Set(k, s)
			continue
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encode parameter %s: %w", k, err)
		}
		form.Set(k, strings.TrimSuffix(b.String(), "\n"))
	}
	return nil
}

// post sends r, retrying reads on transport failures, and returns the answer's body
// and headers.
func (c *Client) post(ctx context.Context, r *request) (http.Header, []byte, error) {
	attempts := c.cfg.Retry.Attempts
	if r.mutating {
		attempts = 1
	}
	for try := 1; ; try++ {
		hdr, body, retry, err := c.attempt(ctx, r)
		if err == nil {
			return hdr, body, nil
		}
		if !retry || try >= attempts {
			return nil, nil, err
		}
		d := c.backoff(try)
		c.log.Warn().Str("api", r.api).Str("method", r.method).Int("attempt", try).
			Dur("backoff", d).Str("err", c.scrub(err).Error()).Msg("dsm request failed, retrying")
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("%w (retry abandoned: %w)", err, ctx.Err())
		}
	}
}

// backoff returns a full-jitter delay for the given try (1-based).
func (c *Client) backoff(try int) time.Duration {
	p := c.cfg.Retry
	d := p.Max
	if try < 32 && p.Base<<(try-1) > 0 && p.Base<<(try-1) < p.Max {
		d = p.Base << (try - 1)
	}
	return rand.N(d) + 1
}

// attempt makes one HTTP request. retry says whether a read may try again.
func (c *Client) attempt(ctx context.Context, r *request) (hdr http.Header, body []byte, retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.endpoint(r.path), strings.NewReader(r.form.Encode()))
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w", r.name(), err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if r.token != "" {
		req.Header.Set("X-SYNO-TOKEN", r.token)
	}
	if r.sid != "" {
		req.AddCookie(&http.Cookie{Name: "id", Value: r.sid})
	}
	if r.deviceID != "" {
		req.AddCookie(&http.Cookie{Name: "did", Value: r.deviceID})
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, c.retryable(ctx, r, err), c.transportError(ctx, actx, r, wrote.Load(), err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody+1))
	if err == nil && actx.Err() != nil {
		// An answer that completes as the deadline cancels the exchange is not one DSM
		// meant: a server gives up on a request whose client went away with an empty 200.
		err = actx.Err()
	}
	if err != nil {
		return nil, nil, c.retryable(ctx, r, err), c.transportError(ctx, actx, r, true, fmt.Errorf("read answer: %w", err))
	}
	switch s := resp.StatusCode; {
	case s == http.StatusOK && int64(len(body)) > c.cfg.MaxBody:
		return nil, nil, false, c.uncertain(r, fmt.Errorf("%s: %w: answer larger than %d bytes", r.name(), ErrProtocol, c.cfg.MaxBody))
	case s == http.StatusOK:
		return resp.Header, body, false, nil
	case s >= 300 && s < 400:
		return nil, nil, false, fmt.Errorf("%s: %w: HTTP %d redirect to %q, not followed: set the url to the address DSM answers on",
			r.name(), ErrProtocol, s, redactURL(resp.Header.Get("Location")))
	case s == http.StatusTooManyRequests:
		return nil, nil, !r.mutating, fmt.Errorf("%s: HTTP %d", r.name(), s)
	case s >= 500:
		return nil, nil, !r.mutating, c.uncertain(r, fmt.Errorf("%s: HTTP %d from the nas", r.name(), s))
	default:
		return nil, nil, false, fmt.Errorf("%s: %w: HTTP %d (%s)", r.name(), ErrProtocol, s, describeBody(body, resp.Header.Get("Content-Type")))
	}
}

func (c *Client) endpoint(path string) string {
	return c.base.String() + "/webapi/" + strings.TrimPrefix(path, "/")
}

// retryable reports whether a transport failure of a read may be retried.
func (c *Client) retryable(ctx context.Context, r *request, err error) bool {
	var te *TLSError
	return !r.mutating && ctx.Err() == nil && !errors.As(err, &te)
}

// transportError words a failed exchange; for a mutation whose request was written it
// wraps ErrUncertain.
func (c *Client) transportError(ctx, actx context.Context, r *request, wrote bool, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL carries no secret, but neither does it help
	}
	var te *TLSError
	switch {
	case errors.As(err, &te):
		return fmt.Errorf("%s: %w", r.name(), te)
	case ctx.Err() != nil:
		err = fmt.Errorf("%s: %w", r.name(), ctx.Err())
	case actx.Err() != nil:
		err = fmt.Errorf("%s: no answer within %s: %w", r.name(), c.cfg.Timeout, actx.Err())
	default:
		err = fmt.Errorf("%s: %w", r.name(), err)
	}
	if wrote {
		return c.uncertain(r, err)
	}
	return err
}

// uncertain marks err as of unknown outcome when r is a mutation.
func (c *Client) uncertain(r *request, err error) error {
	if !r.mutating {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUncertain, err)
}

// redactURL drops the query and user info of a URL from an answer, where a proxy might
// have echoed a session id.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable location)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
