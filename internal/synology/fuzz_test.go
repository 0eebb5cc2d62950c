package synology

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
)

// Example answers from DSM-API.md, beside the fixture files.
var docAnswers = []string{
	`{"success":true,"data":{"account":"u","device_id":"","ik_message":"","is_portal_port":false,"sid":"S","synotoken":"--------"}}`,
	`{"data":{"is_portal_port":false,"sid":"S","synotoken":"T"},"success":true}`,
	`{"error":{"code":403,"errors":{"token":"x","types":[{"type":"otp"}]}},"success":false}`,
	`{"error":{"code":119},"success":false}`,
	`{"success":false,"error":{"code":1100,"errors":[{"code":408,"path":"/test/:"}]}}`,
	`{"data":{"snapshots":[{"desc":"wi087 probe","lock":false,"schedule_snapshot":false,"time":"GMT+08-2026.07.21-02.11.04","worm_lock":false}],"total":1},"success":true}`,
	`{"data":{"snapshot_id":4,"snapshot_uuid":"31aa7808"},"success":true}`,
	`{"data":[{"5c9bf4a7-05ea-4cb8-b9e0-e0b0ca1186b0":18990540}],"success":true}`,
	`{"data":{"has_fail":false,"result":[{"api":"a","method":"m","version":2,"success":true,"data":{}}]},"success":true}`,
	`{"success":true,"data":{"SYNO.API.Auth":{"path":"entry.cgi","minVersion":1,"maxVersion":7}}}`,
	retentionSample,
	`<html><body>login</body></html>`,
	`{"success":true,"data":{"snap`,
}

func seedAnswers(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "dsm", "*.json"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, p := range paths {
		f.Add(fixture(f, filepath.Base(p)))
	}
	for _, s := range docAnswers {
		f.Add([]byte(s))
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	seedAnswers(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		data, err := decodeEnvelope(apiShare, "list", body)
		if err == nil {
			if len(data) > 0 && !json.Valid(data) {
				t.Fatalf("decodeEnvelope(%q) returned invalid data %q", body, data)
			}
			return
		}
		var ae *APIError
		var pe *PartialError
		if !errors.Is(err, ErrProtocol) && !errors.As(err, &ae) && !errors.As(err, &pe) {
			t.Fatalf("decodeEnvelope(%q) = %v, want ErrProtocol, *APIError or *PartialError", body, err)
		}
	})
}

// fuzzData runs a data decoder on the data of an envelope (or the raw input).
func fuzzData(f *testing.F, decode func(json.RawMessage) error) {
	seedAnswers(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		data := json.RawMessage(body)
		if d, err := decodeEnvelope(apiShare, "x", body); err == nil {
			data = d
		}
		if err := decode(data); err != nil && !errors.Is(err, ErrProtocol) {
			t.Fatalf("decoding %q: %v, want an ErrProtocol error", body, err)
		}
	})
}

func FuzzDecodeShareList(f *testing.F) {
	fuzzData(f, func(d json.RawMessage) error {
		snaps, total, err := decodeSharePage(d)
		if err == nil {
			for _, s := range snaps {
				if s.Time.IsZero() {
					panic("snapshot " + s.Name + " without a time")
				}
			}
			_ = total
		}
		return err
	})
}

func FuzzDecodeLUNSnapshots(f *testing.F) {
	fuzzData(f, func(d json.RawMessage) error {
		snaps, err := decodeLUNSnapshots(d)
		for i := 1; err == nil && i < len(snaps); i++ {
			if snaps[i].Time.Before(snaps[i-1].Time) {
				panic("LUN snapshots not sorted")
			}
		}
		return err
	})
}

func FuzzDecodeLUNs(f *testing.F) {
	fuzzData(f, func(d json.RawMessage) error { _, err := decodeLUNs(d); return err })
}

func FuzzDecodePlans(f *testing.F) {
	fuzzData(f, func(d json.RawMessage) error { _, err := decodePlans(d); return err })
}

func FuzzDecodeRetention(f *testing.F) {
	fuzzData(f, func(d json.RawMessage) error {
		r, err := decodeRetention(d)
		if err == nil && r.Active != (r.TaskID != -1) {
			panic("Active does not follow tid")
		}
		return err
	})
}

func FuzzItemFailures(f *testing.F) {
	fuzzData(f, func(d json.RawMessage) error {
		err := itemFailures(apiLUN, "delete_snapshot", d)
		var pe *PartialError
		if err != nil && errors.As(err, &pe) {
			return nil
		}
		return err
	})
}
