package dsmfake

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// metaParams are never JSON-decoded: every client sends them raw, even to JSON-format APIs.
var metaParams = map[string]bool{"api": true, "method": true, "version": true, "_sid": true, "SynoToken": true}

// secretParams are redacted in the request log and in log lines.
var secretParams = map[string]bool{"passwd": true, "password": true, "otp_code": true}

// logSecretParams are additionally hidden from log lines (they identify a session or device).
var logSecretParams = map[string]bool{"_sid": true, "SynoToken": true, "device_id": true, "did": true}

// decodeValue turns one parameter value of a JSON-format API into JSON text. In strict mode
// the value must already be valid JSON; in lenient mode a value that is not valid JSON is
// taken as a raw string, which is what DSM evidently does with `name=my share`.
func decodeValue(raw string, strict bool) (json.RawMessage, error) {
	if json.Valid([]byte(raw)) {
		return json.RawMessage(raw), nil
	}
	if strict {
		return nil, fmt.Errorf("value %s is not valid JSON", quoteShort(raw))
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("encode raw value: %w", err)
	}
	return b, nil
}

// quoteShort quotes s for a log line, cut to a readable length.
func quoteShort(s string) string {
	const max = 60
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// params gives typed access to the merged query and form values of one request.
type params struct {
	raw    url.Values
	json   bool // the API is JSON-format: values are JSON texts
	strict bool
}

// has reports whether the parameter was sent at all.
func (p *params) has(name string) bool {
	_, ok := p.raw[name]
	return ok
}

// text returns the first raw value of a parameter.
func (p *params) text(name string) string {
	return p.raw.Get(name)
}

// checkStrict rejects the request when any non-meta value is not valid JSON.
func (p *params) checkStrict() error {
	if !p.json || !p.strict {
		return nil
	}
	names := make([]string, 0, len(p.raw))
	for k := range p.raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if metaParams[k] {
			continue
		}
		for _, v := range p.raw[k] {
			if _, err := decodeValue(v, true); err != nil {
				if secretParams[k] || logSecretParams[k] {
					return fmt.Errorf("parameter %s is not valid JSON", k)
				}
				return fmt.Errorf("parameter %s: %w", k, err)
			}
		}
	}
	return nil
}

// decode unmarshals a parameter into v. It reports whether the parameter was present;
// a value of the wrong type is an error 120 answer.
func (p *params) decode(name string, v any) (bool, *apiError) {
	if !p.has(name) {
		return false, nil
	}
	raw := p.raw.Get(name)
	if !p.json {
		if s, ok := v.(*string); ok {
			*s = raw
			return true, nil
		}
	}
	msg, err := decodeValue(raw, p.strict && p.json)
	if err != nil {
		return true, &apiError{code: codeInvalidParam, why: fmt.Sprintf("parameter %s: %v", name, err), loud: true}
	}
	if err := json.Unmarshal(msg, v); err != nil {
		return true, &apiError{code: codeInvalidParam, why: fmt.Sprintf("parameter %s = %s: wrong type: %v", name, quoteShort(raw), err), loud: true}
	}
	return true, nil
}

// str returns a required string parameter; a missing one is error 114.
func (p *params) str(name string) (string, *apiError) {
	var s string
	ok, e := p.decode(name, &s)
	if e != nil {
		return "", e
	}
	if !ok {
		return "", &apiError{code: codeLostParam, why: "missing parameter " + name, loud: true}
	}
	return s, nil
}

// intOr returns an integer parameter or def when it is absent.
func (p *params) intOr(name string, def int) (int, *apiError) {
	v := def
	if _, e := p.decode(name, &v); e != nil {
		return 0, e
	}
	return v, nil
}

// boolOr returns a boolean parameter or def when it is absent.
func (p *params) boolOr(name string, def bool) (bool, *apiError) {
	v := def
	if _, e := p.decode(name, &v); e != nil {
		return false, e
	}
	return v, nil
}

// strings returns a JSON array of strings parameter (nil when absent).
func (p *params) strings(name string) ([]string, *apiError) {
	var v []string
	if _, e := p.decode(name, &v); e != nil {
		return nil, e
	}
	return v, nil
}

// redacted returns a copy of the values with secrets replaced by "***".
func redacted(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		c := append([]string(nil), vs...)
		if secretParams[k] {
			for i := range c {
				c[i] = "***"
			}
		}
		out[k] = c
	}
	return out
}

// forLog renders values for a log line, with every secret and session identifier hidden.
func forLog(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		val := v.Get(k)
		if secretParams[k] || logSecretParams[k] {
			val = "***"
		}
		fmt.Fprintf(&b, "%s=%s", k, quoteShort(val))
	}
	return b.String()
}
