#!/usr/bin/env bash
# Prepares this checkout on a fresh Debian machine with Python 3.11+: the system packages the agent's tests talk
# to (Mosquitto, socat, shellcheck, tmux, fuse3, PostgreSQL for the reference ingest, Chromium and chromedriver for
# the installer's page), then a virtual environment in .venv with the agent and its test tools. Safe to run again:
# it only installs and starts what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)  # the power-cut filesystem of tests/faults
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
# The installer's page is tested in a real headless browser: Debian's Chromium and its driver.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)

if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: please install these Debian packages first: ${missing[*]}" >&2
        exit 1
    fi
fi

# The reference ingest's tests need PostgreSQL on 127.0.0.1:5432 with a database "test" that user postgres
# (password "postgres") can reach. Start the cluster if it is down; create what is missing (as root only).
start_postgres() {
    local cluster
    command -v pg_ctlcluster >/dev/null 2>&1 || return 0
    cluster=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" 2>/dev/null | sort -V | tail -n 1)
    [ -n "$cluster" ] || return 0
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
    fi
    if [ "$(id -u)" -eq 0 ] && ! PGPASSWORD=postgres psql -q -h 127.0.0.1 -U postgres -d test -c 'SELECT 1' >/dev/null 2>&1; then
        su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
        su postgres -c "createdb test" >/dev/null 2>&1 || true
    fi
}
start_postgres

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "setup: ready (.venv/bin/edge-agent --help)"
