#!/usr/bin/env bash
# Build a wheelhouse for installing edge-agent offline on a gateway: this project's wheel, the wheels
# of all its dependencies (the installer's page, the web extra, included) for the gateway's platform,
# install.sh and the systemd units, and SHA256SUMS.
#
#   scripts/build-wheelhouse.sh                                  Raspberry Pi OS bookworm (arm64, Python 3.11)
#   scripts/build-wheelhouse.sh --target pi-armv7 --out dist/pi32   Raspberry Pi OS bookworm 32-bit (armv7l)
#   scripts/build-wheelhouse.sh --arch armv7l --glibc 2.36 --python-version 3.11 --out dist/pi32
#   scripts/build-wheelhouse.sh --platform manylinux2014_aarch64 --python-version 3.11 --out dist/pi
#   scripts/build-wheelhouse.sh --target pi-armv7 --print-platforms   the platform tags pip will accept, and stop
#   sudo scripts/build-wheelhouse.sh --target pi-armv7 --build-in-root /var/tmp/armhf-root --out dist/pi32
#
# Targets: pi-arm64 (the default: aarch64, glibc 2.36, Python 3.11) and pi-armv7 (armv7l, glibc 2.36,
# Python 3.11; it also accepts linux_armv7l wheels, as built for Raspberry Pi OS, e.g. by a piwheels
# index given to pip after --).
#
# Copy the output directory to the gateway (USB stick, scp) and run, there:
#   sudo ./install.sh --wheelhouse . --site esternay
# Anything after -- goes to pip (e.g. -- --no-index --find-links /mirror for an offline build).
# Pure-Python dependencies published only as source (chirpstack-api 4.x) are built into py3-none-any
# wheels here (--from-source NAME, repeatable); anything else must exist as a wheel for the platform, or
# --build-in-root DIR is given: DIR is a Debian root filesystem of the gateway's architecture and Python
# (bookworm armhf for pi-armv7, with python3-pip, python3-dev, build-essential, cmake, ninja-build,
# libyaml-dev and libffi-dev), run under qemu-user through binfmt_misc. The dependencies are resolved as
# for aarch64 (where the index has every wheel); each compiled one with no wheel for the platform in any
# version is then built, at the version resolved, from its source distribution there (pip wheel, emulated,
# at nice 10; the root's pip takes the source and build requirements from the index, and keeps the built
# wheel in its cache for the next run) and added to the wheelhouse as a linux_ARCH wheel. Needs root (chroot).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT=$(cd "$HERE/.." && pwd)
OUT=$PROJECT/dist/wheelhouse
PYTHON=${PYTHON:-python3}
PY_VERSION=3.11
ARCH=aarch64
GLIBC=2.36
PLATFORMS=()
LINUX_TAG=0 # 1: also accept plain linux_$ARCH wheels (built on and for Raspberry Pi OS itself)
PRINT_ONLY=0
PIP_EXTRA=()
FROM_SOURCE=(chirpstack-api)
BUILD_ROOT="" # a root filesystem of the target's architecture to build the missing wheels in

die() { printf 'build-wheelhouse.sh: error: %s\n' "$*" >&2; exit 1; }

while (($#)); do
  case "$1" in
    --out) OUT=${2:?--out needs a directory}; shift ;;
    --target)
      case "${2:?--target needs pi-arm64 or pi-armv7}" in
        pi-arm64) ARCH=aarch64 GLIBC=2.36 PY_VERSION=3.11 LINUX_TAG=0 ;;
        pi-armv7) ARCH=armv7l GLIBC=2.36 PY_VERSION=3.11 LINUX_TAG=1 ;;
        *) die "unknown --target $2: pi-arm64 (Raspberry Pi OS 64-bit) or pi-armv7 (32-bit)" ;;
      esac
      shift ;;
    --print-platforms) PRINT_ONLY=1 ;;
    --platform) PLATFORMS+=("${2:?--platform needs a tag}"); shift ;;
    --arch) ARCH=${2:?--arch needs a machine name}; shift ;;
    --glibc) GLIBC=${2:?--glibc needs a version}; shift ;;
    --python-version) PY_VERSION=${2:?--python-version needs a version}; shift ;;
    --from-source) FROM_SOURCE+=("${2:?--from-source needs a package name}"); shift ;;
    --python) PYTHON=${2:?--python needs a path}; shift ;;
    --build-in-root) BUILD_ROOT=${2:?--build-in-root needs a root filesystem}; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --) shift; PIP_EXTRA=("$@"); break ;;
    *) die "unknown option: $1" ;;
  esac
  shift
done
if ((${#PLATFORMS[@]} == 0)); then
  # pip does not widen a --platform tag by itself: list every manylinux tag the gateway's glibc runs
  # (bookworm has glibc 2.36), and the legacy names of the oldest ones.
  [[ $GLIBC =~ ^2\.([0-9]+)$ ]] || die "--glibc takes a version such as 2.36"
  for ((minor = BASH_REMATCH[1]; minor >= 17; minor--)); do
    PLATFORMS+=("manylinux_2_${minor}_$ARCH")
  done
  PLATFORMS+=("manylinux2014_$ARCH")
  ((!LINUX_TAG)) && [[ -z $BUILD_ROOT ]] || PLATFORMS+=("linux_$ARCH")
fi
if ((PRINT_ONLY)); then
  printf 'python %s\n' "$PY_VERSION"
  printf '%s\n' "${PLATFORMS[@]}"
  exit 0
fi

if [[ -n $BUILD_ROOT ]]; then
  (($(id -u) == 0)) || die "--build-in-root runs chroot: run as root"
  [[ -x $BUILD_ROOT/usr/bin/python3 ]] || die "--build-in-root $BUILD_ROOT: no /usr/bin/python3 in it"
  BUILD_ROOT=$(cd "$BUILD_ROOT" && pwd)
  machine=$(chroot "$BUILD_ROOT" /bin/uname -m) || die "cannot run $BUILD_ROOT's programs (binfmt_misc, qemu-user?)"
  [[ $machine == "$ARCH" ]] || die "--build-in-root $BUILD_ROOT runs as $machine, not $ARCH"
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/edge_agent-*.whl

isolation=()
if "$PYTHON" -c 'import hatchling' 2>/dev/null; then
  isolation=(--no-build-isolation) # build offline with the hatchling already there
fi
"$PYTHON" -m pip wheel --quiet --no-deps "${isolation[@]}" -w "$OUT" "$PROJECT" || die "cannot build the wheel"
wheels=("$OUT"/edge_agent-*.whl)
wheel=${wheels[0]}

requirement_of() { # WHEEL NAME: the wheel's Requires-Dist for NAME, e.g. chirpstack-api<5,>=4.10
  "$PYTHON" - "$1" "$2" <<'EOF'
import re, sys, zipfile
wheel, name = sys.argv[1], sys.argv[2]
def normal(text):
    return re.sub(r"[-_.]+", "-", text).lower()
with zipfile.ZipFile(wheel) as archive:
    meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    for line in archive.read(meta).decode().splitlines():
        if line.startswith("Requires-Dist: "):
            spec = line.split(": ", 1)[1].split(";")[0].strip()
            if normal(re.split(r"[<>=!~ \[(]", spec, maxsplit=1)[0]) == normal(name):
                print(spec)
                sys.exit(0)
sys.exit(1)
EOF
}

for name in "${FROM_SOURCE[@]}"; do
  spec=$(requirement_of "$wheel" "$name") || continue # not a dependency (any more)
  built=$(mktemp -d)
  "$PYTHON" -m pip wheel --quiet --no-deps -w "$built" "${PIP_EXTRA[@]}" "$spec" || die "cannot build $spec"
  for file in "$built"/*.whl; do
    [[ $file == *-py3-none-any.whl || $file == *-py2.py3-none-any.whl ]] \
      || die "$(basename "$file") is not pure Python: it cannot be built here for another platform"
    mv "$file" "$OUT/"
  done
  rm -rf "$built"
done

platform_args=()
for platform in "${PLATFORMS[@]}"; do
  platform_args+=(--platform "$platform")
done

host_cert() { # the CA bundle the host's pip is told to trust, if any: the root's pip trusts it too
  local cert=${PIP_CERT:-}
  [[ -n $cert ]] || cert=$("$PYTHON" -m pip config get global.cert 2>/dev/null) || cert=""
  [[ -n $cert && -f $cert ]] && printf '%s\n' "$cert"
}

build_in_root() { # REQUIREMENT: pip wheel of its source distribution inside BUILD_ROOT (emulated); the wheel into OUT
  local work=/srv/edge-agent-wheel-build cert env start
  rm -rf "${BUILD_ROOT:?}$work"
  mkdir -p "$BUILD_ROOT$work/out"
  env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 CMAKE_BUILD_PARALLEL_LEVEL=2 MAKEFLAGS=-j2)
  if cert=$(host_cert); then
    cp "$cert" "$BUILD_ROOT$work/ca.pem"
    env+=(PIP_CERT="$work/ca.pem")
  fi
  [[ -e $BUILD_ROOT/etc/resolv.conf ]] || : >"$BUILD_ROOT/etc/resolv.conf"
  printf 'build-wheelhouse.sh: building %s from source in %s (emulated %s)\n' "$1" "$BUILD_ROOT" "$ARCH" >&2
  start=$(date +%s)
  # a mount namespace of its own: the root's /proc, /dev and resolv.conf go away with it
  # shellcheck disable=SC2016 # the inner shell expands them
  unshare --mount --propagation private /bin/sh -ec '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
    exec chroot "$root" "$@"' sh "$BUILD_ROOT" /usr/bin/env -i "${env[@]}" nice -n 10 /usr/bin/python3 -m pip wheel \
    --quiet --no-deps --wheel-dir "$work/out" "$1" >&2 || die "cannot build $1 in $BUILD_ROOT"
  local built=("$BUILD_ROOT$work/out"/*.whl)
  [[ -f ${built[0]} ]] || die "pip made no wheel of $1 in $BUILD_ROOT"
  mv "${built[@]}" "$OUT/"
  printf 'build-wheelhouse.sh: built %s in %s s\n' "${built[*]##*/}" "$(($(date +%s) - start))" >&2
  rm -rf "${BUILD_ROOT:?}$work"
}

lacking_wheels() { # name==version of each compiled dependency that has no wheel for the platforms in any version
  # The set is resolved for aarch64 at the same glibc and Python (PyPI has every wheel of it there).
  local reference=() report target compiled spec probe
  for platform in "${PLATFORMS[@]}"; do
    [[ $platform == linux_* ]] || reference+=(--platform "${platform%"$ARCH"}aarch64")
  done
  report=$(mktemp)
  target=$(mktemp -d)
  "$PYTHON" -m pip install --quiet --dry-run --ignore-installed --report "$report" --target "$target" \
    --only-binary=:all: --implementation cp --python-version "$PY_VERSION" "${reference[@]}" \
    --find-links "$OUT" "${PIP_EXTRA[@]}" "${wheel}[web]" >&2 || die "pip could not resolve the dependencies for aarch64"
  compiled=$("$PYTHON" - "$report" <<'EOF'
import json, sys
for item in json.load(open(sys.argv[1]))["install"]:
    if not item["download_info"]["url"].endswith("-none-any.whl"):
        print(f"{item['metadata']['name']}=={item['metadata']['version']}")
EOF
  ) || die "cannot read pip's report"
  rm -rf "$report" "$target"
  probe=$(mktemp -d)
  for spec in $compiled; do
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --implementation cp --python-version "$PY_VERSION" \
      "${platform_args[@]}" --dest "$probe" "${PIP_EXTRA[@]}" "${spec%%==*}" >/dev/null 2>&1 \
      || printf '%s\n' "$spec"
  done
  rm -rf "$probe"
}

built_in_root=()
if [[ -n $BUILD_ROOT ]]; then
  lacking=$(lacking_wheels) || exit 1
  for spec in $lacking; do
    build_in_root "$spec"
    built_in_root+=("$spec")
  done
fi
"$PYTHON" -m pip download --quiet --only-binary=:all: --implementation cp --python-version "$PY_VERSION" \
  "${platform_args[@]}" --dest "$OUT" --find-links "$OUT" "${PIP_EXTRA[@]}" "${wheel}[web]" \
  || die "pip could not get every dependency as a wheel for ${PLATFORMS[*]} (Python $PY_VERSION)"

install -m 0755 "$HERE/install.sh" "$OUT/install.sh"
units=(edge-agent.service edge-agent-web.socket edge-agent-web.service)
for unit in "${units[@]}"; do
  install -m 0644 "$PROJECT/systemd/$unit" "$OUT/$unit"
done
(cd "$OUT" && sha256sum ./*.whl install.sh "${units[@]}" >SHA256SUMS)
printf '%s\n' "$OUT: $(basename "$wheel") and $(($(find "$OUT" -name '*.whl' | wc -l) - 1)) dependency wheels" \
  "${built_in_root[@]/#/built in the root: }"
