package policy

import (
	"strings"
	"testing"
)

func TestOwnerTag(t *testing.T) {
	tests := []struct{ policy, want string }{
		{"homes", "[snapd:homes]"},
		{"db-01.daily_x", "[snapd:db-01.daily_x]"},
	}
	for _, tt := range tests {
		if got := OwnerTag(tt.policy); got != tt.want {
			t.Errorf("OwnerTag(%q) = %q, want %q", tt.policy, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct{ desc, policy, want string }{
		{"hourly", "homes", "hourly [snapd:homes]"},
		{"", "homes", "[snapd:homes]"},
		{"   ", "homes", "[snapd:homes]"},
		{"nightly  \n", "homes", "nightly [snapd:homes]"},
		{"  leading kept", "homes", "  leading kept [snapd:homes]"},
		{"copied [snapd:other]", "homes", "copied [snapd:other] [snapd:homes]"},
		{"v1.2-rc", "lun-01.db", "v1.2-rc [snapd:lun-01.db]"},
	}
	for _, tt := range tests {
		got := Describe(tt.desc, tt.policy)
		if got != tt.want {
			t.Errorf("Describe(%q, %q) = %q, want %q", tt.desc, tt.policy, got, tt.want)
		}
		if p, ok := Owner(got); !ok || p != tt.policy {
			t.Errorf("Owner(Describe(%q, %q)) = %q, %v, want %q, true", tt.desc, tt.policy, p, ok, tt.policy)
		}
	}
}

func TestOwner(t *testing.T) {
	tests := []struct {
		desc   string
		policy string
		ok     bool
	}{
		{"hourly [snapd:homes]", "homes", true},
		{"[snapd:homes]", "homes", true},
		{"hourly [snapd:homes]  ", "homes", true},
		{"hourly [snapd:homes]\n", "homes", true},
		{"hourly\t[snapd:homes]", "homes", true},
		{"[snapd:db-01.daily_x]", "db-01.daily_x", true},
		{"[snapd:0]", "0", true},
		{"[snapd:" + strings.Repeat("a", 64) + "]", strings.Repeat("a", 64), true},
		// Another policy's tag names that policy, not ours.
		{"nightly [snapd:daily]", "daily", true},
		// Two tags: only the final one counts.
		{"[snapd:homes] [snapd:daily]", "daily", true},
		{"[snapd:a [snapd:b]", "b", true},

		// The tag must be the final token.
		{"[snapd:homes] extra", "", false},
		{"[snapd:homes].", "", false},
		// The tag must stand alone.
		{"hourly[snapd:homes]", "", false},
		// Malformed tags and names that the configuration would reject.
		{"", "", false},
		{"hourly", "", false},
		{"[snapd:]", "", false},
		{"[SNAPD:homes]", "", false},
		{"[snapd:Homes]", "", false},
		{"[snapd:-homes]", "", false},
		{"[snapd:.homes]", "", false},
		{"[snapd:home s]", "", false},
		{"[snapd:homes]]", "", false},
		{"[snapd:homes", "", false},
		{"snapd:homes]", "", false},
		{"[snapd:" + strings.Repeat("a", 65) + "]", "", false},
		{"Snapshot taken by [Synology API]", "", false},
	}
	for _, tt := range tests {
		p, ok := Owner(tt.desc)
		if p != tt.policy || ok != tt.ok {
			t.Errorf("Owner(%q) = %q, %v, want %q, %v", tt.desc, p, ok, tt.policy, tt.ok)
		}
	}
}
