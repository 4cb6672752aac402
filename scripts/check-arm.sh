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
#   5. build the 32-bit wheelhouse (--target pi-armv7) and say which dependencies have no armv7l wheel.
#
#   sudo scripts/check-arm.sh                          cache under $EDGE_AGENT_ARM_CACHE or /var/tmp/edge-agent-arm
#   sudo scripts/check-arm.sh --cache DIR --seconds 60 --no-armv7
#
# Idempotent: the rootfs is made once and kept in the cache (delete DIR/rootfs-arm64 to make it anew); the
# wheelhouses are rebuilt each run (pip keeps the wheels already downloaded). Steps 3 and 4 run in a mount
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
ARMV7=1
INSIDE=0 # 1: this is the run inside the namespace (steps 3 and 4)
PYTHON=${PYTHON:-python3}
PIP_EXTRA=()
readonly PACKAGES=python3,python3-venv,mosquitto,mosquitto-clients
readonly GATEWAY=demo-esternay # configs/demo.toml, installed with --site demo
readonly RECORD_TOPICS=("fute/$GATEWAY/readings" "fute/$GATEWAY/events")

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
    --mirror) MIRROR=${2:?--mirror needs a Debian mirror URL}; shift ;;
    --python) PYTHON=${2:?--python needs a path}; shift ;;
    --inside-namespace) INSIDE=1 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --) shift; PIP_EXTRA=("$@"); break ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
  shift
done
[[ $SECONDS_OF_DEMO =~ ^[0-9]+$ ]] || die "--seconds takes whole seconds"
(($(id -u) == 0)) || die "run as root: debootstrap, chroot and binfmt_misc need it"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
ROOTFS=$CACHE/rootfs-arm64
REPORT=$CACHE/check-arm.report
((INSIDE)) || : >"$REPORT"
proven() { printf '%s\n' "$*" | tee -a "$REPORT"; }

# -- the host's tools --------------------------------------------------------------------------------

host_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [[ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ]] || command -v qemu-aarch64-static >/dev/null \
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

binfmt_aarch64() { # qemu-aarch64 registered with the F flag: it runs arm64 binaries inside a chroot as well
  local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
  if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc"
  fi
  [[ -e $entry ]] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  [[ -e $entry ]] || die "qemu-aarch64 is not registered in binfmt_misc: update-binfmts --enable qemu-aarch64"
  grep -q '^enabled' "$entry" || die "qemu-aarch64 is registered but disabled: update-binfmts --enable qemu-aarch64"
  grep -q '^flags:.*F' "$entry" \
    || die "qemu-aarch64 is registered without the F flag (Debian's qemu-user-static sets it): a chroot cannot find it"
}

# -- 1. the arm64 wheelhouse ---------------------------------------------------------------------------

wheelhouse() { # TARGET DIR
  "$HERE/build-wheelhouse.sh" --target "$1" --out "$2" --python "$PYTHON" -- "${PIP_EXTRA[@]}" >"$2.log" 2>&1
}

# -- 2. the rootfs -------------------------------------------------------------------------------------

make_rootfs() {
  if [[ -f $ROOTFS/.edge-agent-rootfs ]]; then
    proven "rootfs: Debian $SUITE arm64 in $ROOTFS (cached; made in $(cat "$ROOTFS/.edge-agent-rootfs") s)"
    return 0
  fi
  local partial=$CACHE/rootfs-arm64.partial start
  start=$(now)
  rm -rf "$partial"
  say "debootstrap --arch=arm64 --foreign $SUITE (first stage, native)"
  debootstrap --arch=arm64 --foreign --variant=minbase --include="$PACKAGES" "$SUITE" "$partial" "$MIRROR" \
    >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed: see $CACHE/debootstrap.log"
  say "debootstrap --second-stage (arm64 binaries under qemu-aarch64)"
  chroot "$partial" /debootstrap/debootstrap --second-stage >>"$CACHE/debootstrap.log" 2>&1 \
    || die "the second stage failed: see $CACHE/debootstrap.log and $partial/debootstrap/debootstrap.log"
  since "$start" >"$partial/.edge-agent-rootfs"
  rm -rf "$ROOTFS"
  mv "$partial" "$ROOTFS"
  proven "rootfs: Debian $SUITE arm64 made by debootstrap in $(cat "$ROOTFS/.edge-agent-rootfs") s (load $(load))"
}

# -- 3 and 4. install and demo, inside the rootfs, in a namespace of their own --------------------------

# Runs as PID 1 of `unshare --pid --mount --net`: its processes, mounts and loopback die with it.
inside() {
  ip link set lo up
  mount -t proc proc "$ROOTFS/proc"
  mount --rbind /dev "$ROOTFS/dev"
  mount -t tmpfs tmpfs "$ROOTFS/run"
  local in=(chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)
  local logs=/var/log/check-arm start

  "${in[@]}" uname -m | grep -qx aarch64 || die "the rootfs does not run as aarch64"
  "${in[@]}" /bin/bash /srv/wheelhouse/install.sh --root / --uninstall --purge >/dev/null 2>&1 || true
  rm -f "$ROOTFS/install-actions.log"
  start=$(now)
  "${in[@]}" /bin/bash /srv/wheelhouse/install.sh --root / --wheelhouse /srv/wheelhouse --site demo \
    --python /usr/bin/python3 >"$CACHE/install.log" 2>&1 || die "install.sh failed in the rootfs: see $CACHE/install.log"
  local took version
  took=$(since "$start")
  version=$("${in[@]}" /opt/edge-agent/current/bin/edge-agent --version)
  proven "arm64 install: install.sh --root / --wheelhouse --site demo in the rootfs took $took s (emulated, load $(load));" \
    "$version, $(find "$ROOTFS"/opt/edge-agent/current/lib/python3*/site-packages -maxdepth 1 -name '*.dist-info' | wc -l)" \
    "distributions, Python $("${in[@]}" /usr/bin/python3 -c 'import platform; print(platform.python_version(), platform.machine())')"

  rm -rf "${ROOTFS:?}$logs" "$ROOTFS/var/lib/edge-agent-demo"
  mkdir -p "$ROOTFS$logs"
  "${in[@]}" /usr/sbin/mosquitto -p 1883 >"$ROOTFS$logs/mosquitto.log" 2>&1 &
  local broker=$! waited=0
  until "${in[@]}" /usr/bin/mosquitto_pub -h 127.0.0.1 -p 1883 -t check-arm/ready -n 2>/dev/null; do
    ((waited++ < 120)) || die "the rootfs's Mosquitto did not start: see $ROOTFS$logs/mosquitto.log"
    sleep 0.5
  done
  local topics=()
  for topic in "${RECORD_TOPICS[@]}"; do topics+=(-t "$topic"); done
  "${in[@]}" /usr/bin/mosquitto_sub -h 127.0.0.1 -p 1883 -q 1 "${topics[@]}" -F '%t' >"$ROOTFS$logs/records.topics" &
  local sub=$!
  sleep 2 # the subscription is in place before the first record can be published
  start=$(now)
  "${in[@]}" /opt/edge-agent/current/bin/edge-agent demo --config /etc/edge-agent/site.toml \
    --duration "$SECONDS_OF_DEMO" --state-dir /var/lib/edge-agent-demo >"$ROOTFS$logs/demo.out" 2>&1 &
  local demo=$! first=""
  while kill -0 "$demo" 2>/dev/null; do
    if [[ -z $first && -s $ROOTFS$logs/records.topics ]]; then
      first=$(since "$start")
    fi
    sleep 0.2
  done
  wait "$demo" || die "edge-agent demo failed in the rootfs: see $ROOTFS$logs/demo.out"
  [[ -n $first || ! -s $ROOTFS$logs/records.topics ]] || first="under $SECONDS_OF_DEMO"
  sleep 1
  kill "$sub" "$broker" 2>/dev/null || true
  wait "$sub" "$broker" 2>/dev/null || true
  local count summary
  count=$(wc -l <"$ROOTFS$logs/records.topics")
  summary=$(grep '^demo stopped:' "$ROOTFS$logs/demo.out" || true)
  ((count > 0)) || die "no record reached the rootfs's Mosquitto: see $ROOTFS$logs/demo.out"
  proven "arm64 demo: $count record messages reached Mosquitto inside the arm64 rootfs (mosquitto_sub on" \
    "${RECORD_TOPICS[*]}); first after $first s (emulated start-up included, load $(load)); agent: ${summary:-no summary}"
  printf '%s\n' "$count" >"$ROOTFS$logs/records.count"
}

# -- 5. armv7 --------------------------------------------------------------------------------------------

armv7_partial() { # OUT: the arm64 wheelhouse's set again for armv7l, as far as the index has it; prints what it lacks
  local out=$1 tags file name version missing=()
  mapfile -t tags < <("$HERE/build-wheelhouse.sh" --target pi-armv7 --print-platforms | tail -n +2)
  local pip=("$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --implementation cp --python-version 3.11)
  ((${#tags[@]})) || die "build-wheelhouse.sh --target pi-armv7 --print-platforms printed no platform"
  for tag in "${tags[@]}"; do pip+=(--platform "$tag"); done
  mkdir -p "$out"
  for file in "$CACHE"/wheelhouse-arm64/*.whl; do
    if [[ $file == *-none-any.whl ]]; then
      cp -p "$file" "$out/" # pure Python: the same wheel
      continue
    fi
    name=$(basename "$file")
    version=${name#*-}
    version=${version%%-*}
    name=${name%%-*}
    name=${name//_/-}
    # the arm64 set's version, else any version with an armv7l wheel
    "${pip[@]}" --dest "$out" "${PIP_EXTRA[@]}" "$name==$version" >/dev/null 2>&1 \
      || "${pip[@]}" --dest "$out" "${PIP_EXTRA[@]}" "$name" >/dev/null 2>&1 || missing+=("$name")
  done
  printf '%s\n' "${missing[@]}"
}

check_armv7() {
  local start out=$CACHE/wheelhouse-armv7
  start=$(now)
  if wheelhouse pi-armv7 "$out"; then
    proven "armv7 wheelhouse: complete, $(find "$out" -name '*.whl' | wc -l) wheels in $(since "$start") s (load $(load)):" \
      "every dependency has an armv7l wheel"
    return 0
  fi
  local missing native
  missing=$(armv7_partial "$out" | paste -sd ' ' -)
  native=$(find "$out" -name '*armv7l*.whl' -printf '%f\n' | cut -d- -f1 | sort | paste -sd ' ' -)
  printf '%s\n' "$missing" >"$out.missing"
  proven "armv7 wheelhouse: incomplete after $(since "$start") s (load $(load)): $(find "$out" -name '*.whl' | wc -l)" \
    "of the $(find "$CACHE/wheelhouse-arm64" -name '*.whl' | wc -l) wheels in $out (armv7l: ${native:-none});" \
    "no armv7l wheel for Python 3.11 on the index, in any version, for: ${missing:-(see $out.log)}"
}

main() {
  local start
  host_tools
  binfmt_aarch64

  start=$(now)
  wheelhouse pi-arm64 "$CACHE/wheelhouse-arm64" \
    || die "the arm64 wheelhouse could not be built: see $CACHE/wheelhouse-arm64.log"
  proven "arm64 wheelhouse: $(find "$CACHE/wheelhouse-arm64" -name '*.whl' | wc -l) wheels in $(since "$start") s" \
    "(load $(load)), $CACHE/wheelhouse-arm64"

  make_rootfs
  rm -rf "$ROOTFS/srv/wheelhouse"
  mkdir -p "$ROOTFS/srv"
  cp -a "$CACHE/wheelhouse-arm64" "$ROOTFS/srv/wheelhouse"
  unshare --pid --mount --net --fork --propagation private \
    "$0" --inside-namespace --cache "$CACHE" --seconds "$SECONDS_OF_DEMO" --python "$PYTHON" \
    || die "the arm64 install or demo failed (see above)"

  if ((ARMV7)); then
    check_armv7
  fi
  printf '\nproven on ARM (report in %s):\n' "$REPORT"
  cat "$REPORT"
}

if ((INSIDE)); then
  inside
else
  main
fi
