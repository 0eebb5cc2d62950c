package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadPassword returns the NAS's DSM password from its one configured source:
// the inline password, the systemd credential PasswordCredential read from credDir
// (the value of $CREDENTIALS_DIRECTORY; "" means it is unset, which is an error),
// the file PasswordFile, or the environment variable PasswordEnv. One trailing
// newline is removed from a credential or file, as `echo secret > file` leaves
// one. An empty password is an error. Errors name the NAS and the source, never the
// password.
func (n *NAS) ReadPassword(credDir string) (string, error) {
	var sources []string
	for _, s := range []struct {
		key string
		set bool
	}{
		{"password", n.Password != ""},
		{"password_credential", n.PasswordCredential != ""},
		{"password_file", n.PasswordFile != ""},
		{"password_env", n.PasswordEnv != ""},
	} {
		if s.set {
			sources = append(sources, s.key)
		}
	}
	switch len(sources) {
	case 0:
		return "", fmt.Errorf("nas %q: no password source configured", n.Name)
	case 1:
	default:
		return "", fmt.Errorf("nas %q: more than one password source configured (%s)", n.Name, strings.Join(sources, ", "))
	}

	var (
		pw     string
		source string
	)
	switch {
	case n.Password != "":
		return n.Password, nil
	case n.PasswordCredential != "":
		source = fmt.Sprintf("password_credential %q", n.PasswordCredential)
		if credDir == "" {
			return "", fmt.Errorf("nas %q: %s: $CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=%s:/path/to/file, or use password_file)", n.Name, source, n.PasswordCredential)
		}
		b, err := os.ReadFile(filepath.Join(credDir, n.PasswordCredential))
		if err != nil {
			return "", fmt.Errorf("nas %q: read %s: %w", n.Name, source, err)
		}
		pw = cfgTrimNewline(string(b))
	case n.PasswordFile != "":
		source = fmt.Sprintf("password_file %q", n.PasswordFile)
		b, err := os.ReadFile(n.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("nas %q: read %s: %w", n.Name, source, err)
		}
		pw = cfgTrimNewline(string(b))
	default:
		source = fmt.Sprintf("password_env %q", n.PasswordEnv)
		v, ok := os.LookupEnv(n.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("nas %q: %s: environment variable $%s is not set", n.Name, source, n.PasswordEnv)
		}
		pw = v
	}
	if pw == "" {
		return "", fmt.Errorf("nas %q: %s: %w", n.Name, source, errCfgEmptyPassword)
	}
	return pw, nil
}

var errCfgEmptyPassword = errors.New("password is empty")

// cfgTrimNewline removes one trailing "\n" or "\r\n"; other whitespace may be part
// of the password.
func cfgTrimNewline(s string) string {
	s, ok := strings.CutSuffix(s, "\n")
	if ok {
		s = strings.TrimSuffix(s, "\r")
	}
	return s
}
