package dsmfake

import (
	"encoding/json"
	"net/url"
	"testing"
)

func TestDecodeValue(t *testing.T) {
	tests := []struct {
		raw     string
		strict  bool
		want    string
		wantErr bool
	}{
		{`"my share"`, true, `"my share"`, false},
		{`my share`, true, "", true},
		{`my share`, false, `"my share"`, false},
		{`123`, false, `123`, false},
		{`true`, true, `true`, false},
		{`["a", "b"]`, true, `["a", "b"]`, false},
		{`{"desc": "d \"q\"", "lock": true}`, true, `{"desc": "d \"q\"", "lock": true}`, false},
		{``, false, `""`, false},
		{``, true, "", true},
		{`{"a":`, false, `"{\"a\":"`, false},
		{`GMT+09-2023.09.11-23.23.40`, false, `"GMT+09-2023.09.11-23.23.40"`, false},
	}
	for _, tt := range tests {
		got, err := decodeValue(tt.raw, tt.strict)
		if (err != nil) != tt.wantErr || string(got) != tt.want {
			t.Errorf("decodeValue(%q, %v) = %s, %v, want %s (error %v)", tt.raw, tt.strict, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{`"x"`, `x`, `[1,2]`, `{"a":1}`, ``, `"\ud800"`, "\xff", `1e999`, `null`} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, strict bool) {
		got, err := decodeValue(raw, strict)
		if err != nil {
			if !strict {
				t.Fatalf("decodeValue(%q, lenient) failed: %v", raw, err)
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("decodeValue(%q, %v) = %q, not valid JSON", raw, strict, got)
		}
		if !json.Valid([]byte(raw)) {
			var s string
			if err := json.Unmarshal(got, &s); err != nil || s != string([]rune(raw)) {
				t.Fatalf("decodeValue(%q, lenient) = %s, want the raw text as a string", raw, got)
			}
		}
		p := &params{raw: url.Values{"v": {raw}}, json: true, strict: strict}
		var v any
		_, _ = p.decode("v", &v)
		_, _ = p.strings("v")
		_, _ = p.intOr("v", 0)
	})
}

func TestStrictAndLenient(t *testing.T) {
	tests := []struct {
		name   string
		strict bool
		params map[string]string
		want   int
	}{
		{"strict quoted", true, map[string]string{"name": `"s"`}, 0},
		{"strict bare word", true, map[string]string{"name": `s`}, 120},
		{"strict bare additional", true, map[string]string{"name": `"s"`, "additional": `desc`}, 120},
		{"strict quoted, raw _sid is fine", true, map[string]string{"name": `"s"`, "offset": `0`, "limit": `-1`}, 0},
		{"lenient bare word", false, map[string]string{"name": `s`}, 0},
		{"lenient quoted", false, map[string]string{"name": `"s"`}, 0},
		{"lenient mis-typed name", false, map[string]string{"name": `123`}, 120},
		{"lenient offset of wrong type", false, map[string]string{"name": `s`, "offset": `"x"`}, 120},
		{"missing name", false, map[string]string{}, 114},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Strict: tt.strict})
			h.nas.AddShare("s")
			h.login()
			wantCode(t, "list", h.call("SYNO.Core.Share.Snapshot", "list", 2, tt.params), tt.want)
			if tt.want == 120 && !h.log.contains("REJECTED") {
				t.Errorf("120 not logged loudly:\n%s", h.log.all())
			}
		})
	}
	t.Run("strict Info and Auth stay raw", func(t *testing.T) {
		h := newHarness(t, Options{Strict: true})
		wantCode(t, "Info query=all", h.get("/webapi/query.cgi", "api=SYNO.API.Info&version=1&method=query&query=all"), 0)
		h.login()
	})
}
