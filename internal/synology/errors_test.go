package synology

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

var sentinels = map[string]error{
	"ErrSessionExpired": ErrSessionExpired, "ErrPermission": ErrPermission, "ErrAuth": ErrAuth,
	"ErrOTPRequired": ErrOTPRequired, "ErrOTPInvalid": ErrOTPInvalid, "ErrNotFound": ErrNotFound,
	"ErrTooManySnapshots": ErrTooManySnapshots, "ErrProtected": ErrProtected, "ErrProtocol": ErrProtocol,
	"ErrUncertain": ErrUncertain, "ErrUnsupported": ErrUnsupported,
}

func TestAPIErrorMapping(t *testing.T) {
	tests := []struct {
		api     string
		code    int
		want    []string // sentinel names that must match; all others must not
		meaning string
	}{
		{apiShare, 102, []string{"ErrUnsupported"}, "API does not exist"},
		{apiShare, 105, []string{"ErrPermission"}, "does not have permission"},
		{apiLUN, 106, []string{"ErrSessionExpired"}, "session timeout"},
		{apiPlan, 107, []string{"ErrSessionExpired"}, "duplicated login"},
		{apiShare, 119, []string{"ErrSessionExpired"}, "SynoToken"},
		{apiShare, 150, []string{"ErrSessionExpired"}, "IP does not match"},
		{apiShare, 160, []string{"ErrPermission"}, "privilege"},
		{apiAuth, 400, []string{"ErrAuth"}, "incorrect password"},
		{apiAuth, 402, []string{"ErrAuth", "ErrPermission"}, "denied permission"},
		{apiAuth, 403, []string{"ErrOTPRequired"}, "2-factor authentication code required"},
		{apiAuth, 404, []string{"ErrOTPInvalid"}, "failed to authenticate 2-factor"},
		{apiAuth, 406, []string{"ErrAuth"}, "not set up"},
		{apiAuth, 407, []string{"ErrAuth"}, "blocked"},
		{apiAuth, 411, []string{"ErrAuth"}, "locked"},
		{apiShare, 402, []string{"ErrNotFound"}, "no such shared folder"},
		{apiShare, 403, nil, "invalid input"},
		{apiShare, 3300, []string{"ErrNotFound"}, "no such snapshot"},
		{apiShare, 3301, nil, "already exists"},
		{apiShare, 3329, []string{"ErrTooManySnapshots"}, "too many snapshots"},
		{apiShare, 3337, []string{"ErrProtected"}, "preserved"},
		{apiShare, 3350, []string{"ErrProtected"}, "immutable"},
		{apiLUN, 18990531, []string{"ErrNotFound"}, "no such LUN"},
		{apiLUN, 18990532, []string{"ErrNotFound"}, "no such snapshot"},
		{apiLUN, 18990540, []string{"ErrProtected"}, "preserved"},
		{apiLUN, 18990543, []string{"ErrTooManySnapshots"}, "maximum snapshot count"},
		{apiLUN, 402, nil, "unknown code"},
		{apiPlan, 400, []string{"ErrNotFound"}, "no such replication plan"},
		{apiLUN, 3329, nil, "unknown code"},
		{"SYNO.FileStation.List", 400, nil, "unknown code"},
	}
	for _, tt := range tests {
		t.Run(tt.api+"/"+strconv.Itoa(tt.code), func(t *testing.T) {
			e := &APIError{API: tt.api, Method: "m", Code: tt.code}
			if !strings.Contains(e.Meaning(), tt.meaning) {
				t.Errorf("Meaning() = %q, want it to contain %q", e.Meaning(), tt.meaning)
			}
			msg := e.Error()
			if !strings.HasPrefix(msg, tt.api+" m: DSM error "+strconv.Itoa(tt.code)+" (") {
				t.Errorf("Error() = %q, want it to name the API, method and code", msg)
			}
			want := map[string]bool{}
			for _, n := range tt.want {
				want[n] = true
			}
			for name, s := range sentinels {
				if got := errors.Is(e, s); got != want[name] {
					t.Errorf("errors.Is(%s %d, %s) = %v, want %v", tt.api, tt.code, name, got, want[name])
				}
			}
		})
	}
}

func TestAPIErrorMessage(t *testing.T) {
	e := &APIError{API: apiShare, Method: "create", Code: 3329}
	want := "SYNO.Core.Share.Snapshot create: DSM error 3329 (too many snapshots: the per-share or total snapshot limit is reached)"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

func TestPartialError(t *testing.T) {
	e := &PartialError{API: apiLUN, Method: "delete_snapshot", Items: []ItemError{{"u-1", 18990540}, {"u-2", 18990532}}}
	msg := e.Error()
	for _, want := range []string{"SYNO.Core.ISCSI.LUN delete_snapshot", "2 item(s) failed", "u-1: DSM error 18990540", "u-2: DSM error 18990532 (no such snapshot)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, want it to contain %q", msg, want)
		}
	}
	if !errors.Is(e, ErrProtected) || !errors.Is(e, ErrNotFound) || errors.Is(e, ErrTooManySnapshots) {
		t.Errorf("errors.Is on %v does not follow its items' codes", e)
	}
	var ae *APIError
	if errors.As(e, &ae) {
		t.Errorf("errors.As(partial success, *APIError) = true, want false")
	}
}
