package state

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLastRuns(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	if _, ok, err := db.LastRun("homes"); ok || err != nil {
		t.Fatalf("LastRun(homes) on a new db = %v, %v, want not found", ok, err)
	}
	cet := time.FixedZone("CET", 3600)
	homes := RunRecord{Policy: "homes", Start: t0.In(cet), End: t0.Add(3 * time.Second), Outcome: "ok", Scheduled: t0, NewestSnapshot: t0.Add(time.Second)}
	media := RunRecord{Policy: "media", Start: t0, Outcome: "error", Error: "list snapshots: dsm error 119"}
	for _, r := range []RunRecord{{Policy: "homes", Start: t0.Add(-time.Hour), Outcome: "ok"}, homes, media} {
		if err := db.SetLastRun(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetLastRun(RunRecord{Start: t0, Outcome: "ok"}); err == nil {
		t.Errorf("SetLastRun without policy = nil, want an error")
	}
	checkAndClose(t, db)
	db = mustOpen(t, dir, Options{})

	got, ok, err := db.LastRun("homes")
	if err != nil || !ok {
		t.Fatalf("LastRun(homes) = %v, %v", ok, err)
	}
	if d := cmp.Diff(homes, got); d != "" {
		t.Errorf("LastRun(homes) (-want +got):\n%s", d)
	}
	all, err := db.LastRuns()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]RunRecord{"homes": homes, "media": media}, all); d != "" {
		t.Errorf("LastRuns() (-want +got):\n%s", d)
	}
	if !all["media"].End.IsZero() || !all["media"].Scheduled.IsZero() {
		t.Errorf("LastRuns()[media] = %+v, want zero End and Scheduled kept zero", all["media"])
	}
}

func TestLastScheduled(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	if _, ok, err := db.LastScheduled("homes"); ok || err != nil {
		t.Fatalf("LastScheduled(homes) on a new db = %v, %v, want not found", ok, err)
	}
	for _, tm := range []time.Time{t0, t0.Add(time.Hour)} {
		if err := db.SetLastScheduled("homes", tm); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := db.LastScheduled("homes")
	if err != nil || !ok || !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("LastScheduled(homes) = %v, %v, %v, want %v", got, ok, err, t0.Add(time.Hour))
	}
	if _, ok, _ := db.LastScheduled("media"); ok {
		t.Errorf("LastScheduled(media) found, want not found")
	}
	if err := db.SetLastScheduled("", t0); err == nil {
		t.Errorf("SetLastScheduled without policy = nil, want an error")
	}
}

func TestDeviceTokens(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	steps := []struct {
		name string
		do   func() error
		nas  string
		want string // "" means no token
	}{
		{"none yet", nil, "primary", ""},
		{"set", func() error { return db.SetDeviceToken("primary", "tok-1") }, "primary", "tok-1"},
		{"other nas untouched", func() error { return db.SetDeviceToken("backup", "tok-b") }, "primary", "tok-1"},
		{"replace", func() error { return db.SetDeviceToken("primary", "tok-2") }, "primary", "tok-2"},
		{"other nas", nil, "backup", "tok-b"},
		{"delete", func() error { return db.DeleteDeviceToken("primary") }, "primary", ""},
		{"delete missing", func() error { return db.DeleteDeviceToken("primary") }, "primary", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.do != nil {
				if err := s.do(); err != nil {
					t.Fatal(err)
				}
			}
			tok, ok, err := db.DeviceToken(s.nas)
			if err != nil || ok != (s.want != "") || tok != s.want {
				t.Errorf("DeviceToken(%s) = %q, %v, %v, want %q", s.nas, tok, ok, err, s.want)
			}
		})
	}
	for _, bad := range [][2]string{{"", "s3cr3t-9"}, {"primary", ""}} {
		if err := db.SetDeviceToken(bad[0], bad[1]); err == nil {
			t.Errorf("SetDeviceToken(%q, %q) = nil, want an error", bad[0], bad[1])
		} else if bad[1] != "" && strings.Contains(err.Error(), bad[1]) {
			t.Errorf("SetDeviceToken error %q shows the token", err)
		}
	}
	fi, err := os.Stat(db.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode of %s = %v, %v, want 0600", db.Path(), fi.Mode(), err)
	}
}
