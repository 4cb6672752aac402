#!/usr/bin/env bash
# Install, upgrade, roll back or remove edge-agent on a gateway (Raspberry Pi OS / Debian bookworm).
#
#   install.sh --site esternay                      first install from PyPI, with a bundled site config
#   install.sh --wheelhouse DIR --config site.toml  first install, fully offline, with your own config
#   install.sh --upgrade [--wheelhouse DIR]         install the newest version beside the old one and
#                                                   switch back by itself if it does not become healthy
#   install.sh --rollback                           go back to the version that ran before
#   install.sh --uninstall [--purge]                remove the agent (keeps config and data unless --purge)
#
# Every run is idempotent. --root DIR works on a staging tree instead of the machine: nothing runs as
# systemctl, useradd, userdel, chown or chgrp; each such command is printed and appended to
# DIR/install-actions.log instead (a test may set EDGE_AGENT_INSTALL_RUN_SYSTEM=1 to run them anyway,
# with stand-ins on PATH). --root / inside a chroot (an image being built) installs in place the same way.
# See docs/deployment.md.
set -euo pipefail

readonly NAME=edge-agent
readonly SERVICE=edge-agent.service
# The installer's page: a socket that starts its service on the first request (edge-agent web).
readonly WEB_SOCKET=edge-agent-web.socket
readonly WEB_SERVICE=edge-agent-web.service
readonly UNITS=("$SERVICE" "$WEB_SOCKET" "$WEB_SERVICE")

ROOT=""
DRY=0 # 1: record the commands that change the machine instead of running them
ACTION=install
WHEELHOUSE=""
VERSION=""
SITE=""
CONFIG_SRC=""
PYTHON=python3
HEALTH_TIMEOUT=90
PURGE=0

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  cat <<'EOF'

Options:
  --wheelhouse DIR     install offline from DIR (made by scripts/build-wheelhouse.sh)
  --version V          install this version (default: the newest available)
  --site NAME          install the bundled site config NAME (esternay, belleville-sur-meuse, ...)
  --config FILE        install FILE as the site config
  --upgrade            switch an installed agent to a new version, with automatic switch-back
  --rollback           switch back to the previous version (or to --version V)
  --uninstall          stop and remove the agent; --purge also removes config, data and the user
  --python PATH        the Python 3.11+ used for the virtual environments (default: python3)
  --health-timeout S   seconds the new version has to become healthy (default: 90)
  --root DIR           work on the staging tree DIR instead of the machine (for tests and images)
EOF
}

say() { printf '%s\n' "install.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

parse_args() {
  while (($#)); do
    case "$1" in
      --wheelhouse) WHEELHOUSE=${2:?--wheelhouse needs a directory}; shift ;;
      --version) VERSION=${2:?--version needs a version}; shift ;;
      --site) SITE=${2:?--site needs a name}; shift ;;
      --config) CONFIG_SRC=${2:?--config needs a file}; shift ;;
      --python) PYTHON=${2:?--python needs a path}; shift ;;
      --health-timeout) HEALTH_TIMEOUT=${2:?--health-timeout needs seconds}; shift ;;
      --root) ROOT=${2:?--root needs a directory}; shift ;;
      --upgrade) ACTION=upgrade ;;
      --rollback) ACTION=rollback ;;
      --uninstall) ACTION=uninstall ;;
      --purge) PURGE=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
  done
  if [[ -n $ROOT ]]; then
    mkdir -p "$ROOT"
    ROOT=$(cd "$ROOT" && pwd)
    ROOT=${ROOT%/} # --root / (inside a chroot): in place, /opt/edge-agent, still without running a command
    [[ ${EDGE_AGENT_INSTALL_RUN_SYSTEM:-0} == 1 ]] || DRY=1
  fi
  [[ -z $WHEELHOUSE ]] || WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd) || die "no wheelhouse directory $WHEELHOUSE"
  [[ -z $CONFIG_SRC || -f $CONFIG_SRC ]] || die "no config file $CONFIG_SRC"
  [[ $HEALTH_TIMEOUT =~ ^[0-9]+$ ]] || die "--health-timeout takes whole seconds"
  PREFIX=$ROOT/opt/$NAME
  ETC=$ROOT/etc/$NAME
  UNIT_DIR=$ROOT/etc/systemd/system
  STATE=$ROOT/var/lib/$NAME
  CONF=$ETC/site.toml
  CONF_SUM=$ETC/.site.toml.installed-sha256
  ACTIONS=$ROOT/install-actions.log
}

# -- commands that change the machine: run for real, or only recorded under --root ---------------

system() {
  if ((DRY)); then
    say "would run: $*"
    printf '%s\n' "$*" >>"$ACTIONS"
    return 0
  fi
  "$@"
}

systemctl_quiet() {
  ((!DRY)) || return 1
  systemctl "$@" >/dev/null 2>&1
}

# -- the user ------------------------------------------------------------------------------------

ensure_user() {
  if ((!DRY)) && getent passwd "$NAME" >/dev/null; then
    return 0
  fi
  system useradd --system --user-group --home-dir "/var/lib/$NAME" --no-create-home \
    --shell /usr/sbin/nologin --comment "edge-agent gateway agent" "$NAME"
}

# -- versions and virtual environments -----------------------------------------------------------

wheel_version() { # edge_agent-1.2.3-py3-none-any.whl -> 1.2.3
  local base
  base=$(basename "$1")
  base=${base#edge_agent-}
  printf '%s\n' "${base%%-*}"
}

newest_in_wheelhouse() {
  local wheel versions=()
  for wheel in "$WHEELHOUSE"/edge_agent-*.whl; do
    [[ -e $wheel ]] && versions+=("$(wheel_version "$wheel")")
  done
  ((${#versions[@]})) || die "no edge_agent wheel in $WHEELHOUSE"
  printf '%s\n' "${versions[@]}" | sort -V | tail -n 1
}

newest_on_pypi() {
  "$PYTHON" - <<'EOF' || die "cannot ask PyPI for the newest version: pass --version or --wheelhouse"
import json, urllib.request
with urllib.request.urlopen("https://pypi.org/pypi/edge-agent/json", timeout=30) as reply:
    print(json.load(reply)["info"]["version"])
EOF
}

target_version() {
  if [[ -n $VERSION ]]; then
    printf '%s\n' "$VERSION"
  elif [[ -n $WHEELHOUSE ]]; then
    newest_in_wheelhouse
  else
    newest_on_pypi
  fi
}

current_version() { # empty when nothing is installed
  if [[ -L $PREFIX/current ]]; then
    basename "$(readlink "$PREFIX/current")"
  fi
}

previous_version() {
  if [[ -L $PREFIX/previous ]]; then
    basename "$(readlink "$PREFIX/previous")"
  fi
}

check_python() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || die "$PYTHON is not Python 3.11 or newer"
  "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null \
    || die "$PYTHON cannot make virtual environments: apt-get install python3-venv"
}

build_venv() { # VERSION: /opt/edge-agent/VERSION, complete or rebuilt from scratch
  local version=$1 dir=$PREFIX/$1
  if [[ -f $dir/.complete ]]; then
    say "version $version is already installed in $dir"
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$PREFIX"
  say "installing edge-agent $version into $dir"
  "$PYTHON" -m venv "$dir"
  local pip=("$dir/bin/python" -m pip --disable-pip-version-check --no-input)
  if [[ -n $WHEELHOUSE ]]; then
    # --isolated: only the wheelhouse counts, whatever pip.conf or PIP_* say
    "${pip[@]}" --isolated install --quiet --no-cache-dir --no-index --find-links "$WHEELHOUSE" "edge-agent[web]==$version" \
      || { rm -rf "$dir"; die "pip could not install edge-agent $version from $WHEELHOUSE"; }
  else
    "${pip[@]}" install --quiet --no-cache-dir "edge-agent[web]==$version" \
      || { rm -rf "$dir"; die "pip could not install edge-agent $version"; }
  fi
  local said
  said=$("$dir/bin/edge-agent" --version 2>&1) || true
  [[ $said == "edge-agent $version" ]] \
    || { rm -rf "$dir"; die "the new environment does not run: 'edge-agent --version' said: $said"; }
  # The daemon's bytecode as its unit runs it, optimised, into the version's own folder (edge_agent/bytecode.py)
  "$dir/bin/python" -m edge_agent.bytecode "$dir/pycache" 1>&2 \
    || say "some modules (named above) did not compile optimised: the agent compiles those from source at each start"
  keep_units "$dir"
  touch "$dir/.complete"
}

bundled_file() { # VENV KIND NAME: a file shipped inside the installed package, if any
  "$1/bin/python" - "$2" "$3" <<'EOF' 2>/dev/null
import sys
from edge_agent import resources
try:
    path = resources.bundled_config(sys.argv[2]) if sys.argv[1] == "config" else None
except FileNotFoundError:
    path = None
if path is None or not path.exists():
    sys.exit(1)
print(path)
EOF
}

keep_units() { # DIR: each version keeps the units it was installed with, for rollbacks
  local dir=$1 here candidate unit
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  for unit in "${UNITS[@]}"; do
    for candidate in "$dir"/lib/python3*/site-packages/edge_agent/_bundled/systemd/"$unit" \
      "$here/$unit" "$here/../systemd/$unit"; do
      if [[ -f $candidate ]]; then
        install -m 0644 "$candidate" "$dir/$unit"
        continue 2
      fi
    done
    [[ $unit != "$SERVICE" ]] || { rm -rf "$dir"; die "cannot find $SERVICE (beside this script or in ../systemd/)"; }
  done
}

# -- the site config: installed once, never overwritten after someone edited it ------------------

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

config_source() { # the file to install as site.toml, if any was asked for
  local venv=$1
  if [[ -n $CONFIG_SRC ]]; then
    printf '%s\n' "$CONFIG_SRC"
  elif [[ -n $SITE ]]; then
    bundled_file "$venv" config "$SITE" || die "no bundled site config named '$SITE'"
  fi
}

install_config() { # VENV
  local source
  source=$(config_source "$1")
  # The agent may replace its config when the hypervisor pushes one (validated, atomic, rolled back if it
  # fails): the directory and the file are the service group's to write, nobody else's to read.
  mkdir -p "$ETC"
  chmod 0770 "$ETC"
  system chgrp "$NAME" "$ETC"
  # Drivers added on site (edge-agent drivers check): root's to write, the agent's to read.
  mkdir -p "$ETC/drivers/modbus" "$ETC/drivers/lorawan"
  chmod 0755 "$ETC/drivers" "$ETC/drivers/modbus" "$ETC/drivers/lorawan"
  if [[ -z $source ]]; then
    [[ -f $CONF ]] || die "no site config in $CONF: pass --site NAME or --config FILE"
    return 0
  fi
  if [[ -f $CONF ]] && cmp -s "$source" "$CONF"; then
    return 0
  fi
  if [[ -f $CONF ]] && { [[ ! -f $CONF_SUM ]] || [[ $(sha_of "$CONF") != "$(cat "$CONF_SUM")" ]]; }; then
    install -m 0660 "$source" "$CONF.new"
    system chgrp "$NAME" "$CONF.new"
    say "kept your edited $CONF; the new one is in $CONF.new (compare them with diff)"
    return 0
  fi
  install -m 0660 "$source" "$CONF"
  sha_of "$CONF" >"$CONF_SUM"
  system chgrp "$NAME" "$CONF"
  say "installed the site config $CONF"
}

# -- switching versions --------------------------------------------------------------------------

point() { # LINK VERSION: atomic symlink switch
  ln -sfn "$2" "$PREFIX/.$1.tmp"
  mv -T "$PREFIX/.$1.tmp" "$PREFIX/$1"
}

install_units() { # VERSION: its units in place (a version without the page's units removes them)
  local unit
  mkdir -p "$UNIT_DIR"
  for unit in "${UNITS[@]}"; do
    if [[ ! -f $PREFIX/$1/$unit ]]; then
      rm -f "$UNIT_DIR/$unit"
    elif ! cmp -s "$PREFIX/$1/$unit" "$UNIT_DIR/$unit"; then
      install -m 0644 "$PREFIX/$1/$unit" "$UNIT_DIR/$unit"
    fi
  done
  system systemctl daemon-reload
}

restart_page() { # the page's socket listens again; its running page (if any) stops: the next request starts the new one
  [[ -f $UNIT_DIR/$WEB_SOCKET ]] || return 0
  system systemctl enable "$WEB_SOCKET"
  system systemctl stop "$WEB_SERVICE"
  system systemctl restart "$WEB_SOCKET"
}

activate() { # VERSION: make it current, (re)start the service; return 0 if it became healthy
  local version=$1 since
  point current "$version"
  install_units "$version"
  restart_page
  system systemctl enable "$SERVICE"
  since=$(date +%s)
  system systemctl restart "$SERVICE"
  healthy "$version" "$since"
}

healthy() { # VERSION SINCE
  local version=$1 since=$2 bin=$PREFIX/current/bin/edge-agent deadline verdict
  "$bin" config check "$CONF" >&2 || { say "edge-agent $version rejects $CONF"; return 1; }
  if ((DRY)); then
    say "--root: the service is not started here; edge-agent $version runs and accepts the config"
    return 0
  fi
  deadline=$((SECONDS + HEALTH_TIMEOUT))
  verdict="the service is not active yet"
  while ((SECONDS < deadline)); do
    if systemctl_quiet is-failed "$SERVICE"; then
      say "$SERVICE failed; see: journalctl -u $SERVICE -n 50"
      return 1
    fi
    if systemctl_quiet is-active "$SERVICE"; then
      if verdict=$("$bin" health --config "$CONF" --since "$since" 2>&1); then
        say "edge-agent $version is running and $verdict"
        return 0
      fi
    fi
    sleep 1
  done
  say "last check: $verdict"
  say "edge-agent $version did not become healthy within $HEALTH_TIMEOUT s; see: journalctl -u $SERVICE -n 50"
  return 1
}

switch_to() { # NEW OLD: activate NEW; on failure go back to OLD (and its previous) and fail
  local new=$1 old=$2 old_previous
  old_previous=$(previous_version)
  [[ -z $old || $old == "$new" ]] || point previous "$old"
  if activate "$new"; then
    return 0
  fi
  [[ -n $old && $old != "$new" ]] || die "edge-agent $new is not healthy and there is nothing to go back to"
  say "switching back to edge-agent $old"
  touch "$PREFIX/$new/.failed"
  if [[ -n $old_previous && $old_previous != "$new" ]]; then
    point previous "$old_previous"
  else
    rm -f "$PREFIX/previous"
  fi
  activate "$old" || die "edge-agent $old is not healthy either: look at the journal"
  die "the upgrade to $new failed; edge-agent $old is running again"
}

# -- the actions ---------------------------------------------------------------------------------

do_install() {
  local target current
  check_python
  target=$(target_version)
  current=$(current_version)
  if [[ $ACTION == install && -n $current && $current != "$target" ]]; then
    die "edge-agent $current is installed; use --upgrade to switch to $target"
  fi
  if [[ $ACTION == upgrade && -z $current ]]; then
    die "nothing is installed yet: run without --upgrade first"
  fi
  if [[ $ACTION == upgrade && $current == "$target" ]]; then
    say "edge-agent $target is already current"
    return 0
  fi
  [[ -n $current || -f $CONF || -n $SITE || -n $CONFIG_SRC ]] \
    || die "a first install needs a site config: --site NAME or --config FILE"
  ensure_user
  build_venv "$target"
  install_config "$PREFIX/$target"
  rm -f "$PREFIX/$target/.failed"
  switch_to "$target" "$current"
  prune_versions
  say "done: edge-agent $target is current ($PREFIX/current)"
}

do_rollback() {
  local current target
  current=$(current_version)
  [[ -n $current ]] || die "nothing is installed"
  target=${VERSION:-$(previous_version)}
  [[ -n $target ]] || die "no previous version to go back to"
  [[ -f $PREFIX/$target/.complete ]] || die "version $target is not installed in $PREFIX"
  [[ $target != "$current" ]] || die "edge-agent $target is already current"
  switch_to "$target" "$current"
  say "done: rolled back from $current to $target"
}

do_uninstall() {
  local unit
  system systemctl disable --now "$WEB_SOCKET" || say "$WEB_SOCKET was not listening"
  system systemctl stop "$WEB_SERVICE" || true
  system systemctl disable --now "$SERVICE" || say "$SERVICE was not running"
  for unit in "${UNITS[@]}"; do
    rm -f "$UNIT_DIR/$unit"
  done
  system systemctl daemon-reload
  rm -rf "$PREFIX"
  if ((PURGE)); then
    rm -rf "$ETC" "$STATE"
    system userdel "$NAME"
    say "removed edge-agent, its config, its data and its user"
  else
    say "removed edge-agent; kept $ETC and $STATE (use --uninstall --purge to remove them)"
  fi
}

prune_versions() { # keep current, previous and nothing else
  local dir keep_current keep_previous
  keep_current=$(current_version)
  keep_previous=$(previous_version)
  for dir in "$PREFIX"/*/; do
    dir=${dir%/}
    [[ ! -L $dir ]] || continue # current and previous themselves
    case "$(basename "$dir")" in
      "$keep_current" | "$keep_previous") ;;
      *) say "removing the old version $(basename "$dir")"; rm -rf "$dir" ;;
    esac
  done
}

main() {
  parse_args "$@"
  [[ -n $ROOT || $(id -u) == 0 ]] || die "run as root (sudo), or with --root DIR for a staging tree"
  case "$ACTION" in
    install | upgrade) do_install ;;
    rollback) do_rollback ;;
    uninstall) do_uninstall ;;
  esac
}

main "$@"
