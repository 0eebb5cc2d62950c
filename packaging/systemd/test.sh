#!/bin/bash
# Tests the systemd packaging of snapd. Run as root, after `make build`:
#
#   test.sh [all|static|boot|runtime]      (all: every part, what `make test-systemd` runs)
#
#   static   systemd-analyze verify (any output fails) and security --offline (exposure <= 1.5)
#   boot     the hardened unit under a real systemd (PID 1 of private namespaces, sd-ns.sh),
#            with testdata/standin.sh as the daemon: proves the manager and the sandbox alone
#   runtime  bin/snapd in the same setting against bin/dsmfake on loopback: READY, STATUS,
#            credential, scheduled snapshots, journal fields, reload, watchdog restart, stop
#
# Environment: SNAPD_BIN, DSMFAKE_BIN (default: bin/ of the repository), ARTIFACTS (where each
# part's journal is saved as text and JSON, and the fake's log; default /tmp/snapd-systemd-artifacts).
# Output: "ok - …" / "not ok - …" lines, then a count; the exit status is 1 if any check failed.

# Checks go to check/wait_for as single-quoted strings that read the caller's locals when run.
# shellcheck disable=SC2016,SC2034
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
UNIT=$HERE/synology-snapd.service
SDNS_SH=$HERE/sd-ns.sh
SNAPD_BIN=${SNAPD_BIN:-$ROOT/bin/snapd}
DSMFAKE_BIN=${DSMFAKE_BIN:-$ROOT/bin/dsmfake}
ARTIFACTS=${ARTIFACTS:-/tmp/snapd-systemd-artifacts}
SVC=synology-snapd
THRESHOLD=15 # systemd-analyze counts the exposure score times ten
NAS_USER=snapd-ci
NAS_PASSWORD=s3cret
MODE=${1:-all}

case $MODE in
all | static | boot | runtime) ;;
*) echo "usage: $0 [all|static|boot|runtime]" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "$0: must run as root: it boots systemd as PID 1 of private namespaces" >&2
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/snapd-systemd.XXXXXX")
export SDNS=$TMP/sdns
PASS=0 FAIL=0 PART='' FAKE_PID='' PIDNS=() CGROUPS=()
mkdir -p "$ARTIFACTS"

ok() { PASS=$((PASS + 1)); echo "ok - $PART: $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - $PART: $*"; }
note() { sed 's/^/#   /'; }
check() { # DESCRIPTION CMD...
  local d=$1
  shift
  if "$@"; then ok "$d"; else notok "$d"; fi
}
wait_for() { # SECONDS CMD...: retry CMD until it succeeds or SECONDS have passed
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.25
  done
}
sx() { "$SDNS_SH" exec "$@"; }
prop() { sx systemctl show -P "$1" "$SVC"; }
is_state() { [ "$(prop ActiveState)" = "$1" ]; }
# jcount FIELD=VALUE...: how many entries of this boot match. Only the daemon writes these
# fields; no _SYSTEMD_UNIT= match, as journald cannot attribute an entry to the unit when its
# sender has already exited (the stand-in's logger).
jcount() { sx journalctl -q --no-pager -o json "$@" | grep -c '^{' || true; }
jhas() { [ "$(jcount "$@")" -ge 1 ]; }
in_unshared_run() { # CMD...: run without leaving files in the host's /run
  unshare --mount --propagation private sh -c 'mount -n -t tmpfs -o mode=755 tmpfs /run && exec "$@"' sh "$@"
}
show_failure() {
  sx systemctl status "$SVC" --no-pager -n 0 2>&1 | note
  sx journalctl -u "$SVC" --no-pager -n 40 2>&1 | note
}

# ---------------------------------------------------------------------------------------------
static() {
  PART=static
  local out rc
  if [ ! -x "$SNAPD_BIN" ]; then
    notok "verify: $SNAPD_BIN is missing; run make build first"
  else
    # verify needs the ExecStart binary to exist: point the copy at the built one.
    mkdir -p "$TMP/verify/good" "$TMP/verify/typo"
    sed "s#/usr/local/bin/snapd#$SNAPD_BIN#g" "$UNIT" > "$TMP/verify/good/$SVC.service"
    out=$(in_unshared_run systemd-analyze verify --man=no "$TMP/verify/good/$SVC.service" 2>&1)
    rc=$?
    if [ "$rc" = 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify: rc=0, no output"; else
      notok "systemd-analyze verify: rc=$rc, output:"
      note <<< "$out"
    fi
    # verify exits 0 on unknown keys and bad values: prove that the check above catches them.
    sed 's/^ProtectSystem=/ProtectSytem=/; s/^Type=notify$/Type=notfy/' "$TMP/verify/good/$SVC.service" \
      > "$TMP/verify/typo/$SVC.service"
    out=$(in_unshared_run systemd-analyze verify --man=no "$TMP/verify/typo/$SVC.service" 2>&1)
    check "systemd-analyze verify reports a misspelt key and a bad value" \
      eval '[[ $out == *ProtectSytem* && $out == *notfy* ]]'
  fi
  out=$(in_unshared_run systemd-analyze security --offline=true --man=no --threshold=$THRESHOLD "$UNIT" 2>&1)
  rc=$?
  echo "# $(grep 'Overall exposure level' <<< "$out")"
  if [ "$rc" = 0 ]; then ok "systemd-analyze security: exposure within threshold $THRESHOLD"; else
    notok "systemd-analyze security: rc=$rc (threshold $THRESHOLD); flagged:"
    grep '^✗' <<< "$out" | note
  fi
  # The threshold bites: without CapabilityBoundingSet= the same unit scores about 3.0.
  mkdir -p "$TMP/weak"
  grep -v '^CapabilityBoundingSet=' "$UNIT" > "$TMP/weak/$SVC.service"
  check "systemd-analyze security fails the unit without CapabilityBoundingSet=" \
    eval '! in_unshared_run systemd-analyze security --offline=true --man=no --threshold=$THRESHOLD "$TMP/weak/$SVC.service" > /dev/null 2>&1'
}

# ---------------------------------------------------------------------------------------------
# ns_prepare DAEMON DROPIN-LINES: lay out $SDNS for sd-ns.sh: the unit as shipped plus a test
# drop-in, DAEMON as /usr/local/bin/snapd, a volatile journal and the credential source.
ns_prepare() {
  rm -rf "$SDNS"
  mkdir -p "$SDNS/units/$SVC.service.d" "$SDNS/bin" "$SDNS/etc/synology-snapd" "$SDNS/etc/systemd/journald.conf.d"
  cp "$UNIT" "$SDNS/units/"
  install -m 0755 "$1" "$SDNS/bin/snapd"
  printf '[Unit]\nWants=systemd-journald.service\n' > "$SDNS/units/sdtest.target"
  printf '[Service]\nWatchdogSec=3s\nRestartSec=1s\nTimeoutStartSec=20s\nTimeoutStopSec=15s\n%s' "$2" \
    > "$SDNS/units/$SVC.service.d/test.conf"
  printf '[Journal]\nStorage=volatile\nReadKMsg=no\nRateLimitIntervalSec=0\n' \
    > "$SDNS/etc/systemd/journald.conf.d/test.conf"
  # As an administrator would: root-only password file with a trailing newline.
  (umask 077 && printf '%s\n' "$NAS_PASSWORD" > "$SDNS/etc/synology-snapd/nas-password")
}

ns_start() {
  if ! "$SDNS_SH" start | note; then
    notok "systemd boots as PID 1 of private namespaces"
    return 1
  fi
  PIDNS+=("$(readlink "/proc/$(cat "$SDNS/pid1")/ns/pid")")
  CGROUPS+=("$(cat "$SDNS/cgroup")")
  ok "systemd boots as PID 1 of private namespaces"
}

# ns_stop: save the namespace's journal, then shut the manager down.
ns_stop() {
  [ -f "$SDNS/pid1" ] || return 0
  sx journalctl -b --no-pager > "$ARTIFACTS/$PART-journal.txt" 2>&1
  sx journalctl -b --no-pager -o json > "$ARTIFACTS/$PART-journal.json" 2>&1
  "$SDNS_SH" stop
}

# ---------------------------------------------------------------------------------------------
# Checks shared by the stand-in and the real daemon.

t_start() {
  local out
  # Type=notify: start returns once the daemon has sent READY=1.
  if out=$(sx timeout 25 systemctl start "$SVC" 2>&1) && is_state active; then
    ok "service active after READY=1 (MainPID $(prop MainPID))"
  else
    notok "service active after READY=1"
    note <<< "$out"
    show_failure
    echo "#   the other checks of this part need the running service: not run"
    return 1
  fi
}

t_status() {
  local st
  st=$(prop StatusText)
  echo "#   StatusText=$st"
  check "STATUS= is set and counts the policies" eval '[[ $st =~ (^|[^0-9])1\ polic|polic[a-z]*[:=]\ ?1([^0-9]|$) ]]'
}

t_statedir() {
  local d mode
  d=$(sx find /var/lib/private/synology-snapd -maxdepth 0 -printf '%m' 2>/dev/null)
  mode=${d:-missing}
  check "StateDirectory is 0700 and holds the daemon's files (mode $mode)" \
    eval '[ "$mode" = 700 ] && [ -n "$(sx ls -A /var/lib/private/synology-snapd)" ]'
}

t_fields() {
  check "journal field POLICY=homes is queryable" jhas POLICY=homes
  check "entries with fields carry SYSLOG_IDENTIFIER=snapd" jhas POLICY=homes SYSLOG_IDENTIFIER=snapd
}

t_reload() {
  local pid before
  pid=$(prop MainPID)
  before=$(jcount ACTION=daemon.reload OUTCOME=ok)
  # In systemd 252, reload returns once kill -HUP has run; the daemon's READY=1 comes later.
  check "systemctl reload returns 0" sx systemctl reload "$SVC"
  check "back to active after RELOADING=1 … READY=1, same MainPID" \
    eval 'wait_for 10 is_state active && [ "$(prop MainPID)" = "$pid" ]'
  check "journal shows ACTION=daemon.reload OUTCOME=ok" \
    wait_for 5 eval '[ "$(jcount ACTION=daemon.reload OUTCOME=ok)" -gt "$before" ]'
}

t_watchdog() {
  local pid
  pid=$(prop MainPID)
  # Under SNAPD_TEST_HOOKS=1 (the stand-in: always), SIGUSR1 stops the WATCHDOG=1 pings.
  sx systemctl kill -s USR1 --kill-who=main "$SVC"
  check "missed watchdog pings: killed and restarted (NRestarts >= 1)" \
    wait_for 15 eval '[ "$(prop NRestarts)" -ge 1 ]'
  check "journal says Watchdog timeout" \
    eval 'sx journalctl -u "$SVC" --no-pager -o cat | grep "Watchdog timeout" > /dev/null'
  check "active again with a new MainPID after the restart" \
    wait_for 15 eval 'is_state active && [ "$(prop MainPID)" != "$pid" ] && [ "$(prop MainPID)" != 0 ]'
}

t_secret() {
  local n
  n=$(sx journalctl -b --no-pager -o export | grep -a -c -F "$NAS_PASSWORD" || true)
  check "the NAS password appears nowhere in the journal ($n hits)" [ "$n" = 0 ]
}

t_stop() {
  local t0=$SECONDS
  check "systemctl stop returns 0" sx timeout 30 systemctl stop "$SVC"
  check "stopped cleanly in $((SECONDS - t0))s: ActiveState=inactive Result=success" \
    eval '[ "$(prop ActiveState)" = inactive ] && [ "$(prop Result)" = success ]'
}

# ---------------------------------------------------------------------------------------------
boot() {
  PART=boot
  ns_prepare "$HERE/testdata/standin.sh" $'NotifyAccess=all\n'
  printf '# the stand-in only checks that this file is readable\n' > "$SDNS/etc/synology-snapd/config.yaml"
  chmod 0644 "$SDNS/etc/synology-snapd/config.yaml"
  ns_start || return
  if t_start; then
    t_status
    t_statedir
    t_fields
    t_reload
    t_watchdog
    t_secret
    t_stop
  fi
  ns_stop
}

# ---------------------------------------------------------------------------------------------
# start_fake: bin/dsmfake on host loopback, before the namespace, which shares the host network.
start_fake() {
  mkdir -p "$TMP/cert"
  "$DSMFAKE_BIN" --seed "$HERE/testdata/nas.yaml" --url-file "$TMP/url" --cert-dir "$TMP/cert" \
    --user "$NAS_USER" --password "$NAS_PASSWORD" > "$TMP/dsmfake.log" 2>&1 < /dev/null &
  FAKE_PID=$!
  wait_for 10 eval '[ -s "$TMP/url" ] && grep -q "sha256 fingerprint:" "$TMP/dsmfake.log"'
  FAKE_URL=$(head -n1 "$TMP/url" 2> /dev/null)
  FAKE_FP=$(sed -n 's/.*sha256 fingerprint:[[:space:]]*\([0-9A-Fa-f:]\{64,95\}\).*/\1/p' "$TMP/dsmfake.log" | head -n1)
  if [[ $FAKE_URL == https://* ]] && [ -n "$FAKE_FP" ] && kill -0 "$FAKE_PID" 2> /dev/null; then
    ok "dsmfake serves $FAKE_URL (pinned sha256 $FAKE_FP)"
  else
    notok "dsmfake started with a URL and a certificate fingerprint"
    note < "$TMP/dsmfake.log"
    return 1
  fi
}

# write_config SCHEDULE: the config under test; readable by the dynamic user, no secret in it.
write_config() {
  cat > "$SDNS/etc/synology-snapd/config.yaml.new" << EOF
timezone: UTC
log: {level: debug}
nas:
  fake:
    url: $FAKE_URL
    user: $NAS_USER
    password_credential: nas-password
    tls:
      fingerprint_sha256: "$FAKE_FP"
      server_name: synology
policies:
  homes:
    nas: fake
    share: homes
    schedule: "$1"
    snapshot: {description: systemd-test}
    retention: {keep_last: 3}
    prune: after_snapshot
    replication: {plan: plan-homes, when: after_snapshot}
EOF
  chmod 0644 "$SDNS/etc/synology-snapd/config.yaml.new"
  mv "$SDNS/etc/synology-snapd/config.yaml.new" "$SDNS/etc/synology-snapd/config.yaml"
}

# live_config: copy the config from $SDNS into the namespace's /etc.
live_config() { sx sh -c 'cat > /etc/synology-snapd/config.yaml' < "$SDNS/etc/synology-snapd/config.yaml"; }

t_snapshot() {
  local t0=$SECONDS
  if wait_for 20 jhas ACTION=snapshot.create OUTCOME=ok; then
    ok "snapshot created on schedule within $((SECONDS - t0))s (ACTION=snapshot.create OUTCOME=ok)"
  else
    notok "snapshot created on schedule within 20s (ACTION=snapshot.create OUTCOME=ok)"
    sx journalctl -u "$SVC" --no-pager -n 30 | note
    note < "$TMP/dsmfake.log"
  fi
  check "snapshot.create entries carry POLICY=homes and a MESSAGE_ID" \
    eval 'sx journalctl -q --no-pager -o json ACTION=snapshot.create POLICY=homes | grep -E "\"MESSAGE_ID\":\"[0-9a-f]{32}\"" > /dev/null'
}

t_login() {
  # The fake accepts only the password in $CREDENTIALS_DIRECTORY/nas-password: any successful
  # DSM call means the credential was read and the login worked.
  check "credential read: the daemon logged in (a snapshot.create succeeded)" \
    jhas ACTION=snapshot.create OUTCOME=ok
  check "the login is journaled: ACTION=nas.login OUTCOME=ok" jhas ACTION=nas.login OUTCOME=ok
}

t_bad_reload() {
  local pid
  pid=$(prop MainPID)
  cp "$SDNS/etc/synology-snapd/config.yaml" "$SDNS/etc/synology-snapd/config.good"
  printf 'no_such_key: 1\n' >> "$SDNS/etc/synology-snapd/config.yaml"
  live_config
  sx systemctl reload "$SVC"
  check "a bad config on reload leaves the daemon active, same MainPID" \
    eval 'wait_for 10 is_state active && [ "$(prop MainPID)" = "$pid" ]'
  # Every earlier reload was good: any daemon.reload entry that is not ok is this one.
  check "the refused reload is journaled with OUTCOME other than ok" \
    wait_for 5 eval '[ $(($(jcount ACTION=daemon.reload) - $(jcount ACTION=daemon.reload OUTCOME=ok))) -ge 1 ]'
  # Restore the good file so that the watchdog restart's ExecStartPre validate passes.
  mv "$SDNS/etc/synology-snapd/config.good" "$SDNS/etc/synology-snapd/config.yaml"
  live_config
}

t_bad_start() {
  printf 'no_such_key: 1\n' >> "$SDNS/etc/synology-snapd/config.yaml"
  live_config
  check "a broken config fails the start (ExecStartPre validate)" eval '! sx timeout 30 systemctl start "$SVC" 2> /dev/null'
  check "it stops retrying after StartLimitBurst tries (start-limit-hit, stays failed)" \
    eval 'wait_for 15 is_state failed && sleep 2 && is_state failed &&
      sx journalctl -u "$SVC" --no-pager -o cat | grep "Start request repeated too quickly" > /dev/null'
  check "the journal names the bad key" \
    eval 'sx journalctl -u "$SVC" --no-pager -o cat | grep no_such_key > /dev/null'
}

runtime() {
  PART=runtime
  local b
  for b in "$SNAPD_BIN" "$DSMFAKE_BIN"; do
    if [ ! -x "$b" ]; then
      notok "$b is missing; run make build first (every runtime check is left out)"
      return
    fi
  done
  start_fake || return
  ns_prepare "$SNAPD_BIN" $'Environment=SNAPD_TEST_HOOKS=1\n'
  write_config "@every 5s"
  ns_start || return
  if t_start; then
    t_status
    t_snapshot
    t_login
    t_statedir
    t_fields
    write_config "@every 7s"
    live_config
    t_reload
    t_bad_reload
    t_watchdog
    t_secret
    t_stop
    t_bad_start
  fi
  cp "$TMP/dsmfake.log" "$ARTIFACTS/runtime-dsmfake.log"
  ns_stop
}

# ---------------------------------------------------------------------------------------------
# finish: always runs. Stop what this script started, then prove that nothing is left.
finish() {
  trap - EXIT INT TERM
  trap '' PIPE # a reader that went away (| head) must not stop the cleanup
  ns_stop > /dev/null 2>&1
  if [ -n "$FAKE_PID" ]; then
    kill "$FAKE_PID" 2> /dev/null
    wait "$FAKE_PID" 2> /dev/null
  fi
  PART=cleanup
  local left=() p ns c
  for p in /proc/[0-9]*; do
    ns=$(readlink "$p/ns/pid" 2> /dev/null) || continue
    for c in "${PIDNS[@]}"; do [ "$ns" != "$c" ] || left+=("${p#/proc/}"); done
    c=$(tr '\0' ' ' < "$p/cmdline" 2> /dev/null) || continue
    [[ $c != *"$TMP"* ]] || left+=("${p#/proc/}")
  done
  check "no process left from this test${left[*]:+ (left: ${left[*]})}" [ "${#left[@]}" = 0 ]
  check "nothing left mounted" eval '! grep -F "$TMP" /proc/self/mountinfo > /dev/null'
  left=()
  for c in "${CGROUPS[@]}"; do [ ! -d "$c" ] || left+=("$c"); done
  check "namespace cgroups removed${left[*]:+ (left: ${left[*]})}" [ "${#left[@]}" = 0 ]
  rm -rf "$TMP"
  echo "# $PASS passed, $FAIL failed; journals in $ARTIFACTS"
  if [ "$FAIL" = 0 ]; then exit 0; fi
  exit 1
}
trap finish EXIT
trap 'notok "interrupted"; exit 1' INT TERM

case $MODE in
static) static ;;
boot) boot ;;
runtime) runtime ;;
all) static; boot; runtime ;;
esac
