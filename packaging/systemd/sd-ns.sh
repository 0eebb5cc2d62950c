#!/bin/bash
# Boot a real systemd as PID 1 of private pid/mount/cgroup/uts namespaces, with its own /run,
# /dev, unit directory and copy-on-write /etc and /var, so a unit can be tested on a host whose
# PID 1 is not systemd. The host's network namespace is shared. Needs root.
#
#   sd-ns.sh start        boot; units from $SDNS/units, /usr/local/bin from $SDNS/bin,
#                         $SDNS/etc copied over /etc; the manager starts sdtest.target
#   sd-ns.sh exec CMD...  run CMD inside (systemctl, journalctl, ...)
#   sd-ns.sh stop         shut the manager down and remove its cgroup
set -euo pipefail
SDNS=${SDNS:-${TMPDIR:-/tmp}/sdns}
export SDNS

# Stock units the manager needs to boot (sysinit.target via default dependencies), to run
# journald, and to shut down with `systemctl exit`.
STOCK="exit.target systemd-exit.service shutdown.target umount.target final.target sysinit.target
basic.target sockets.target timers.target paths.target slices.target local-fs.target swap.target
network.target network-online.target multi-user.target systemd-journald.service
systemd-journald.socket systemd-journald-dev-log.socket"

case "${1:-}" in
start)
  rm -rf "$SDNS/ovl"
  mkdir -p "$SDNS"/ovl/{etc,var}/{upper,work} "$SDNS/units" "$SDNS/bin"
  for u in $STOCK; do cp -n "/lib/systemd/system/$u" "$SDNS/units/"; done
  # Our own cgroup, on the v2 hierarchy (the host may be hybrid): the manager's cgroup
  # namespace is rooted there, and stop removes it.
  CGROOT=/sys/fs/cgroup
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || CGROOT=/sys/fs/cgroup/unified
  CG=$CGROOT/sdns.$$
  mkdir -p "$CG"
  echo "$CG" > "$SDNS/cgroup"
  ( echo "$BASHPID" > "$CG/cgroup.procs"
    exec setsid unshare --kill-child --pid --fork --mount --cgroup --uts --propagation private --mount-proc "$0" inner ) \
    > "$SDNS/unshare.log" 2>&1 < /dev/null &
  echo $! > "$SDNS/unshare.pid"
  for _ in $(seq 100); do
    P=$(ps -o pid= --ppid "$(cat "$SDNS/unshare.pid")" | tr -d ' ') || true
    if [ -n "$P" ] && nsenter -t "$P" -m -p -- test -S /run/systemd/private 2>/dev/null; then
      echo "$P" > "$SDNS/pid1"
      nsenter -t "$P" -m -p -- systemctl is-system-running --wait > /dev/null 2>&1 || true
      echo "systemd up: host pid $P"
      exit 0
    fi
    sleep 0.1
  done
  echo "systemd did not come up" >&2
  cat "$SDNS/unshare.log" >&2
  "$0" stop
  exit 1 ;;

inner) # PID 1 of the new namespaces, before it becomes systemd
  mount -n -t tmpfs -o mode=755 tmpfs /run
  # A private /dev: the host's console and /dev/log are never touched.
  mount -n -t tmpfs -o mode=755,nosuid tmpfs /dev
  for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r nm ma mi <<< "$n"
    mknod -m 666 "/dev/$nm" c "$ma" "$mi"
  done
  mkdir /dev/pts /dev/shm /dev/mqueue
  mount -n -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
  ln -s pts/ptmx /dev/ptmx
  mount -n -t tmpfs -o mode=1777 tmpfs /dev/shm
  # Pure cgroup v2, rooted at our cgroup.
  umount -n -l /sys/fs/cgroup
  mount -n -t cgroup2 cgroup2 /sys/fs/cgroup
  # Units keep ExecStart=/usr/local/bin/...; /etc and /var changes vanish with the namespace.
  mount -n --bind "$SDNS/bin" /usr/local/bin
  for d in etc var; do
    mount -n -t overlay overlay -o "lowerdir=/$d,upperdir=$SDNS/ovl/$d/upper,workdir=$SDNS/ovl/$d/work" "/$d"
  done
  if [ -d "$SDNS/etc" ]; then cp -a "$SDNS/etc/." /etc/; fi
  # LoadCredential= moves its ramfs onto /run/credentials from a helper process: that only
  # reaches the manager when / is shared, and systemd skips this step in a container.
  mount -n --make-rshared /
  export container=sdci SYSTEMD_UNIT_PATH="$SDNS/units"
  exec /lib/systemd/systemd --unit=sdtest.target --log-target=journal-or-kmsg --log-level=info --show-status=no ;;

exec)
  shift
  exec nsenter -t "$(cat "$SDNS/pid1")" -m -p -u -- "$@" ;;

stop)
  U=$(cat "$SDNS/unshare.pid" 2> /dev/null || true)
  P=$(cat "$SDNS/pid1" 2> /dev/null || true)
  if [ -n "$P" ]; then
    nsenter -t "$P" -m -p -- systemctl exit 0 > /dev/null 2>&1 || kill -s SIGRTMIN+14 "$P" 2> /dev/null || true
  elif [ -n "$U" ]; then
    kill -KILL "$U" 2> /dev/null || true # no manager to ask; --kill-child takes PID 1 along
  fi
  if [ -n "$U" ]; then
    for _ in $(seq 100); do kill -0 "$U" 2> /dev/null || break; sleep 0.1; done
    # --kill-child: killing unshare kills PID 1 of the namespace, and with it every process inside.
    if kill -0 "$U" 2> /dev/null; then kill -KILL "$U" 2> /dev/null || true; fi
    for _ in $(seq 50); do kill -0 "$U" 2> /dev/null || break; sleep 0.1; done
  fi
  CG=$(cat "$SDNS/cgroup" 2> /dev/null || true)
  if [ -n "$CG" ] && [ -d "$CG" ]; then
    for _ in $(seq 50); do
      find "$CG" -mindepth 1 -depth -type d -exec rmdir {} + 2> /dev/null || true
      rmdir "$CG" 2> /dev/null && break
      sleep 0.1
    done
  fi
  rm -f "$SDNS/pid1" "$SDNS/unshare.pid" "$SDNS/cgroup" ;;

*)
  echo "usage: $0 start | exec CMD... | stop" >&2
  exit 2 ;;
esac
