package scheduler

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func TestTrackedFires(t *testing.T) {
	hourly := mustParse(t, "0 * * * *", nil)
	tr := newTracked(hourly)
	at := func(h, m int) time.Time { return utcAt(2025, 5, 1, h, m) }

	if got := tr.Next(at(0, 30)); !got.Equal(at(1, 0)) {
		t.Fatalf("first Next(00:30) = %v, want 01:00", got)
	}
	// The job goroutine takes its instant before cron asks for the next one...
	if got := tr.take(); !got.Equal(at(1, 0)) {
		t.Errorf("take() before Next = %v, want 01:00", got)
	}
	if got := tr.Next(at(1, 0)); !got.Equal(at(2, 0)) {
		t.Errorf("Next(01:00) = %v, want 02:00", got)
	}
	// ...or after.
	if got := tr.Next(at(2, 0)); !got.Equal(at(3, 0)) {
		t.Errorf("Next(02:00) = %v, want 03:00", got)
	}
	if got := tr.take(); !got.Equal(at(2, 0)) {
		t.Errorf("take() after Next = %v, want 02:00", got)
	}
	if next, prev := tr.state(); !next.Equal(at(3, 0)) || !prev.Equal(at(2, 0)) {
		t.Errorf("state() = %v, %v, want 03:00, 02:00", next, prev)
	}
}

func TestTrackedCarry(t *testing.T) {
	at := func(h, m int) time.Time { return utcAt(2025, 5, 1, h, m) }
	hourly := mustParse(t, "0 * * * *", nil)
	twoHourly := mustParse(t, "0 */2 * * *", nil)
	every := mustParse(t, "@every 45m", nil)
	tests := []struct {
		name        string
		old, new    cron.Schedule
		oldArmedAt  time.Time // the old instance computed its pending fire from here
		swap        time.Time // the new instance's first Next
		want        time.Time
		wantResumed bool
	}{
		{"same, pending ahead", hourly, hourly, at(0, 30), at(0, 40), at(1, 0), false},
		{"same, pending due during the swap", hourly, hourly, at(0, 30), at(1, 0), at(1, 0), true},
		{"same, pending overdue", hourly, hourly, at(0, 30), at(1, 5), at(1, 0), true},
		{"every keeps its phase", every, every, at(0, 30), at(0, 50), at(1, 15), false},
		{"changed, pending ahead", hourly, twoHourly, at(0, 30), at(0, 40), at(2, 0), false},
		{"changed, pending due", hourly, twoHourly, at(0, 30), at(1, 0), at(1, 0), true},
		{"changed every counts from the swap", every, mustParse(t, "@every 30m", nil), at(0, 30), at(0, 50), at(1, 20), false},
		{"spec to every", hourly, every, at(0, 30), at(0, 40), at(1, 25), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := newTracked(tt.old)
			old.Next(tt.oldArmedAt)
			nw := newTracked(tt.new)
			nw.carryFrom(old)
			got := nw.Next(tt.swap)
			if !got.Equal(tt.want) || nw.resumed != tt.wantResumed {
				t.Errorf("first Next(%v) after carry = %v (resumed %v), want %v (resumed %v)", tt.swap, got, nw.resumed, tt.want, tt.wantResumed)
			}
		})
	}
	t.Run("from an instance that never armed", func(t *testing.T) {
		nw := newTracked(hourly)
		nw.carryFrom(newTracked(hourly))
		if got := nw.Next(at(0, 40)); !got.Equal(at(1, 0)) {
			t.Errorf("first Next(00:40) = %v, want 01:00", got)
		}
	})
}

func TestSameSchedule(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	berlin2 := mustLoad(t, "Europe/Berlin")
	tests := []struct {
		a, b cron.Schedule
		want bool
	}{
		{mustParse(t, "0 * * * *", berlin), mustParse(t, "0 * * * *", berlin2), true},
		{mustParse(t, "@hourly", berlin), mustParse(t, "0 * * * *", berlin), true},
		{mustParse(t, "0 * * * *", berlin), mustParse(t, "0 * * * *", time.UTC), false},
		{mustParse(t, "0 * * * *", nil), mustParse(t, "0 0-23 * * *", nil), false},
		{mustParse(t, "0 * * * *", nil), mustParse(t, "@every 1h", nil), false},
		{mustParse(t, "@every 1h", nil), mustParse(t, "@every 60m", nil), true},
		{mustParse(t, "@every 1h", nil), mustParse(t, "@every 2h", nil), false},
		{&gated{inner: mustParse(t, "0 * * * *", nil)}, &gated{inner: mustParse(t, "0 * * * *", nil)}, false},
	}
	for _, tt := range tests {
		if got := sameSchedule(tt.a, tt.b); got != tt.want {
			t.Errorf("sameSchedule(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
