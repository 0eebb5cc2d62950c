package synology

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

// The DSM-API.md §6 answer, from a client checked against a live DSM.
const retentionSample = `{"success":true,"data":{"tid":-1,"policyType":0,"retainDay":7,"hourly":24,"daily":7,"weekly":2,"monthly":1,"yearly":0,"recently":0,"schedule":null}}`

func TestDecodeRetention(t *testing.T) {
	tests := []struct {
		name string
		data string
		want DSMRetention
	}{
		{"section 6 sample", string(mustData(t, apiRetention, "get", []byte(retentionSample))),
			DSMRetention{TaskID: -1, RetainDays: 7, Hourly: 24, Daily: 7, Weekly: 2, Monthly: 1}},
		{"strings", `{"tid":"3","retainDay":"14","hourly":"0","daily":"7","weekly":"","monthly":null,"yearly":"1"}`,
			DSMRetention{Active: true, TaskID: 3, RetainDays: 14, Daily: 7, Yearly: 1}},
		{"task 0", `{"tid":0}`, DSMRetention{Active: true}},
		{"extra fields", `{"tid":5,"name":"homes","prefix":"Share#","schedule":{"hour":2},"advHourly":24}`,
			DSMRetention{Active: true, TaskID: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRetention(json.RawMessage(tt.data))
			if err != nil {
				t.Fatalf("decodeRetention(%s) error: %v", tt.data, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("decodeRetention(%s) mismatch (-want +got):\n%s", tt.data, d)
			}
		})
	}
	bad := []struct{ name, data, wantIn string }{
		{"no tid", `{"retainDay":7}`, "no tid"},
		{"null tid", `{"tid":null}`, "no tid"},
		{"bad count", `{"tid":1,"daily":"seven"}`, "not an integer"},
		{"not an object", `[]`, "decode data"},
		{"no data", ``, "no data"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeRetention(json.RawMessage(tt.data))
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("decodeRetention(%s) = %v, want an ErrProtocol error containing %q", tt.data, err, tt.wantIn)
			}
		})
	}
}

func TestDSMRetentionCalls(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	n.AddShare("homes")
	n.SetRetention("share", "my share", dsmfake.Retention{TaskID: 3, RetainDays: 7, Hourly: 24, Daily: 7, Weekly: 2, Monthly: 1, Yearly: 1})
	n.AddLUN(dsmfake.LUN{UUID: "lun-1", Name: "LUN-1"})
	n.SetRetention("lun", "lun-1", dsmfake.Retention{TaskID: 8, RetainDays: 30})
	c := n.client(t)
	ctx := context.Background()
	tests := []struct {
		kind, name string
		want       DSMRetention
	}{
		{"share", "homes", DSMRetention{TaskID: -1, RetainDays: 7, Hourly: 24, Daily: 7, Weekly: 2, Monthly: 1}},
		{"share", "my share", DSMRetention{Active: true, TaskID: 3, RetainDays: 7, Hourly: 24, Daily: 7, Weekly: 2, Monthly: 1, Yearly: 1}},
		{"lun", "lun-1", DSMRetention{Active: true, TaskID: 8, RetainDays: 30}},
	}
	for _, tt := range tests {
		got, err := c.DSMRetention(ctx, tt.kind, tt.name)
		if err != nil {
			t.Fatalf("DSMRetention(%s, %q): %v", tt.kind, tt.name, err)
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("DSMRetention(%s, %q) mismatch (-want +got):\n%s", tt.kind, tt.name, d)
		}
	}
	for _, tt := range []struct{ kind, name string }{{"share", "nope"}, {"lun", "nope"}, {"lun", "LUN-1"}} {
		if _, err := c.DSMRetention(ctx, tt.kind, tt.name); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.kind+` "`+tt.name+`"`) {
			t.Errorf("DSMRetention(%s, %q) = %v, want ErrNotFound naming the target", tt.kind, tt.name, err)
		}
	}
	sent := n.Count(apiRetention, "get")
	if _, err := c.DSMRetention(ctx, "volume", "v"); err == nil || !strings.Contains(err.Error(), "share or lun") {
		t.Errorf("DSMRetention(volume) = %v, want an error naming the kinds", err)
	}
	if got := n.Count(apiRetention, "get"); got != sent {
		t.Errorf("DSMRetention(volume) sent a request")
	}
	asked := false
	for _, r := range n.Requests() {
		if r.API == apiInfoName && strings.Contains(r.Params.Get("query"), apiRetention) {
			asked = true
		}
		if r.API == apiRetention {
			if r.Version != 1 || r.Method != "get" {
				t.Errorf("retention request %s v%d, want get v1", r.Method, r.Version)
			}
			if k := r.Params.Get("type"); k != `"share"` && k != `"lun"` {
				t.Errorf("retention request type=%s, want a JSON string", k)
			}
		}
	}
	if !asked {
		t.Errorf("SYNO.API.Info was not asked about %s", apiRetention)
	}
}

func TestDSMRetentionWithoutPackage(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{NoDRPackage: true})
	n.AddShare("homes")
	_, err := n.client(t).DSMRetention(context.Background(), "share", "homes")
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("DSMRetention without Snapshot Replication = %v, want ErrUnsupported", err)
	}
	if got := n.Count(apiRetention, ""); got != 0 {
		t.Errorf("sent %d %s requests to a NAS that does not offer it", got, apiRetention)
	}
}

func TestDSMRetentionRetried(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	n.SetRetention("share", "homes", dsmfake.Retention{TaskID: 2, Daily: 3})
	n.InjectFault(dsmfake.Fault{API: apiRetention, Method: "get", HTTPStatus: http.StatusServiceUnavailable, Times: 1})
	c := n.client(t)
	got, err := c.DSMRetention(context.Background(), "share", "homes")
	if err != nil || !got.Active || got.Daily != 3 {
		t.Fatalf("DSMRetention after one 503 = %+v, %v; want the policy", got, err)
	}
	if k := n.Count(apiRetention, "get"); k != 2 {
		t.Errorf("retention requests = %d, want 2 (one retry)", k)
	}
	// A session DSM forgot: one fresh login, one retry.
	n.ForgetSessions()
	if _, err := c.DSMRetention(context.Background(), "share", "homes"); err != nil {
		t.Errorf("DSMRetention after the session was forgotten: %v", err)
	}
}
