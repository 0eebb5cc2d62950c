#!/bin/bash
# Run TestRealJournald against a real systemd-journald started in a private
# mount and PID namespace with its own tmpfs /run, so neither the host's journal
# nor its kernel log is touched. Needs root, unshare(1) and systemd-journald.
#
# usage: real-journald.sh [REPO]   (REPO defaults to the checkout holding this script)
set -euo pipefail

dir=${1:-$(dirname "$0")/../../..}
repo=$(cd "$dir" 2>/dev/null && pwd) || { echo "real-journald: no such directory: $dir" >&2; exit 2; }
journald=${JOURNALD:-/lib/systemd/systemd-journald}
go=$(command -v "${GO:-go}") || { echo "real-journald: go not found in PATH" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || { echo "real-journald: must run as root" >&2; exit 2; }
[ -x "$journald" ] || { echo "real-journald: $journald not found (set JOURNALD=)" >&2; exit 2; }
command -v journalctl >/dev/null || { echo "real-journald: journalctl not found" >&2; exit 2; }
[ -f "$repo/go.mod" ] || { echo "real-journald: $repo is not the module root" >&2; exit 2; }

# --pid --fork makes the inner shell PID 1 of its namespace: when it exits, for
# whatever reason, the kernel kills the journald it started, and the tmpfs goes
# with the mount namespace.
export repo journald go
exec unshare --mount --propagation private --pid --fork --mount-proc bash -euo pipefail -c '
  mount -n -t tmpfs -o mode=755 tmpfs /run
  mkdir -p /run/systemd/journal /run/log/journal /run/systemd/journald.conf.d
  # A drop-in under /run overrides /etc/systemd/journald.conf; "zz-" sorts it
  # after any host drop-in. Volatile storage keeps every record in this tmpfs.
  printf "[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n" \
    > /run/systemd/journald.conf.d/zz-snapd-test.conf

  "$journald" & j=$!
  trap "kill $j 2>/dev/null; wait $j 2>/dev/null || true" EXIT
  for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
  [ -S /run/systemd/journal/socket ] || { echo "real-journald: journald did not create its socket" >&2; exit 1; }

  cd "$repo"
  out=$(REAL_JOURNALD=1 "$go" test -count=1 -v -run "^TestRealJournald\$" ./internal/logging/ 2>&1) && rc=0 || rc=$?
  printf "%s\n" "$out"
  # A skipped test also exits 0: insist that it ran and passed.
  if [ $rc -eq 0 ] && ! grep -q "^--- PASS: TestRealJournald" <<<"$out"; then
    echo "real-journald: TestRealJournald did not run" >&2; rc=1
  fi
  if [ $rc -ne 0 ]; then
    echo "real-journald: records in the private journal:" >&2
    journalctl --no-pager -o json SYSLOG_IDENTIFIER=snapd >&2 || true
  fi
  exit $rc
'
