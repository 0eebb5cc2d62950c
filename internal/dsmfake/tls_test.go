package dsmfake

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestTLSCert(t *testing.T) {
	cert, leaf, err := NewTLSCert("synology")
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "synology" || len(leaf.IPAddresses) != 0 || len(leaf.URIs) != 0 || len(leaf.EmailAddresses) != 0 {
		t.Errorf("SANs = %v %v %v %v, want only DNS synology", leaf.DNSNames, leaf.IPAddresses, leaf.URIs, leaf.EmailAddresses)
	}
	sum := sha256.Sum256(leaf.Raw)
	if fp := Fingerprint(leaf); fp != hex.EncodeToString(sum[:]) || len(fp) != 64 || strings.ToLower(fp) != fp {
		t.Errorf("Fingerprint = %q", fp)
	}
	if fc := FingerprintColons(leaf); strings.ReplaceAll(fc, ":", "") != Fingerprint(leaf) || len(fc) != 95 {
		t.Errorf("FingerprintColons = %q", fc)
	}
	block, _ := pem.Decode(CertPEM(leaf))
	if block == nil || block.Type != "CERTIFICATE" || string(block.Bytes) != string(leaf.Raw) {
		t.Fatalf("CertPEM does not round-trip")
	}

	n := New(Options{Logf: t.Logf})
	n.AddUser(User{Name: "snapd", Password: "pw"})
	srv := httptest.NewUnstartedServer(n)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	login := url.Values{"api": {"SYNO.API.Auth"}, "version": {"7"}, "method": {"login"}, "account": {"snapd"}, "passwd": {"pw"}}

	tests := []struct {
		name    string
		cfg     *tls.Config
		wantErr bool
	}{
		{"CA file and server name", &tls.Config{RootCAs: pool, ServerName: "synology"}, false},
		{"CA file, connecting by IP", &tls.Config{RootCAs: pool}, true},
		{"system roots", &tls.Config{ServerName: "synology"}, true},
		{"pinned fingerprint", &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
			if Fingerprint(cs.PeerCertificates[0]) != Fingerprint(leaf) {
				t.Errorf("peer fingerprint differs")
			}
			return nil
		}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: tt.cfg}}
			resp, err := c.PostForm(srv.URL+"/webapi/entry.cgi", login)
			if err == nil {
				resp.Body.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("login over TLS = %v, want error %v", err, tt.wantErr)
			}
		})
	}

	t.Run("dropped over TLS", func(t *testing.T) {
		n.InjectFault(Fault{API: "SYNO.API.Auth", Drop: true, Times: 1})
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "synology"}}}
		resp, err := c.PostForm(srv.URL+"/webapi/entry.cgi", login)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("dropped login answered %d", resp.StatusCode)
		}
	})
}
