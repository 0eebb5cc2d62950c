package synology

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "dsm", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The fixtures are copies of the shared documented answers; keep them in step.
func TestFixturesMatchShared(t *testing.T) {
	shared, err := filepath.Glob("../../../shared/fixtures/dsm/*.json")
	if err != nil || len(shared) == 0 {
		t.Skip("shared fixtures not beside the repository")
	}
	for _, p := range shared {
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fixture(t, filepath.Base(p)); !bytes.Equal(got, want) {
			t.Errorf("testdata/dsm/%s differs from %s", filepath.Base(p), p)
		}
	}
}

func mustData(t *testing.T, api, method string, body []byte) json.RawMessage {
	t.Helper()
	data, err := decodeEnvelope(api, method, body)
	if err != nil {
		t.Fatalf("decodeEnvelope(%s %s) error: %v", api, method, err)
	}
	return data
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var timeEq = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func TestDecodeShareListFixture(t *testing.T) {
	got, total, err := decodeSharePage(mustData(t, apiShare, "list", fixture(t, "list_snapshots.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := []ShareSnapshot{{
		Name: "GMT+09-2023.09.11-23.23.40", Time: utc("2023-09-11T14:23:40Z"), Locked: true, WORM: true,
		WORMBegin: time.Unix(1694442321, 0), WORMEnd: time.Unix(1694528721, 0),
	}}
	if total != 1 {
		t.Errorf("total = %d, want 1", total)
	}
	if d := cmp.Diff(want, got, timeEq); d != "" {
		t.Errorf("decodeSharePage(list_snapshots.json) mismatch (-want +got):\n%s", d)
	}
}

func TestDecodeShareListLenient(t *testing.T) {
	data := json.RawMessage(`{"snapshots":[{"time":"GMT-05-2026.01.30-20.00.01","desc":"x","lock":"true",
		"schedule_snapshot":1,"worm_lock":"false","worm_lock_begin":0,"worm_lock_end":"","locked_app_keys":["SnapshotReplication-synodr-1"]}],
		"total":"1"}`)
	got, total, err := decodeSharePage(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []ShareSnapshot{{Name: "GMT-05-2026.01.30-20.00.01", Time: utc("2026-01-31T01:00:01Z"), Desc: "x",
		Locked: true, Scheduled: true, AppKeys: []string{"SnapshotReplication-synodr-1"}}}
	if total != 1 {
		t.Errorf("total = %d, want 1", total)
	}
	if d := cmp.Diff(want, got, timeEq); d != "" {
		t.Errorf("decodeSharePage mismatch (-want +got):\n%s", d)
	}
}

func TestDecodeShareListErrors(t *testing.T) {
	tests := []struct{ name, data, wantIn string }{
		{"bad name", `{"snapshots":[{"time":"GMT+09-2023.02.30-00.00.00"}],"total":1}`, `"GMT+09-2023.02.30-00.00.00"`},
		{"missing name", `{"snapshots":[{"desc":"x"}],"total":1}`, `share snapshot name ""`},
		{"no total", `{"snapshots":[]}`, "no total"},
		{"bad bool", `{"snapshots":[{"time":"GMT+09-2023.09.11-23.23.40","lock":"maybe"}],"total":1}`, "not a boolean"},
		{"not an object", `"x"`, "decode data"},
		{"no data", ``, "no data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeSharePage(json.RawMessage(tt.data))
			if err == nil || !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("decodeSharePage(%s) = %v, want an ErrProtocol error containing %q", tt.data, err, tt.wantIn)
			}
		})
	}
}

func TestDecodeLUNSnapshotsFixture(t *testing.T) {
	got, err := decodeLUNSnapshots(mustData(t, apiLUN, "list_snapshot", fixture(t, "list_snapshots_lun.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := []LUNSnapshot{
		{UUID: "fb388ec7-f23a-4011-8d24-08ad9b1fef34", Name: "SnapShot-1", Desc: "test", TakenBy: "user", Status: "Healthy",
			ID: 1, Time: time.Unix(1742739365, 0), Locked: true},
		{UUID: "e981770c-f56d-4cb2-b7a7-4c4b11ba8eaa", Name: "SnapShot-2", Desc: "Snapshot taken by [Synology API]",
			TakenBy: "user", Status: "Healthy", ID: 2, Time: time.Unix(1742833700, 0),
			AppKeys: []string{"SnapshotReplication-synodr-657f3c72-f357-400d-96df-bb8ae4e5051f"}},
	}
	if d := cmp.Diff(want, got, timeEq); d != "" {
		t.Errorf("decodeLUNSnapshots(list_snapshots_lun.json) mismatch (-want +got):\n%s", d)
	}
}

func TestDecodeLUNSnapshotsSortsAndChecksCount(t *testing.T) {
	data := `{"count":2,"snapshots":[{"uuid":"b","snapshot_id":2,"create_time":"200"},{"uuid":"a","snapshot_id":1,"create_time":100}]}`
	got, err := decodeLUNSnapshots(json.RawMessage(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].UUID != "a" || got[1].UUID != "b" {
		t.Errorf("decodeLUNSnapshots order = %+v, want a then b", got)
	}
	short := `{"count":3,"snapshots":[{"uuid":"a","create_time":1}]}`
	if _, err := decodeLUNSnapshots(json.RawMessage(short)); !errors.Is(err, ErrProtocol) {
		t.Errorf("decodeLUNSnapshots(count 3, 1 listed) = %v, want ErrProtocol", err)
	}
	if _, err := decodeLUNSnapshots(json.RawMessage(`{"count":0}`)); !errors.Is(err, ErrProtocol) {
		t.Errorf("decodeLUNSnapshots(no snapshots key) = %v, want ErrProtocol", err)
	}
}

func TestDecodeLUNsFixture(t *testing.T) {
	got, err := decodeLUNs(mustData(t, apiLUN, "list", fixture(t, "list_luns.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := []LUN{{UUID: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", Name: "LUN-1", Location: "/volume2", Type: "BLUN",
		Size: 1073741824, SnapshotCount: 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("decodeLUNs(list_luns.json) mismatch (-want +got):\n%s", d)
	}
}

func TestDecodePlansFixture(t *testing.T) {
	got, err := decodePlans(mustData(t, apiPlan, "list", fixture(t, "list_replication_plans.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := []Plan{{ID: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", TargetType: "share", TargetName: "api", Role: "mainsite",
		Mode: "2", LastSync: time.Unix(1742739556, 0), LastSyncOK: true, NextTrigger: time.Unix(1742770800, 0)}}
	if d := cmp.Diff(want, got, timeEq, cmpopts.IgnoreFields(Plan{}, "Raw")); d != "" {
		t.Errorf("decodePlans(list_replication_plans.json) mismatch (-want +got):\n%s", d)
	}
	if len(got) == 1 && !json.Valid(got[0].Raw) {
		t.Errorf("Plan.Raw is not the plan's JSON")
	}
}

func TestDecodePlansVariants(t *testing.T) {
	data := `{"plan_list":[{"plan_id":"p-1","target_type":1,"role":2,"additional":{"main_site_info":{"target_name":"lun-a"},
		"sync_policy":{"is_send_encrypted":"true","mode":1,"next_trigger_time":"0"},
		"sync_report":{"recent_records":[{"begin_time":300,"is_done":false,"is_success":false},{"begin_time":100,"finish_time":200,"is_success":1}]}}}],"total":1}`
	got, err := decodePlans(json.RawMessage(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Plan{{ID: "p-1", TargetType: "lun", TargetName: "lun-a", Role: "drsite", Mode: "1", SendEncrypted: true,
		LastSync: time.Unix(200, 0), LastSyncOK: true}}
	if d := cmp.Diff(want, got, timeEq, cmpopts.IgnoreFields(Plan{}, "Raw")); d != "" {
		t.Errorf("decodePlans mismatch (-want +got):\n%s", d)
	}
	if _, err := decodePlans(json.RawMessage(`{"plans":[{"role":1}]}`)); !errors.Is(err, ErrProtocol) {
		t.Errorf("decodePlans(plan without id) = %v, want ErrProtocol", err)
	}
}

func TestDecodeEnvelope(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantData string
		wantErr  error
		wantCode int
		wantIn   string
	}{
		{"data object", `{"success":true,"data":{"a":1}}`, `{"a":1}`, nil, 0, ""},
		{"no data", `{"success":true}`, ``, nil, 0, ""},
		{"string data", ` {"data":"GMT+09-2023.09.12-00.33.20","success":true} `, `"GMT+09-2023.09.12-00.33.20"`, nil, 0, ""},
		{"success as string", `{"success":"true","data":[]}`, `[]`, nil, 0, ""},
		{"success as number", `{"success":1,"data":[]}`, `[]`, nil, 0, ""},
		{"code", `{"success":false,"error":{"code":3329}}`, ``, ErrTooManySnapshots, 3329, "too many snapshots"},
		{"code as string", `{"success":false,"error":{"code":"119"}}`, ``, ErrSessionExpired, 119, "invalid session"},
		{"otp object", `{"error":{"code":403,"errors":{"token":"t","types":[{"type":"otp"}]}},"success":false}`, ``, ErrOTPRequired, 403, "2-factor"},
		{"html", "<html><body>Login</body></html>", ``, ErrProtocol, 0, "HTML page"},
		{"truncated", `{"success":true,"data":{"snap`, ``, ErrProtocol, 0, "invalid JSON"},
		{"empty", ``, ``, ErrProtocol, 0, "empty body"},
		{"array", `[1,2]`, ``, ErrProtocol, 0, "not a JSON object"},
		{"no success", `{"data":{}}`, ``, ErrProtocol, 0, `no "success"`},
		{"failure without code", `{"success":false}`, ``, ErrProtocol, 0, "without an error code"},
		{"bad success", `{"success":"perhaps"}`, ``, ErrProtocol, 0, "not a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := apiShare
			if tt.wantCode == 403 {
				api = apiAuth
			}
			data, err := decodeEnvelope(api, "m", []byte(tt.body))
			if tt.wantErr == nil {
				if err != nil || string(data) != tt.wantData {
					t.Fatalf("decodeEnvelope(%s) = %s, %v, want %s, nil", tt.body, data, err, tt.wantData)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantIn) || !strings.Contains(err.Error(), api+" m") {
				t.Fatalf("decodeEnvelope(%s) = %v, want %v naming the call and containing %q", tt.body, err, tt.wantErr, tt.wantIn)
			}
			var ae *APIError
			if tt.wantCode != 0 && (!errors.As(err, &ae) || ae.Code != tt.wantCode) {
				t.Errorf("decodeEnvelope(%s) = %#v, want *APIError with code %d", tt.body, err, tt.wantCode)
			}
		})
	}
}

func TestDecodeEnvelopeItemsInFailure(t *testing.T) {
	body := `{"success":false,"error":{"code":3350,"errors":[{"GMT+00-2024.01.01-00.00.00":3350},{"GMT+00-2024.01.02-00.00.00":3337}]}}`
	_, err := decodeEnvelope(apiShare, "delete", []byte(body))
	var pe *PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("decodeEnvelope(all items failed) = %v, want *PartialError", err)
	}
	want := []ItemError{{"GMT+00-2024.01.01-00.00.00", 3350}, {"GMT+00-2024.01.02-00.00.00", 3337}}
	if d := cmp.Diff(want, pe.Items); d != "" {
		t.Errorf("items mismatch (-want +got):\n%s", d)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 3350 {
		t.Errorf("errors.As(%v, *APIError) = %v, want code 3350", err, ae)
	}
	if !errors.Is(err, ErrProtected) {
		t.Errorf("errors.Is(%v, ErrProtected) = false", err)
	}
}

func TestItemFailures(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []ItemError
		bad  bool
	}{
		{"absent", ``, nil, false},
		{"null", `null`, nil, false},
		{"empty list", `[]`, nil, false},
		{"empty object", `{}`, nil, false},
		{"lun fixture", string(fixtureData("delete_snapshots_lun_partial.json")), []ItemError{{"5c9bf4a7-05ea-4cb8-b9e0-e0b0ca1186b0", 18990540}}, false},
		{"object map", `{"b":"3337","a":3350}`, []ItemError{{"a", 3350}, {"b", 3337}}, false},
		{"filestation style", `[{"code":408,"path":"/x"}]`, []ItemError{{"/x", 408}}, false},
		{"garbage", `"failed"`, nil, true},
		{"non-numeric code", `[{"a":"locked"}]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := itemFailures(apiLUN, "delete_snapshot", json.RawMessage(tt.data))
			if tt.bad {
				if !errors.Is(err, ErrProtocol) || !errors.Is(err, ErrUncertain) {
					t.Errorf("itemFailures(%s) = %v, want ErrProtocol and ErrUncertain", tt.data, err)
				}
				return
			}
			var pe *PartialError
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("itemFailures(%s) = %v, want nil", tt.data, err)
			case tt.want != nil && !errors.As(err, &pe):
				t.Errorf("itemFailures(%s) = %v, want *PartialError", tt.data, err)
			case tt.want != nil:
				if d := cmp.Diff(tt.want, pe.Items); d != "" {
					t.Errorf("itemFailures(%s) items mismatch (-want +got):\n%s", tt.data, d)
				}
			}
		})
	}
}

// fixtureData returns the data member of a fixture answer.
func fixtureData(name string) json.RawMessage {
	b, err := os.ReadFile(filepath.Join("testdata", "dsm", name))
	if err != nil {
		panic(err)
	}
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(b, &env); err != nil {
		panic(err)
	}
	return env.Data
}

func TestFlexTypes(t *testing.T) {
	ints := map[string]int64{`1`: 1, `"42"`: 42, `""`: 0, `null`: 0, `" 7 "`: 7, `1.0`: 1, `-3`: -3, `1e3`: 1000}
	for in, want := range ints {
		var f flexInt
		if err := json.Unmarshal([]byte(in), &f); err != nil || int64(f) != want {
			t.Errorf("flexInt(%s) = %d, %v, want %d", in, f, err, want)
		}
	}
	for _, in := range []string{`"x"`, `1.5`, `true`, `[]`, `{}`, `"1.5"`} {
		var f flexInt
		if err := json.Unmarshal([]byte(in), &f); err == nil {
			t.Errorf("flexInt(%s) = %d, want an error", in, f)
		}
	}
	bools := map[string]bool{`true`: true, `"true"`: true, `1`: true, `"1"`: true, `"yes"`: true, `"TRUE"`: true,
		`false`: false, `"false"`: false, `0`: false, `"0"`: false, `null`: false, `""`: false, `"no"`: false}
	for in, want := range bools {
		var f flexBool
		if err := json.Unmarshal([]byte(in), &f); err != nil || bool(f) != want {
			t.Errorf("flexBool(%s) = %v, %v, want %v", in, f, err, want)
		}
	}
	for _, in := range []string{`2`, `"y"`, `[]`, `{}`} {
		var f flexBool
		if err := json.Unmarshal([]byte(in), &f); err == nil {
			t.Errorf("flexBool(%s) = %v, want an error", in, f)
		}
	}
	strs := map[string]string{`"a"`: "a", `12`: "12", `null`: "", `-1.5`: "-1.5"}
	for in, want := range strs {
		var f flexString
		if err := json.Unmarshal([]byte(in), &f); err != nil || string(f) != want {
			t.Errorf("flexString(%s) = %q, %v, want %q", in, f, err, want)
		}
	}
	for _, in := range []string{`true`, `[]`, `{}`} {
		var f flexString
		if err := json.Unmarshal([]byte(in), &f); err == nil {
			t.Errorf("flexString(%s) = %q, want an error", in, f)
		}
	}
}
