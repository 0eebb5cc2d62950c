package daemon

import (
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/synology-snapd/snapd/internal/metrics"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/synology"
)

// Default paths (SPEC §1).
const (
	DefaultConfig     = "/etc/synology-snapd/config.yaml"
	DefaultStateDir   = "/var/lib/synology-snapd"
	DefaultRuntimeDir = "/run/synology-snapd"
)

// ConfigPath is the --config flag, else $SNAPD_CONFIG, else the default.
func ConfigPath(flag string) string {
	if flag != "" {
		return flag
	}
	if p := os.Getenv("SNAPD_CONFIG"); p != "" {
		return p
	}
	return DefaultConfig
}

// StateDir is $STATE_DIRECTORY when systemd sets it, else the config's state_dir, else
// the default.
func StateDir(cfg *policy.Config) string {
	if d := firstDir(os.Getenv("STATE_DIRECTORY")); d != "" {
		return d
	}
	if cfg != nil && cfg.StateDir != "" {
		return cfg.StateDir
	}
	return DefaultStateDir
}

// SocketPath is the control socket: $RUNTIME_DIRECTORY/control.sock, else the default.
func SocketPath() string {
	if d := firstDir(os.Getenv("RUNTIME_DIRECTORY")); d != "" {
		return filepath.Join(d, "control.sock")
	}
	return filepath.Join(DefaultRuntimeDir, "control.sock")
}

// firstDir takes the first of systemd's colon-separated directory list.
func firstDir(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] == ':' {
			return v[:i]
		}
	}
	return v
}

// NewClient builds the DSM client of one configured NAS. deviceToken is a stored 2FA
// device token ("" = none).
func NewClient(n *policy.NAS, deviceToken string, log zerolog.Logger, m *metrics.Metrics) (*synology.Client, error) {
	pw, err := n.ReadPassword(os.Getenv("CREDENTIALS_DIRECTORY"))
	if err != nil {
		return nil, err
	}
	l := log.With().Str("nas", n.Name).Logger()
	cfg := synology.Config{
		URL:      n.URL,
		User:     n.User,
		Password: pw,
		DeviceID: deviceToken,
		TLS: synology.TLSOptions{
			CAFile:             n.TLS.CAFile,
			FingerprintSHA256:  n.TLS.FingerprintSHA256,
			ServerName:         n.TLS.ServerName,
			InsecureSkipVerify: n.TLS.InsecureSkipVerify,
		},
		Timeout: n.Timeout,
		Logger:  &l,
	}
	cfg.OnLogin = func(relogin bool) {
		l.Info().Str("action", "nas.login").Str("outcome", "ok").Bool("relogin", relogin).Msg("logged in to " + n.Name)
		m.Login(n.Name, relogin)
	}
	if m != nil {
		cfg.Observe = func(api, method string, d time.Duration, err error) { m.ObserveAPI(n.Name, api, method, d, err) }
	}
	return synology.New(cfg)
}
