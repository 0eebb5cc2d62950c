package dsmfake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// memCall posts a form through the in-memory transport and decodes the envelope.
func memCall(t *testing.T, c *http.Client, ctx context.Context, form url.Values) (answer, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://synology:5001/webapi/entry.cgi", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return a, nil
}

func TestInsideSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Options{IdleTimeout: 10 * time.Minute, Logf: t.Logf})
		n.AddUser(User{Name: "snapd", Password: "pw"})
		n.AddShare("s")
		c := &http.Client{Transport: n.Transport()}
		ctx := context.Background()

		a, err := memCall(t, c, ctx, loginForm("snapd", "pw"))
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "login", a, 0)
		var d struct {
			SID string `json:"sid"`
		}
		a.data(t, &d)
		create := url.Values{"api": {"SYNO.Core.Share.Snapshot"}, "version": {"1"}, "method": {"create"}, "name": {`"s"`}, "_sid": {d.SID}}

		start := time.Now()
		n.InjectFault(Fault{API: "SYNO.Core.Share.Snapshot", Latency: 5 * time.Minute, Times: 1})
		a, err = memCall(t, c, ctx, create)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "slow create", a, 0)
		if got := time.Since(start); got != 5*time.Minute {
			t.Errorf("slow create took %v of bubble time, want 5m", got)
		}
		var name string
		a.data(t, &name)
		if want := snapshotName(start.Add(5*time.Minute), time.UTC); name != want {
			t.Errorf("create = %s, want %s (the bubble clock)", name, want)
		}

		n.InjectFault(Fault{API: "SYNO.Core.Share.Snapshot", Latency: time.Hour, Times: 1})
		tctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err = memCall(t, c, tctx, create)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("create with an hour of latency and a minute of patience = %v, want deadline exceeded", err)
		}

		n.InjectFault(Fault{API: "SYNO.Core.Share.Snapshot", Drop: true, Times: 1})
		if _, err := memCall(t, c, ctx, create); !errors.Is(err, ErrDropped) {
			t.Errorf("dropped create = %v, want ErrDropped", err)
		}

		time.Sleep(11 * time.Minute)
		a, err = memCall(t, c, ctx, create)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "create after idling", a, 106)
		if got := len(n.ShareSnapshots("s")); got != 1 {
			t.Errorf("%d snapshots, want 1", got)
		}
	})
}
