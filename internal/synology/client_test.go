package synology

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    Config
		wantIn string
	}{
		{"ok", Config{URL: "https://nas.lan:5001", User: "u"}, ""},
		{"ok with path prefix", Config{URL: "https://proxy.lan/dsm/", User: "u"}, ""},
		{"ok http", Config{URL: "http://nas.lan:5000", User: "u"}, ""},
		{"no scheme", Config{URL: "nas.lan:5001", User: "u"}, "scheme"},
		{"ftp", Config{URL: "ftp://nas.lan", User: "u"}, "scheme"},
		{"no host", Config{URL: "https://", User: "u"}, "no host"},
		{"credentials in url", Config{URL: "https://bob:hunter22@nas.lan:5001", User: "u"}, "must not carry"},
		{"credentials in a bad url", Config{URL: "ftp://bob:hunter22@nas.lan:5001", User: "u"}, "must not carry"},
		{"unparseable url with credentials", Config{URL: "https://bob:hunter22@nas.lan:port", User: "u"}, "nas url"},
		{"query", Config{URL: "https://nas.lan:5001/?x=1", User: "u"}, "query"},
		{"no user", Config{URL: "https://nas.lan:5001"}, "user"},
		{"tls on http", Config{URL: "http://nas.lan:5000", User: "u", TLS: TLSOptions{InsecureSkipVerify: true}}, "plain http"},
		{"insecure and pin", Config{URL: "https://nas.lan", User: "u", TLS: TLSOptions{InsecureSkipVerify: true, FingerprintSHA256: strings.Repeat("ab", 32)}}, "contradicts"},
		{"short pin", Config{URL: "https://nas.lan", User: "u", TLS: TLSOptions{FingerprintSHA256: "abcd"}}, "64 hex digits"},
		{"missing ca file", Config{URL: "https://nas.lan", User: "u", TLS: TLSOptions{CAFile: filepath.Join(dir, "nope.pem")}}, "ca_file"},
		{"junk ca file", Config{URL: "https://nas.lan", User: "u", TLS: TLSOptions{CAFile: junk}}, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.wantIn == "" && err != nil || tt.wantIn != "" && (err == nil || !strings.Contains(err.Error(), tt.wantIn)) {
				t.Errorf("New(%s) = %v, want error containing %q", tt.cfg.URL, err, tt.wantIn)
			}
			if err != nil && strings.Contains(err.Error(), "hunter22") {
				t.Errorf("New error shows the password: %v", err)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	c, err := New(Config{URL: "https://nas.lan:5001", User: "u", Password: "hunter2-secret", DeviceID: "did-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	c.addSecret("sid-abcdef", "tok", "")
	for i := 0; i < 100; i++ {
		c.addSecret("sid-" + strconv.Itoa(1000+i))
	}
	inner := fmt.Errorf("%w: dial hunter2-secret did-0123456789 sid-1099 tok", ErrUncertain)
	got := c.scrub(inner)
	if msg := got.Error(); strings.Contains(msg, "hunter2-secret") || strings.Contains(msg, "did-0123456789") || strings.Contains(msg, "sid-1099") {
		t.Errorf("scrub() = %q, want the password, device id and newest sid redacted", msg)
	}
	if !strings.Contains(got.Error(), "tok") {
		t.Errorf("scrub() = %q, want secrets shorter than 4 left alone", got)
	}
	if !errors.Is(got, ErrUncertain) {
		t.Errorf("scrub() lost the wrapped sentinel: %v", got)
	}
	if plain := errors.New("nothing secret"); c.scrub(plain) != plain {
		t.Errorf("scrub() rewrapped an error without secrets")
	}
	if c.scrub(nil) != nil {
		t.Errorf("scrub(nil) != nil")
	}
	if len(c.secrets) > 64 {
		t.Errorf("%d secrets kept, want at most 64", len(c.secrets))
	}
}
