package dsmfake

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// retentionAnswer is the part of a SYNO.DisasterRecovery.Retention get answer the tests read.
type retentionAnswer struct {
	TID        int    `json:"tid"`
	PolicyType int    `json:"policyType"`
	RetainDay  int    `json:"retainDay"`
	Hourly     int    `json:"hourly"`
	Daily      int    `json:"daily"`
	Weekly     int    `json:"weekly"`
	Monthly    int    `json:"monthly"`
	Yearly     int    `json:"yearly"`
	Recently   int    `json:"recently"`
	Schedule   any    `json:"schedule"`
	Name       string `json:"name"`
}

func TestRetentionGet(t *testing.T) {
	h := newHarness(t, Options{Strict: true})
	h.nas.AddShare("homes")
	h.nas.AddShare("media")
	h.nas.AddLUN(LUN{UUID: "lun-1", Name: "LUN-1"})
	h.nas.SetRetention("share", "media", Retention{TaskID: 3, PolicyType: 1, RetainDays: 14, Hourly: 12, Daily: 5,
		Weekly: 4, Monthly: 6, Yearly: 2, Recently: 9})
	h.nas.SetRetention("lun", "lun-1", Retention{TaskID: 8, RetainDays: 30})
	h.nas.SetRetention("lun", "lun-2", Retention{TaskID: 9, Daily: 1})
	h.login()
	get := func(kind, name string) answer {
		return h.call("SYNO.DisasterRecovery.Retention", "get", 1, map[string]string{"type": js(kind), "name": js(name)})
	}
	noTask := retentionAnswer{TID: -1, RetainDay: 7, Hourly: 24, Daily: 7, Weekly: 2, Monthly: 1}
	tests := []struct {
		kind, name string
		want       retentionAnswer
		schedule   bool
	}{
		{"share", "homes", withName(noTask, "homes"), false},
		{"share", "media", retentionAnswer{TID: 3, PolicyType: 1, RetainDay: 14, Hourly: 12, Daily: 5, Weekly: 4,
			Monthly: 6, Yearly: 2, Recently: 9, Name: "media"}, true},
		{"Share", "media", retentionAnswer{TID: 3, PolicyType: 1, RetainDay: 14, Hourly: 12, Daily: 5, Weekly: 4,
			Monthly: 6, Yearly: 2, Recently: 9, Name: "media"}, true},
		{"lun", "lun-1", retentionAnswer{TID: 8, RetainDay: 30, Name: "lun-1"}, true},
		{"lun", "lun-2", retentionAnswer{TID: 9, Daily: 1, Name: "lun-2"}, true},
	}
	for _, tt := range tests {
		a := get(tt.kind, tt.name)
		wantCode(t, "retention get "+tt.kind+" "+tt.name, a, 0)
		var got retentionAnswer
		a.data(t, &got)
		if (got.Schedule != nil) != tt.schedule {
			t.Errorf("retention get %s %s: schedule = %v, want present %v", tt.kind, tt.name, got.Schedule, tt.schedule)
		}
		got.Schedule = nil
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("retention get %s %s mismatch (-want +got):\n%s", tt.kind, tt.name, d)
		}
	}

	// Removing the task answers tid -1 again.
	h.nas.SetRetention("share", "media", Retention{})
	var got retentionAnswer
	a := get("share", "media")
	wantCode(t, "retention get after removal", a, 0)
	a.data(t, &got)
	if got.TID != -1 || got.Schedule != nil {
		t.Errorf("retention get after removal = %+v, want tid -1 and no schedule", got)
	}
	// A negative task id is no task.
	h.nas.SetRetention("share", "media", Retention{TaskID: -1, Daily: 3})
	a = get("share", "media")
	a.data(t, &got)
	if got.TID != -1 || got.Daily != 7 {
		t.Errorf("retention get with TaskID -1 = %+v, want tid -1 with the default counts", got)
	}

	wantCode(t, "unknown share", get("share", "nope"), 402)
	wantCode(t, "unknown LUN", get("lun", "nope"), 18990531)
	wantCode(t, "LUN by name", get("lun", "LUN-1"), 18990531)
	wantCode(t, "volume", get("volume", "homes"), 120)
	wantCode(t, "no name", h.call("SYNO.DisasterRecovery.Retention", "get", 1, map[string]string{"type": `"share"`}), 114)
	wantCode(t, "no type", h.call("SYNO.DisasterRecovery.Retention", "get", 1, map[string]string{"name": `"homes"`}), 114)
	wantCode(t, "raw name in strict mode", h.call("SYNO.DisasterRecovery.Retention", "get", 1,
		map[string]string{"type": `"share"`, "name": "homes"}), 120)
	wantCode(t, "version 2", h.call("SYNO.DisasterRecovery.Retention", "get", 2,
		map[string]string{"type": `"share"`, "name": `"homes"`}), 104)
	wantCode(t, "set", h.call("SYNO.DisasterRecovery.Retention", "set", 1,
		map[string]string{"type": `"share"`, "name": `"homes"`}), 103)
	h.sid = "bogus"
	wantCode(t, "without a session", get("share", "homes"), 119)
}

func withName(r retentionAnswer, name string) retentionAnswer {
	r.Name = name
	return r
}

func TestRetentionLenient(t *testing.T) {
	h := newHarness(t, Options{})
	h.nas.SetRetention("share", "my share", Retention{TaskID: 2, Weekly: 3})
	h.login()
	a := h.call("SYNO.DisasterRecovery.Retention", "get", 1, map[string]string{"type": "share", "name": "my share"})
	wantCode(t, "raw values in lenient mode", a, 0)
	var got retentionAnswer
	a.data(t, &got)
	if got.TID != 2 || got.Weekly != 3 {
		t.Errorf("retention get = %+v, want tid 2 weekly 3", got)
	}
}

func TestRetentionWithoutPackage(t *testing.T) {
	h := newHarness(t, Options{NoDRPackage: true})
	h.nas.AddShare("homes")
	h.login()
	a := h.call("SYNO.DisasterRecovery.Retention", "get", 1, map[string]string{"type": `"share"`, "name": `"homes"`})
	wantCode(t, "retention get without Snapshot Replication", a, 102)
}

func TestSetRetentionBadKind(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error(`SetRetention("volume", …) did not panic`)
		}
	}()
	New(Options{Logf: t.Logf}).SetRetention("volume", "v", Retention{TaskID: 1})
}
