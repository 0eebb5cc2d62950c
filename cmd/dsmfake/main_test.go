package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

// buildBinary compiles the command into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dsmfake")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// waitFile waits until path holds a complete line.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return ""
}

func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seed, []byte("options: {zone: Asia/Tokyo, profile: dsm6}\nshares:\n  - name: homes\n    generate: {every: 1h, count: 10}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dump, urlFile := filepath.Join(dir, "dump.yaml"), filepath.Join(dir, "url")
	cmd := exec.Command(bin, "--seed", seed, "--dump", dump, "--cert-dir", dir, "--url-file", urlFile,
		"--profile", "dsm7", "--user", "admin", "--password", "s3cret", "--verbose")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var httpURL, httpsURL, fpColons, fpHex string
	for fpHex == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stdout closed early; stderr:\n%s", stderr.String())
			}
			switch {
			case strings.HasPrefix(l, "dsmfake: listening on http://"):
				httpURL = strings.Fields(l)[3]
			case strings.HasPrefix(l, "dsmfake: listening on https://"):
				httpsURL = strings.Fields(l)[3]
			case strings.HasPrefix(l, "sha256 fingerprint: "):
				fpColons = strings.TrimPrefix(l, "sha256 fingerprint: ")
			case strings.HasPrefix(l, "sha256 fingerprint hex: "):
				fpHex = strings.TrimPrefix(l, "sha256 fingerprint hex: ")
			default:
				t.Errorf("unexpected stdout line %q", l)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no fingerprint line; stderr:\n%s", stderr.String())
		}
	}
	if got := waitFile(t, urlFile); got != httpsURL || !strings.HasPrefix(httpURL, "http://127.0.0.1:") {
		t.Fatalf("url file = %q, stdout URLs %q %q", got, httpURL, httpsURL)
	}
	if strings.ReplaceAll(fpColons, ":", "") != fpHex || len(fpHex) != 64 {
		t.Fatalf("fingerprints %q and %q disagree", fpColons, fpHex)
	}

	// Pin the printed fingerprint and connect by IP, as a client configured with it would.
	pinned := &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if hex.EncodeToString(sum[:]) != fpHex {
			return errors.New("fingerprint mismatch")
		}
		return nil
	}}
	login := url.Values{"api": {"SYNO.API.Auth"}, "version": {"7"}, "method": {"login"}, "account": {"admin"},
		"passwd": {"s3cret"}, "enable_syno_token": {"yes"}}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: pinned}, Timeout: 10 * time.Second}
	sid := postLogin(t, c, httpsURL, login)

	// The written certificate works as a CA file with the server name "synology".
	pemBytes, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("cert.pem holds no certificate")
	}
	caClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "synology"}}, Timeout: 10 * time.Second}
	postLogin(t, caClient, httpsURL, url.Values{"api": {"SYNO.API.Auth"}, "version": {"7"}, "method": {"login"},
		"account": {"snapd"}, "passwd": {"snapd"}})

	// A create over plain HTTP shows up in the dump.
	resp, err := http.PostForm(httpURL+"/webapi/entry.cgi", url.Values{"api": {"SYNO.Core.Share.Snapshot"}, "version": {"1"},
		"method": {"create"}, "name": {`"homes"`}, "snapinfo": {`{"desc":"from the test"}`}, "_sid": {sid}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var created struct {
		Success bool   `json:"success"`
		Data    string `json:"data"`
	}
	if err := json.Unmarshal(body, &created); err != nil || !created.Success || !strings.HasPrefix(created.Data, "GMT+09-") {
		t.Fatalf("create = %s (%v), want a GMT+09 name (zone from the seed)", body, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGTERM")
	}
	n := dsmfake.New(dsmfake.Options{Logf: t.Logf})
	f, err := os.Open(dump)
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	defer f.Close()
	if err := n.LoadState(f); err != nil {
		t.Fatalf("LoadState(dump) = %v", err)
	}
	snaps := n.ShareSnapshots("homes")
	if len(snaps) != 11 || snaps[10].Desc != "from the test" || n.Options().Profile != dsmfake.DSM7 {
		t.Errorf("dump has %d homes snapshots (newest %+v), profile %s; want 11, the test's last, dsm7 (flag over seed)",
			len(snaps), snaps[len(snaps)-1], n.Options().Profile)
	}
	if !strings.Contains(stderr.String(), "SYNO.Core.Share.Snapshot.create v1 ok") {
		t.Errorf("--verbose did not log the create; stderr:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "s3cret") || strings.Contains(stderr.String(), sid) {
		t.Errorf("stderr carries a secret:\n%s", stderr.String())
	}
}

func postLogin(t *testing.T, c *http.Client, base string, form url.Values) string {
	t.Helper()
	resp, err := c.PostForm(base+"/webapi/entry.cgi", form)
	if err != nil {
		t.Fatalf("login over HTTPS: %v", err)
	}
	defer resp.Body.Close()
	var a struct {
		Success bool `json:"success"`
		Data    struct {
			SID string `json:"sid"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || !a.Success || a.Data.SID == "" {
		t.Fatalf("login answer %+v (%v)", a, err)
	}
	return a.Data.SID
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no listeners", []string{"--listen", "", "--tls-listen", ""}, true, "both --listen and --tls-listen are off"},
		{"bad profile", []string{"--profile", "dsm5"}, true, "unknown profile"},
		{"bad order", []string{"--order", "sideways"}, true, "unknown order"},
		{"bad zone", []string{"--zone", "Nowhere/None"}, true, "--zone"},
		{"stray argument", []string{"extra"}, true, "unexpected arguments"},
		{"unknown flag", []string{"--nope"}, true, "not defined"},
		{"missing seed", []string{"--seed", "/nonexistent/seed.yaml"}, false, "open seed"},
		{"bad listen", []string{"--listen", "256.0.0.1:0"}, false, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out, errOut bytes.Buffer
			err := run(ctx, tt.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, new(usageError)) != tt.usage {
				t.Errorf("run(%q) = %v, want an error with %q (usage %v)", tt.args, err, tt.want, tt.usage)
			}
		})
	}
	if err := run(context.Background(), []string{"-h"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-h) = %v, want flag.ErrHelp", err)
	}
}

func TestRunInProcess(t *testing.T) {
	dir := t.TempDir()
	dump, urlFile := filepath.Join(dir, "dump.yaml"), filepath.Join(dir, "url")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- run(ctx, []string{"--tls-listen", "", "--url-file", urlFile, "--dump", dump, "--strict", "--limit", "7",
			"--order", "shuffled", "--idle-timeout", "1m", "--require-synotoken", "--no-dr"}, &out, io.Discard)
	}()
	u := waitFile(t, urlFile)
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Errorf("url file = %q, want the HTTP URL when HTTPS is off", u)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run = %v", err)
	}
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"strict: true", "limit: 7", "order: shuffled", "idle_timeout: 1m0s", "require_syno_token: true", "no_dr_package: true", "name: snapd"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("dump lacks %q:\n%s", want, b)
		}
	}
}
