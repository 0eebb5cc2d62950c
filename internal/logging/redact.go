package logging

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
)

// Redacted is what Redact puts in place of a secret.
const Redacted = "***"

// Redact returns s with every occurrence of each non-empty secret replaced by
// "***". It is meant for error strings that may embed a secret, such as a
// transport error quoting a request URL. Because such a URL carries the secret
// percent-encoded, the query- and path-escaped forms of each secret are
// replaced too. Longer secrets are replaced first, so a secret that contains
// another is hidden whole.
func Redact(s string, secrets ...string) string {
	var forms []string
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		forms = append(forms, sec, url.QueryEscape(sec), url.PathEscape(sec))
	}
	slices.SortFunc(forms, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	for _, f := range slices.Compact(forms) {
		s = strings.ReplaceAll(s, f, Redacted)
	}
	return s
}
