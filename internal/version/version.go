// Package version reports the build's version and commit, set by the linker.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and Commit are set with -ldflags "-X ...". When unset they fall back to the
// module and VCS information the Go toolchain embeds.
var (
	Version = ""
	Commit  = ""
)

// String returns "snapd <version> (commit <commit>, <go version>)".
func String() string {
	v, c := Version, Commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
				if len(c) > 12 {
					c = c[:12]
				}
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("snapd %s (commit %s, %s)", v, c, runtime.Version())
}
