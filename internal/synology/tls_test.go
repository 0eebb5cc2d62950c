package synology

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

func TestTLSOptions(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	n.AddShare("homes")
	other, otherCert, err := dsmfake.NewTLSCert("synology")
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	fp := strings.ToUpper(dsmfake.Fingerprint(n.cert))
	tests := []struct {
		name   string
		tls    TLSOptions
		wantIn []string // empty = connects
	}{
		{"pin with colons", TLSOptions{FingerprintSHA256: dsmfake.FingerprintColons(n.cert)}, nil},
		{"pin upper case without colons", TLSOptions{FingerprintSHA256: fp}, nil},
		{"pin ignores the name", TLSOptions{FingerprintSHA256: fp, ServerName: "not-the-nas"}, nil},
		{"ca file and server name", TLSOptions{CAFile: n.caFile(t), ServerName: "synology"}, nil},
		{"insecure", TLSOptions{InsecureSkipVerify: true}, nil},
		{"wrong pin", TLSOptions{FingerprintSHA256: dsmfake.Fingerprint(otherCert)},
			[]string{"does not match tls.fingerprint_sha256", "renewed"}},
		{"no options", TLSOptions{}, []string{"tls.fingerprint_sha256", "tls.ca_file", "insecure_skip_verify"}},
		{"server name without ca", TLSOptions{ServerName: "synology"}, []string{"tls.fingerprint_sha256", "tls.ca_file"}},
		{"ca file without server name", TLSOptions{CAFile: n.caFile(t)}, []string{"tls.server_name", "synology", "127.0.0.1"}},
		{"ca file and wrong server name", TLSOptions{CAFile: n.caFile(t), ServerName: "nas.example"}, []string{"tls.server_name", "nas.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.ResetCounts()
			c := n.client(t, func(cfg *Config) { cfg.TLS = tt.tls })
			_, err := c.ListShareSnapshots(context.Background(), "homes")
			if len(tt.wantIn) == 0 {
				if err != nil {
					t.Fatalf("ListShareSnapshots with %+v: %v", tt.tls, err)
				}
				return
			}
			var te *TLSError
			if !errors.As(err, &te) {
				t.Fatalf("ListShareSnapshots with %+v = %v, want *TLSError", tt.tls, err)
			}
			want := dsmfake.FingerprintColons(n.cert)
			if !strings.EqualFold(te.Fingerprint, want) || !strings.Contains(strings.ToLower(err.Error()), want) {
				t.Errorf("TLSError %q does not show the presented fingerprint %s", err, want)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("TLSError %q does not contain %q", err, w)
				}
			}
			if got := n.Count("", ""); got != 0 {
				t.Errorf("NAS saw %d requests through a refused certificate", got)
			}
		})
	}
}

func TestTLSErrorNotUncertain(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	n.AddShare("homes")
	c := n.client(t)
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The certificate changes under a live session: the create never leaves the client.
	c.tr.CloseIdleConnections()
	c.tr.TLSClientConfig, _ = tlsConfig(TLSOptions{FingerprintSHA256: strings.Repeat("00", 32)}, "127.0.0.1")
	_, err := c.CreateShareSnapshot(context.Background(), "homes", CreateShareOptions{})
	var te *TLSError
	if !errors.As(err, &te) || errors.Is(err, ErrUncertain) {
		t.Errorf("CreateShareSnapshot through a refused certificate = %v, want *TLSError, not uncertain", err)
	}
	if n.Count(apiShare, "create") != 0 {
		t.Errorf("the create reached the NAS")
	}
}

func TestPeerCertificateSHA256(t *testing.T) {
	n := newNAS(t, dsmfake.Options{})
	c := n.client(t, func(cfg *Config) { cfg.TLS = TLSOptions{} })
	got, err := c.PeerCertificateSHA256(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := dsmfake.FingerprintColons(n.cert); !strings.EqualFold(got, want) || got != strings.ToUpper(got) {
		t.Errorf("PeerCertificateSHA256() = %s, want %s in upper case", got, want)
	}
	if Fingerprint(n.cert.Raw) != got {
		t.Errorf("Fingerprint(der) = %s, want %s", Fingerprint(n.cert.Raw), got)
	}
	plain, err := New(Config{URL: "http://127.0.0.1:5000", User: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.PeerCertificateSHA256(context.Background()); err == nil {
		t.Error("PeerCertificateSHA256 on an http url = nil error")
	}
}
