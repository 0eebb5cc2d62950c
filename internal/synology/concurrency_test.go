package synology

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

func TestConcurrentCallsShareOneLoginPerExpiry(t *testing.T) {
	n := strictNAS(t, dsmfake.Options{})
	n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: n.clock.Now().Add(-time.Hour)})
	var relogins atomic.Int32
	c := n.client(t, func(cfg *Config) {
		cfg.OnLogin = func(re bool) {
			if re {
				relogins.Add(1)
			}
		}
	})
	kills := []func(){n.ExpireSessions, n.KickSessions, n.ForgetSessions, n.StaleSessions, n.ExpireSessions}
	const workers = 20
	for round := 0; round <= len(kills); round++ {
		if round > 0 {
			kills[round-1]()
		}
		start := make(chan struct{})
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for i := 0; i < workers; i++ {
			wg.Go(func() {
				<-start
				snaps, err := c.ListShareSnapshots(context.Background(), "homes")
				if err == nil && len(snaps) != 1 {
					err = errors.New("wrong list")
				}
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("round %d: ListShareSnapshots: %v", round, err)
			}
		}
		if got, want := n.Count(apiAuth, "login"), round+1; got != want {
			t.Fatalf("after round %d: %d logins, want %d (one per session loss)", round, got, want)
		}
	}
	if got := relogins.Load(); got != int32(len(kills)) {
		t.Errorf("OnLogin(relogin=true) calls = %d, want %d", got, len(kills))
	}
}

// Sessions die while calls are in flight: never more than one login per loss, and any
// failure is a surfaced session error, not a loop.
func TestConcurrentCallsWhileSessionsDie(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: n.clock.Now().Add(-time.Hour)})
	n.AddLUN(dsmfake.LUN{UUID: "lun-1"})
	c := n.client(t)
	ctx := context.Background()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var calls, failures atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if i%2 == 0 {
					_, err = c.ListShareSnapshots(ctx, "homes")
				} else {
					_, err = c.ListLUNSnapshots(ctx, "lun-1")
				}
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					if !errors.Is(err, ErrSessionExpired) && !errors.Is(err, ErrPermission) {
						t.Errorf("call failed with %v, want only session errors", err)
					}
				}
			}
		})
	}
	// Kill the session each time the workers have made some progress on it.
	const kills = 8
	for k := 0; k < kills; k++ {
		seen := calls.Load()
		deadline := time.Now().Add(5 * time.Second)
		for calls.Load() < seen+10 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		n.ExpireSessions()
	}
	close(stop)
	wg.Wait()
	if got := n.Count(apiAuth, "login"); got > kills+1 {
		t.Errorf("%d logins for %d session losses, want at most %d", got, kills, kills+1)
	}
	t.Logf("%d calls, %d surfaced session errors, %d logins", calls.Load(), failures.Load(), n.Count(apiAuth, "login"))
}
