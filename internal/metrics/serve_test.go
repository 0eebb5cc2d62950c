package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestServe(t *testing.T) {
	m := New()
	m.RunFinished("homes", OutcomeOK, t0)
	m.NewestSnapshot("homes", t0)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, errc, err := Serve(ctx, "127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	base := "http://" + addr.String()

	tests := []struct {
		method, path string
		wantCode     int
		wantBody     []string
	}{
		{"GET", "/metrics", 200, []string{
			`snapd_policy_last_run_success{policy="homes"} 1`,
			`snapd_policy_newest_snapshot_timestamp_seconds{policy="homes"} 1.7118486005e+09`,
			"go_goroutines ", "process_start_time_seconds ", "promhttp_metric_handler_requests_total",
		}},
		{"HEAD", "/metrics", 200, nil},
		{"GET", "/healthz", 200, []string{"ok\n"}},
		{"GET", "/", 200, []string{"/metrics"}},
		{"POST", "/metrics", 405, nil},
		{"GET", "/nope", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.wantCode)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(string(body), want) {
					t.Errorf("%s %s body lacks %q", tt.method, tt.path, want)
				}
			}
		})
	}

	// The same scrape Prometheus does, parsed and compared by client_golang.
	want := `
# HELP snapd_policy_last_run_success 1 if the policy's last run succeeded, 0 if it failed.
# TYPE snapd_policy_last_run_success gauge
snapd_policy_last_run_success{policy="homes"} 1
`
	if err := testutil.ScrapeAndCompare(base+"/metrics", strings.NewReader(want), "snapd_policy_last_run_success"); err != nil {
		t.Error(err)
	}

	cancel()
	select {
	case err, ok := <-errc:
		if err != nil || ok {
			t.Errorf("after cancel: <-errc = %v, %v, want nil, closed", err, ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop within 10s of cancel")
	}
	if c, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		c.Close()
		t.Errorf("dial %s after shutdown succeeded, want refused", addr)
	}
}

func TestServeAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, errc, err := Serve(context.Background(), ln.Addr().String(), http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), "metrics: listen on "+ln.Addr().String()) {
		t.Errorf("Serve on busy %s = %v, want a listen error naming the address", ln.Addr(), err)
	}
	if errc != nil {
		t.Errorf("Serve on busy address returned a channel, want nil")
	}
}

func TestServeShutdownWaitsForScrape(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done\n")
	})
	ctx, cancel := context.WithCancel(context.Background())
	addr, errc, err := Serve(ctx, "127.0.0.1:0", slow)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr.String() + "/metrics")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	select {
	case <-errc:
		t.Fatal("server stopped while a scrape was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if body := <-got; body != "done\n" {
		t.Errorf("in-flight scrape during shutdown got %q, want %q", body, "done\n")
	}
	if err := <-errc; err != nil {
		t.Errorf("shutdown error = %v, want nil", err)
	}
}
