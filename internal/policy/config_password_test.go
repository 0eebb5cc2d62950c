package policy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadPassword(t *testing.T) {
	const secret = "s3cr3t pass"
	dir := t.TempDir()
	credDir := filepath.Join(dir, "creds")
	if err := os.Mkdir(credDir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(path, content string) string {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write(filepath.Join(credDir, "nas-password"), secret)
	write(filepath.Join(credDir, "nl-password"), secret+"\n")
	write(filepath.Join(credDir, "empty"), "")
	crlf := write(filepath.Join(dir, "crlf"), secret+"\r\n")
	twoNL := write(filepath.Join(dir, "two-newlines"), secret+"\n\n")
	plain := write(filepath.Join(dir, "plain"), secret)
	emptyFile := write(filepath.Join(dir, "empty"), "\n")
	t.Setenv("SNAPD_TEST_PW", secret)
	t.Setenv("SNAPD_TEST_EMPTY", "")

	for _, tc := range []struct {
		name    string
		nas     NAS
		credDir string
		want    string
	}{
		{"inline", NAS{Password: secret}, "", secret},
		{"credential", NAS{PasswordCredential: "nas-password"}, credDir, secret},
		{"credential trailing newline", NAS{PasswordCredential: "nl-password"}, credDir, secret},
		{"file", NAS{PasswordFile: plain}, "", secret},
		{"file crlf", NAS{PasswordFile: crlf}, "", secret},
		{"file keeps all but one newline", NAS{PasswordFile: twoNL}, "", secret + "\n"},
		{"env", NAS{PasswordEnv: "SNAPD_TEST_PW"}, credDir, secret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.nas.Name = "n"
			got, err := tc.nas.ReadPassword(tc.credDir)
			if err != nil || got != tc.want {
				t.Errorf("ReadPassword(%q) = %q, %v, want %q", tc.credDir, got, err, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name    string
		nas     NAS
		credDir string
		want    []string // substrings of the error
		is      error
	}{
		{"no source", NAS{}, credDir, []string{`nas "n": no password source`}, nil},
		{"two sources", NAS{PasswordFile: plain, PasswordEnv: "SNAPD_TEST_PW"}, credDir,
			[]string{`nas "n": more than one password source`, "password_file, password_env"}, nil},
		{"credential without CREDENTIALS_DIRECTORY", NAS{PasswordCredential: "nas-password"}, "",
			[]string{`nas "n": password_credential "nas-password": $CREDENTIALS_DIRECTORY is not set`}, nil},
		{"missing credential", NAS{PasswordCredential: "other"}, credDir,
			[]string{`nas "n": read password_credential "other"`}, fs.ErrNotExist},
		{"empty credential", NAS{PasswordCredential: "empty"}, credDir,
			[]string{`nas "n": password_credential "empty": password is empty`}, errCfgEmptyPassword},
		{"missing file", NAS{PasswordFile: filepath.Join(dir, "nope")}, "",
			[]string{`nas "n": read password_file "` + filepath.Join(dir, "nope") + `"`}, fs.ErrNotExist},
		{"empty file", NAS{PasswordFile: emptyFile}, "",
			[]string{`password_file "` + emptyFile + `": password is empty`}, errCfgEmptyPassword},
		{"unset env", NAS{PasswordEnv: "SNAPD_TEST_UNSET_VARIABLE"}, "",
			[]string{`nas "n": password_env "SNAPD_TEST_UNSET_VARIABLE": environment variable $SNAPD_TEST_UNSET_VARIABLE is not set`}, nil},
		{"empty env", NAS{PasswordEnv: "SNAPD_TEST_EMPTY"}, "",
			[]string{`password_env "SNAPD_TEST_EMPTY": password is empty`}, errCfgEmptyPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.nas.Name = "n"
			got, err := tc.nas.ReadPassword(tc.credDir)
			if err == nil {
				t.Fatalf("ReadPassword(%q) = %q, nil, want an error", tc.credDir, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ReadPassword(%q) error = %q, want it to contain %q", tc.credDir, err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("ReadPassword(%q) error = %v, want errors.Is %v", tc.credDir, err, tc.is)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("ReadPassword(%q) error %q reveals the password", tc.credDir, err)
			}
		})
	}
}

// TestReadPasswordFromLoadedConfig reads a password_file given relative to the
// configuration file, the way the daemon does after Load.
func TestReadPasswordFromLoadedConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nas-password"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	doc := `
nas:
  n: {url: "https://n.lan", user: u, password_file: nas-password}
policies:
  p: {share: s, schedule: "@hourly", retention: {keep_last: 1}}
`
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(cfgPath)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if got, err := cfg.NAS["n"].ReadPassword(""); err != nil || got != "pw" {
		t.Errorf("ReadPassword = %q, %v, want %q", got, err, "pw")
	}
}
