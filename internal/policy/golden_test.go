package policy

import "flag"

// update makes the golden-file tests (invalid configs, retention plans) rewrite their
// expected files instead of comparing against them: go test ./internal/policy -update.
var update = flag.Bool("update", false, "rewrite golden files")
