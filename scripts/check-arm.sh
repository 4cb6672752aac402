#!/usr/bin/env bash
# Prove edge-agent on ARM from an x86 (or any) Debian machine, end to end, under qemu-user emulation:
#
#   1. build the offline wheelhouse for Raspberry Pi OS 64-bit (scripts/build-wheelhouse.sh --target pi-arm64);
#   2. make a Debian bookworm arm64 root filesystem (debootstrap --foreign, then its second stage run by
#      qemu-aarch64 through binfmt_misc) with Debian's python3, python3-venv, mosquitto and mosquitto-clients;
#   3. install the agent into it with the wheelhouse's own install.sh --root /, run inside the rootfs
#      (arm64 pip and Python, emulated), after removing any earlier install;
#   4. start the rootfs's Mosquitto and a mosquitto_sub, run the agent's demo site there and count the
#      records' messages that reached the broker;
#   5. the same for Raspberry Pi OS 32-bit (armv7l): a Debian bookworm armhf build root (debootstrap, with
#      python3-dev, build-essential, cmake, libyaml-dev, libffi-dev) in which build-wheelhouse.sh
#      --target pi-armv7 --build-in-root compiles, under qemu-arm, the dependencies PyPI has no armv7l
#      wheel of; then a bookworm armhf rootfs like the arm64 one, the install and the demo there.
#
#   sudo scripts/check-arm.sh                          cache under $EDGE_AGENT_ARM_CACHE or /var/tmp/edge-agent-arm
#   sudo scripts/check-arm.sh --cache DIR --seconds 60 --no-armv7     arm64 only
#   sudo scripts/check-arm.sh --cache DIR --no-arm64                  armv7 only
#
# Idempotent: the root filesystems are made once and kept in the cache (DIR/rootfs-arm64, DIR/rootfs-armv7,
# DIR/rootfs-armv7-build: delete one to make it anew; packages added to the lists below are installed into a
# cached one); the wheelhouses are rebuilt each run (pip keeps the wheels already downloaded, the build
# root's pip the wheels it compiled: a rerun takes them from its cache in seconds). Steps 3 and 4 run in a mount
# and network namespace of their own: the rootfs's /proc and /dev go away with it, and its Mosquitto and
# the demo's Modbus servers listen on a loopback nobody else shares. Needs root, and Debian's debootstrap,
# qemu-user-static and binfmt-support (installed with apt-get when missing). Anything after -- goes to pip
# for both wheelhouses (e.g. -- --extra-index-url URL).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${EDGE_AGENT_ARM_CACHE:-/var/tmp/edge-agent-arm}
SECONDS_OF_DEMO=30
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ARM64=1
ARMV7=1
INSIDE="" # arm64 or armv7: this is the run inside the namespace (steps 3 and 4) for that rootfs
PYTHON=${PYTHON:-python3}
PIP_EXTRA=()
readonly PACKAGES=python3,python3-venv,mosquitto,mosquitto-clients
readonly BUILD_PACKAGES=python3,python3-pip,python3-venv,python3-dev,build-essential,cmake,ninja-build,libyaml-dev,libffi-dev
readonly GATEWAY=demo-esternay # configs/demo.toml, installed with --site demo
readonly RECORD_TOPICS=("fute/$GATEWAY/readings" "fute/$GATEWAY/events")

# Printed by the installed Python in the unit's environment: its optimize flag, how many modules the daemon's
# imports loaded from a file, and which of them had no compiled bytecode (compiled from source at this start).
readonly FROM_SOURCE='
import sys
import edge_agent.agent, edge_agent.mqtt_client, ssl, zoneinfo, serial
from edge_agent.bytecode import from_source
print(sys.flags.optimize, *from_source())
'

say() { printf 'check-arm.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

while (($#)); do
  case "$1" in
    --cache) CACHE=${2:?--cache needs a directory}; shift ;;
    --seconds) SECONDS_OF_DEMO=${2:?--seconds needs a number}; shift ;;
    --no-armv7) ARMV7=0 ;;
    --no-arm64) ARM64=0 ;;
    --mirror) MIRROR=${2:?--mirror needs a Debian mirror URL}; shift ;;
    --python) PYTHON=${2:?--python needs a path}; shift ;;
    --inside-namespace) INSIDE=${2:?--inside-namespace needs arm64 or armv7}; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --) shift; PIP_EXTRA=("$@"); break ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
  shift
done
[[ $SECONDS_OF_DEMO =~ ^[0-9]+$ ]] || die "--seconds takes whole seconds"
((ARM64 || ARMV7)) || die "--no-arm64 and --no-armv7 leave nothing to check"
(($(id -u) == 0)) || die "run as root: debootstrap, chroot and binfmt_misc need it"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
REPORT=$CACHE/check-arm.report
[[ -n $INSIDE ]] || : >"$REPORT"
proven() { printf '%s\n' "$*" | tee -a "$REPORT"; }

# -- the host's tools --------------------------------------------------------------------------------

host_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  { [[ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ]] || command -v qemu-aarch64-static >/dev/null; } \
    && { [[ -e /usr/libexec/qemu-binfmt/arm-binfmt-P ]] || command -v qemu-arm-static >/dev/null; } \
    || missing+=(qemu-user-static)
  command -v update-binfmts >/dev/null || missing+=(binfmt-support)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  "$PYTHON" -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "install ${missing[*]} (this script expects Debian's packages)"
  say "installing ${missing[*]}"
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get could not install ${missing[*]}"
}

binfmt() { # QEMU (qemu-aarch64, qemu-arm) registered with the F flag: it runs ARM binaries inside a chroot as well
  local entry=/proc/sys/fs/binfmt_misc/$1
  if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc"
  fi
  [[ -e $entry ]] || update-binfmts --enable "$1" >/dev/null 2>&1 || true
  [[ -e $entry ]] || die "$1 is not registered in binfmt_misc: update-binfmts --enable $1"
  grep -q '^enabled' "$entry" || die "$1 is registered but disabled: update-binfmts --enable $1"
  grep -q '^flags:.*F' "$entry" \
    || die "$1 is registered without the F flag (Debian's qemu-user-static sets it): a chroot cannot find it"
}

# -- 1. the wheelhouses ----------------------------------------------------------------------------------

wheelhouse() { # TARGET DIR [BUILD-WHEELHOUSE OPTION...]
  "$HERE/build-wheelhouse.sh" --target "$1" --out "$2" --python "$PYTHON" "${@:3}" -- "${PIP_EXTRA[@]}" >"$2.log" 2>&1
}

# -- 2. the rootfs -------------------------------------------------------------------------------------

make_rootfs() { # DEBIAN-ARCH NAME PACKAGES: DIR/NAME, made once by debootstrap (second stage emulated)
  local arch=$1 rootfs=$CACHE/$2 packages=$3 log=$CACHE/debootstrap-$2.log
  if [[ -f $rootfs/.edge-agent-rootfs ]]; then
    proven "rootfs: Debian $SUITE $arch in $rootfs (cached; made in $(cat "$rootfs/.edge-agent-rootfs") s)"
    add_packages "$rootfs" "$packages"
    return 0
  fi
  local partial=$rootfs.partial start
  start=$(now)
  rm -rf "$partial"
  say "debootstrap --arch=$arch --foreign $SUITE $2 (first stage, native)"
  debootstrap --arch="$arch" --foreign --variant=minbase --include="$packages" "$SUITE" "$partial" "$MIRROR" \
    >"$log" 2>&1 || die "debootstrap failed: see $log"
  say "debootstrap --second-stage ($arch binaries under qemu-user, nice 10)"
  nice -n 10 chroot "$partial" /debootstrap/debootstrap --second-stage >>"$log" 2>&1 \
    || die "the second stage failed: see $log and $partial/debootstrap/debootstrap.log"
  since "$start" >"$partial/.edge-agent-rootfs"
  rm -rf "$rootfs"
  mv "$partial" "$rootfs"
  proven "rootfs: Debian $SUITE $arch ($2) made by debootstrap in $(cat "$rootfs/.edge-agent-rootfs") s (load $(load))"
}

add_packages() { # ROOTFS PACKAGES: apt-get install, in a cached rootfs, those of the list it lacks
  local rootfs=$1 package missing=()
  for package in ${2//,/ }; do
    # shellcheck disable=SC2016 # dpkg-query's format, not the shell's
    chroot "$rootfs" /usr/bin/dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' \
      || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  say "apt-get install ${missing[*]} in $rootfs (emulated)"
  [[ -s $rootfs/etc/apt/sources.list ]] || printf 'deb %s %s main\n' "$MIRROR" "$SUITE" >"$rootfs/etc/apt/sources.list"
  # shellcheck disable=SC2016 # the inner shell expands them
  unshare --mount --propagation private /bin/sh -ec '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
    apt() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
      nice -n 10 apt-get "$@"; }
    apt update -qq
    apt install -y -qq --no-install-recommends "$@"' sh "$rootfs" "${missing[@]}" >>"$CACHE/apt-get.log" 2>&1 \
    || die "apt-get could not install ${missing[*]} in $rootfs: see $CACHE/apt-get.log"
}

# -- 3 and 4. install and demo, inside the rootfs, in a namespace of their own --------------------------

# Runs as PID 1 of `unshare --pid --mount --net`: its processes, mounts and loopback die with it.
inside() { # LABEL (arm64, armv7): install and demo in DIR/rootfs-LABEL
  local label=$1 rootfs=$CACHE/rootfs-$1 machine
  case $label in
    arm64) machine=aarch64 ;;
    armv7) machine=armv7l ;;
    *) die "--inside-namespace $label: arm64 or armv7" ;;
  esac
  ip link set lo up
  mount -t proc proc "$rootfs/proc"
  mount --rbind /dev "$rootfs/dev"
  mount -t tmpfs tmpfs "$rootfs/run"
  local in=(chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)
  local logs=/var/log/check-arm start

  "${in[@]}" uname -m | grep -qx "$machine" || die "the rootfs does not run as $machine"
  "${in[@]}" /bin/bash /srv/wheelhouse/install.sh --root / --uninstall --purge >/dev/null 2>&1 || true
  rm -f "$rootfs/install-actions.log"
  start=$(now)
  "${in[@]}" /bin/bash /srv/wheelhouse/install.sh --root / --wheelhouse /srv/wheelhouse --site demo \
    --python /usr/bin/python3 >"$CACHE/install-$label.log" 2>&1 \
    || die "install.sh failed in the rootfs: see $CACHE/install-$label.log"
  local took version
  took=$(since "$start")
  version=$("${in[@]}" /opt/edge-agent/current/bin/edge-agent --version)
  proven "$label install: install.sh --root / --wheelhouse --site demo in the rootfs took $took s (emulated, load $(load));" \
    "$version, $(find "$rootfs"/opt/edge-agent/current/lib/python3*/site-packages -maxdepth 1 -name '*.dist-info' | wc -l)" \
    "distributions, Python $("${in[@]}" /usr/bin/python3 -c 'import platform; print(platform.python_version(), platform.machine())')"

  # The daemon's environment as its unit sets it (PYTHONOPTIMIZE=2, the bytecode install.sh compiled): the demo
  # below runs in it, and no module the daemon imports may be compiled from source there.
  # The interpreter is the one the unit's edge-agent script names (the version's own folder, not current/).
  local unit_env=() bytecode python
  read -r -a unit_env <<<"$(sed -n 's/^Environment=//p' "$rootfs/etc/systemd/system/edge-agent.service" | paste -sd ' ' -)"
  ((${#unit_env[@]})) || die "the installed unit sets no Environment=: see $rootfs/etc/systemd/system/edge-agent.service"
  python=$(sed -n '1s/^#!//p' "$rootfs/opt/edge-agent/current/bin/edge-agent")
  bytecode=$("${in[@]}" "${unit_env[@]}" "$python" -c "$FROM_SOURCE") \
    || die "the installed agent does not import in its unit's environment (${unit_env[*]})"
  [[ $bytecode == "2 "*" []" ]] || die "in the unit's environment, modules compiled from source (optimize, count, names): $bytecode"
  proven "$label bytecode: in the unit's environment (${unit_env[*]}) the daemon's $(cut -d' ' -f2 <<<"$bytecode") modules, ssl, zoneinfo" \
    "and serial among them, all came from the optimised bytecode install.sh compiled, none from source"

  rm -rf "${rootfs:?}$logs" "$rootfs/var/lib/edge-agent-demo"
  mkdir -p "$rootfs$logs"
  "${in[@]}" /usr/sbin/mosquitto -p 1883 >"$rootfs$logs/mosquitto.log" 2>&1 &
  local broker=$! waited=0
  until "${in[@]}" /usr/bin/mosquitto_pub -h 127.0.0.1 -p 1883 -t check-arm/ready -n 2>/dev/null; do
    ((waited++ < 120)) || die "the rootfs's Mosquitto did not start: see $rootfs$logs/mosquitto.log"
    sleep 0.5
  done
  local topics=()
  for topic in "${RECORD_TOPICS[@]}"; do topics+=(-t "$topic"); done
  "${in[@]}" /usr/bin/mosquitto_sub -h 127.0.0.1 -p 1883 -q 1 "${topics[@]}" -F '%t' >"$rootfs$logs/records.topics" &
  local sub=$!
  sleep 2 # the subscription is in place before the first record can be published
  start=$(now)
  "${in[@]}" "${unit_env[@]}" /opt/edge-agent/current/bin/edge-agent demo --config /etc/edge-agent/site.toml \
    --duration "$SECONDS_OF_DEMO" --state-dir /var/lib/edge-agent-demo >"$rootfs$logs/demo.out" 2>&1 &
  local demo=$! first=""
  while kill -0 "$demo" 2>/dev/null; do
    if [[ -z $first && -s $rootfs$logs/records.topics ]]; then
      first=$(since "$start")
    fi
    sleep 0.2
  done
  wait "$demo" || die "edge-agent demo failed in the rootfs: see $rootfs$logs/demo.out"
  [[ -n $first || ! -s $rootfs$logs/records.topics ]] || first="under $SECONDS_OF_DEMO"
  sleep 1
  kill "$sub" "$broker" 2>/dev/null || true
  wait "$sub" "$broker" 2>/dev/null || true
  local count summary
  count=$(wc -l <"$rootfs$logs/records.topics")
  summary=$(grep '^demo stopped:' "$rootfs$logs/demo.out" || true)
  ((count > 0)) || die "no record reached the rootfs's Mosquitto: see $rootfs$logs/demo.out"
  proven "$label demo: $count record messages reached Mosquitto inside the $label rootfs (mosquitto_sub on" \
    "${RECORD_TOPICS[*]}); first after $first s (emulated start-up included, load $(load)); agent: ${summary:-no summary}"
  printf '%s\n' "$count" >"$rootfs$logs/records.count"
}

# -- 5. armv7 ---------------------------------------------------------------------------------------------

armv7_wheelhouse() { # the pi-armv7 wheelhouse, the wheels PyPI lacks compiled in the armhf build root
  local start out=$CACHE/wheelhouse-armv7 built
  make_rootfs armhf rootfs-armv7-build "$BUILD_PACKAGES"
  start=$(now)
  wheelhouse pi-armv7 "$out" --build-in-root "$CACHE/rootfs-armv7-build" \
    || die "the armv7 wheelhouse could not be built: see $out.log"
  built=$(sed -n 's/^build-wheelhouse.sh: built \([^ ]*\) in .*/\1/p' "$out.log" | paste -sd ' ' -)
  proven "armv7 wheelhouse: $(find "$out" -name '*.whl' | wc -l) wheels in $(since "$start") s (load $(load)), $out;" \
    "$(find "$out" -name '*armv7l*.whl' | wc -l) armv7l binaries, of them built in the armhf root: ${built:-none}"
  grep '^build-wheelhouse.sh: built ' "$out.log" | tee -a "$REPORT" || true
}

prove() { # LABEL WHEELHOUSE: install and demo in DIR/rootfs-LABEL, in a namespace of their own
  local rootfs=$CACHE/rootfs-$1
  rm -rf "$rootfs/srv/wheelhouse"
  mkdir -p "$rootfs/srv"
  cp -a "$2" "$rootfs/srv/wheelhouse"
  unshare --pid --mount --net --fork --propagation private \
    "$0" --inside-namespace "$1" --cache "$CACHE" --seconds "$SECONDS_OF_DEMO" --python "$PYTHON" \
    || die "the $1 install or demo failed (see above)"
}

main() {
  local start
  host_tools

  if ((ARM64)); then
    binfmt qemu-aarch64
    start=$(now)
    wheelhouse pi-arm64 "$CACHE/wheelhouse-arm64" \
      || die "the arm64 wheelhouse could not be built: see $CACHE/wheelhouse-arm64.log"
    proven "arm64 wheelhouse: $(find "$CACHE/wheelhouse-arm64" -name '*.whl' | wc -l) wheels in $(since "$start") s" \
      "(load $(load)), $CACHE/wheelhouse-arm64"
    make_rootfs arm64 rootfs-arm64 "$PACKAGES"
    prove arm64 "$CACHE/wheelhouse-arm64"
  fi

  if ((ARMV7)); then
    binfmt qemu-arm
    armv7_wheelhouse
    make_rootfs armhf rootfs-armv7 "$PACKAGES"
    prove armv7 "$CACHE/wheelhouse-armv7"
  fi
  printf '\nproven on ARM (report in %s):\n' "$REPORT"
  cat "$REPORT"
}

if [[ -n $INSIDE ]]; then
  inside "$INSIDE"
else
  main
fi
