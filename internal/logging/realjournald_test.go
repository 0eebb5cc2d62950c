package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

// TestRealJournald logs through New's journald mode into a real journald and
// reads the records back with journalctl. It runs only with REAL_JOURNALD=1,
// inside the private journald that testdata/real-journald.sh starts.
func TestRealJournald(t *testing.T) {
	if os.Getenv("REAL_JOURNALD") != "1" {
		t.Skip("set REAL_JOURNALD=1 and run inside testdata/real-journald.sh")
	}
	if !journal.Enabled() {
		t.Fatal("REAL_JOURNALD=1 but no journald socket at /run/systemd/journal/socket")
	}
	var stderr bytes.Buffer
	l, format, err := New(FormatJournald, "info", &stderr)
	if err != nil || format != FormatJournald {
		t.Fatalf("New(journald) = %q, %v, want journald, nil", format, err)
	}
	tag := strconv.FormatInt(time.Now().UnixNano(), 10)
	l.Info().Str(FieldPolicy, "homes").Str(FieldNAS, "primary").Str(FieldAction, "snapshot.create").
		Str(FieldOutcome, "ok").Str("test_tag", tag).Msg("snapshot created")
	l.Warn().Str(FieldPolicy, "homes").Str(FieldAction, "run.skipped").Err(fmt.Errorf("previous run still going")).
		Str("test_tag", tag).Msg("skipped\nsecond line")
	if stderr.Len() != 0 {
		t.Fatalf("journald refused records, fallback wrote %q", stderr.String())
	}

	want := map[string]map[string]string{
		"snapshot created": {
			"SYSLOG_IDENTIFIER": "snapd", "PRIORITY": "6", "POLICY": "homes", "NAS": "primary",
			"ACTION": "snapshot.create", "OUTCOME": "ok", "MESSAGE_ID": MessageID("snapshot.create"),
			"_TRANSPORT": "journal",
		},
		"skipped\nsecond line": {
			"SYSLOG_IDENTIFIER": "snapd", "PRIORITY": "4", "POLICY": "homes", "ACTION": "run.skipped",
			"ERROR": "previous run still going", "MESSAGE_ID": MessageID("run.skipped"),
		},
	}
	var got map[string]map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		got = readJournal(t, tag, "SYSLOG_IDENTIFIER=snapd", "POLICY=homes")
		if len(got) == len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for msg, fields := range want {
		rec, ok := got[msg]
		if !ok {
			t.Errorf("journalctl SYSLOG_IDENTIFIER=snapd POLICY=homes has no record %q; found %v", msg, got)
			continue
		}
		for k, v := range fields {
			if rec[k] != v {
				t.Errorf("record %q field %s = %v, want %q", msg, k, rec[k], v)
			}
		}
		for _, k := range []string{"JSON", "TIME"} {
			if _, ok := rec[k]; ok {
				t.Errorf("record %q has field %s, want none", msg, k)
			}
		}
	}

	byID := readJournal(t, tag, "MESSAGE_ID="+MessageID("snapshot.create"))
	if _, ok := byID["snapshot created"]; len(byID) != 1 || !ok {
		t.Errorf("journalctl MESSAGE_ID=%s found %v, want the one snapshot.create record", MessageID("snapshot.create"), byID)
	}
}

// readJournal returns the records that match the journalctl filters and carry
// TEST_TAG=tag, keyed by MESSAGE.
func readJournal(t *testing.T, tag string, filters ...string) map[string]map[string]any {
	t.Helper()
	cmd := exec.Command("journalctl", append([]string{"--no-pager", "-o", "json"}, filters...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("journalctl %v: %v", filters, err)
	}
	recs := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("journalctl output %q: %v", sc.Text(), err)
		}
		if rec["TEST_TAG"] != tag {
			continue
		}
		msg, _ := rec["MESSAGE"].(string)
		recs[msg] = rec
	}
	return recs
}
