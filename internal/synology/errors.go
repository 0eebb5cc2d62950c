package synology

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors. The errors returned by the client match them with errors.Is.
var (
	// ErrSessionExpired means DSM rejected the session (codes 106, 107, 119, 150) even
	// after one fresh login.
	ErrSessionExpired = errors.New("dsm session expired")
	// ErrPermission means the account lacks a privilege (105, 160, login 402).
	ErrPermission = errors.New("permission denied by dsm")
	// ErrAuth means DSM refused the credentials or the account (login 400–411).
	ErrAuth = errors.New("dsm login refused")
	// ErrOTPRequired means the account has 2FA and neither an OTP nor a device token
	// was given (login 403); prompt for a code and call LoginOTP.
	ErrOTPRequired = errors.New("dsm asks for a 2fa code")
	// ErrOTPInvalid means DSM refused the 2FA code (login 404).
	ErrOTPInvalid = errors.New("dsm refused the 2fa code")
	// ErrNotFound means the share, LUN, snapshot or plan does not exist.
	ErrNotFound = errors.New("not found on the nas")
	// ErrTooManySnapshots means the target holds as many snapshots as DSM allows.
	ErrTooManySnapshots = errors.New("too many snapshots")
	// ErrProtected means DSM refuses to delete the snapshot: immutable (WORM), held by
	// a package such as Snapshot Replication, or otherwise preserved by the system.
	ErrProtected = errors.New("snapshot protected by dsm")
	// ErrProtocol means the NAS answered something that is not a DSM answer: HTML, a
	// redirect, truncated or oversized JSON, an unexpected shape.
	ErrProtocol = errors.New("unexpected answer from the nas")
	// ErrUncertain means a mutating call may or may not have taken effect: the request
	// was sent but no usable answer came back. List before trying again.
	ErrUncertain = errors.New("outcome unknown, the request may have reached the nas")
	// ErrUnsupported means the NAS does not offer the API, method or version (DSM 102–104,
	// or absent from SYNO.API.Info, as SYNO.DR.Plan without Snapshot Replication).
	ErrUnsupported = errors.New("not supported by the nas")
)

// APIError is a DSM answer with success:false.
type APIError struct {
	API, Method string
	Code        int
	Errors      json.RawMessage // the `errors` payload, if any
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: DSM error %d (%s)", e.API, e.Method, e.Code, e.Meaning())
}

// Meaning returns what the code means in the API's namespace.
func (e *APIError) Meaning() string { return codeMeaning(e.API, e.Code) }

// Is maps DSM codes to the package's sentinels.
func (e *APIError) Is(target error) bool {
	for _, s := range codeSentinels(e.API, e.Code) {
		if s == target {
			return true
		}
	}
	return false
}

// ItemError is the failure of one item of a batch call (a snapshot name or UUID).
type ItemError struct {
	ID   string
	Code int
}

// PartialError reports the items a batch delete could not handle. DSM returns them in a
// success:true answer when only some fail; when Err is set, DSM answered success:false
// and Err is that answer.
type PartialError struct {
	API, Method string
	Items       []ItemError
	Err         *APIError
}

func (e *PartialError) Error() string {
	parts := make([]string, len(e.Items))
	for i, it := range e.Items {
		parts[i] = fmt.Sprintf("%s: DSM error %d (%s)", it.ID, it.Code, codeMeaning(e.API, it.Code))
	}
	return fmt.Sprintf("%s %s: %d item(s) failed: %s", e.API, e.Method, len(e.Items), strings.Join(parts, "; "))
}

// Unwrap returns the success:false answer, if there was one.
func (e *PartialError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// Is reports whether any failed item maps to target.
func (e *PartialError) Is(target error) bool {
	for _, it := range e.Items {
		for _, s := range codeSentinels(e.API, it.Code) {
			if s == target {
				return true
			}
		}
	}
	return false
}

const (
	apiInfoName  = "SYNO.API.Info"
	apiAuth      = "SYNO.API.Auth"
	apiShare     = "SYNO.Core.Share.Snapshot"
	apiLUN       = "SYNO.Core.ISCSI.LUN"
	apiPlan      = "SYNO.DR.Plan"
	apiRetention = "SYNO.DisasterRecovery.Retention"
)

var commonCodes = map[int]string{
	100: "unknown error",
	101: "no parameter of API, method or version",
	102: "the requested API does not exist",
	103: "the requested method does not exist",
	104: "the requested version does not support the functionality",
	105: "the logged in session does not have permission",
	106: "session timeout",
	107: "session interrupted by duplicated login",
	108: "failed to upload the file",
	109: "the network connection is unstable or the system is busy",
	110: "the network connection is unstable or the system is busy",
	111: "the network connection is unstable or the system is busy",
	112: "stop handling compound request",
	113: "invalid compound request",
	114: "lost parameters for this API",
	115: "not allowed to upload a file",
	116: "not allowed to perform for a demo site",
	117: "the network connection is unstable or the system is busy",
	118: "the network connection is unstable or the system is busy",
	119: "invalid session (or missing SynoToken)",
	120: "invalid parameter",
	150: "request source IP does not match the login IP",
	160: "insufficient application privilege",
}

var authCodes = map[int]string{
	400: "no such account or incorrect password",
	401: "disabled account",
	402: "denied permission",
	403: "2-factor authentication code required",
	404: "failed to authenticate 2-factor code",
	405: "app portal incorrect",
	406: "2-factor authentication is enforced but not set up for this account",
	407: "blocked IP source (too many failed logins)",
	408: "expired password cannot change",
	409: "expired password",
	410: "password must be changed",
	411: "account locked",
}

var shareCodes = map[int]string{
	402:  "no such shared folder",
	403:  "invalid input value",
	3300: "no such snapshot",
	3301: "already exists",
	3309: "too many shared folders",
	3328: "shared folder is locked by another process, try later",
	3329: "too many snapshots: the per-share or total snapshot limit is reached",
	3330: "shared folder is in use by another process",
	3332: "a backup or restore is running",
	3336: "replication tasks in progress",
	3337: "preserved by the system (replication hold)",
	3340: "failed to restore the share configuration",
	3341: "quota is not enough",
	3350: "immutable (WORM) snapshot",
	5801: "no such shared folder",
	6013: "no such shared folder",
}

var lunCodes = map[int]string{
	18990002: "out of free space",
	18990004: "bad parameter",
	18990318: "LUN type incompatible with the file system",
	18990327: "failed to get space information",
	18990500: "bad LUN type",
	18990501: "bad location",
	18990502: "bad size",
	18990503: "bad name",
	18990505: "bad LUN UUID",
	18990531: "no such LUN",
	18990532: "no such snapshot",
	18990538: "duplicated LUN name",
	18990540: "snapshot is locked or preserved (WORM or replication hold)",
	18990541: "maximum LUN count reached",
	18990542: "maximum target count reached",
	18990543: "maximum snapshot count reached",
}

var planCodes = map[int]string{
	400: "no such replication plan",
}

// retentionCodes are guesses: DSM's codes for an unknown target of a retention read are
// not documented, so the share and LUN APIs' codes are assumed.
var retentionCodes = map[int]string{
	402:      "no such shared folder",
	18990531: "no such LUN",
}

// namespace tells which code table an API's codes above 400 come from.
type namespace int

const (
	nsCommon namespace = iota
	nsAuth
	nsShare
	nsLUN
	nsPlan
	nsRetention
)

func namespaceOf(api string) namespace {
	switch {
	case api == apiAuth:
		return nsAuth
	case strings.HasPrefix(api, "SYNO.Core.Share"):
		return nsShare
	case strings.HasPrefix(api, "SYNO.Core.ISCSI"):
		return nsLUN
	case strings.HasPrefix(api, "SYNO.DR."):
		return nsPlan
	case api == apiRetention:
		return nsRetention
	}
	return nsCommon
}

var namespaceCodes = map[namespace]map[int]string{
	nsAuth:      authCodes,
	nsShare:     shareCodes,
	nsLUN:       lunCodes,
	nsPlan:      planCodes,
	nsRetention: retentionCodes,
}

func codeMeaning(api string, code int) string {
	if code >= 400 {
		if m, ok := namespaceCodes[namespaceOf(api)][code]; ok {
			return m
		}
	}
	if m, ok := commonCodes[code]; ok {
		return m
	}
	return "unknown code"
}

// sessionCode reports whether a code means "log in again and retry once".
func sessionCode(code int) bool {
	switch code {
	case 105, 106, 107, 119, 150:
		return true
	}
	return false
}

func codeSentinels(api string, code int) []error {
	switch code {
	case 102, 103, 104:
		return []error{ErrUnsupported}
	case 105, 160:
		return []error{ErrPermission}
	case 106, 107, 119, 150:
		return []error{ErrSessionExpired}
	}
	switch namespaceOf(api) {
	case nsAuth:
		switch {
		case code == 403:
			return []error{ErrOTPRequired}
		case code == 404:
			return []error{ErrOTPInvalid}
		case code == 402:
			return []error{ErrAuth, ErrPermission}
		case code >= 400 && code <= 411:
			return []error{ErrAuth}
		}
	case nsShare:
		switch code {
		case 402, 3300, 5801, 6013:
			return []error{ErrNotFound}
		case 3329:
			return []error{ErrTooManySnapshots}
		case 3337, 3350:
			return []error{ErrProtected}
		}
	case nsLUN:
		switch code {
		case 18990505, 18990531, 18990532:
			return []error{ErrNotFound}
		case 18990543:
			return []error{ErrTooManySnapshots}
		case 18990540:
			return []error{ErrProtected}
		}
	case nsPlan:
		if code == 400 {
			return []error{ErrNotFound}
		}
	case nsRetention:
		if code == 402 || code == 18990531 {
			return []error{ErrNotFound}
		}
	}
	return nil
}

// parseItems reads per-item failures: a list of {"<id>":code} objects (several keys
// allowed), a single such object, or FileStation-style {"code":N,"path"|"name"|...:id}.
func parseItems(raw json.RawMessage) ([]ItemError, error) {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var objs []map[string]json.RawMessage
	if raw[0] == '{' {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, err
		}
		objs = append(objs, one)
	} else if err := json.Unmarshal(raw, &objs); err != nil {
		return nil, err
	}
	var items []ItemError
	for _, o := range objs {
		if c, ok := o["code"]; ok {
			var code flexInt
			if err := json.Unmarshal(c, &code); err != nil {
				return nil, fmt.Errorf("per-item code: %w", err)
			}
			id := ""
			for _, k := range []string{"uuid", "snapshot_uuid", "name", "snapshot", "path", "id"} {
				var s flexString
				if v, ok := o[k]; ok && json.Unmarshal(v, &s) == nil {
					id = string(s)
					break
				}
			}
			items = append(items, ItemError{ID: id, Code: int(code)})
			continue
		}
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var code flexInt
			if err := json.Unmarshal(o[k], &code); err != nil {
				return nil, fmt.Errorf("per-item code of %q: %w", k, err)
			}
			items = append(items, ItemError{ID: k, Code: int(code)})
		}
	}
	return items, nil
}
