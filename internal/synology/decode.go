package synology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DSM is loose with types: the same field is a number in one answer and a string of
// digits in another, and booleans come as true, "true" or 1. These types decode all of
// them and refuse what is not a value of their kind.

// flexInt decodes a number, a string of an integer, "" or null.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*f = 0
			return nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*f = flexInt(n)
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x != math.Trunc(x) || math.Abs(x) > 1<<62 {
		return fmt.Errorf("not an integer: %.40s", b)
	}
	*f = flexInt(x)
	return nil
}

// flexBool decodes true/false, "true"/"false"/"yes"/"no"/"1"/"0"/"", 1/0 or null.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.ToLower(strings.TrimSpace(s))
	}
	switch s {
	case "true", "yes", "1":
		*f = true
	case "false", "no", "0", "", "null":
		*f = false
	default:
		return fmt.Errorf("not a boolean: %.40s", b)
	}
	return nil
}

// flexString decodes a string, a number (as its text) or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	default:
		return fmt.Errorf("not a string: %.40s", b)
	}
	return nil
}

// flexStrings decodes a list of strings, a single string, or null.
type flexStrings []string

func (f *flexStrings) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var l []flexString
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*f = nil
		for _, s := range l {
			if s != "" {
				*f = append(*f, string(s))
			}
		}
		return nil
	}
	var s flexString
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*f = nil
	if s != "" {
		*f = flexStrings{string(s)}
	}
	return nil
}

// epoch turns Unix seconds into a time; 0 is the zero time.
func epoch(n flexInt) time.Time {
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(n), 0).UTC()
}

// envelope is every DSM answer.
type envelope struct {
	Success *flexBool       `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code   *flexInt        `json:"code"`
		Errors json.RawMessage `json:"errors"`
	} `json:"error"`
}

// decodeEnvelope parses an answer of api/method. It returns the data of a success, an
// *APIError (or *PartialError when the failure lists items) for a failure, and an
// ErrProtocol error when the body is not a DSM answer.
func decodeEnvelope(api, method string, body []byte) (json.RawMessage, error) {
	var env envelope
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%s %s: %w: %s", api, method, ErrProtocol, describeBody(body, ""))
	}
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, fmt.Errorf("%s %s: %w: invalid JSON: %v", api, method, ErrProtocol, err)
	}
	if env.Success == nil {
		return nil, fmt.Errorf("%s %s: %w: no \"success\" field", api, method, ErrProtocol)
	}
	if *env.Success {
		return env.Data, nil
	}
	if env.Error == nil || env.Error.Code == nil {
		return nil, fmt.Errorf("%s %s: %w: success:false without an error code", api, method, ErrProtocol)
	}
	apiErr := &APIError{API: api, Method: method, Code: int(*env.Error.Code), Errors: env.Error.Errors}
	if t := bytes.TrimSpace(env.Error.Errors); len(t) > 0 && t[0] == '[' {
		if items, err := parseItems(t); err == nil && len(items) > 0 {
			return nil, &PartialError{API: api, Method: method, Items: items, Err: apiErr}
		}
	}
	return nil, apiErr
}

// describeBody says what a non-JSON answer looks like, without echoing it.
func describeBody(body []byte, contentType string) string {
	t := bytes.TrimSpace(body)
	var s string
	switch {
	case len(t) == 0:
		s = "empty body"
	case t[0] == '<':
		s = fmt.Sprintf("an HTML page (%d bytes), not JSON: a reverse proxy or login page in front of DSM?", len(body))
	default:
		s = fmt.Sprintf("not a JSON object (%d bytes)", len(body))
	}
	if contentType != "" {
		s += ", content type " + contentType
	}
	return s
}

// decodeData unmarshals the data of a success into out, naming the call on failure.
func decodeData(api, method string, data json.RawMessage, out any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%s %s: %w: no data in the answer", api, method, ErrProtocol)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: %w: decode data: %v", api, method, ErrProtocol, err)
	}
	return nil
}
