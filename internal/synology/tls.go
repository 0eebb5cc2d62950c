package synology

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// TLSOptions say how the NAS's certificate is checked. With none set, it must chain to a
// system root and name the URL's host.
type TLSOptions struct {
	CAFile             string // PEM bundle to trust
	FingerprintSHA256  string // leaf pin: hex SHA-256 of the DER, any case, colons optional
	ServerName         string // verify against this name instead of the URL host
	InsecureSkipVerify bool
}

// TLSError is a certificate the client refused. Its message names the option that would
// make the connection work and the fingerprint of the certificate the NAS presented.
type TLSError struct {
	Host        string   // the name the certificate was checked against
	Reason      string   // what failed
	Fingerprint string   // SHA-256 of the presented leaf, upper-case hex with colons
	Names       []string // DNS and IP names the presented leaf is valid for
	Hint        string   // what to configure
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("tls: certificate presented for %s refused: %s; presented certificate SHA-256 %s; %s",
		e.Host, e.Reason, e.Fingerprint, e.Hint)
}

// Fingerprint returns the SHA-256 of a DER certificate as upper-case hex with colons,
// as `openssl x509 -fingerprint -sha256` prints it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hexColons(sum[:])
}

// normalizePin turns a configured pin into 32 bytes.
func normalizePin(pin string) ([]byte, error) {
	s := strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(pin))
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("tls fingerprint_sha256 %q: want 64 hex digits (colons allowed)", pin)
	}
	return b, nil
}

// tlsConfig builds the client TLS configuration. Verification is always done by hand in
// VerifyConnection, with the standard one switched off, so that a refused certificate
// can still be reported with its fingerprint.
func tlsConfig(o TLSOptions, host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	name := host
	if o.ServerName != "" {
		name = o.ServerName
		cfg.ServerName = o.ServerName
	}
	if o.InsecureSkipVerify {
		return cfg, nil
	}
	if o.FingerprintSHA256 != "" {
		pin, err := normalizePin(o.FingerprintSHA256)
		if err != nil {
			return nil, err
		}
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			leaf, err := leafOf(cs)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(leaf.Raw)
			if subtle.ConstantTimeCompare(sum[:], pin) == 1 {
				return nil
			}
			return &TLSError{Host: name, Reason: "its SHA-256 does not match tls.fingerprint_sha256 " + hexColons(pin),
				Fingerprint: Fingerprint(leaf.Raw), Names: certNames(leaf),
				Hint: "if the NAS certificate was renewed, set tls.fingerprint_sha256 to the presented fingerprint after checking it on the NAS"}
		}
		return cfg, nil
	}
	var roots *x509.CertPool
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca_file %s: no PEM certificate in it", o.CAFile)
		}
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		leaf, err := leafOf(cs)
		if err != nil {
			return err
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, verr := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter})
		if verr == nil {
			return nil
		}
		e := &TLSError{Host: name, Fingerprint: Fingerprint(leaf.Raw), Names: certNames(leaf)}
		// Tell a wrong name apart from an untrusted chain: they need different options.
		_, chainErr := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
		names := strings.Join(e.Names, ", ")
		switch {
		case chainErr == nil:
			e.Reason = verr.Error()
			e.Hint = fmt.Sprintf("the certificate is trusted but names %s: set tls.server_name to one of those names, or pin it with tls.fingerprint_sha256", names)
			return e
		case leaf.VerifyHostname(name) != nil:
			e.Reason = fmt.Sprintf("%v, and it names %s, not %s", chainErr, names, name)
		default:
			e.Reason = chainErr.Error()
		}
		if o.CAFile != "" {
			e.Hint = fmt.Sprintf("it does not chain to tls.ca_file %s: fix the CA file, or pin the NAS certificate with tls.fingerprint_sha256 (usual for DSM's self-signed certificate)", o.CAFile)
		} else {
			e.Hint = "set tls.fingerprint_sha256 to the presented fingerprint after checking it on the NAS (usual for DSM's self-signed certificate), or tls.ca_file to the CA that signed it (with tls.server_name if it does not name the host in the url); tls.insecure_skip_verify turns checking off"
		}
		return e
	}
	return cfg, nil
}

func hexColons(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

func leafOf(cs tls.ConnectionState) (*x509.Certificate, error) {
	if len(cs.PeerCertificates) == 0 {
		return nil, errors.New("tls: the server presented no certificate")
	}
	return cs.PeerCertificates[0], nil
}

func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName+" (common name only, not used for checking)")
	}
	return names
}
