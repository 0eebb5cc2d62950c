package daemon

import (
	"testing"

	"github.com/synology-snapd/snapd/internal/policy"
)

func TestPaths(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("RUNTIME_DIRECTORY", "")
	t.Setenv("SNAPD_CONFIG", "")
	if got := StateDir(nil); got != DefaultStateDir {
		t.Errorf("StateDir() = %q, want %q", got, DefaultStateDir)
	}
	if got := StateDir(&policy.Config{StateDir: "/srv/snapd"}); got != "/srv/snapd" {
		t.Errorf("StateDir(state_dir) = %q, want /srv/snapd", got)
	}
	if got := SocketPath(); got != "/run/synology-snapd/control.sock" {
		t.Errorf("SocketPath() = %q", got)
	}
	if got := ConfigPath(""); got != DefaultConfig {
		t.Errorf("ConfigPath() = %q, want %q", got, DefaultConfig)
	}
	// systemd's variables win, and may list several directories.
	t.Setenv("STATE_DIRECTORY", "/var/lib/private/synology-snapd:/var/lib/other")
	t.Setenv("RUNTIME_DIRECTORY", "/run/synology-snapd-x")
	t.Setenv("SNAPD_CONFIG", "/etc/x.yaml")
	if got := StateDir(&policy.Config{StateDir: "/srv/snapd"}); got != "/var/lib/private/synology-snapd" {
		t.Errorf("StateDir with $STATE_DIRECTORY = %q", got)
	}
	if got := SocketPath(); got != "/run/synology-snapd-x/control.sock" {
		t.Errorf("SocketPath with $RUNTIME_DIRECTORY = %q", got)
	}
	if got := ConfigPath(""); got != "/etc/x.yaml" {
		t.Errorf("ConfigPath with $SNAPD_CONFIG = %q", got)
	}
	if got := ConfigPath("/a.yaml"); got != "/a.yaml" {
		t.Errorf("ConfigPath(flag) = %q", got)
	}
}
