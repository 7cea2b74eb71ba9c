#!/usr/bin/env bash
# Lookout's whole test suite: installs the programs the tests talk to (Debian packages), then
# runs every test of every crate with every feature. `.ci/run` calls exactly this.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -p lookout-core # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

# program -> Debian package. ffmpeg and chromium are real clients and sources in the tests;
# cmake and nasm build libjpeg-turbo for the `turbojpeg` feature.
declare -A packages=([ffmpeg]=ffmpeg [chromium]=chromium [cmake]=cmake [nasm]=nasm)
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

cargo test --workspace --all-features "$@"
