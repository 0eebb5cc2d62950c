#!/bin/bash
# A stand-in for the snapd binary that speaks the daemon's systemd contract with shell tools:
# READY=1 and STATUS=, WATCHDOG=1 pings that stop on SIGUSR1, RELOADING=1 … READY=1 on SIGHUP,
# STOPPING=1 and exit 0 on SIGTERM, journal fields POLICY/ACTION/OUTCOME. `test.sh boot` runs
# it in the hardened unit to check the namespace manager and the sandbox on their own.
# systemd-notify sends from its parent's PID, so the unit needs NotifyAccess=all for it.
set -u
if [ "${1:-}" = validate ]; then exec test -r "${3:?validate --config PATH}"; fi

log() { # MESSAGE ACTION
  printf 'MESSAGE=%s\nSYSLOG_IDENTIFIER=snapd\nPOLICY=homes\nACTION=%s\nOUTCOME=ok\n' "$1" "$2" | logger --journald
}

# The credential and the state directory must both work under DynamicUser=yes.
pw=$(cat "$CREDENTIALS_DIRECTORY/nas-password") || exit 1
[ -n "$pw" ] || exit 1
echo "stand-in state" > "$STATE_DIRECTORY/standin.db" || exit 1
log "credential read (${#pw} bytes)" nas.login

ping=1
trap 'ping=0' USR1
trap 'systemd-notify RELOADING=1; log "configuration reloaded" daemon.reload; systemd-notify --ready' HUP
trap 'systemd-notify STOPPING=1; exit 0' TERM
systemd-notify --ready --status="1 policy (stand-in), next run in 5s"
while :; do
  if [ "$ping" = 1 ]; then systemd-notify WATCHDOG=1; fi
  sleep 1 &
  wait $!
done
