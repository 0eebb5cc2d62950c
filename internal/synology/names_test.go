package synology

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseShareSnapshotTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC
	}{
		{"GMT+09-2023.09.11-23.23.40", "2023-09-11T14:23:40Z"},
		{"GMT+01-2025.03.23-15.17.39", "2025-03-23T14:17:39Z"},
		{"GMT-05-2026.01.30-20.00.01", "2026-01-31T01:00:01Z"},
		{"GMT-04-2026.07.16-10.15.01", "2026-07-16T14:15:01Z"},
		{"GMT+00-2024.02.29-00.00.00", "2024-02-29T00:00:00Z"},
		{"GMT-00-2024.02.29-00.00.00", "2024-02-29T00:00:00Z"},
		{"GMT+0530-2024.01.01-00.00.00", "2023-12-31T18:30:00Z"},
		{"GMT+05:30-2024.01.01-00.00.00", "2023-12-31T18:30:00Z"},
		{"GMT-09:30-2024.01.01-00.00.00", "2024-01-01T09:30:00Z"},
		{"GMT+14-2024.01.01-14.00.00", "2024-01-01T00:00:00Z"},
		{"GMT+0545-2024.06.30-23.59.59", "2024-06-30T18:14:59Z"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseShareSnapshotTime(tt.in)
			if err != nil {
				t.Fatalf("ParseShareSnapshotTime(%q) error: %v", tt.in, err)
			}
			if s := got.UTC().Format(time.RFC3339); s != tt.want {
				t.Errorf("ParseShareSnapshotTime(%q) = %s, want %s", tt.in, s, tt.want)
			}
		})
	}
}

func TestParseShareSnapshotTimeLocalWallClock(t *testing.T) {
	got, err := ParseShareSnapshotTime("GMT+09-2023.09.11-23.23.40")
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Format("2006-01-02 15:04:05 -07:00"); s != "2023-09-11 23:23:40 +09:00" {
		t.Errorf("wall clock = %s, want 2023-09-11 23:23:40 +09:00", s)
	}
}

func TestParseShareSnapshotTimeErrors(t *testing.T) {
	bad := []string{
		"",
		"GMT",
		"GMT+",
		"gmt+09-2023.09.11-23.23.40",
		"@GMT-2023.09.11-23.23.40",
		"GMT09-2023.09.11-23.23.40",
		"GMT+9-2023.09.11-23.23.40",
		"GMT+09-2023.9.11-23.23.40",
		"GMT+09-2023.09.11-23.23.4",
		"GMT+09-2023.09.11-23.23.40 ",
		"GMT+09-2023.09.11-23.23.40x",
		"GMT+09-2023.09.11 23.23.40",
		"GMT+09-2023.02.30-00.00.00",
		"GMT+09-2023.13.01-00.00.00",
		"GMT+09-2023.00.01-00.00.00",
		"GMT+09-2023.09.11-24.00.00",
		"GMT+09-2023.09.11-23.60.00",
		"GMT+09-2023.09.11-23.59.60",
		"GMT+15-2023.09.11-23.23.40",
		"GMT+1401-2023.09.11-23.23.40",
		"GMT+0960-2023.09.11-23.23.40",
		"GMT+09:3-2023.09.11-23.23.40",
		"GMT+09:-2023.09.11-23.23.40",
		"GMT+093-2023.09.11-23.23.40",
		"GMT+09-+023.09.11-23.23.40",
		"SnapShot-1",
	}
	for _, in := range bad {
		t.Run(in, func(t *testing.T) {
			got, err := ParseShareSnapshotTime(in)
			if err == nil {
				t.Fatalf("ParseShareSnapshotTime(%q) = %v, want an error", in, got)
			}
			if !got.IsZero() {
				t.Errorf("ParseShareSnapshotTime(%q) returned %v with its error, want the zero time", in, got)
			}
			if !strings.Contains(err.Error(), strconv.Quote(in)) {
				t.Errorf("ParseShareSnapshotTime(%q) error %q does not name the input", in, err)
			}
		})
	}
}

func FuzzParseShareSnapshotTime(f *testing.F) {
	for _, s := range []string{
		"GMT+09-2023.09.11-23.23.40", "GMT+01-2025.03.23-15.17.39", "GMT+01-2025.03.23-15.18.46",
		"GMT-05-2026.01.30-20.00.01", "GMT-04-2026.07.16-10.15.01", "GMT-08-2023.03.01-07.00.01",
		"GMT+08-2026.07.21-02.11.04", "GMT+09-2023.09.12-00.33.20", "GMT+08-2022.01.14-19.18.29",
		"GMT-07-2026.07.08-00.00.01", "GMT+0530-2024.01.01-00.00.00", "GMT+05:30-2024.01.01-00.00.00",
		"@GMT-2023.09.11-23.23.40", "GMT+09-2023.02.30-00.00.00", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseShareSnapshotTime(s)
		if err != nil {
			if !got.IsZero() {
				t.Fatalf("ParseShareSnapshotTime(%q) = %v with error %v", s, got, err)
			}
			if !strings.Contains(err.Error(), "share snapshot name") {
				t.Fatalf("error %q does not say what it parsed", err)
			}
			return
		}
		if got.IsZero() {
			t.Fatalf("ParseShareSnapshotTime(%q) = zero time without error", s)
		}
		// The wall clock and offset must round-trip to the name's canonical ±HHMM form.
		_, off := got.Zone()
		canon := zoneName(off) + got.Format("-2006.01.02-15.04.05")
		again, err := ParseShareSnapshotTime(canon)
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParseShareSnapshotTime(%q) = %v, but its canonical form %q gives %v, %v", s, got, canon, again, err)
		}
	})
}
