package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/synology-snapd/snapd/internal/dsmfake"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/state"
	"github.com/synology-snapd/snapd/internal/synology"
)

// clock is a settable time shared by the fake NAS and the runner, so that runs an hour
// apart take no real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a runner wired to a fake NAS over real loopback HTTPS and a real bbolt file.
type env struct {
	t     *testing.T
	nas   *dsmfake.NAS
	srv   *httptest.Server
	clock *clock
	db    *state.DB
	cfg   *policy.Config
	r     *Runner
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// newEnv builds an env whose config holds the given policies block (YAML, indented by
// two spaces under `policies:`) against one NAS named "nas1".
func newEnv(t *testing.T, policies string) *env {
	t.Helper()
	clk := &clock{t: start}
	nas := dsmfake.New(dsmfake.Options{Now: clk.Now, Strict: true, Logf: t.Logf})
	nas.AddUser(dsmfake.User{Name: "snapd", Password: "s3cret"})
	nas.AddShare("homes")
	nas.AddShare("media")
	nas.AddLUN(dsmfake.LUN{UUID: "lun-uuid-1", Name: "vm-store", Location: "/volume1", Size: 1 << 30, TypeStr: "BLUN"})
	nas.AddPlan(dsmfake.Plan{ID: "plan-homes", TargetType: "share", TargetName: "homes"})
	srv := httptest.NewTLSServer(nas)
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(srv.Certificate().Raw)
	yml := fmt.Sprintf(`timezone: UTC
nas:
  nas1:
    url: %s
    user: snapd
    password: s3cret
    tls: {fingerprint_sha256: %q}
    timeout: 5s
policies:
%s`, srv.URL, hex.EncodeToString(sum[:]), policies)
	cfg, err := policy.Parse("test.yaml", []byte(yml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yml)
	}
	db, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := synology.New(synology.Config{URL: srv.URL, User: "snapd", Password: "s3cret", TLS: synology.TLSOptions{FingerprintSHA256: cfg.NAS["nas1"].TLS.FingerprintSHA256}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	shared := NewShared()
	shared.SetClient("nas1", c)
	r := &Runner{Config: cfg, Shared: shared, Journal: db, Log: zerolog.New(zerolog.NewTestWriter(t)), Now: clk.Now, CreateSpacing: time.Nanosecond}
	return &env{t: t, nas: nas, srv: srv, clock: clk, db: db, cfg: cfg, r: r}
}

// shareNames returns the names of a share's snapshots on the fake, oldest first.
func (e *env) shareNames(share string) []string {
	var out []string
	for _, s := range e.nas.ShareSnapshots(share) {
		out = append(out, s.Name)
	}
	return out
}

// journal returns every journal entry as "action outcome snapshot" lines.
func (e *env) journal() []string {
	es, err := e.db.Entries(state.Filter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, x := range es {
		out = append(out, strings.TrimSpace(x.Action+" "+x.Outcome+" "+x.Snapshot))
	}
	return out
}

// seed adds n snapshots of share owned by policy (desc tagged), one per hour back from
// the clock.
func (e *env) seed(share, pol string, n int, every time.Duration) []string {
	var names []string
	for i := n; i >= 1; i-- {
		names = append(names, e.nas.AddShareSnapshot(share, dsmfake.ShareSnapshot{Time: e.clock.Now().Add(-time.Duration(i) * every), Desc: policy.Describe("hourly", pol), Lock: false}))
	}
	return names
}
