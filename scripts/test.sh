#!/usr/bin/env bash
# Lookout's whole test suite: installs the programs the tests talk to (Debian packages), then
# runs every test of every crate with every feature. `.ci/run` calls exactly this.
#
#   scripts/test.sh                 # everything, then every fuzz target for 20 s
#   scripts/test.sh -p lookout-core # extra arguments go to `cargo test` (and skip the fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests run. ffmpeg and chromium are real clients and sources; cmake and
# nasm build libjpeg-turbo for the `turbojpeg` feature; g++ (and nasm) build openh264 for the
# `openh264` feature; node and npm run playwright; curl and
# openssl are the HTTPS client and certificate maker; pebble is Let's Encrypt's test CA; nginx
# runs the site `lookout nginx-site` prints; systemd-analyze checks `lookout systemd-unit`;
# aiosmtpd is the mail server. The V4L2 tier boots Debian's kernel in qemu (vivid, v4l2loopback);
# ROS 1 tests run a real roscore and rospy publisher; the RTSP camera is GStreamer's server;
# iproute2 brings loopback up in the network namespaces the ROS 2 tests run in; mosquitto is
# the MQTT broker and mosquitto-clients its subscriber (mosquitto_sub) and mosquitto_passwd.
packages=(ffmpeg chromium cmake nasm g++ curl openssl pebble nginx systemd python3-aiosmtpd
    qemu-system-x86 busybox-static kmod v4l-utils cpio dkms v4l2loopback-dkms linux-headers-amd64
    python3-rospy python3-rosmaster python3-roslaunch python3-sensor-msgs python3-rostopic rosout
    ros-sensor-msgs ros-std-msgs iproute2
    gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    gstreamer1.0-plugins-ugly gstreamer1.0-tools mosquitto mosquitto-clients)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done
# Node.js and npm count wherever they come from (a machine's own Node.js conflicts with
# Debian's npm package).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
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
# rclpy (PyPI wheels of ROS 2 Jazzy with Fast DDS; cp311 builds suit Debian 12's Python 3.11)
# is the real ROS 2 publisher of the `ros2` tests (~250 MB, ~60 s).
if ! "$venv/bin/python" -c 'import rclpy, sensor_msgs.msg' 2>/dev/null; then
    echo "test.sh: adding ROS 2 rclpy to $venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check \
        'ros-jazzy-rclpy[fastrtps]==7.1.6' 'ros-jazzy-sensor-msgs==5.3.6'
fi
export LOOKOUT_TEST_PYTHON="$PWD/$venv/bin/python"

# playwright-core (npm) drives Debian's Chromium through the login page; hls.js (npm, tests
# only) plays live HLS in it.
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/hls.js ]; then
    echo "test.sh: npm ci in tests/browser (playwright-core, hls.js)" >&2
    npm ci --prefix tests/browser --no-audit --no-fund --silent
fi

# cargo-fuzz (crates.io, the version scripts/fuzz.sh pins) builds and runs the fuzz targets
# in fuzz/ on the nightly toolchain these machines carry beside stable.
scripts/fuzz.sh --install

# Everything above is installed: a test that finds a dependency missing fails, never skips.
export LOOKOUT_TEST_STRICT=1
cargo test --workspace --all-features "$@"

# Every fuzz target for a short while on its seeds (docs/fuzzing.md): a crash fails the run.
if (($# == 0)); then
    scripts/fuzz.sh all "${LOOKOUT_FUZZ_SECONDS:-20}" --scratch
fi
