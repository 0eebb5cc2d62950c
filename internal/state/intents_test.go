package state

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIntentLifecycle(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	db.now = func() time.Time { return t0 }
	create := Intent{Policy: "homes", NAS: "primary", Target: "homes", Kind: "share", Action: "snapshot.create", Desc: "hourly [snapd:homes]"}
	del := Intent{Time: t0.Add(time.Minute), Policy: "homes", NAS: "primary", Target: "homes", Kind: "share", Action: "snapshot.delete",
		Snapshots: []string{"GMT+01-2026.11.28-10.00.00", "GMT+01-2026.11.28-11.00.00"}}
	id1, err := db.BeginIntent(create)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := db.BeginIntent(del)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != 1 || id2 != 2 {
		t.Fatalf("BeginIntent ids = %d, %d, want 1, 2", id1, id2)
	}

	// Pending intents survive a reopen, as after a crash.
	checkAndClose(t, db)
	db = mustOpen(t, dir, Options{})
	got, err := db.PendingIntents()
	if err != nil {
		t.Fatal(err)
	}
	create.ID, create.Time = 1, t0
	del.ID = 2
	if d := cmp.Diff([]Intent{create, del}, got); d != "" {
		t.Fatalf("PendingIntents (-want +got):\n%s", d)
	}

	err = db.CompleteIntent(id2,
		Entry{Time: t0, Action: "snapshot.delete", Snapshot: "GMT+01-2026.11.28-10.00.00", Outcome: "ok"},
		Entry{Time: t0, Action: "snapshot.delete", Snapshot: "GMT+01-2026.11.28-11.00.00", Outcome: "error", Error: "locked", Target: "other"})
	if err != nil {
		t.Fatalf("CompleteIntent(%d) = %v", id2, err)
	}
	got, err = db.PendingIntents()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Intent{create}, got); d != "" {
		t.Errorf("PendingIntents after completion (-want +got):\n%s", d)
	}
	es, err := db.Entries(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Seq: 1, Time: t0, Policy: "homes", NAS: "primary", Target: "homes", Action: "snapshot.delete", Snapshot: "GMT+01-2026.11.28-10.00.00", Outcome: "ok"},
		{Seq: 2, Time: t0, Policy: "homes", NAS: "primary", Target: "other", Action: "snapshot.delete", Snapshot: "GMT+01-2026.11.28-11.00.00", Outcome: "error", Error: "locked"},
	}
	if d := cmp.Diff(want, es); d != "" {
		t.Errorf("Entries after CompleteIntent (-want +got):\n%s", d)
	}

	// Completing twice writes nothing the second time.
	if err := db.CompleteIntent(id2, Entry{Action: "snapshot.delete", Outcome: "ok"}); !errors.Is(err, ErrNoIntent) {
		t.Errorf("second CompleteIntent(%d) = %v, want ErrNoIntent", id2, err)
	}
	// A bad entry leaves the intent pending.
	if err := db.CompleteIntent(id1, Entry{Action: "snapshot.create"}); err == nil {
		t.Errorf("CompleteIntent with an entry without outcome = nil, want an error")
	}
	if err := db.CompleteIntent(id1); err != nil {
		t.Errorf("CompleteIntent(%d) without entries = %v", id1, err)
	}
	if got, err := db.PendingIntents(); err != nil || len(got) != 0 {
		t.Errorf("PendingIntents at the end = %v, %v, want none", got, err)
	}
	if es, err := db.Entries(Filter{}); err != nil || len(es) != 2 {
		t.Errorf("Entries at the end = %d entries, %v, want 2", len(es), err)
	}
}

func TestBeginIntentValidates(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	tests := []struct {
		name string
		in   Intent
	}{
		{"no action", Intent{NAS: "primary", Kind: "share"}},
		{"bad kind", Intent{NAS: "primary", Kind: "volume", Action: "snapshot.create"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if id, err := db.BeginIntent(tt.in); err == nil {
				t.Errorf("BeginIntent(%+v) = %d, nil, want an error", tt.in, id)
			}
		})
	}
}
