package logging

import "testing"

func TestRedact(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"none", "login failed", nil, "login failed"},
		{"plain", "bad password hunter2 for admin", []string{"hunter2"}, "bad password *** for admin"},
		{"every occurrence", "a s3cr3t b s3cr3t", []string{"s3cr3t"}, "a *** b ***"},
		{"empty secret ignored", "text", []string{""}, "text"},
		{"query escaped", `Post "https://nas:5001/webapi/entry.cgi?passwd=p%40ss+w%26rd&account=x": EOF`,
			[]string{"p@ss w&rd"}, `Post "https://nas:5001/webapi/entry.cgi?passwd=***&account=x": EOF`},
		{"path escaped", "GET /x/p@ss%20w&rd", []string{"p@ss w&rd"}, "GET /x/***"},
		{"longer first", "sid=abcdef", []string{"abc", "abcdef"}, "sid=***"},
		{"several", "sid=S1 token=T2", []string{"S1", "T2"}, "sid=*** token=***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Redact(%q, %q) = %q, want %q", tt.in, tt.secrets, got, tt.want)
			}
		})
	}
}
