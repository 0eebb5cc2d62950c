package synology

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

func TestFaultsOnReads(t *testing.T) {
	tests := []struct {
		name      string
		fault     dsmfake.Fault
		wantErr   error  // nil = the list succeeds
		wantIn    string // in the error
		wantLists int    // list requests the NAS saw
	}{
		{"http 500 once is retried", dsmfake.Fault{HTTPStatus: 500, Times: 1}, nil, "", 2},
		{"http 503 twice is retried", dsmfake.Fault{HTTPStatus: 503, Times: 2}, nil, "", 3},
		{"http 500 always gives up", dsmfake.Fault{HTTPStatus: 500}, nil, "HTTP 500", 3},
		{"http 429 once is retried", dsmfake.Fault{HTTPStatus: 429, Times: 1}, nil, "", 2},
		{"drop once is retried", dsmfake.Fault{Drop: true, Times: 1}, nil, "", 2},
		{"latency beyond the timeout once is retried", dsmfake.Fault{Latency: 2 * time.Second, Times: 1}, nil, "", 2},
		{"latency beyond the timeout always", dsmfake.Fault{Latency: 2 * time.Second}, nil, "no answer within", 3},
		{"dsm code is not retried", dsmfake.Fault{Code: 3328}, nil, "DSM error 3328 (shared folder is locked", 1},
		{"html page", dsmfake.Fault{Body: []byte("<!DOCTYPE html><html><title>Login</title></html>"), ContentType: "text/html"}, ErrProtocol, "HTML page", 1},
		{"truncated json", dsmfake.Fault{Body: []byte(`{"success":true,"data":{"snapshots":[{"time":"GMT`), ContentType: "application/json"}, ErrProtocol, "invalid JSON", 1},
		{"non-json with a wrong type", dsmfake.Fault{Body: []byte("Service Unavailable"), ContentType: "text/plain"}, ErrProtocol, "content type text/plain", 1},
		{"json as text/plain is fine", dsmfake.Fault{Body: []byte(`{"success":true,"data":{"snapshots":[],"total":0}}`), ContentType: `text/plain; charset="UTF-8"`}, nil, "", 1},
		{"oversized answer", dsmfake.Fault{Body: []byte(`{"success":true,"data":{"snapshots":[],"total":0,"pad":"` + strings.Repeat("x", 5000) + `"}}`)}, ErrProtocol, "larger than 4096 bytes", 1},
		{"redirect is not followed", dsmfake.Fault{Redirect: "/webapi/elsewhere.cgi?_sid=leak"}, ErrProtocol, "redirect", 1},
		{"empty body", dsmfake.Fault{Body: []byte{}}, ErrProtocol, "empty body", 1},
		{"success without data", dsmfake.Fault{Body: []byte(`{"success":true}`)}, ErrProtocol, "no data", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNAS(t, dsmfake.Options{})
			n.AddShare("homes")
			c := n.client(t, func(cfg *Config) { cfg.Timeout = 300 * time.Millisecond; cfg.MaxBody = 4096 })
			ctx := context.Background()
			if err := c.Login(ctx); err != nil {
				t.Fatal(err)
			}
			f := tt.fault
			f.API, f.Method = apiShare, "list"
			n.InjectFault(f)
			_, err := c.ListShareSnapshots(ctx, "homes")
			switch {
			case tt.wantIn == "" && err != nil:
				t.Errorf("ListShareSnapshots = %v, want success", err)
			case tt.wantIn != "" && (err == nil || !strings.Contains(err.Error(), tt.wantIn)):
				t.Errorf("ListShareSnapshots = %v, want an error containing %q", err, tt.wantIn)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("ListShareSnapshots = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "SYNO.Core.Share.Snapshot list") {
					t.Errorf("error %q does not name the call", err)
				}
				if errors.Is(err, ErrUncertain) {
					t.Errorf("a read's error matches ErrUncertain: %v", err)
				}
				n.assertNoSecret(t, "error", err.Error())
			}
			if got := n.Count(apiShare, "list"); got != tt.wantLists {
				t.Errorf("list requests = %d, want %d", got, tt.wantLists)
			}
			for _, r := range n.Requests() {
				if strings.Contains(r.Path, "elsewhere") {
					t.Errorf("the client followed a redirect to %s", r.Path)
				}
			}
		})
	}
}

func TestFaultsOnCreate(t *testing.T) {
	tests := []struct {
		name      string
		fault     dsmfake.Fault
		uncertain bool
		wantIn    string
		wantSnaps int // snapshots on the NAS afterwards
	}{
		{"http 500", dsmfake.Fault{HTTPStatus: 500}, true, "HTTP 500", 0},
		{"drop before running", dsmfake.Fault{Drop: true}, true, "", 0},
		{"drop after running", dsmfake.Fault{DropAfter: true}, true, "", 1},
		{"latency beyond the timeout", dsmfake.Fault{Latency: 2 * time.Second}, true, "no answer within", -1},
		{"truncated json", dsmfake.Fault{Body: []byte(`{"success":tr`)}, true, "invalid JSON", 0},
		{"html page", dsmfake.Fault{Body: []byte(`<html>proxy error</html>`), ContentType: "text/html"}, true, "HTML", 0},
		{"success without a name", dsmfake.Fault{Body: []byte(`{"success":true}`)}, true, "no data", 0},
		{"dsm code", dsmfake.Fault{Code: 3330}, false, "3330", 0},
		{"http 404", dsmfake.Fault{HTTPStatus: 404}, false, "HTTP 404", 0},
		{"redirect", dsmfake.Fault{Redirect: "https://login.example/"}, false, "redirect", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNAS(t, dsmfake.Options{})
			n.AddShare("homes")
			c := n.client(t, func(cfg *Config) { cfg.Timeout = 300 * time.Millisecond })
			ctx := context.Background()
			if err := c.Login(ctx); err != nil {
				t.Fatal(err)
			}
			f := tt.fault
			f.API, f.Method, f.Times = apiShare, "create", 1
			n.InjectFault(f)
			_, err := c.CreateShareSnapshot(ctx, "homes", CreateShareOptions{Desc: "x", Lock: true})
			if err == nil {
				t.Fatal("CreateShareSnapshot = nil error, want one")
			}
			if got := errors.Is(err, ErrUncertain); got != tt.uncertain {
				t.Errorf("errors.Is(%v, ErrUncertain) = %v, want %v", err, got, tt.uncertain)
			}
			if !strings.Contains(err.Error(), tt.wantIn) || !strings.Contains(err.Error(), `share "homes"`) {
				t.Errorf("CreateShareSnapshot = %v, want an error naming the share and containing %q", err, tt.wantIn)
			}
			if got := n.Count(apiShare, "create"); got != 1 {
				t.Errorf("create requests = %d, want exactly 1 (mutations are never retried)", got)
			}
			if tt.wantSnaps >= 0 {
				if got := len(n.ShareSnapshots("homes")); got != tt.wantSnaps {
					t.Errorf("snapshots on the NAS = %d, want %d", got, tt.wantSnaps)
				}
			}
			// The daemon lists to learn what happened; the list sees the same.
			snaps, err := c.ListShareSnapshots(ctx, "homes")
			if err != nil || tt.wantSnaps >= 0 && len(snaps) != tt.wantSnaps {
				t.Errorf("ListShareSnapshots after the fault = %d snapshots, %v; want %d", len(snaps), err, tt.wantSnaps)
			}
		})
	}
}

func TestFaultsOnOtherMutations(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	now := n.clock.Now()
	a := n.AddShareSnapshot("homes", dsmfake.ShareSnapshot{Time: now.Add(-2 * time.Hour)})
	n.AddLUN(dsmfake.LUN{UUID: "lun-1"})
	u := n.AddLUNSnapshot("lun-1", dsmfake.LUNSnapshot{Time: now.Add(-time.Hour)})
	n.AddPlan(dsmfake.Plan{ID: "p", TargetType: "share", TargetName: "homes"})
	c := n.client(t)
	ctx := context.Background()
	calls := []struct {
		api, method string
		do          func() error
	}{
		{apiShare, "delete", func() error { return c.DeleteShareSnapshots(ctx, "homes", []string{a}) }},
		{apiShare, "set", func() error { d := "x"; return c.SetShareSnapshot(ctx, "homes", a, ShareSnapshotAttrs{Desc: &d}) }},
		{apiLUN, "take_snapshot", func() error { _, err := c.TakeLUNSnapshot(ctx, "lun-1", TakeLUNOptions{}); return err }},
		{apiLUN, "delete_snapshot", func() error { return c.DeleteLUNSnapshots(ctx, []string{u}) }},
		{apiPlan, "sync", func() error { return c.SyncPlan(ctx, "p", SyncOptions{}) }},
	}
	for _, call := range calls {
		for _, f := range []dsmfake.Fault{{HTTPStatus: 502}, {DropAfter: true}} {
			n.ResetCounts()
			f.API, f.Method, f.Times = call.api, call.method, 1
			n.InjectFault(f)
			err := call.do()
			if !errors.Is(err, ErrUncertain) {
				t.Errorf("%s %s with %+v = %v, want ErrUncertain", call.api, call.method, f, err)
			}
			if got := n.Count(call.api, call.method); got != 1 {
				t.Errorf("%s %s requests = %d, want 1", call.api, call.method, got)
			}
			n.ClearFaults()
		}
	}
	// A LUN take cut off after running: exactly one snapshot more.
	if got := len(n.LUNSnapshots("lun-1")); got != 1 {
		t.Errorf("LUN snapshots = %d, want 1 (the original was deleted, one take landed)", got)
	}
}

func TestMutationNotSent(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	n.AddShare("homes")
	c := n.client(t)
	ctx := context.Background()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	// The NAS goes away and the pooled connection with it: the create must dial, and fails
	// before sending anything.
	n.srv.Listener.Close()
	n.srv.CloseClientConnections()
	c.tr.CloseIdleConnections()
	_, err := c.CreateShareSnapshot(ctx, "homes", CreateShareOptions{})
	if err == nil || errors.Is(err, ErrUncertain) {
		t.Errorf("CreateShareSnapshot to a closed port = %v, want a plain network error", err)
	}
}

func TestBackoffHonoursContext(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	n.AddShare("homes")
	c := n.client(t, func(cfg *Config) {
		cfg.Retry = RetryPolicy{Attempts: 10, Base: 10 * time.Second, Max: 10 * time.Second}
	})
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.InjectFault(dsmfake.Fault{API: apiShare, Method: "list", HTTPStatus: 500})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ListShareSnapshots(ctx, "homes")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("ListShareSnapshots = %v, want the HTTP 500 and the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ListShareSnapshots returned after %v, want soon after the context's 200ms", d)
	}
}

func TestBackoffBounds(t *testing.T) {
	c, err := New(Config{URL: "https://nas:5001", User: "u", Retry: RetryPolicy{Attempts: 5, Base: 100 * time.Millisecond, Max: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	for try := 1; try <= 40; try++ {
		ceiling := min(time.Second, 100*time.Millisecond<<min(try-1, 20))
		for i := 0; i < 100; i++ {
			if d := c.backoff(try); d <= 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want in (0, %v]", try, d, ceiling)
			}
		}
	}
}

func TestObserveHook(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	n.AddShare("homes")
	var mu sync.Mutex
	seen := map[string]int{}
	var failed []string
	c := n.client(t, func(cfg *Config) {
		cfg.Observe = func(api, method string, d time.Duration, err error) {
			mu.Lock()
			defer mu.Unlock()
			seen[api+" "+method]++
			if err != nil {
				failed = append(failed, api+" "+method)
			}
		}
	})
	ctx := context.Background()
	if _, err := c.ListShareSnapshots(ctx, "homes"); err != nil {
		t.Fatal(err)
	}
	_, _ = c.ListShareSnapshots(ctx, "nope")
	mu.Lock()
	defer mu.Unlock()
	if seen[apiAuth+" login"] != 1 || seen[apiShare+" list"] != 2 || len(failed) != 1 || failed[0] != apiShare+" list" {
		t.Errorf("Observe saw %v, failures %v", seen, failed)
	}
}
