package synology

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

const (
	testUser     = "snapshot-bot"
	testPassword = "Pa55-w0rd-very-secret"
)

// clock is the fake NAS's clock; tests move it so creates land in distinct seconds.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// nas is a fake NAS served over loopback HTTPS with a certificate whose only name is the
// DNS name "synology", as DSM's self-signed one.
type nas struct {
	*dsmfake.NAS
	srv   *httptest.Server
	cert  *x509.Certificate
	clock *clock
	logs  *syncBuffer

	mu   sync.Mutex
	urls []string // request URLs as received
}

func newNAS(t *testing.T, opts dsmfake.Options) *nas {
	t.Helper()
	tc, cert, err := dsmfake.NewTLSCert("synology")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	n := dsmfake.New(opts)
	n.AddUser(dsmfake.User{Name: testUser, Password: testPassword})
	out := &nas{NAS: n, cert: cert, clock: clk, logs: &syncBuffer{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out.mu.Lock()
		out.urls = append(out.urls, r.URL.String())
		out.mu.Unlock()
		n.ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{tc}}
	// Refused handshakes are part of the tests, not news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	out.srv = srv
	return out
}

// config returns a client configuration that pins the NAS's certificate and retries fast.
func (n *nas) config() Config {
	l := zerolog.New(n.logs).Level(zerolog.DebugLevel)
	return Config{
		URL:      n.srv.URL,
		User:     testUser,
		Password: testPassword,
		TLS:      TLSOptions{FingerprintSHA256: dsmfake.FingerprintColons(n.cert)},
		Timeout:  2 * time.Second,
		Retry:    RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: 5 * time.Millisecond},
		Logger:   &l,
	}
}

func (n *nas) client(t *testing.T, edit ...func(*Config)) *Client {
	t.Helper()
	cfg := n.config()
	for _, e := range edit {
		e(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.tr.CloseIdleConnections() })
	return c
}

// caFile writes the NAS certificate as a PEM file.
func (n *nas) caFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "nas.pem")
	if err := os.WriteFile(p, dsmfake.CertPEM(n.cert), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// secrets returns every sid and SynoToken the NAS saw, plus the password.
func (n *nas) secrets() []string {
	seen := map[string]bool{testPassword: true}
	for _, r := range n.Requests() {
		for _, k := range []string{"_sid", "SynoToken"} {
			if v := r.Params.Get(k); v != "" {
				seen[v] = true
			}
		}
		if v := r.Header.Get("X-SYNO-TOKEN"); v != "" {
			seen[v] = true
		}
	}
	for _, d := range n.IssuedDeviceIDs() {
		seen[d] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	return out
}

// assertNoSecret fails if any secret of the NAS appears in s.
func (n *nas) assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range n.secrets() {
		if strings.Contains(s, sec) {
			t.Errorf("%s contains a secret (%.3s…): %s", what, sec, s)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
