#!/usr/bin/env bash
# make demo: the fake NAS seeded with a year of history, and snapd running against it on
# a fast schedule. Stops on Ctrl-C or after DEMO_SECONDS (default 30), then shows
# `snapd status` and the journal. No root, no network; nothing is left running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
secs=${DEMO_SECONDS:-30}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snapd-demo.XXXXXX")
fake_pid=""
snapd_pid=""
cleanup() {
	[ -n "$snapd_pid" ] && kill "$snapd_pid" 2>/dev/null && wait "$snapd_pid" 2>/dev/null || true
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

ago() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# Two shares with a year of history each (owned by the demo policies), a LUN, a
# replication plan, and snapshots snapd must never delete: locked, WORM, held by
# replication, and made by hand.
cat > "$tmp/nas.yaml" <<YAML
options: {zone: Europe/Berlin}
shares:
  - name: homes
    generate: {every: 84h, count: 104, desc: "demo [snapd:homes]"}
    snapshots:
      - {time: "$(ago '-200 days')", desc: "before the upgrade [snapd:homes]", lock: true}
      - {time: "$(ago '-3 days')", desc: "legal hold [snapd:homes]", worm_days: 30}
      - {time: "$(ago '-2 days')", desc: "replicated [snapd:homes]", app_keys: ["SnapshotReplication-synodr-plan-homes"]}
      - {time: "$(ago '-40 days')", desc: "taken by hand in DSM"}
  - name: media
    generate: {every: 168h, count: 52, desc: "demo [snapd:media]"}
luns:
  - uuid: 5c9bf4a7-05ea-4cb8-b9e0-e0b0ca1186b0
    name: vm-store
    location: /volume1
    size: 107374182400
    type: BLUN
    generate: {every: 24h, count: 10, desc: "demo [snapd:vm-store]"}
plans:
  - {id: plan-homes, target_type: share, target: homes}
YAML

echo "== starting the fake NAS"
mkdir -p "$tmp/cert"
# In a session of its own, so a Ctrl-C meant for the demo leaves the NAS up for the
# status and journal shown at the end.
setsid "$bin/dsmfake" --seed "$tmp/nas.yaml" --listen "" --url-file "$tmp/url" --cert-dir "$tmp/cert" \
	--user demo --password demo-password >"$tmp/dsmfake.out" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.1; done
[ -s "$tmp/url" ] || { cat "$tmp/dsmfake.out"; echo "the fake NAS did not start"; exit 1; }
url=$(cat "$tmp/url")
fp=$(sed -n 's/^sha256 fingerprint hex: //p' "$tmp/dsmfake.out")
echo "   $url (certificate sha256 $fp)"

sed -e "s#url: https://127.0.0.1:5001#url: $url#" \
	-e "s#fingerprint_sha256: \".*\"#fingerprint_sha256: \"$fp\"#" \
	"$root/configs/demo.yaml" >"$tmp/config.yaml"
export SNAPD_DEMO_PASSWORD=demo-password STATE_DIRECTORY=$tmp/state RUNTIME_DIRECTORY=$tmp/run
mkdir -p "$STATE_DIRECTORY" "$RUNTIME_DIRECTORY"

"$bin/snapd" validate --config "$tmp/config.yaml"
echo "== snapd run for ${secs}s (Ctrl-C stops it sooner)"
"$bin/snapd" run --config "$tmp/config.yaml" &
snapd_pid=$!
trap 'echo; echo "== stopping"' INT
sleep "$secs" || true
trap - INT
kill -TERM "$snapd_pid" 2>/dev/null || true
wait "$snapd_pid" 2>/dev/null || true
snapd_pid=""

echo
echo "== snapd status"
"$bin/snapd" status --config "$tmp/config.yaml"
echo
echo "== snapd journal --limit 25"
"$bin/snapd" journal --config "$tmp/config.yaml" --limit 25
echo
echo "== what is left on the NAS (homes)"
"$bin/snapd" nas snapshots --config "$tmp/config.yaml" --nas demo --share homes | tail -n 15
