#!/usr/bin/env bash
# Lookout's whole test suite: installs the programs the tests talk to (Debian packages), then
# runs every test of every crate with every feature. `.ci/run` calls exactly this.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -p lookout-core # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

# program -> Debian package. ffmpeg and chromium are real clients and sources in the tests;
# cmake and nasm build libjpeg-turbo for the `turbojpeg` feature; node and npm run playwright;
# curl and openssl are the HTTPS client and certificate maker; pebble is Let's Encrypt's test CA;
# nginx runs the site `lookout nginx-site` prints; systemd-analyze checks `lookout systemd-unit`.
declare -A packages=([ffmpeg]=ffmpeg [chromium]=chromium [cmake]=cmake [nasm]=nasm
    [node]=nodejs [npm]=npm [curl]=curl [openssl]=openssl
    [pebble]=pebble [nginx]=nginx [systemd-analyze]=systemd [aiosmtpd]=python3-aiosmtpd)
missing=()
for program in "${!packages[@]}"; do
    command -v "$program" >/dev/null 2>&1 || missing+=("${packages[$program]}")
done
if ((${#missing[@]})); then
    echo "test.sh: installing ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || { echo "test.sh: run as root or install: ${missing[*]}" >&2; exit 1; }
        sudo=sudo
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python's bcrypt (PyPI) makes flask-cam users files the way flask-cam does.
venv=target/test-python
if ! "$venv/bin/python" -c 'import bcrypt' 2>/dev/null; then
    echo "test.sh: preparing $venv (bcrypt)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check 'bcrypt==5.0.0'
fi
export LOOKOUT_TEST_PYTHON="$PWD/$venv/bin/python"

# playwright-core (npm) drives Debian's Chromium through the login page.
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    echo "test.sh: npm ci in tests/browser (playwright-core)" >&2
    npm ci --prefix tests/browser --no-audit --no-fund --silent
fi

# Everything above is installed: a test that finds a dependency missing fails, never skips.
export LOOKOUT_TEST_STRICT=1
cargo test --workspace --all-features "$@"
