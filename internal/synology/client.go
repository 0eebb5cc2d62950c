package synology

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Config describes one NAS and how to talk to it.
type Config struct {
	URL        string // https://nas:5001
	User       string
	Password   string
	DeviceID   string // a stored 2FA device token ("did"/"device_id"); "" = none
	DeviceName string // label for device tokens; "" = "snapd"
	Session    string // DSM session name; "" = "snapd"
	TLS        TLSOptions
	Timeout    time.Duration                                        // per HTTP request; 0 = 30s
	MaxBody    int64                                                // response size limit; 0 = 16 MiB
	Retry      RetryPolicy                                          // for reads: zero value = 4 attempts, 500ms base, 10s cap, full jitter
	Observe    func(api, method string, d time.Duration, err error) // metrics hook; may be nil
	OnLogin    func(relogin bool)                                   // metrics hook; may be nil
	Logger     *zerolog.Logger                                      // may be nil; never receives secrets
}

// RetryPolicy bounds the retries of reads: at most Attempts tries, sleeping a random
// duration up to min(Max, Base·2^(try-1)) between them.
type RetryPolicy struct {
	Attempts  int
	Base, Max time.Duration
}

// Client talks to one NAS over one DSM session. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL // scheme, host and path prefix; never carries credentials
	http *http.Client
	tr   *http.Transport
	log  zerolog.Logger

	loginSem chan struct{} // held while logging in or out: one login at a time

	mu       sync.Mutex
	sess     *session // nil = not logged in
	deviceID string   // configured or issued by LoginOTP
	secrets  []string // never to appear in an error string
	nstatic  int      // leading secrets from Config, never dropped
}

// New checks cfg and builds a client. It reads the CA file but does not touch the network.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which might hold a password
		}
		return nil, fmt.Errorf("nas url: %w", err)
	}
	switch {
	case u.User != nil:
		return nil, errors.New("nas url: must not carry a user or password, use user and a password source")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("nas url %q: scheme must be https or http", cfg.URL)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("nas url %q: no host", cfg.URL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("nas url %q: must not have a query or fragment", cfg.URL)
	case cfg.User == "":
		return nil, errors.New("nas user is empty")
	}
	tlsSet := cfg.TLS != (TLSOptions{})
	if u.Scheme == "http" && tlsSet {
		return nil, fmt.Errorf("nas url %q: tls options given for a plain http url", cfg.URL)
	}
	if cfg.TLS.InsecureSkipVerify && (cfg.TLS.FingerprintSHA256 != "" || cfg.TLS.CAFile != "") {
		return nil, errors.New("tls: insecure_skip_verify contradicts fingerprint_sha256 and ca_file: set only one")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	if cfg.DeviceName == "" {
		cfg.DeviceName = "snapd"
	}
	if cfg.Session == "" {
		cfg.Session = "snapd"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 16 << 20
	}
	if cfg.Retry.Attempts <= 0 {
		cfg.Retry.Attempts = 4
	}
	if cfg.Retry.Base <= 0 {
		cfg.Retry.Base = 500 * time.Millisecond
	}
	if cfg.Retry.Max <= 0 {
		cfg.Retry.Max = 10 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	if u.Scheme == "https" {
		tc, err := tlsConfig(cfg.TLS, u.Hostname())
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	c := &Client{
		cfg:  cfg,
		base: u,
		tr:   tr,
		http: &http.Client{
			Transport: tr,
			// A redirect is a misconfigured URL or a proxy in front of DSM; following
			// it could replay a mutation elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log:      zerolog.Nop(),
		loginSem: make(chan struct{}, 1),
		deviceID: cfg.DeviceID,
	}
	if cfg.Logger != nil {
		c.log = cfg.Logger.With().Str("host", u.Host).Logger()
	}
	c.addSecret(cfg.Password, cfg.DeviceID)
	c.nstatic = len(c.secrets)
	return c, nil
}

// PeerCertificateSHA256 connects to the NAS and returns the SHA-256 fingerprint of the
// certificate it presents (upper-case hex with colons), without checking it.
func (c *Client) PeerCertificateSHA256(ctx context.Context) (string, error) {
	if c.base.Scheme != "https" {
		return "", fmt.Errorf("peer certificate: %s is not an https url", c.base.Redacted())
	}
	addr := c.base.Host
	if c.base.Port() == "" {
		addr = net.JoinHostPort(c.base.Hostname(), "443")
	}
	name := c.base.Hostname()
	if c.cfg.TLS.ServerName != "" {
		name = c.cfg.TLS.ServerName
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, ServerName: name, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("peer certificate of %s: %w", addr, err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", fmt.Errorf("peer certificate of %s: none presented", addr)
	}
	return Fingerprint(certs[0].Raw), nil
}

// addSecret records values that must never appear in an error string.
func (c *Client) addSecret(vals ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range vals {
		if len(v) >= 4 {
			c.secrets = append(c.secrets, v)
		}
	}
	// Session ids and tokens pile up over re-logins; the ones from Config stay.
	if len(c.secrets) > 64 {
		c.secrets = append(c.secrets[:c.nstatic:c.nstatic], c.secrets[len(c.secrets)-32:]...)
	}
}

// scrub removes every known secret from err's message, keeping err in the chain for
// errors.Is and errors.As.
func (c *Client) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	c.mu.Lock()
	clean := msg
	for _, s := range c.secrets {
		clean = strings.ReplaceAll(clean, s, "[redacted]")
	}
	c.mu.Unlock()
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
