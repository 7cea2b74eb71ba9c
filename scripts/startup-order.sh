#!/usr/bin/env bash
# Writes the functions an idle `lookout serve` runs (start-up and the idle loop), one symbol a
# line, for the linker's `--symbol-ordering-file` (LLD): linked first and together, they fill
# about 1 MB of the binary instead of being spread over its 11 MB of code. The kernel
# maps a binary's pages in blocks (fault-around, 64 KB, and whole large folios of the page
# cache), so one function run in a block makes the whole block resident: spread out, the
# ~1 MB of code an idle server runs kept 5 MB of the binary's code resident. Docs:
# docs/performance.md, "Idle memory of the release binary". Used by scripts/release.sh.
#
#   scripts/startup-order.sh BINARY OUT     # BINARY with its symbol table (not stripped)
#
# Runs BINARY under valgrind's callgrind (which records every function run, by its symbol)
# twice, SECONDS_IDLE (default 20) seconds each: the demo (no config) and one test-pattern
# camera from a config file, on 127.0.0.1 with a port the kernel picks, stopped with SIGINT
# as Ctrl-C would.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BINARY OUT" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "startup-order.sh: needs valgrind (Debian: valgrind)" >&2; exit 1; }
binary=$(realpath "$1")
out=$2
seconds=${SECONDS_IDLE:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/camera.toml" <<'EOF'
[auth]
mode = "none"
[[camera]]
id = "bench"
[camera.source]
kind = "testpattern"
width = 1280
height = 720
fps = 30
EOF

profile() { # NAME ARGS...: one callgrind run in the scratch directory
    local name=$1
    shift
    # timeout's status is 124 when it had to send the signal, which is the normal end here.
    (cd "$work" && timeout -s INT "$seconds" valgrind --tool=callgrind --demangle=no \
        --compress-strings=no --callgrind-out-file="$work/$name.out" \
        "$binary" serve --listen 127.0.0.1:0 "$@" >"$work/$name.log" 2>&1) || true
    if ! grep -q '^listening on' "$work/$name.log"; then
        echo "startup-order.sh: $name did not start:" >&2
        tail -20 "$work/$name.log" >&2
        exit 1
    fi
}
profile demo
profile camera --config "$work/camera.toml"

# Callgrind names each function under its object file (`ob=`); keep those of BINARY, in the
# order first seen, without callgrind's recursion marks ('2).
awk -v bin="$binary" '
    /^ob=/ { ob = substr($0, 4) }
    /^fn=/ && ob == bin {
        name = substr($0, 4); sub(/'\''[0-9]+$/, "", name)
        if (!(name in seen)) { seen[name] = 1; print name }
    }' "$work/demo.out" "$work/camera.out" >"$out"
echo "startup-order.sh: $(wc -l <"$out") functions in $out"
